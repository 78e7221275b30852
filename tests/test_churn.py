"""Churn window, churn rate, churned revenue, at-risk and win-back lists on a hand case."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from conftest import ledger_of
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.churn import churn_section, churn_window_days, counting_rule, linear_quantile
from custinv.analytics.periods import order_sequence
from custinv.analytics.summary import customer_summary

d = dt.date
AS_OF = d(2024, 12, 31)
ORDERS = [
    ("a", d(2024, 1, 1), 100.0), ("a", d(2024, 1, 11), 50.0), ("a", d(2024, 1, 31), 30.0),
    ("b", d(2024, 3, 1), 10.0), ("b", d(2024, 3, 1), 20.0), ("b", d(2024, 6, 9), 40.0),
    ("c", d(2024, 12, 1), 5.0),
    ("d", d(2024, 9, 1), 200.0), ("d", d(2024, 10, 1), 100.0), ("d", d(2024, 10, 25), 100.0),
]



def test_window_is_rounded_up_90th_percentile_of_gaps() -> None:
    # distinct-date gaps: a 10, 20; b 100 (the same-day pair is one purchase date); d 30, 24
    # sorted 10 20 24 30 100; linear 90th percentile at position 3.6 -> 30 + 0.6 * 70 = 72
    days, basis = churn_window_days(ledger_of(ORDERS))
    assert days == 72
    assert "90th percentile of 5" in basis and "72.0" in basis
    # the order sequence gives the same answer
    assert churn_window_days(order_sequence(ledger_of(ORDERS)))[0] == 72


def test_window_floor_and_fallback() -> None:
    short = [("a", d(2024, 1, 1), 1.0), ("a", d(2024, 1, 8), 1.0), ("b", d(2024, 1, 1), 1.0)]
    days, basis = churn_window_days(ledger_of(short))
    assert days == 30 and "floor of 30" in basis
    once = [("a", d(2024, 1, 1), 1.0), ("b", d(2024, 2, 1), 1.0), ("b", d(2024, 2, 1), 3.0)]
    days, basis = churn_window_days(ledger_of(once))
    assert days == 365 and "no repeat purchases" in basis
    assert churn_window_days(ledger_of(once), fallback=180, floor=10)[0] == 180


def test_window_from_summary_uses_mean_intervals() -> None:
    summary = customer_summary(ledger_of(ORDERS), AS_OF).collect()
    # means: a 15, b 50 (100 days over 2 gaps), d 27 -> sorted 15 27 50, 90th: 27 + 0.8*23
    days, basis = churn_window_days(summary)
    assert days == math.ceil(27 + 0.8 * 23) == 46
    assert "mean inter-purchase" in basis


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 700)), min_size=1, max_size=40))
def test_window_bounds_by_gap_ranks(raw: list[tuple[int, int]]) -> None:
    orders = [(f"c{c}", d(2023, 1, 1) + dt.timedelta(days=x), 1.0) for c, x in raw]
    days, _ = churn_window_days(ledger_of(orders))
    gaps = []
    for c in {o[0] for o in orders}:
        dates = sorted({o[1] for o in orders if o[0] == c})
        gaps += [(b - a).days for a, b in zip(dates, dates[1:])]
    if not gaps:
        assert days == 365
    else:
        # a linear-interpolated 90th percentile lies between sorted[floor(0.9 (n-1))] and the
        # next gap, so at least floor(0.9 (n-1)) + 1 gaps fit in the window, and no more than
        # the longest gap (or the floor) is needed
        assert days >= 30
        assert sum(g <= days for g in gaps) >= math.floor(0.9 * (len(gaps) - 1)) + 1
        assert days <= max(30, max(gaps))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=50),
    st.floats(0.0, 1.0) | st.sampled_from([0.0, 0.5, 0.9, 1.0]),
)
def test_linear_quantile_of_counts_equals_polars_on_the_values(values: list[int], q: float) -> None:
    counts = (
        pl.DataFrame({"gap": values}).group_by("gap").agg(pl.len().alias("count")).sort("gap")
    )
    assert linear_quantile(counts, q) == pl.Series(values, dtype=pl.Float64).quantile(q, interpolation="linear")
    assert linear_quantile(counts.clear(), q) is None


def test_churn_section_hand_case() -> None:
    ledger = ledger_of(ORDERS)
    summary = customer_summary(ledger, AS_OF).collect()
    section = churn_section(summary, ledger, 72, "test basis", as_of=AS_OF)
    # recency: a 335, b 205, c 30, d 67 -> churned a, b
    assert section.churned_customers == 2
    assert section.churn_rate == 0.5
    assert section.churned_revenue == pytest.approx(180.0 + 70.0)
    assert section.definition["inactive_days"] == 72
    assert section.definition["basis"] == "test basis"
    assert section.definition["customer_counting"] == counting_rule(72)
    # d: own mean interval 27, recency 67 > 54 -> at risk; c: one order, population median
    # interval 27 (of a 15, d 27, b 50), recency 30 <= 54 -> not at risk
    assert section.at_risk_customers == 1
    (risk,) = section.at_risk
    assert (risk.customer_id, risk.last_order, risk.recency_days) == ("d", d(2024, 10, 25), 67)
    assert risk.usual_interval_days == 27.0
    assert risk.value_at_risk == pytest.approx(400.0 / (121 / 365.25))
    # no value tiers: win-back = churned with revenue in the top 20 % (bar 268) -> nobody
    assert section.win_back == []


def test_win_back_uses_value_tiers_and_value_column() -> None:
    ledger = ledger_of(ORDERS)
    summary = (
        customer_summary(ledger, AS_OF)
        .collect()
        .with_columns(
            pl.col("customer_id").replace_strict(
                {"a": "high", "b": "high", "c": "low", "d": "high"}
            ).alias("value_tier"),
            pl.lit(999.0).alias("clv"),
        )
    )
    section = churn_section(summary, ledger, 72, "b", as_of=AS_OF, value_column="clv", top=1)
    assert [c.customer_id for c in section.win_back] == ["a"]  # by lifetime revenue, top 1
    assert section.win_back[0].value_tier == "high"
    assert section.win_back[0].revenue == 180.0
    assert section.at_risk[0].value_at_risk == 999.0
    older = churn_section(summary, ledger, 250, "b", as_of=AS_OF, high_tiers=("low", "high"))
    assert [c.customer_id for c in older.win_back] == ["a"]  # b (205 days) is not churned
    # a churned customer's revenue counts only in the 365 days up to their last order
    long = ORDERS + [("a", d(2022, 12, 1), 1000.0)]
    s2 = customer_summary(ledger_of(long), AS_OF).collect()
    assert churn_section(s2, ledger_of(long), 72, "b", as_of=AS_OF).churned_revenue == pytest.approx(250.0)
