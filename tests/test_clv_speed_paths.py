"""The fast paths of the CLV stage give the numbers of the plain ones.

* inputs from the audit's customer summary + order sequence == ``clv_inputs`` on the ledger
  (several orders per day, zero amounts, one-day customers, a calibration cut);
* the BG/NBD objective (per-T sums, softplus) == the plain per-customer log-likelihood;
* predictions per distinct (x, T) pair == the per-customer formula;
* the coding helpers == ``np.unique``; attaching the CLV frame == a left join.

Amounts in the hand-made ledgers are multiples of 1/4, so every sum is exact and frames can be
compared for equality (with cents, summing orders instead of purchase days may change the last
bit of a float; the CDNOW comparison allows for that).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from conftest import CDNOW_CALIBRATION_END, cdnow_ledger, ledger_of
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from custinv.analytics.clv import _mle, bgnbd, clv_inputs, fit_clv, paretonbd
from custinv.analytics.clv._mle import dense_codes, distinct_pairs, group_rfm
from custinv.analytics.clv.discount import discounted_purchases, schedule
from custinv.analytics.clv.inputs import clv_inputs_from_summary
from custinv.analytics.clv.purchase import Predictor
from custinv.analytics.clv.report import attach_clv, clv_by_segment, top_customers_by_clv
from custinv.analytics.periods import order_sequence
from custinv.analytics.summary import customer_summary

D = dt.date


def from_summary(ledger: pl.DataFrame, end: dt.date, unit: str = "week") -> pl.DataFrame:
    """The audit's way: summary and sequence of the orders up to ``end``, then the CLV inputs."""
    upto = ledger.filter(pl.col("order_date") <= end)
    return clv_inputs_from_summary(customer_summary(upto, end).collect(), order_sequence(upto, end), end, unit)  # type: ignore[arg-type]


UGLY = ledger_of(
    [
        # three orders on the first day (one free), two on a later day, one on the last day
        ("A", D(2024, 1, 1), 10.0), ("A", D(2024, 1, 1), 0.0), ("A", D(2024, 1, 1), 2.5),
        ("A", D(2024, 2, 3), 4.0), ("A", D(2024, 2, 3), 6.25), ("A", D(2024, 3, 9), 1.0),
        # every order on one day: x = 0 although there are three orders
        ("B", D(2024, 2, 10), 5.0), ("B", D(2024, 2, 10), 5.0), ("B", D(2024, 2, 10), 0.0),
        # one free order
        ("C", D(2024, 3, 1), 0.0),
        # repeat purchases that are all free: monetary value 0
        ("E", D(2024, 1, 5), 8.0), ("E", D(2024, 1, 20), 0.0), ("E", D(2024, 1, 20), 0.0), ("E", D(2024, 2, 1), 0.0),
        # several orders on the last day only
        ("F", D(2024, 1, 2), 3.0), ("F", D(2024, 3, 31), 1.5), ("F", D(2024, 3, 31), 1.75),
        # a customer who starts after the calibration end (holdout only)
        ("G", D(2024, 4, 20), 9.0), ("G", D(2024, 4, 20), 1.0),
        # orders after the calibration end on both sides of it
        ("A", D(2024, 4, 2), 7.0), ("A", D(2024, 4, 2), 7.0), ("B", D(2024, 4, 30), 2.0),
    ]
).sample(fraction=1.0, shuffle=True, seed=3)  # ledger order must not matter


@pytest.mark.parametrize("unit", ["day", "week", "month"])
def test_inputs_from_summary_equal_ledger_inputs_on_ugly_orders(unit: str) -> None:
    end = D(2024, 4, 30)
    want = clv_inputs(UGLY, end, unit)  # type: ignore[arg-type]
    got = from_summary(UGLY, end, unit)
    assert_frame_equal(got, want)
    a = got.filter(pl.col("customer_id") == "A").row(0, named=True)
    # days 01-01, 02-03, 03-09, 04-02 -> x = 3; first day's spend 12.5 is left out of the mean
    assert a["x"] == 3 and a["revenue"] == 37.75
    assert a["monetary_value"] == pytest.approx((10.25 + 1.0 + 14.0) / 3)
    b = got.filter(pl.col("customer_id") == "B").row(0, named=True)
    assert b["x"] == 1 and b["monetary_value"] == 2.0


