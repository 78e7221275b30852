"""The time axis of trends and cohorts: reporting periods and each customer's order sequence.

Periods
-------
``period`` is one of ``month``, ``quarter``, ``week``, ``year``. Every period has an integer
*index* so that "k periods later" is plain integer arithmetic, and a *label*:

=========  ===========  ==================================================================
period     label        rule
=========  ===========  ==================================================================
month      ``2024-03``  calendar month (``fiscal_year_start`` does not apply)
quarter    ``2024-Q1``  three months starting at ``fiscal_year_start``; ``Qn`` is the
                        quarter *within the fiscal year*
week       ``2024-W09`` ISO 8601 week, Monday to Sunday, labelled with the ISO *week-year*
                        (2024-12-30 is in ``2025-W01``; 2021-01-03 is in ``2020-W53``)
year       ``2024``     twelve months starting at ``fiscal_year_start``
=========  ===========  ==================================================================

Fiscal years (``fiscal_year_start`` = m, 1..12) are named by the calendar year in which they
**end** — the convention of most companies that report on a non-calendar year (Microsoft,
Apple, the US federal government, India's "FY25"). With ``fiscal_year_start=4`` the year
April 2024 – March 2025 is ``2025``, April–June 2024 is ``2025-Q1`` and January–March 2025
is ``2025-Q4``. With the default ``1`` fiscal and calendar years coincide.

Order sequence
--------------
Churn windows, period KPIs and cohorts all need a customer's orders in date order with the
previous and next order's date. :func:`order_sequence` does that one sort once, so an audit
pays for it once and the three consumers share it.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

import polars as pl

Period = Literal["month", "quarter", "week", "year"]
PERIODS: Final[tuple[str, ...]] = ("month", "quarter", "week", "year")

# Day number (days since 1970-01-01, a Thursday) of the Monday that starts week index 0.
_WEEK_EPOCH_OFFSET: Final[int] = 3

SEQUENCE_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "order_date",
    "amount",
    "prev_date",
    "next_date",
    "row",
)


def check_period(period: str, fiscal_year_start: int = 1) -> None:
    """Raise ``ValueError`` for an unknown period or a fiscal start outside 1..12."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
    if not 1 <= int(fiscal_year_start) <= 12:
        raise ValueError(f"fiscal_year_start must be a month 1..12, got {fiscal_year_start!r}")


def _month_number(date_expr: pl.Expr) -> pl.Expr:
    """Months since year 0: year × 12 + (month − 1)."""
    return date_expr.dt.year().cast(pl.Int64) * 12 + date_expr.dt.month().cast(pl.Int64) - 1


def period_index_expr(date_expr: pl.Expr, period: str, fiscal_year_start: int = 1) -> pl.Expr:
    """Integer index of the period containing each date; consecutive periods differ by 1."""
    check_period(period, fiscal_year_start)
    shift = fiscal_year_start - 1
    if period == "month":
        return _month_number(date_expr)
    if period == "quarter":
        return (_month_number(date_expr) - shift) // 3
    if period == "year":
        return (_month_number(date_expr) - shift) // 12
    days = date_expr.cast(pl.Int32).cast(pl.Int64)
    return (days + _WEEK_EPOCH_OFFSET) // 7


def period_index_lookup(
    date_expr: pl.Expr, period: str, fiscal_year_start: int, first: dt.date, last: dt.date
) -> pl.Expr:
    """:func:`period_index_expr` for dates known to lie in ``first..last``, by table lookup.

    The same rule, evaluated once per calendar day of the range instead of once per row:
    on 10M orders, year and month of every date cost more than the rest of a cohort
    matrix, while the lookup is a gather from a table of a few thousand days. A date outside
    the range is an error, not a wrong index.
    """
    table = pl.select(
        period_index_expr(pl.lit(pl.date_range(first, last, eager=True)), period, fiscal_year_start)
    ).to_series()
    offset = pl.lit(first, dtype=pl.Date).cast(pl.Int32)
    return pl.lit(table).gather(date_expr.cast(pl.Int32) - offset)


