"""clv_inputs conventions, fit_clv (chooser, discounting, margins, historical) and holdout validation."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import polars as pl
import pytest
from conftest import CDNOW_CALIBRATION_END, cdnow_ledger
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.clv import ModelNotIdentifiable, bgnbd, clv_inputs, fit_clv, validate_holdout
from custinv.analytics.clv.discount import discounted_purchases, schedule
from custinv.analytics.clv.fit import CUSTOMER_SCHEMA
from custinv.analytics.clv.purchase import Predictor

CAL_END = CDNOW_CALIBRATION_END
D = dt.date


@pytest.fixture(scope="module")
def ledger() -> pl.DataFrame:
    return cdnow_ledger()


def small_ledger(rows: list[tuple[str, dt.date, float]], cost: list[float] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [str(i) for i in range(len(rows))],
            "order_date": [r[1] for r in rows],
            "amount": [float(r[2]) for r in rows],
        },
        schema={"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Date, "amount": pl.Float64},
    )
    return frame.with_columns(pl.Series("cost", cost, dtype=pl.Float64)) if cost is not None else frame


# ------------------------------------------------------------------ inputs


def test_cdnow_summary_matches_published_counts(ledger: pl.DataFrame) -> None:
    inp = clv_inputs(ledger, CAL_END, "week")
    assert inp.height == 2357
    assert inp.filter(pl.col("x") > 0).height == 946
    assert inp["x"].sum() == 2457  # repeat transactions in calibration (FHL 2005)
    first = inp.filter(pl.col("customer_id") == "00004").row(0, named=True)
    assert first["x"] == 2
    assert round(first["t_x"], 2) == 30.43 and round(first["T"], 2) == 38.86
    # repeat days 1997-01-18 (29.73) and 1997-08-02 (14.96); the 1997-12-12 order is after calibration
    assert first["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert inp.filter(pl.col("x") == 0)["monetary_value"].null_count() == inp.filter(pl.col("x") == 0).height


def test_same_day_orders_are_one_purchase_and_zero_amount_counts() -> None:
    led = small_ledger(
        [
            ("a", D(2024, 1, 1), 10),
            ("a", D(2024, 1, 1), 5),  # same day: one purchase of 15
            ("a", D(2024, 1, 8), 0),  # a free item is a purchase
            ("a", D(2024, 1, 15), 30),
            ("a", D(2024, 2, 1), 99),  # after calibration
            ("b", D(2024, 1, 29), 20),
        ]
    )
    inp = clv_inputs(led, D(2024, 1, 29), "week")
    a, b = inp.row(0, named=True), inp.row(1, named=True)
    assert (a["x"], a["t_x"], a["T"], a["monetary_value"], a["revenue"]) == (2, 2.0, 4.0, 15.0, 45.0)
    assert (b["x"], b["t_x"], b["T"], b["monetary_value"]) == (0, 0.0, 0.0, None)
    days = clv_inputs(led, D(2024, 1, 29), "day").row(0, named=True)
    months = clv_inputs(led, D(2024, 1, 29), "month").row(0, named=True)
    assert (days["t_x"], days["T"]) == (14.0, 28.0)
    assert months["T"] == pytest.approx(28 / (365.25 / 12))
    with pytest.raises(ValueError, match="time_unit"):
        clv_inputs(led, D(2024, 1, 29), "fortnight")  # type: ignore[arg-type]


# ------------------------------------------------------------------ fit_clv


def test_fit_clv_auto_uses_bgnbd_on_cdnow(ledger: pl.DataFrame) -> None:
    frame, summary = fit_clv(ledger, CAL_END)
    # auto scores every candidate on the last quarter of the calibration period: BG/NBD wins
    assert summary.model == "bgnbd" and summary.converged
    assert (summary.reason or "").startswith("chosen by holdout: BG/NBD")
    assert summary.selection is not None and summary.selection["chosen"] == "bgnbd"
    assert {c["model"] for c in summary.selection["candidates"]} == {"nbd", "bgnbd", "mbgnbd", "paretonbd", "historical"}
    assert summary.params["r"] == pytest.approx(0.243, rel=0.005)
    assert summary.spend.model == "gammagamma" and summary.spend.params["p"] == pytest.approx(6.25, rel=0.005)
    assert frame.columns == list(CUSTOMER_SCHEMA)
    core = frame.drop("next_purchase_to")  # a one-time buyer's window can end beyond a century (null)
    assert frame.height == 2357 and core.null_count().sum_horizontal().item() == 0
    assert summary.total == pytest.approx(frame["clv"].sum())
    # 12 months = 52.18 weeks: the expected purchases equal the model's E[Y(52.18)]
    row = frame.filter(pl.col("customer_id") == "00004").row(0, named=True)
    want = bgnbd.conditional_expected_purchases(summary.params, 365.25 / 7, [2], [30 + 3 / 7], [38 + 6 / 7])[0]
    assert row["expected_purchases"] == pytest.approx(want, rel=1e-12)
    json.dumps(summary.to_dict(), allow_nan=False)


def test_clv_without_discount_is_purchases_times_spend_times_margin(ledger: pl.DataFrame) -> None:
    frame, summary = fit_clv(ledger, CAL_END, discount_rate=0.0, margin=0.5)
    inp = clv_inputs(ledger, CAL_END, "week")
    from custinv.analytics.clv.gammagamma import conditional_expected_spend

    spend = conditional_expected_spend(summary.spend.params, inp["x"].to_numpy(), inp["monetary_value"].to_numpy())
    np.testing.assert_allclose(frame["clv"].to_numpy(), frame["expected_purchases"].to_numpy() * spend * 0.5, rtol=1e-10)


def test_discount_schedule_hand_computed() -> None:
    sched = schedule(2.5, 0.10, "month")
    np.testing.assert_allclose(sched.times, [1.0, 2.0, 2.5])
    np.testing.assert_allclose(sched.factors, [1.1 ** (-1 / 12), 1.1 ** (-2 / 12), 1.1 ** (-2.5 / 12)])
    # a constant rate of 1 purchase per month, discounted at step ends
    total, disc = discounted_purchases(lambda t: np.array([t]), sched, 1)
    assert total[0] == pytest.approx(2.5)
    assert disc[0] == pytest.approx(1.1 ** (-1 / 12) + 1.1 ** (-2 / 12) + 0.5 * 1.1 ** (-2.5 / 12))


def test_margin_from_cost_per_customer() -> None:
    rows = [
        ("a", D(2024, 1, 1), 100), ("a", D(2024, 2, 1), 100), ("a", D(2024, 3, 1), 100),
        ("b", D(2024, 1, 5), 50), ("b", D(2024, 3, 5), 50),
        ("c", D(2024, 2, 1), 0),
    ]
    led = small_ledger(rows, cost=[60, 60, 60, 10, 10, 0])
    frame, summary = fit_clv(led, D(2024, 3, 31), model="historical", margin="cost", time_unit="day")
    const, _ = fit_clv(led, D(2024, 3, 31), model="historical", margin=1.0, time_unit="day")
    ratio = (frame["clv"] / const["clv"]).to_list()
    assert ratio[0] == pytest.approx(0.4) and ratio[1] == pytest.approx(0.8)
    assert summary.margin == "cost"
    with pytest.raises(ValueError, match="cost"):
        fit_clv(led.drop("cost"), D(2024, 3, 31), margin="cost")


def test_all_one_time_buyers_fall_back_to_historical_with_reason() -> None:
    led = small_ledger([(c, D(2024, 1, i + 1), 10.0 * (i + 1)) for i, c in enumerate("abcdef")])
    frame, summary = fit_clv(led, D(2024, 3, 31))
    assert summary.model == "historical" and "no repeat buyers" in (summary.reason or "")
    assert frame["p_alive"].null_count() == 6
    assert frame["clv"].to_list() == [0.0] * 6  # no repeat purchasing observed: no future value
    with pytest.raises(ModelNotIdentifiable):
        fit_clv(led, D(2024, 3, 31), model="bgnbd")


def test_one_customer_historical_clv_hand_computed() -> None:
    # x = 2 repeat days over T = 10 weeks; pooled rate = own rate = 0.2/week; AOV = 60/3 = 20
    led = small_ledger([("a", D(2024, 1, 1), 10), ("a", D(2024, 1, 29), 20), ("a", D(2024, 2, 26), 30)])
    frame, summary = fit_clv(led, D(2024, 3, 11), horizon_months=12, discount_rate=0.0, margin=0.3)
    assert summary.model == "historical" and "at least 3 customers" in (summary.reason or "")
    row = frame.row(0, named=True)
    assert row["expected_purchases"] == pytest.approx(0.2 * 365.25 / 7)
    assert row["clv"] == pytest.approx(0.2 * 365.25 / 7 * 20 * 0.3)


@pytest.fixture(scope="module")
def cdnow_predictor(ledger: pl.DataFrame) -> Predictor:
    inp = clv_inputs(ledger, CAL_END, "week")
    x, t_x, T = (inp[c].to_numpy().astype(float) for c in ("x", "t_x", "T"))
    return Predictor("bgnbd", bgnbd.fit(x, t_x, T).params, x[:200], t_x[:200], T[:200])


@settings(max_examples=30, deadline=None)
@given(d1=st.floats(0, 1), d2=st.floats(0, 1), months=st.floats(0.5, 36))
def test_discounted_purchases_non_increasing_in_discount_rate(cdnow_predictor: Predictor, d1, d2, months) -> None:
    lo, hi = sorted((d1, d2))
    _, v_lo = discounted_purchases(cdnow_predictor.expected, schedule(months, lo, "week"), cdnow_predictor.n)
    total, v_hi = discounted_purchases(cdnow_predictor.expected, schedule(months, hi, "week"), cdnow_predictor.n)
    assert np.all(v_hi <= v_lo * (1 + 1e-12))
    assert np.all(v_hi <= total * (1 + 1e-12))


@settings(max_examples=8, deadline=None)
@given(d1=st.floats(0, 0.5), d2=st.floats(0, 0.5), h1=st.integers(1, 24), h2=st.integers(1, 24))
def test_fit_clv_monotone_in_discount_and_horizon(ledger: pl.DataFrame, d1, d2, h1, h2) -> None:
    lo, hi = sorted((d1, d2))
    f_lo, _ = fit_clv(ledger, CAL_END, discount_rate=lo, horizon_months=min(h1, h2))
    f_hi, _ = fit_clv(ledger, CAL_END, discount_rate=hi, horizon_months=max(h1, h2))
    if min(h1, h2) == max(h1, h2):
        # refits agree to optimiser precision, not bit for bit
        assert np.all(f_hi["clv"].to_numpy() <= f_lo["clv"].to_numpy() * (1 + 1e-6))
    assert np.all(f_hi["expected_purchases"].to_numpy() >= f_lo["expected_purchases"].to_numpy() * (1 - 1e-6))
    assert np.all((f_lo["p_alive"].to_numpy() >= 0) & (f_lo["p_alive"].to_numpy() <= 1))


# ------------------------------------------------------------------ holdout validation


def test_cdnow_holdout_matches_published_totals(ledger: pl.DataFrame) -> None:
    v = validate_holdout(ledger, CAL_END, D(1998, 6, 30), "bgnbd", "week")
    assert v.actual_total == 1882  # repeat purchase days 1997-10-01..1998-06-30 (FHL 2005)
    assert v.predicted_total == pytest.approx(1653, rel=0.005)  # sum of conditional expectations
    assert v.holdout_length == pytest.approx(273 / 7)
    table = v.table
    assert table["frequency"].to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == 2357 and table["customers"][0] == 1411
    assert table["actual_total"].sum() == 1882
    assert table["predicted_total"].sum() == pytest.approx(v.predicted_total)
    assert 0 < v.mae < 2 and 0 < v.bucket_mae < 1
    assert v.spend is not None and v.spend.customers > 0
    assert v.spend.predicted_mean == pytest.approx(v.spend.actual_mean, rel=0.15)
    out = v.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["holdout_start"] == "1997-10-01" and len(out["by_frequency"]) == 8


def test_holdout_must_be_after_calibration(ledger: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="holdout is empty"):
        validate_holdout(ledger, CAL_END, CAL_END)


def test_holdout_paretonbd_and_historical_run(ledger: pl.DataFrame) -> None:
    p = validate_holdout(ledger, CAL_END, D(1998, 6, 30), "paretonbd")
    h = validate_holdout(ledger, CAL_END, D(1998, 6, 30), "historical")
    assert p.actual_total == h.actual_total == 1882
    assert math.isfinite(p.predicted_total) and p.fit is not None and p.fit.converged
    assert h.fit is None and h.predicted_total > 0
