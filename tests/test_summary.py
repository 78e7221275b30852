"""The per-customer summary, and the same summary read off the order sequence."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from conftest import ledger_of
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.periods import order_sequence
from custinv.analytics.summary import SUMMARY_SCHEMA, customer_summary, summary_from_sequence

D = dt.date
AS_OF = D(2024, 3, 31)
ORDERS = [
    ("b", D(2024, 3, 1), 10.0),
    ("a", D(2024, 1, 1), 5.0),
    ("a", D(2024, 1, 1), 7.0),
    ("b", D(2024, 1, 11), 1.5),
    ("a", D(2024, 3, 31), 8.0),
    ("c", D(2024, 2, 1), 0.0),
]


def test_hand_case() -> None:
    summary = summary_from_sequence(order_sequence(ledger_of(ORDERS), AS_OF), AS_OF)
    assert summary.schema == pl.Schema(SUMMARY_SCHEMA)
    assert summary.rows() == [
        # id, first, last, orders, revenue, aov, recency, tenure, mean gap (last - first) / (orders - 1)
        ("a", D(2024, 1, 1), D(2024, 3, 31), 3, 20.0, 20.0 / 3, 0, 90, 90 / 2),
        ("b", D(2024, 1, 11), D(2024, 3, 1), 2, 11.5, 5.75, 30, 80, 50.0),
        ("c", D(2024, 2, 1), D(2024, 2, 1), 1, 0.0, 0.0, 59, 59, None),
    ]
    assert summary.equals(customer_summary(ledger_of(ORDERS), AS_OF).collect())


def test_empty_sequence() -> None:
    empty = order_sequence(ledger_of(ORDERS), D(2023, 1, 1))
    assert summary_from_sequence(empty, AS_OF).shape == (0, len(SUMMARY_SCHEMA))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefg"), st.integers(0, 400), st.integers(0, 10_000)),
        min_size=1,
        max_size=80,
    )
)
def test_equals_the_group_by_summary(rows: list[tuple[str, int, int]]) -> None:
    orders = [(c, D(2023, 1, 1) + dt.timedelta(days=day), cents / 100) for c, day, cents in rows]
    ledger = ledger_of(orders)
    as_of = max(o[1] for o in orders)
    fast = summary_from_sequence(order_sequence(ledger, as_of), as_of)
    plain = customer_summary(ledger, as_of).collect()
    assert fast.drop("revenue", "average_order_value").equals(plain.drop("revenue", "average_order_value"))
    # revenue adds a customer's orders in date order: equal up to float rounding
    assert fast["revenue"].to_list() == pytest.approx(plain["revenue"].to_list(), rel=1e-12, abs=1e-9)
