"""Period KPIs (客户增长率 / 留存率 / 流失率 / 复购率) for the last N periods.

Counting rule (stated in the output by :func:`custinv.analytics.churn.counting_rule`): a
customer *counts* at the end of day t when they have ordered on or before t and their last
such order is at most W = ``churn_days`` days before t. For a period [start, end] — end is
``as_of`` for the current, partial period, which is all that is known of it:

- ``customers_start`` S: counted at the end of the day before ``start``;
- ``new_customers`` N: first-ever order in the period;
- ``reactivated_customers`` R: ordered before the period, not counted at its start (lapsed),
  ordered in it — a churned customer who buys again is reactivated, never new;
- ``churned_customers`` C: counted at the start or new/reactivated in the period, and not
  counted at its end (they passed the window during the period and did not order again in
  it). A customer who lapses and returns within one period is neither churned nor
  reactivated in it;
- ``customers_end`` E: counted at the end. E = S + N + R − C holds exactly (S, N, R are
  disjoint and E is inside their union).
- ``active_customers``: ordered in the period; ``orders``, ``revenue``, ``average_order_value``.
- ``customer_growth_rate`` (E − S) / S; ``retention_rate`` CRR = (E − N) / S with N all the
  customers *acquired* in the period — new and reactivated alike, since neither was a customer
  at its start — so CRR = (E − N − R) / S: the share of the starting customers still counted at
  the end, a fraction in [0, 1] (design.md's rule for rates), and CRR + churn rate = 1 whenever
  the churn window is at least a period long (a customer acquired in the period cannot then
  also lapse in it); ``churn_rate`` C / S; all null when S = 0.
- ``repeat_purchase_rate``: among the period's active customers, the share with at least two
  orders in total by the period's end (ordered before the period, or twice within it).
- ``net_revenue_retention``: revenue in the period from customers who ordered in the previous
  period / those customers' revenue in the previous period (= the previous period's revenue);
  null when that is 0.

How it is computed, without loops over rows: on the order sequence (orders sorted by customer
and date with the neighbours' dates) a customer's counted time is a union of *spells*; a spell
starts at an order more than W + 1 days after the previous one (or the first) and ends with a
churn event on day ``last order + W + 1`` when the next order is later than that. E per period
is the running sum of spell starts minus churn events; every other count is one ``group_by``
over period indices.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

from custinv.analytics.periods import (
    as_sequence,
    last_periods,
    period_index_lookup,
    period_table,
)
from custinv.models import PeriodKpis

_NO_PERIOD: Final[int] = -(10**9)

PERIOD_KPI_COLUMNS: Final[tuple[str, ...]] = tuple(PeriodKpis.model_fields)


def _sequence_columns(
    seq: pl.DataFrame,
    churn_days: int,
    period: str,
    fiscal_year_start: int,
    as_of: dt.date,
    lo: dt.date,
) -> pl.DataFrame:
    """Row-level flags on the order sequence; see the module docstring for their meaning.

    Only orders from ``lo`` on are used (everything the window's periods depend on). Period
    indices are computed twice per row (the order's and its churn day's); the neighbours'
    indices are the same columns shifted by one row, since the sequence is sorted by customer
    and date — except where the previous order is before ``lo`` (not in the frame): it then
    gets a period far in the past, which is all the flags need to know about it.
    """
    date, prev, nxt = pl.col("order_date"), pl.col("prev_date"), pl.col("next_date")
    has_prev, has_next = prev.is_not_null(), nxt.is_not_null()
    as_of_day = pl.lit(as_of, dtype=pl.Date).cast(pl.Int32)
    day = date.cast(pl.Int32)
    # the churn day of this order if nothing follows it in time (capped after as_of: unused)
    churn_day = pl.min_horizontal(day + (churn_days + 1), as_of_day + 1).cast(pl.Date)
    lo_lit = pl.lit(lo, dtype=pl.Date)
    day_after = as_of + dt.timedelta(days=1)  # the latest churn day (orders and churn days lie in lo..day_after)
    base = seq.lazy().filter(date >= lo_lit).select(
        pl.col("amount"),
        has_prev.alias("has_prev"),
        (prev >= lo_lit).fill_null(False).alias("prev_in_frame"),
        has_next.alias("has_next"),
        day.alias("day"),
        prev.cast(pl.Int32).alias("prev_day"),
        nxt.cast(pl.Int32).alias("next_day"),
        period_index_lookup(date, period, fiscal_year_start, lo, day_after).alias("idx"),
        period_index_lookup(churn_day, period, fiscal_year_start, lo, day_after).alias("cidx"),
        churn_day.cast(pl.Int32).alias("churn_day"),
    )
    idx, cidx = pl.col("idx"), pl.col("cidx")
    long_ago = pl.lit(_NO_PERIOD + 1, dtype=pl.Int64)
    in_frame, has_prev_c = pl.col("prev_in_frame"), pl.col("has_prev")
    prev_idx = pl.when(in_frame).then(idx.shift(1)).when(has_prev_c).then(long_ago)
    prev_cidx = pl.when(in_frame).then(cidx.shift(1)).when(has_prev_c).then(long_ago)
    next_idx = pl.when(pl.col("has_next")).then(idx.shift(-1))
    first_in_period = (~pl.col("has_prev")) | (prev_idx < idx)
    has_churn = (
        (~pl.col("has_next")) | (pl.col("next_day") > pl.col("churn_day"))
    ) & (pl.col("churn_day") <= as_of_day)
    return base.select(
        pl.col("amount"),
        idx,
        first_in_period.alias("first_in_period"),
        (~pl.col("has_prev")).alias("new"),
        (pl.col("has_prev") & (prev_cidx < idx)).alias("reactivated"),
        (pl.col("has_prev") | (next_idx == idx).fill_null(False)).alias("repeat"),
        ((~pl.col("has_prev")) | (pl.col("day") - pl.col("prev_day") > churn_days + 1)).alias(
            "spell_start"
        ),
        pl.when(has_churn).then(cidx).alias("churn_idx"),
        ((~pl.col("has_next")) | (next_idx > cidx)).alias("churn_final"),
        # period of the customer's last order before this row's period (for NRR)
        pl.when(first_in_period)
        .then(prev_idx.fill_null(_NO_PERIOD))
        .forward_fill()
        .alias("last_period_before"),
        pl.col("day"),
        pl.col("next_day"),
    ).collect()


def _day(date: dt.date) -> pl.Expr:
    return pl.lit(date, dtype=pl.Date).cast(pl.Int32)


def period_kpis_frame(
    ledger: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    churn_days: int,
    *,
    period: str = "month",
    periods: int = 12,
    fiscal_year_start: int = 1,
) -> pl.DataFrame:
    """One row per period (oldest first) with the columns of :class:`PeriodKpis`.

    ``ledger`` is the order ledger or its :func:`~custinv.analytics.periods.order_sequence`.
    Periods before the first order are left out.
    """
    if churn_days < 0:
        raise ValueError(f"churn_days must be >= 0, got {churn_days}")
    seq = as_sequence(ledger, as_of)
    if seq.height == 0:
        return pl.DataFrame(schema={c: pl.Null for c in PERIOD_KPI_COLUMNS})
    first_date = seq["order_date"].min()
    assert isinstance(first_date, dt.date)
    window = last_periods(as_of, period, periods, fiscal_year_start, not_before=first_date)
    first, last = int(window["index"].min()), int(window["index"].max())  # type: ignore[arg-type]
    window_start = window["start"][0]
    before = window_start - dt.timedelta(days=1)
    # rows that matter: the period before the window (for NRR) and the churn window before it
    lo = min(window_start - dt.timedelta(days=churn_days + 1),
             period_table(first - 1, first - 1, period, fiscal_year_start, as_of)["start"][0])
    rows = _sequence_columns(seq, churn_days, period, fiscal_year_start, as_of, lo)

    idx = pl.col("idx")
    fip = pl.col("first_in_period")
    day = pl.col("day")
    # customers counted at the end of the day before the window: their last order before the
    # window is within churn_days of that day
    counted_before = rows.select(
        (
            (day <= _day(before))
            & (day >= _day(before) - churn_days)
            & (pl.col("next_day").is_null() | (pl.col("next_day") > _day(before)))
        ).sum()
    ).item()
    main = (
        rows.lazy()
        .filter(idx >= first - 1)
        .group_by("idx")
        .agg(
            pl.len().alias("orders"),
            pl.col("amount").sum().alias("revenue"),
            fip.sum().alias("active_customers"),
            pl.col("new").sum().alias("new_customers"),
            (pl.col("reactivated") & fip).sum().alias("reactivated_customers"),
            (pl.col("repeat") & fip).sum().alias("repeaters"),
            pl.when(pl.col("last_period_before") == idx - 1)
            .then(pl.col("amount"))
            .otherwise(0.0)
            .sum()
            .alias("retained_revenue"),
        )
    )
    starts = (
        rows.lazy()
        .filter(pl.col("spell_start") & (idx >= first))
        .group_by("idx")
        .agg(pl.len().alias("starts"))
    )
    churns = (
        rows.lazy()
        .filter(pl.col("churn_idx") >= first)
        .group_by(pl.col("churn_idx").alias("idx"))
        .agg(
            pl.len().alias("churn_events"),
            pl.col("churn_final").sum().alias("churned_customers"),
        )
    )
    base = period_table(first - 1, last, period, fiscal_year_start, as_of).lazy()
    counts = ["orders", "active_customers", "new_customers", "reactivated_customers",
              "repeaters", "starts", "churn_events", "churned_customers"]
    table = (
        base.rename({"index": "idx"})
        .join(main, on="idx", how="left")
        .join(starts, on="idx", how="left")
        .join(churns, on="idx", how="left")
        .sort("idx")
        .with_columns(
            pl.col(counts).fill_null(0).cast(pl.Int64),
            pl.col("revenue", "retained_revenue").fill_null(0.0),
        )
        .with_columns(
            (
                pl.when(idx == first - 1)
                .then(pl.lit(counted_before, dtype=pl.Int64))
                .otherwise(pl.col("starts") - pl.col("churn_events"))
            )
            .cum_sum()
            .alias("customers_end")
        )
        .with_columns(
            pl.col("customers_end").shift(1).alias("customers_start"),
            pl.col("revenue").shift(1).alias("previous_revenue"),
        )
        .filter(idx >= first)
        .collect()
    )
    s = pl.col("customers_start")
    e = pl.col("customers_end")

    def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
        return pl.when(den > 0).then(num / den).otherwise(None).cast(pl.Float64)

    return table.with_columns(
        ratio(pl.col("revenue"), pl.col("orders")).alias("average_order_value"),
        ratio(e - s, s).alias("customer_growth_rate"),
        ratio(e - pl.col("new_customers") - pl.col("reactivated_customers"), s).alias("retention_rate"),
        ratio(pl.col("churned_customers"), s).alias("churn_rate"),
        ratio(pl.col("repeaters"), pl.col("active_customers")).alias("repeat_purchase_rate"),
        ratio(pl.col("retained_revenue"), pl.col("previous_revenue")).alias(
            "net_revenue_retention"
        ),
    ).select(PERIOD_KPI_COLUMNS)


def period_kpis(
    ledger: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    churn_days: int,
    *,
    period: str = "month",
    periods: int = 12,
    fiscal_year_start: int = 1,
) -> list[PeriodKpis]:
    """:func:`period_kpis_frame` as models, oldest period first."""
    frame = period_kpis_frame(
        ledger,
        as_of,
        churn_days,
        period=period,
        periods=periods,
        fiscal_year_start=fiscal_year_start,
    )
    if frame.height == 0:
        return []
    return [PeriodKpis(**row) for row in frame.iter_rows(named=True)]


def last_complete_period(rows: list[PeriodKpis]) -> PeriodKpis | None:
    """The most recent period that is not partial (what ``--alert`` period rules read)."""
    complete = [r for r in rows if not r.partial]
    return complete[-1] if complete else None