def test_inputs_from_summary_equal_ledger_inputs_at_a_calibration_cut() -> None:
    """The holdout path: only orders up to the calibration end count, G is not a customer yet."""
    cut = D(2024, 3, 31)
    got = from_summary(UGLY, cut)
    assert_frame_equal(got, clv_inputs(UGLY, cut, "week"))
    assert "G" not in got["customer_id"].to_list()
    assert got.filter(pl.col("customer_id") == "B").row(0, named=True)["x"] == 0


def test_inputs_from_summary_refuse_orders_after_calibration_end() -> None:
    full_end = D(2024, 4, 30)
    summary = customer_summary(UGLY, full_end).collect()
    with pytest.raises(ValueError, match="after calibration_end"):
        clv_inputs_from_summary(summary, order_sequence(UGLY, full_end), D(2024, 3, 31))


def test_fit_clv_falls_back_to_the_ledger_when_the_summary_reaches_past_as_of() -> None:
    ledger = cdnow_ledger()
    end = max(ledger["order_date"])
    summary = customer_summary(ledger, end).collect()
    sequence = order_sequence(ledger, end)
    cut = CDNOW_CALIBRATION_END
    plain, plain_summary = fit_clv(ledger, cut)
    got, got_summary = fit_clv(ledger, cut, summary=summary, sequence=sequence)
    # (without the fallback clv_inputs_from_summary would raise). Gamma-Gamma's optimum is flat:
    # two fits on the same data land ~1e-7 apart (dot products may round differently)
    assert_frame_equal(got, plain, rel_tol=1e-6)
    assert got_summary.customers == plain_summary.customers == 2357
    assert got_summary.params == plain_summary.params


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(0, 12),  # few days: same-day orders are common
            st.integers(0, 40).map(lambda q: q / 4),  # exact sums, zero included
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["day", "week", "month"]),
)
def test_inputs_from_summary_equal_ledger_inputs_property(rows: list[tuple[str, int, float]], unit: str) -> None:
    ledger = ledger_of([(c, D(2024, 1, 1) + dt.timedelta(days=k), amt) for c, k, amt in rows])
    end = max(ledger["order_date"])  # type: ignore[type-var]
    assert_frame_equal(from_summary(ledger, end, unit), clv_inputs(ledger, end, unit))  # type: ignore[arg-type]


def test_fit_clv_from_summary_matches_fit_clv_from_ledger_on_cdnow() -> None:
    ledger = cdnow_ledger().filter(pl.col("order_date") <= CDNOW_CALIBRATION_END)
    end = CDNOW_CALIBRATION_END
    plain, plain_summary = fit_clv(ledger, end)
    got, got_summary = fit_clv(
        ledger, end, summary=customer_summary(ledger, end).collect(), sequence=order_sequence(ledger, end)
    )
    assert got["customer_id"].equals(plain["customer_id"])
    assert got_summary.params == plain_summary.params  # the purchase model sees identical inputs
    for col in ("p_alive", "expected_purchases"):
        np.testing.assert_array_equal(got[col].to_numpy(), plain[col].to_numpy())
    # mean spends may differ in their last bit (orders vs purchase days summed); Gamma-Gamma's
    # flat optimum moves ~1e-7 with such noise (as it does between two runs on the same data)
    np.testing.assert_allclose(got["clv"].to_numpy(), plain["clv"].to_numpy(), rtol=1e-6)
    assert got_summary.total == pytest.approx(plain_summary.total, rel=1e-6)


# ------------------------------------------------------------------ BG/NBD objective


