"""Dimension breakdowns and the per-value totals shared by every classification table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.breakdowns import (
    BLANK,
    OTHER,
    attach_dimensions,
    breakdown,
    breakdowns,
    present_dimensions,
    totals_by,
)
from custinv.analytics.periods import order_sequence
from custinv.analytics.summary import customer_summary

D = dt.date


def ledger() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
            "order_id": ["1", "2", "3", "4", "5", "6", "7", "8"],
            "order_date": [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1), D(2024, 1, 5), D(2024, 1, 5), D(2024, 2, 2), D(2024, 1, 1), D(2024, 3, 3)],
            "amount": [10.0, 20.0, 30.0, 5.0, 7.0, 100.0, 1.0, 2.0],
            # a moved North → South, its latest order has no region; b has two orders on one
            # day (order 5 is later by id); c never has a region; d has no channel
            "region": ["North", "South", None, "East", "West", None, "North", "East"],
            "channel": ["web", "web", "web", "shop", "shop", "web", None, None],
        }
    )


def test_attach_dimensions_takes_latest_non_null_value() -> None:
    summary = customer_summary(ledger(), D(2024, 3, 31))
    out = attach_dimensions(summary, ledger())
    assert out["customer_id"].to_list() == ["a", "b", "c", "d"]
    assert out["region"].to_list() == ["South", "West", None, "East"]
    assert out["channel"].to_list() == ["web", "shop", "web", None]
    # row order of the ledger does not matter
    shuffled = attach_dimensions(summary, ledger().reverse(), ["region"])
    assert shuffled["region"].to_list() == ["South", "West", None, "East"]
    assert present_dimensions(ledger()) == ["region", "channel"]


def test_breakdown_rows() -> None:
    frame = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "orders": [3, 1, 2, 1, 1, 4],
            "revenue": [60.0, 12.0, 100.0, 3.0, 5.0, 20.0],
            "value_tier": ["high", "low", "high", "low", "low", "medium"],
            "region": ["South", "West", None, "East", "East", "South"],
        }
    )
    # by revenue: (blank) 100, South 80, West 12, East 8 → top 2 listed, West + East merged
    result = breakdown(frame, "region", top=2)
    got = [(r.value, r.customers, r.revenue, r.average_order_value, r.repeat_purchase_rate, r.tiers) for r in result.rows]
    assert got == [
        (BLANK, 1, 100.0, 50.0, 1.0, {"high": 1, "medium": 0, "low": 0}),
        ("South", 2, 80.0, 80.0 / 7, 1.0, {"high": 1, "medium": 1, "low": 0}),
        (OTHER, 3, 20.0, 20.0 / 3, 0.0, {"high": 0, "medium": 0, "low": 3}),
    ]
    assert [r.share for r in result.rows] == [1 / 6, 2 / 6, 3 / 6]
    assert [r.revenue_share for r in result.rows] == [100 / 200, 80 / 200, 20 / 200]
    # without a cut-off every value is listed, ties in revenue ordered by value
    full = breakdown(frame.with_columns(pl.col("revenue").replace(12.0, 8.0)), "region")
    assert [r.value for r in full.rows] == [BLANK, "South", "East", "West"]
    assert sum(r.customers for r in full.rows) == 6


def test_breakdowns_all_or_chosen_dimensions() -> None:
    summary = customer_summary(ledger(), D(2024, 3, 31))
    frame = attach_dimensions(summary, ledger())
    assert [b.dimension for b in breakdowns(frame)] == ["region", "channel"]
    channel = breakdowns(frame, ["channel"])[0]
    assert [(r.value, r.customers, r.revenue) for r in channel.rows] == [("web", 2, 160.0), ("shop", 1, 12.0), (BLANK, 1, 3.0)]
    assert channel.rows[0].tiers == {}  # no value_tier column on this frame
    with pytest.raises(ValueError, match="industry"):
        breakdowns(frame, ["industry"])


def test_totals_by_keeps_every_key_in_order() -> None:
    frame = pl.DataFrame({"k": ["x", None, "x", "z"], "revenue": [1.0, 50.0, 2.0, 7.0]})
    out = totals_by(frame, "k", ["y", "x", "z"])
    assert out.rows() == [("y", 0, 0.0, 0.0, 0.0), ("x", 2, 3.0, 2 / 3, 0.3), ("z", 1, 7.0, 1 / 3, 0.7)]
    empty = totals_by(frame.clear(), "k", ["x"])
    assert empty.rows() == [("x", 0, 0.0, None, None)]


def test_attach_dimensions_without_order_id_breaks_same_day_ties_by_value() -> None:
    led = ledger().drop("order_id")
    out = attach_dimensions(customer_summary(led, D(2024, 3, 31)), led, ["region"])
    # b's two same-day orders say East and West → the larger value, West
    assert out["region"].to_list() == ["South", "West", None, "East"]


def _latest_value_reference(led: pl.DataFrame, dim: str) -> dict[str, str | None]:
    """Plain Python: per customer, the value on the latest order with one; same-day ties by the
    larger order_id, then the larger value."""
    best: dict[str, tuple] = {}
    for r in led.iter_rows(named=True):
        if r[dim] is None:
            best.setdefault(r["customer_id"], ())
            continue
        key = (r["order_date"], r["order_id"], r[dim])
        if best.get(r["customer_id"], ()) < key:
            best[r["customer_id"]] = key
    return {c: (k[2] if k else None) for c, k in best.items()}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcde"), st.integers(0, 6), st.integers(0, 30),
                  st.sampled_from(["N", "S", "E", None]), st.sampled_from(["web", "shop", "app"])),
        min_size=1,
        max_size=40,
    )
)
def test_attach_dimensions_matches_a_brute_force_pick(rows: list[tuple]) -> None:
    # channel never null (one shared pass, dates from the summary), region nullable (its own
    # pass); few dates and order ids so same-day ties are common
    led = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [f"{r[2]:02d}" for r in rows],
            "order_date": [D(2024, 1, 1) + dt.timedelta(days=r[1]) for r in rows],
            "amount": [1.0] * len(rows),
            "region": [r[3] for r in rows],
            "channel": [r[4] for r in rows],
        }
    )
    summary = customer_summary(led, D(2024, 3, 31)).collect()
    out = attach_dimensions(summary, led)
    assert out.columns == [*summary.columns, "region", "channel"]
    assert out.drop("region", "channel").equals(summary)
    for dim in ("region", "channel"):
        ref = _latest_value_reference(led, dim)
        assert dict(zip(out["customer_id"], out[dim], strict=True)) == ref
    # read off the order sequence (dimensions without nulls): the same frame
    assert attach_dimensions(summary, led, sequence=order_sequence(led)).equals(out)


def test_attach_dimensions_when_id_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    from custinv.analytics import breakdowns as bd

    summary = customer_summary(ledger(), D(2024, 3, 31)).collect()
    expected = attach_dimensions(summary, ledger())
    # every id hashes alike: the hash join finds wrong and repeated matches and falls back
    monkeypatch.setattr(bd, "_id_hash", lambda ids: ids.hash(seed=0) * 0)
    assert attach_dimensions(summary, ledger()).equals(expected)
    assert attach_dimensions(summary, ledger(), sequence=order_sequence(ledger())).equals(expected)
