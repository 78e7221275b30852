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

from custinv.analytics.money import money_columns
from custinv.analytics.periods import last_periods, period_table
from custinv.engine import OrderEngine, PeriodCells, PeriodWindow, as_engine
from custinv.models import PeriodKpis

PERIOD_KPI_COLUMNS: Final[tuple[str, ...]] = tuple(PeriodKpis.model_fields)


def period_kpis_frame(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
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
    engine = as_engine(ledger, as_of)
    first_date = engine.first_order_date()
    if first_date is None:
        return pl.DataFrame(schema={c: pl.Null for c in PERIOD_KPI_COLUMNS})
    window = last_periods(as_of, period, periods, fiscal_year_start, not_before=first_date)
    first, last = int(window["index"].min()), int(window["index"].max())  # type: ignore[arg-type]
    window_start = window["start"][0]
    before = window_start - dt.timedelta(days=1)
    # rows that matter: the period before the window (for NRR) and the churn window before it
    lo = min(window_start - dt.timedelta(days=churn_days + 1),
             period_table(first - 1, first - 1, period, fiscal_year_start, as_of)["start"][0])
    cells = engine.period_cells(PeriodWindow(period, fiscal_year_start, churn_days, first, lo, before))
    return period_kpis_from_cells(cells, as_of, period=period, fiscal_year_start=fiscal_year_start,
                                  first=first, last=last)


def period_kpis_from_cells(
    cells: PeriodCells, as_of: dt.date, *, period: str, fiscal_year_start: int, first: int, last: int
) -> pl.DataFrame:
    """The period KPI table (:func:`period_kpis_frame`) from an engine's period counts."""
    idx = pl.col("idx")
    main = money_columns(cells.main, {"revenue_units": "revenue", "retained_units": "retained_revenue"})
    base = period_table(first - 1, last, period, fiscal_year_start, as_of).lazy()
    counts = ["orders", "active_customers", "new_customers", "reactivated_customers",
              "repeaters", "starts", "churn_events", "churned_customers"]
    table = (
        base.rename({"index": "idx"})
        .join(main.lazy(), on="idx", how="left")
        .join(cells.starts.lazy(), on="idx", how="left")
        .join(cells.churns.lazy(), on="idx", how="left")
        .sort("idx")
        .with_columns(
            pl.col(counts).fill_null(0).cast(pl.Int64),
            pl.col("revenue", "retained_revenue").fill_null(0.0),
        )
        .with_columns(
            (
                pl.when(idx == first - 1)
                .then(pl.lit(cells.counted_before, dtype=pl.Int64))
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
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
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