def _random_rfm(seed: int, n: int, max_x: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray]:
    """(rng, x, t_x, T): weekly summaries of n customers, purchase times on whole days."""
    rng = np.random.default_rng(seed)
    T = rng.integers(0, 60, n) / 7
    x = rng.integers(0, max_x, n).astype(float)
    t_x = np.where(x > 0, np.floor(rng.random(n) * T * 7) / 7, 0.0)
    return rng, x, t_x, T


def test_bgnbd_objective_equals_plain_loglik_on_unsorted_weighted_rows() -> None:
    rng, x, t_x, T = _random_rfm(seed=5, n=400, max_x=9)
    n = x.size
    x[0], t_x[0], T[0] = 3.0, 0.0, 0.0  # repeat purchases on day 0 with T = 0: both terms at α
    w = rng.integers(1, 5, n).astype(float)
    data = group_rfm(x, t_x, T, w)
    order = rng.permutation(data.x.size)
    unsorted = type(data)(data.x[order], data.t_x[order], data.T[order], data.weight[order])
    for params in (
        {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
        {"r": 30.0, "alpha": 0.01, "a": 50.0, "b": 0.02},  # terms far apart: softplus in its tails
        {"r": 1e-3, "alpha": 1e3, "a": 1e-3, "b": 1e3},
    ):
        theta = np.log([params[k] for k in bgnbd.NAMES])
        want = -np.average(bgnbd.log_likelihood(params, x, t_x, T), weights=w)
        for d in (data, unsorted):
            got, grad = bgnbd._Objective(d)(theta)
            assert got == pytest.approx(want, rel=1e-13)
            assert np.all(np.isfinite(grad))


def test_bgnbd_objective_with_only_one_time_buyers_is_the_closed_form() -> None:
    T = np.array([1.0, 2.0, 5.0])
    data = group_rfm(np.zeros(3), np.zeros(3), T)
    params = {"r": 0.5, "alpha": 2.0, "a": 1.0, "b": 3.0}
    got, _ = bgnbd._Objective(data)(np.log([params[k] for k in bgnbd.NAMES]))
    # x = 0: L = (α/(α+T))^r
    assert got == pytest.approx(-np.mean(0.5 * np.log(2.0 / (2.0 + T))), rel=1e-14)


# ------------------------------------------------------------------ predictions per (x, T)


@pytest.mark.parametrize(
    ("module", "params"),
    [
        (bgnbd, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
        (paretonbd, {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}),
        (paretonbd, {"r": 0.55, "alpha": 10.58, "s": 1.0, "beta": 11.67}),
    ],
)
def test_predictor_equals_per_customer_formulas(module, params) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    n = 300
    T = rng.integers(0, 40, n) / 7
    x = rng.integers(0, 6, n).astype(float)
    t_x = np.where(x > 0, np.floor(rng.random(n) * T * 7) / 7, 0.0)
    pred = Predictor(module.__name__.rsplit(".", 1)[1], params, x, t_x, T)
    for i in range(0, n, 37):  # the formulas one customer at a time
        assert pred.p_alive()[i] == pytest.approx(module.p_alive(params, [x[i]], [t_x[i]], [T[i]])[0], rel=1e-12)
        want = module.conditional_expected_purchases(params, 52.0, [x[i]], [t_x[i]], [T[i]])[0]
        assert pred.expected(52.0)[i] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("small_array", [0, 1_000_000], ids=["polars hash path", "numpy sort path"])
def test_dense_codes_and_distinct_pairs_match_numpy_unique(small_array: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_mle, "SMALL_ARRAY", small_array)
    rng = np.random.default_rng(2)
    a = rng.integers(0, 7, 1000).astype(float)
    b = rng.integers(0, 50, 1000) / 7
    a[0] = -0.0  # one value with 0.0
    values, codes = dense_codes(a)
    want_values, want_codes = np.unique(a, return_inverse=True)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(codes, want_codes)
    pa, pb, inverse = distinct_pairs(a, b)
    want = np.unique(np.stack([a, b], axis=1), axis=0)
    np.testing.assert_array_equal(np.stack([pa, pb], axis=1), want)
    np.testing.assert_array_equal(pa[inverse], a + 0.0)
    np.testing.assert_array_equal(pb[inverse], b)


def test_group_rfm_is_the_same_on_the_numpy_and_the_polars_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng, x, t_x, T = _random_rfm(seed=8, n=3000, max_x=6)
    t_x[x == 0] = -0.0  # a signed zero is the same purchase time
    w = rng.integers(1, 4, x.size).astype(float)
    groups = []
    for small_array in (0, 1_000_000):
        monkeypatch.setattr(_mle, "SMALL_ARRAY", small_array)
        groups.append([group_rfm(x, t_x, T), group_rfm(x, t_x, T, w)])
    for polars_path, numpy_path in zip(*groups, strict=True):
        for field in ("x", "t_x", "T", "weight"):
            np.testing.assert_array_equal(getattr(numpy_path, field), getattr(polars_path, field))
    rows = np.unique(np.stack([x, t_x + 0.0, T], axis=1), axis=0)  # the distinct rows, sorted
    np.testing.assert_array_equal(np.stack([groups[1][0].x, groups[1][0].t_x, groups[1][0].T], axis=1), rows)
    assert groups[1][1].weight.sum() == w.sum()


def test_pareto_gradient_on_threads_is_the_one_computed_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The central difference's nine likelihoods on the pool's threads give the same numbers,
    bit for bit, as one after the other — also where numpy would warn (a huge α: overflow)."""
    _, x, t_x, T = _random_rfm(seed=9, n=3000, max_x=8)
    objective = paretonbd._Objective(group_rfm(x, t_x, T))
    results = []
    for parallel_pairs in (10**9, 0):
        monkeypatch.setattr(paretonbd, "PARALLEL_PAIRS", parallel_pairs)
        for theta in (np.log([0.55, 10.6, 0.61, 11.7]), np.log([0.1, 1e6, 3.0, 0.01])):
            with np.errstate(all="ignore"):
                value, grad = objective(theta)
            results.append((value, grad.tolist()))
    assert results[:2] == results[2:]
    assert all(np.isfinite(v) for v, _ in results[:1])


# ------------------------------------------------------------------ report helpers


def test_attach_clv_equals_left_join_aligned_or_not() -> None:
    customers = pl.DataFrame({"customer_id": ["a", "b", "c"], "revenue": [1.0, 2.0, 3.0]})
    clv = pl.DataFrame({"customer_id": ["a", "b", "c"], "p_alive": [0.5, None, 1.0], "clv": [1.0, 2.0, None]})
    join = customers.join(clv, on="customer_id", how="left", maintain_order="left")
    assert_frame_equal(attach_clv(customers, clv), join)
    prospects = pl.DataFrame({"customer_id": ["c", "z", "a", "b"], "revenue": [3.0, 0.0, 1.0, 2.0]})
    assert_frame_equal(
        attach_clv(prospects, clv), prospects.join(clv, on="customer_id", how="left", maintain_order="left")
    )


def test_top_customers_by_clv_ties_break_by_id() -> None:
    frame = pl.DataFrame(
        {
            "customer_id": ["d", "b", "a", "c", "e"],
            "clv": [5.0, 9.0, 9.0, None, 1.0],
            "revenue": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    top = top_customers_by_clv(frame, 3)
    assert [r["customer_id"] for r in top] == ["a", "b", "d"]
    assert len(top_customers_by_clv(frame, 10)) == 4  # null CLV (prospects) left out


def test_clv_by_segment_sums_hand_checked() -> None:
    frame = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "value_tier": ["high", "low", "high", "low"],
            "clv": [10.0, 2.0, 6.0, None],  # d is a prospect: left out
            "p_alive": [0.5, 1.0, 0.25, None],
            "expected_purchases": [1.0, 2.0, 3.0, None],
            "revenue": [100.0, 5.0, 50.0, 0.0],
        }
    )
    rows = clv_by_segment(frame)
    assert [(r["axis"], r["segment"], r["customers"]) for r in rows] == [("value_tier", "high", 2), ("value_tier", "low", 1)]
    high = rows[0]
    assert high["clv"] == 16.0 and high["clv_share"] == 16.0 / 18.0 and high["clv_per_customer"] == 8.0
    assert high["mean_p_alive"] == 0.375 and high["expected_purchases"] == 4.0 and high["historical_revenue"] == 150.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["high", "mid", "low", None]),
                          st.floats(-1e6, 1e9, allow_nan=False, allow_subnormal=False),
                          st.one_of(st.none(), st.floats(0, 1))), min_size=1, max_size=40))
def test_clv_by_segment_sums_each_segment_in_customer_order(rows: list[tuple[str | None, float, float | None]]) -> None:
    """Every sum is the segment's values in the frame's order, summed by np.sum (pairwise) — the
    same bits in every run (Polars' group_by added each group in the order its threads met the
    rows); a null segment is a group of its own, a null P(alive) is left out of its mean."""
    frame = pl.DataFrame({"value_tier": [r[0] for r in rows], "clv": [r[1] for r in rows],
                          "p_alive": [r[2] for r in rows], "expected_purchases": [r[1] / 3 for r in rows],
                          "revenue": [abs(r[1]) * 0.7 for r in rows]},
                         schema={"value_tier": pl.String, "clv": pl.Float64, "p_alive": pl.Float64,
                                 "expected_purchases": pl.Float64, "revenue": pl.Float64})
    got = {r["segment"]: r for r in clv_by_segment(frame)}
    assert set(got) == {r[0] for r in rows}
    total = float(np.sum(frame["clv"].to_numpy()))
    for segment, row in got.items():
        mine = [r for r in rows if r[0] == segment]
        clv = float(np.sum(np.array([v for _, v, _ in mine])))
        purchases = float(np.sum(np.array([v / 3 for _, v, _ in mine])))
        revenue = float(np.sum(np.array([abs(v) * 0.7 for _, v, _ in mine])))
        alive_values = [p for _, _, p in mine if p is not None]
        alive = float(np.sum(np.array([0.0 if p is None else p for _, _, p in mine])))
        assert row["customers"] == len(mine) and row["clv"] == clv and row["clv_per_customer"] == clv / len(mine)
        assert row["expected_purchases"] == purchases and row["historical_revenue"] == revenue
        assert row["mean_p_alive"] == (alive / len(alive_values) if alive_values else None)
        assert row["clv_share"] == (clv / total if total else None)
    order = [(-r["clv"], str(r["segment"])) for r in clv_by_segment(frame)]
    assert order == sorted(order)


def test_predictor_discounted_equals_per_customer_discounting() -> None:
    """P(alive) factored out of the discounted sum: the same numbers up to rounding."""
    _, x, t_x, T = _random_rfm(seed=8, n=500, max_x=8)
    pred = Predictor("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, x, t_x, T)
    sched = schedule(12, 0.1, "week")
    want_expected, want_discounted = discounted_purchases(pred.expected, sched, x.size)
    expected, discounted = pred.discounted(sched)
    np.testing.assert_array_equal(expected, want_expected)
    np.testing.assert_allclose(discounted, want_discounted, rtol=1e-13)
    assert np.all(discounted <= expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 5).map(float)), min_size=0, max_size=30), st.integers(0, 8))
def test_top_customers_by_clv_equals_sorting_everyone(values: list[float | None], top: int) -> None:
    frame = pl.DataFrame(
        {"customer_id": [f"c{i:02d}" for i in range(len(values))][::-1], "clv": values},
        schema={"customer_id": pl.String, "clv": pl.Float64},
    )
    want = (
        frame.filter(pl.col("clv").is_not_null()).sort(["clv", "customer_id"], descending=[True, False]).head(top)
    )
    assert top_customers_by_clv(frame, top) == want.to_dicts()
