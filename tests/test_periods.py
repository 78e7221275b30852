"""Period labels, starts, ends and listing, against plain-Python calendar arithmetic."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.periods import (
    as_sequence,
    last_periods,
    order_sequence,
    period_index,
    period_index_expr,
    period_index_lookup,
    period_label_expr,
    period_start_expr,
    periods_between_expr,
)


def ref_period(d: dt.date, period: str, fs: int = 1) -> tuple[str, dt.date, dt.date]:
    """(label, start, end) by plain calendar arithmetic; fiscal years named by their end year."""
    if period == "week":
        start = d - dt.timedelta(days=d.weekday())
        y, w, _ = start.isocalendar()
        return f"{y}-W{w:02d}", start, start + dt.timedelta(days=6)
    if period == "month":
        start = d.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return f"{d.year}-{d.month:02d}", start, nxt - dt.timedelta(days=1)
    months = 3 if period == "quarter" else 12
    offset = (d.month - fs) % 12  # months since the fiscal year began
    first_month_offset = offset - offset % months
    y, m = d.year, d.month - (offset - first_month_offset)
    while m < 1:
        m += 12
        y -= 1
    start = dt.date(y, m, 1)
    ey, em = (y, m + months) if m + months <= 12 else (y + 1, m + months - 12)
    end = dt.date(ey, em, 1) - dt.timedelta(days=1)
    fy_start_year = d.year if d.month >= fs else d.year - 1
    fiscal_year = fy_start_year if fs == 1 else fy_start_year + 1
    if period == "year":
        return str(fiscal_year), start, end
    return f"{fiscal_year}-Q{first_month_offset // 3 + 1}", start, end


@pytest.mark.parametrize(
    ("d", "period", "fs", "label"),
    [
        (dt.date(2024, 3, 15), "month", 1, "2024-03"),
        (dt.date(2024, 3, 15), "quarter", 1, "2024-Q1"),
        (dt.date(2024, 2, 29), "week", 1, "2024-W09"),
        (dt.date(2024, 12, 30), "week", 1, "2025-W01"),  # ISO week-year, not calendar year
        (dt.date(2021, 1, 3), "week", 1, "2020-W53"),
        (dt.date(2024, 3, 15), "year", 1, "2024"),
        (dt.date(2024, 4, 1), "quarter", 4, "2025-Q1"),  # FY Apr 2024–Mar 2025 is 2025
        (dt.date(2025, 3, 31), "quarter", 4, "2025-Q4"),
        (dt.date(2024, 3, 31), "year", 4, "2024"),
        (dt.date(2024, 3, 15), "month", 4, "2024-03"),  # months ignore the fiscal start
    ],
)
def test_known_labels(d: dt.date, period: str, fs: int, label: str) -> None:
    out = pl.select(period_label_expr(pl.lit(d), period, fs)).item()
    assert out == label


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)), min_size=1, max_size=30),
    st.sampled_from(["month", "quarter", "week", "year"]),
    st.integers(1, 12),
)
def test_labels_and_starts_match_calendar(dates: list[dt.date], period: str, fs: int) -> None:
    frame = pl.DataFrame({"d": dates}, schema={"d": pl.Date}).with_columns(
        period_label_expr(pl.col("d"), period, fs).alias("label"),
        period_start_expr(pl.col("d"), period, fs).alias("start"),
    )
    for d, label, start in frame.iter_rows():
        ref_label, ref_start, _ = ref_period(d, period, fs)
        assert (label, start) == (ref_label, ref_start)


@settings(max_examples=100, deadline=None)
@given(
    st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
    st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
    st.sampled_from(["month", "quarter", "week", "year"]),
    st.integers(1, 12),
)
def test_periods_between_counts_period_boundaries(
    a: dt.date, b: dt.date, period: str, fs: int
) -> None:
    a, b = min(a, b), max(a, b)
    got = pl.select(periods_between_expr(pl.lit(a), pl.lit(b), period, fs)).item()
    # reference: step from a's period to b's period one period at a time (coarse steps only)
    if period == "week":
        expected = (ref_period(b, "week")[1] - ref_period(a, "week")[1]).days // 7
    else:
        _, start_a, _ = ref_period(a, period, fs)
        _, start_b, _ = ref_period(b, period, fs)
        months = (start_b.year - start_a.year) * 12 + start_b.month - start_a.month
        expected = months // {"month": 1, "quarter": 3, "year": 12}[period]
    assert got == expected
    assert period_index(b, period, fs) - period_index(a, period, fs) == expected


def test_last_periods_and_partial_flag() -> None:
    table = last_periods(dt.date(2024, 3, 30), "month", 3)
    assert table["period"].to_list() == ["2024-01", "2024-02", "2024-03"]
    assert table["partial"].to_list() == [False, False, True]
    assert table["end"].to_list()[1] == dt.date(2024, 2, 29)
    # as_of on the period's last day: complete
    assert last_periods(dt.date(2024, 3, 31), "month", 1)["partial"].to_list() == [False]
    weeks = last_periods(dt.date(2024, 3, 31), "week", 2)  # 2024-03-31 is a Sunday
    assert weeks["period"].to_list() == ["2024-W12", "2024-W13"]
    assert weeks["partial"].to_list() == [False, False]
    fiscal = last_periods(dt.date(2024, 5, 10), "quarter", 2, fiscal_year_start=4)
    assert fiscal["period"].to_list() == ["2024-Q4", "2025-Q1"]
    assert fiscal["start"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 4, 1)]
    # not_before trims periods before the data begins
    short = last_periods(dt.date(2024, 3, 5), "month", 12, not_before=dt.date(2024, 2, 20))
    assert short["period"].to_list() == ["2024-02", "2024-03"]


def _check_sequence(seq: pl.DataFrame, ledger: pl.DataFrame, as_of: dt.date | None = None) -> None:
    """The orders up to ``as_of``, each customer's contiguous and in date order, with the right
    neighbours."""
    assert seq.columns == ["customer_id", "order_date", "amount", "prev_date", "next_date", "row"]
    rows = seq["row"].to_list()
    assert len(set(rows)) == len(rows)
    assert seq.select("customer_id", "order_date", "amount").rows() == [
        (ledger["customer_id"][r], ledger["order_date"][r], ledger["amount"][r]) for r in rows
    ]
    used = ledger if as_of is None else ledger.filter(pl.col("order_date") <= as_of)
    key = ["customer_id", "order_date", "amount"]
    assert sorted(seq.select(key).rows()) == sorted(used.select(key).rows())
    ids = seq["customer_id"].to_list()
    runs = [c for i, c in enumerate(ids) if i == 0 or ids[i - 1] != c]
    assert len(runs) == len(set(runs))  # contiguous
    for cid in set(ids):
        dates = seq.filter(pl.col("customer_id") == cid)
        expected = sorted(used.filter(pl.col("customer_id") == cid)["order_date"].to_list())
        assert dates["order_date"].to_list() == expected
        assert dates["prev_date"].to_list() == [None, *expected[:-1]]
        assert dates["next_date"].to_list() == [*expected[1:], None]


LEDGER_5 = pl.DataFrame(
    {
        "customer_id": ["b", "a", "a", "b", "a"],
        "order_id": ["1", "2", "3", "4", "5"],
        "order_date": [dt.date(2024, 1, 5), dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1),
                       dt.date(2024, 3, 1)],
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
    }
)


def test_order_sequence_neighbours_and_as_of() -> None:
    as_of = dt.date(2024, 2, 15)
    seq = order_sequence(LEDGER_5, as_of=as_of)
    assert seq.height == 4
    _check_sequence(seq, LEDGER_5, as_of)
    assert order_sequence(LEDGER_5, dt.date(2023, 1, 1)).height == 0


def test_as_sequence_cuts_a_longer_sequence_at_as_of() -> None:
    as_of = dt.date(2024, 2, 15)
    cut = as_sequence(order_sequence(LEDGER_5), as_of)
    _check_sequence(cut, LEDGER_5, as_of)
    assert sorted(as_sequence(LEDGER_5, as_of).rows()) == sorted(cut.rows())


@pytest.mark.parametrize("tier", ["prefix", "whole hash", "id"])
def test_order_sequence_sort_and_clash_fallback(monkeypatch: pytest.MonkeyPatch, tier: str) -> None:
    """Each sort the sequence can take: the packed key; the whole hash and the day when hash
    prefixes clash (62 day bits leave two prefixes); the id itself when whole hashes clash."""
    import random

    from custinv.analytics import periods

    if tier != "prefix":
        monkeypatch.setattr(periods, "_day_bits", lambda span: 62)
    if tier == "id":
        monkeypatch.setattr(periods, "_id_hash", lambda ids: ids.hash(seed=0) // (1 << 62))
    rng = random.Random(3)
    n = 400
    ledger = pl.DataFrame(
        {
            "customer_id": [f"id{rng.randrange(60)}" for _ in range(n)],
            "order_date": [dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(900)) for _ in range(n)],
            "amount": [float(i) for i in range(n)],
        }
    )
    _check_sequence(order_sequence(ledger), ledger)


def test_order_sequence_dates_too_far_apart_for_the_key() -> None:
    from custinv.analytics import periods

    ledger = pl.DataFrame(
        {
            "customer_id": ["x", "y", "x", "y"],
            "order_date": [dt.date(1, 1, 1), dt.date(2024, 1, 1), dt.date(9999, 12, 31), dt.date(2000, 1, 1)],
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert (dt.date(9999, 12, 31) - dt.date(1, 1, 1)).days >= 1 << periods._DAY_BITS
    _check_sequence(order_sequence(ledger), ledger)


@settings(max_examples=40, deadline=None)
@given(
    st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)),
    st.integers(0, 800),
    st.sampled_from(["month", "quarter", "week", "year"]),
    st.integers(1, 12),
)
def test_period_index_lookup_equals_the_rule(first: dt.date, span: int, period: str, fiscal_start: int) -> None:
    last = first + dt.timedelta(days=span)
    days = pl.DataFrame({"d": pl.date_range(first, last, eager=True)}).with_columns(
        pl.lit(None, dtype=pl.Date).alias("none")
    )
    got = days.select(
        period_index_lookup(pl.col("d"), period, fiscal_start, first, last).alias("a"),
        period_index_expr(pl.col("d"), period, fiscal_start).alias("b"),
        period_index_lookup(pl.col("none"), period, fiscal_start, first, last).alias("null"),
    )
    assert got["a"].to_list() == got["b"].to_list()
    assert got["null"].null_count() == days.height


def test_a_sequence_without_customer_ids_is_still_a_sequence() -> None:
    seq = order_sequence(LEDGER_5).drop("customer_id")
    assert as_sequence(seq) is seq
    cut = as_sequence(seq, dt.date(2024, 2, 15))
    assert cut.height == 4 and cut["next_date"].max() <= dt.date(2024, 2, 15)
