"""The order engine's rules on hand-computed cases (Polars engine; the Spark engine is held to the
same numbers by tests/test_engine_spark.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from custinv.analytics.clv.select import SAMPLE_CUSTOMERS, sample_customers
from custinv.analytics.money import from_units, money_from_units, units
from custinv.engine import as_engine, engine_for
from custinv.engine.base import period_days
from custinv.engine.polars_engine import PolarsEngine, run_folds
from custinv.errors import DataError

D = dt.date


def _ledger(rows: list[tuple[str, dt.date, float]], cost: list[float | None] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "order_id": [f"o{i}" for i in range(len(rows))],
         "order_date": [r[1] for r in rows], "amount": [r[2] for r in rows]},
        schema={"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Date, "amount": pl.Float64},
    )
    return frame if cost is None else frame.with_columns(pl.Series("cost", cost, dtype=pl.Float64))


def test_units_are_micro_units_rounded_half_up_and_back() -> None:
    money = pl.Series("m", [0.1, 8.2, 1.005, -3.333, 0.0000005, -0.0000005, 0.0, None], dtype=pl.Float64)
    got = money.to_frame().select(units(pl.col("m")))["m"]
    # 8.2 * 1e6 = 8199999.999999999 in doubles: rounding, not truncation, gives the decimal
    assert got.to_list() == [100_000, 8_200_000, 1_005_000, -3_333_000, 1, 0, 0, None]
    assert from_units(got).to_list() == [0.1, 8.2, 1.005, -3.333, 1e-6, 0.0, 0.0, None]
    # an exact sum: 0.1 + 0.2 + 0.3 is 0.6, not 0.6000000000000001, in any order
    assert money_from_units(100_000 + 200_000 + 300_000) == 0.6


def test_run_folds_add_each_run_left_to_right_from_zero() -> None:
    starts = pl.Series([True, False, False, True, False])
    values = pl.Series([0.1, 0.2, 0.3, 1.0, None], dtype=pl.Float64)
    # ((0 + 0.1) + 0.2) + 0.3 = 0.6000000000000001; right to left it would be 0.6
    assert run_folds(starts, values).tolist() == [0.6000000000000001, 1.0]
    assert 0.3 + 0.2 + 0.1 == 0.6


def test_customer_totals_fold_revenue_in_date_then_ledger_order() -> None:
    # a's orders in the ledger: 0.3 (day 2), 0.1 (day 1), 0.2 (day 1, after the 0.1)
    ledger = _ledger([("a", D(2024, 1, 2), 0.3), ("b", D(2024, 1, 5), 7.0), ("a", D(2024, 1, 1), 0.1),
                      ("a", D(2024, 1, 1), 0.2)])
    totals = PolarsEngine(ledger, D(2024, 1, 31)).customer_totals().sort("customer_id")
    assert totals.rows() == [
        ("a", D(2024, 1, 1), D(2024, 1, 2), 3, 0.6000000000000001),  # (0.1 + 0.2) + 0.3
        ("b", D(2024, 1, 5), D(2024, 1, 5), 1, 7.0),
    ]


def test_purchase_totals_count_days_and_the_first_days_spend() -> None:
    ledger = _ledger([("a", D(2024, 1, 1), 10.0), ("a", D(2024, 1, 1), 0.0), ("a", D(2024, 1, 1), 2.5),
                      ("a", D(2024, 2, 3), 4.0), ("a", D(2024, 2, 3), 6.25), ("a", D(2024, 3, 9), 1.0),
                      ("b", D(2024, 2, 10), 5.0), ("b", D(2024, 4, 2), 2.0)],
                     cost=[4.0, None, 1.0, None, 3.0, 0.5, 2.0, 1.0])
    engine = PolarsEngine(ledger.sample(fraction=1.0, shuffle=True, seed=1), D(2024, 4, 30))
    whole = engine.purchase_totals(D(2024, 4, 30), cost=True).sort("customer_id")
    assert whole.rows() == [
        ("a", D(2024, 1, 1), D(2024, 3, 9), 3, 23.75, 12.5, 8.5),
        ("b", D(2024, 2, 10), D(2024, 4, 2), 2, 7.0, 5.0, 3.0),
    ]
    cut = engine.purchase_totals(D(2024, 2, 10)).sort("customer_id")
    assert cut.rows() == [
        ("a", D(2024, 1, 1), D(2024, 2, 3), 2, 22.75, 12.5),
        ("b", D(2024, 2, 10), D(2024, 2, 10), 1, 5.0, 5.0),
    ]
    # after the cut: a bought on 03-09 (one day), b on 04-02
    assert engine.holdout_purchases(D(2024, 2, 10)).sort("customer_id").rows() == [("a", 1, 1.0), ("b", 1, 2.0)]
    assert engine.holdout_purchases(D(2024, 4, 30)).height == 0
    # profit: a's costed orders 10-4, 2.5-1, 6.25-3, 1-0.5; b's 5-2, 2-1
    assert engine.profit().sort("customer_id").rows() == [("a", 11.25), ("b", 4.0)]


def test_cohort_cells_count_customers_once_per_period_and_sum_exactly() -> None:
    ledger = _ledger([("a", D(2024, 1, 3), 0.1), ("a", D(2024, 1, 20), 0.2), ("a", D(2024, 3, 1), 1.0),
                      ("b", D(2024, 2, 2), 5.0), ("c", D(2024, 1, 31), 0.3)])
    cells = PolarsEngine(ledger, D(2024, 3, 31)).cohort_cells("month", 1).sort("cohort_index", "k")
    jan, feb = 2024 * 12, 2024 * 12 + 1
    assert cells.rows() == [
        (jan, 0, 2, 600_000),  # a and c in January: 0.1 + 0.2 + 0.3
        (jan, 2, 1, 1_000_000),  # a again in March
        (feb, 0, 1, 5_000_000),
    ]


def test_period_days_map_each_day_to_its_period_index() -> None:
    table = period_days("quarter", 4, D(2024, 3, 30), D(2024, 4, 2))
    # fiscal years from April: March 2024 is the last quarter of FY2024, April starts FY2025
    assert table["idx"].to_list() == [(2024 * 12 + 2 - 3) // 3] * 2 + [(2024 * 12 + 3 - 3) // 3] * 2


def test_sample_customers_is_a_stride_over_the_sorted_ids() -> None:
    few = pl.Series("customer_id", [f"c{i}" for i in range(SAMPLE_CUSTOMERS)])
    assert sample_customers(few) is None
    many = pl.Series("customer_id", [f"c{i:06d}" for i in range(25_000)]).shuffle(seed=2)
    chosen = sample_customers(many)
    assert chosen is not None
    assert chosen.len() == 8_334  # stride ceil(25000 / 10000) = 3
    assert chosen[:3].to_list() == ["c000000", "c000003", "c000006"]


def test_engine_for_picks_by_the_frames_type_and_refuses_others() -> None:
    ledger = _ledger([("a", D(2024, 1, 1), 1.0)])
    assert isinstance(engine_for(ledger, D(2024, 1, 1)), PolarsEngine)
    assert engine_for(ledger.lazy(), None).name == "polars"
    with pytest.raises(TypeError, match="no order engine"):
        engine_for([("a", 1.0)], D(2024, 1, 1))
    engine = PolarsEngine(ledger, D(2024, 1, 1))
    assert as_engine(engine) is engine


def test_amounts_too_large_to_sum_exactly_are_refused() -> None:
    ledger = _ledger([("a", D(2024, 1, 1), 5e12), ("b", D(2024, 1, 2), -5e12)])
    engine = PolarsEngine(ledger, D(2024, 1, 2))
    with pytest.raises(DataError, match="sums exactly"):
        engine.churned_revenue_units(30)


def test_sample_orders_are_sorted_by_customer_then_date_then_ledger_order() -> None:
    ledger = _ledger([("b", D(2024, 1, 2), 1.0), ("a", D(2024, 1, 3), 2.0), ("a", D(2024, 1, 1), 3.0),
                      ("a", D(2024, 1, 1), 4.0)])
    engine = PolarsEngine(ledger, D(2024, 1, 3))
    assert engine.sample_orders(None)["amount"].to_list() == [3.0, 4.0, 2.0, 1.0]
    assert_frame_equal(engine.sample_orders(pl.Series(["b"])), ledger.head(1).drop("order_id"))


def test_per_customer_totals_come_in_id_order_flagged_sorted() -> None:
    """customer_totals and purchase_totals come sorted by id and say so (their consumers' sort by
    id then has nothing to do); the order of the whole sequence's customers is found once."""
    ids = [f"c{(i * 7919) % 101:03d}" for i in range(101)]  # every id once, not in id order
    ledger = _ledger([(c, D(2024, 1, 1 + i % 28), float(i)) for i, c in enumerate(ids)]
                     + [(c, D(2024, 3, 1 + i % 28), 1.0) for i, c in enumerate(ids[:40])])
    engine = PolarsEngine(ledger, D(2024, 3, 31))
    for totals in (engine.customer_totals(), engine.purchase_totals(D(2024, 3, 31)),
                   engine.purchase_totals(D(2024, 2, 1)), engine.customer_totals()):
        assert totals["customer_id"].to_list() == sorted(ids)
        assert totals["customer_id"].flags["SORTED_ASC"]
        assert_frame_equal(totals, totals.sort("customer_id"))
    order = engine._id_order
    engine.purchase_totals(D(2024, 3, 31))
    assert engine._id_order is order  # reused, not sorted again
    totals = engine.customer_totals()
    revenue = dict(zip(totals["customer_id"], totals["revenue"], strict=True))
    assert revenue[ids[0]] == 0.0 + 1.0 and revenue[ids[100]] == 100.0  # each customer's own sums, moved with them