def index_start_expr(index_expr: pl.Expr, period: str, fiscal_year_start: int = 1) -> pl.Expr:
    """First day (Date) of the period with the given index (inverse of :func:`period_index_expr`)."""
    check_period(period, fiscal_year_start)
    shift = fiscal_year_start - 1
    idx = index_expr.cast(pl.Int64)
    if period == "week":
        return (idx * 7 - _WEEK_EPOCH_OFFSET).cast(pl.Int32).cast(pl.Date)
    months = {"month": idx, "quarter": idx * 3 + shift, "year": idx * 12 + shift}[period]
    return pl.date(months // 12, months % 12 + 1, 1)


def index_end_expr(index_expr: pl.Expr, period: str, fiscal_year_start: int = 1) -> pl.Expr:
    """Last day (Date, inclusive) of the period with the given index."""
    nxt = index_start_expr(index_expr.cast(pl.Int64) + 1, period, fiscal_year_start)
    return (nxt.cast(pl.Int32) - 1).cast(pl.Date)


def period_start_expr(date_expr: pl.Expr, period: str, fiscal_year_start: int = 1) -> pl.Expr:
    """First day of the period containing each date."""
    return index_start_expr(
        period_index_expr(date_expr, period, fiscal_year_start), period, fiscal_year_start
    )


def index_label_expr(index_expr: pl.Expr, period: str, fiscal_year_start: int = 1) -> pl.Expr:
    """Label of the period with the given index (see the module docstring for the rules)."""
    check_period(period, fiscal_year_start)
    idx = index_expr.cast(pl.Int64)
    shift = fiscal_year_start - 1

    def two(e: pl.Expr) -> pl.Expr:
        return e.cast(pl.String).str.zfill(2)

    if period == "month":
        return pl.format("{}-{}", idx // 12, two(idx % 12 + 1))
    if period == "week":
        monday = index_start_expr(idx, "week")
        return pl.format("{}-W{}", monday.dt.iso_year(), two(monday.dt.week()))
    if period == "quarter":
        year_idx = idx // 4
        quarter = idx % 4 + 1
    else:
        year_idx = idx
        quarter = None
    # A fiscal year is named by the calendar year of its last month.
    fiscal_year = (year_idx * 12 + shift + 11) // 12
    if quarter is None:
        return fiscal_year.cast(pl.String)
    return pl.format("{}-Q{}", fiscal_year, quarter)


def period_label_expr(date_expr: pl.Expr, period: str, fiscal_year_start: int = 1) -> pl.Expr:
    """Label of the period containing each date: ``2024-03``, ``2024-Q1``, ``2024-W09``, ``2024``."""
    return index_label_expr(
        period_index_expr(date_expr, period, fiscal_year_start), period, fiscal_year_start
    )


def periods_between_expr(
    start_expr: pl.Expr, end_expr: pl.Expr, period: str, fiscal_year_start: int = 1
) -> pl.Expr:
    """Whole periods from the period of ``start`` to the period of ``end`` (0 when the same)."""
    return period_index_expr(end_expr, period, fiscal_year_start) - period_index_expr(
        start_expr, period, fiscal_year_start
    )


def period_index(date: dt.date, period: str, fiscal_year_start: int = 1) -> int:
    """Scalar :func:`period_index_expr` (same rule, evaluated by Polars)."""
    out = pl.select(
        period_index_expr(pl.lit(date, dtype=pl.Date), period, fiscal_year_start)
    ).item()
    return int(out)


def period_table(
    first_index: int, last_index: int, period: str, fiscal_year_start: int, as_of: dt.date
) -> pl.DataFrame:
    """One row per period index in ``[first_index, last_index]``.

    Columns: ``index`` (Int64), ``period`` (label), ``start``, ``end`` (Date, inclusive) and
    ``partial``: the period has not ended by ``as_of`` (``as_of`` before its last day).
    """
    idx = pl.col("index")
    return (
        pl.DataFrame({"index": pl.int_range(first_index, last_index + 1, eager=True)})
        .with_columns(pl.col("index").cast(pl.Int64))
        .with_columns(
            index_label_expr(idx, period, fiscal_year_start).alias("period"),
            index_start_expr(idx, period, fiscal_year_start).alias("start"),
            index_end_expr(idx, period, fiscal_year_start).alias("end"),
        )
        .with_columns((pl.col("end") > pl.lit(as_of, dtype=pl.Date)).alias("partial"))
    )


def last_periods(
    as_of: dt.date,
    period: str,
    n: int,
    fiscal_year_start: int = 1,
    not_before: dt.date | None = None,
) -> pl.DataFrame:
    """The last ``n`` periods up to and including the one containing ``as_of``.

    The period containing ``as_of`` is ``partial`` unless ``as_of`` is its last day. With
    ``not_before`` (e.g. the first order date) periods ending before it are left out, so a
    short history gives fewer than ``n`` rows rather than empty periods.
    """
    if n < 1:
        raise ValueError(f"the number of periods must be at least 1, got {n}")
    last = period_index(as_of, period, fiscal_year_start)
    first = last - n + 1
    if not_before is not None:
        first = max(first, min(last, period_index(not_before, period, fiscal_year_start)))
    return period_table(first, last, period, fiscal_year_start, as_of)


# ------------------------------------------------------------------ order sequence


_DAY_BITS: Final[int] = 20  # at most 20 bits of the key for the day (2,800 years of dates)


# what cohorts, period KPIs and churn read from a sequence (as_sequence recognises it by them)
SEQUENCE_READ: Final[tuple[str, ...]] = ("order_date", "amount", "prev_date", "next_date")


def _with_neighbours(frame: pl.LazyFrame, same_customer: pl.Expr) -> pl.LazyFrame:
    """prev_date / next_date from the rows above and below; ``same_customer`` is true where a
    row belongs to the same customer as the row above it (the frame is sorted by customer).
    Keeps ``_same`` (that flag) for the caller's checks."""
    date = pl.col("order_date")
    return frame.with_columns(same_customer.alias("_same")).with_columns(
        pl.when(pl.col("_same")).then(date.shift(1)).alias("prev_date"),
        pl.when(pl.col("_same").shift(-1)).then(date.shift(-1)).alias("next_date"),
    )


def order_sequence(
    ledger: pl.DataFrame | pl.LazyFrame, as_of: dt.date | None = None
) -> pl.DataFrame:
    """The ledger sorted by customer and date, with each order's neighbours' dates.

    Columns: ``customer_id``, ``order_date``, ``amount``, ``prev_date`` (the same customer's
    previous order, null on their first), ``next_date`` (their next order, null on their
    last) and ``row``, the order's row number in ``ledger`` (to fetch any other column of it
    with a gather instead of a join). Orders on the same day are neighbours with a gap of 0
    days, in ledger order (the sort is stable, so sums over the sequence are reproducible).
    Orders after ``as_of`` are dropped. The shifts compare neighbouring rows instead of using
    a window over ``customer_id``: the frame is sorted, so a customer boundary is where the id
    changes. Consumers may rely on that order (a row's neighbours are the rows above and
    below it).

    The sort key is one UInt64 — the id's hash with its low bits replaced by the day number
    (as few bits as the dates' span needs: 12 for ten years) — so a plain integer sort groups
    each customer's orders in date order, and the date is read back from the key instead of
    being moved by the sort. Two ids whose hashes agree above those bits would interleave;
    that is detected in the same pass as the neighbours (the id changes where the hash prefix
    does not). With millions of customers such a pair is likely (about k²/2^(65−bits) for k
    customers), so the frame is then sorted by the whole hash and the day — two integer keys —
    and only if two ids share a whole 64-bit hash, by the id itself (a string sort: 36 s of the
    first 100M-order audit, where 10M customers made a clash of the shorter prefix certain).
    """
    date = pl.col("order_date")
    lf = ledger.lazy().with_row_index("row").select(
        pl.col("customer_id").cast(pl.String), date.cast(pl.Date), pl.col("amount").cast(pl.Float64), "row"
    )
    if as_of is not None:
        lf = lf.filter(date <= pl.lit(as_of, dtype=pl.Date))
    day = date.cast(pl.Int32)
    first, last = lf.select(day.min().alias("first"), day.max().alias("last")).collect().row(0)
    cid = pl.col("customer_id")
    by_id = lf.sort("customer_id", "order_date", maintain_order=True)
    if first is None or last - first >= 1 << _DAY_BITS:
        return _with_neighbours(by_id, cid == cid.shift(1)).select(SEQUENCE_COLUMNS).collect()
    low = pl.lit(1 << _day_bits(last - first), dtype=pl.UInt64)
    key = _id_hash(cid) // low * low + (day - first).cast(pl.UInt64)
    prefix = pl.col("_key") // low
    # the sort collected on its own: fused with the shifts below it ran slower
    by_key = lf.select(key.alias("_key"), "customer_id", "amount", "row").sort("_key", maintain_order=True).collect()
    frame = _unless_clash(_with_neighbours(
        by_key.lazy().with_columns(((pl.col("_key") % low).cast(pl.Int32) + first).cast(pl.Date).alias("order_date")),
        prefix == prefix.shift(1),
    ))
    del by_key
    if frame is not None:
        return frame
    whole = pl.col("_hash")
    by_hash = lf.with_columns(_id_hash(cid).alias("_hash")).sort("_hash", "order_date", maintain_order=True)
    frame = _unless_clash(_with_neighbours(by_hash, whole == whole.shift(1)))
    if frame is not None:
        return frame
    return _with_neighbours(by_id, cid == cid.shift(1)).select(SEQUENCE_COLUMNS).collect()


def _day_bits(span: int) -> int:
    """Bits of the sort key for the day: as many as ``span`` (days) needs."""
    return max(1, span.bit_length())


def _id_hash(ids: pl.Expr) -> pl.Expr:
    """The customer id's 64-bit hash (one place, so both sort keys agree)."""
    return ids.hash(seed=0)


def _unless_clash(frame: pl.LazyFrame) -> pl.DataFrame | None:
    """The sequence, or None when two customers' ids shared a sort key (their rows interleave)."""
    cid = pl.col("customer_id")
    out = frame.select(*SEQUENCE_COLUMNS, (pl.col("_same") & (cid != cid.shift(1))).any().alias("_clash")).collect()
    if out.height and out["_clash"][0]:
        return None
    return out.drop("_clash")


def as_sequence(
    frame: pl.DataFrame | pl.LazyFrame, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Accept either a ledger or an :func:`order_sequence` result (recognised by its columns).

    A sequence is recognised by the columns its consumers read (its ``customer_id`` may have
    been dropped). A sequence reaching past ``as_of`` is cut there: its later rows go and the dates after
    ``as_of`` are no longer anyone's next order (the rest stays sorted).
    """
    if isinstance(frame, pl.DataFrame) and set(SEQUENCE_READ) <= set(frame.columns):
        if as_of is not None and frame.height and frame["order_date"].max() > as_of:  # type: ignore[operator]
            cut = pl.lit(as_of, dtype=pl.Date)
            return frame.filter(pl.col("order_date") <= cut).with_columns(
                pl.when(pl.col("next_date") <= cut).then(pl.col("next_date")).alias("next_date")
            )
        return frame
    return order_sequence(frame, as_of)
