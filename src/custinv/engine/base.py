"""The order-level reductions of an audit, behind one interface with a Polars and a Spark engine.

Everything an audit computes from individual orders is one of the reductions below; each returns
a *small* Polars frame — one row per customer, per gap length, per cohort × period, per period —
and everything after them (classification, RFM, lifecycle, CLV fit, reports) runs unchanged on
those frames on one machine. So the driver's memory is bounded by the number of customers, never
by the number of orders, and the two engines must agree on every reduction to the bit.

Rules both engines follow (one statement here, one implementation each):

- An engine holds the *used* orders up to ``as_of``; a customer's orders are in date order, ties
  on a day in ledger order (Polars: the stable sort of
  :func:`~custinv.analytics.periods.order_sequence`; Spark: the ``row`` column of
  :mod:`custinv.spark.frames`).
- A **per-customer** money total adds the customer's amounts one by one in that order, from 0.0
  (a left fold): what Polars' float sum gives for a run of fewer than 128 values, without the
  partial sums its group_by makes where a customer straddles two threads' rows (which made a
  total depend on the machine's core count) — a definition any engine can follow, however its
  rows are spread.
- A money total **over many customers** (a cohort cell, a period's revenue, churned revenue) is
  exact: amounts as integer micro-units (:func:`custinv.analytics.money.units`), summed as
  integers, converted back on the driver — integer sums do not depend on the order of additions.
- Period indices come from :func:`period_days`, a day → index table built by the Polars period
  rules (:mod:`custinv.analytics.periods`), so the rule has one definition in both engines.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import polars as pl

from custinv.analytics.periods import period_index_expr

EngineName = Literal["polars", "spark"]

CHURNED_REVENUE_DAYS: Final[int] = 365
"""Churned revenue counts a churned customer's orders of the 365 days up to their last one."""

NO_PERIOD: Final[int] = -(10**9)
"""The period index of "no earlier order" in the period KPI flags (far before any real period)."""

TOTALS_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "first_order": pl.Date(),
    "last_order": pl.Date(),
    "orders": pl.Int64(),
    "revenue": pl.Float64(),
}
""":meth:`OrderEngine.customer_totals`: one row per customer. Rows of every reduction come in no
particular order (the finishing steps sort what they show)."""

PURCHASE_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "first_day": pl.Date(),
    "last_day": pl.Date(),
    "days": pl.Int64(),
    "revenue": pl.Float64(),
    "first_day_amount": pl.Float64(),
}
""":meth:`OrderEngine.purchase_totals` (plus ``cost`` when asked for): one row per customer."""

GAP_SCHEMA: dict[str, pl.DataType] = {"gap": pl.Int64(), "count": pl.Int64()}
COHORT_CELL_SCHEMA: dict[str, pl.DataType] = {
    "cohort_index": pl.Int64(), "k": pl.Int64(), "customers": pl.Int64(), "revenue_units": pl.Int64(),
}
PERIOD_MAIN_SCHEMA: dict[str, pl.DataType] = {
    "idx": pl.Int64(), "orders": pl.Int64(), "revenue_units": pl.Int64(), "active_customers": pl.Int64(),
    "new_customers": pl.Int64(), "reactivated_customers": pl.Int64(), "repeaters": pl.Int64(),
    "retained_units": pl.Int64(),
}
PERIOD_STARTS_SCHEMA: dict[str, pl.DataType] = {"idx": pl.Int64(), "starts": pl.Int64()}
PERIOD_CHURNS_SCHEMA: dict[str, pl.DataType] = {
    "idx": pl.Int64(), "churn_events": pl.Int64(), "churned_customers": pl.Int64(),
}
SAMPLE_SCHEMA: dict[str, pl.DataType] = {"customer_id": pl.String(), "order_date": pl.Date(), "amount": pl.Float64()}


@dataclass(frozen=True)
class PeriodWindow:
    """What the period KPIs need from the orders: periods ``first - 1 .. last`` of ``period``.

    ``lo`` is the first order date that matters (the churn window before the period before
    ``first``), ``before`` the day before period ``first`` starts (customers counted then are
    ``customers_start`` of the first period)."""

    period: str
    fiscal_year_start: int
    churn_days: int
    first: int
    lo: dt.date
    before: dt.date


@dataclass(frozen=True)
class PeriodCells:
    """The period KPI reductions (:meth:`OrderEngine.period_cells`); see :mod:`custinv.analytics.kpis`."""

    counted_before: int
    main: pl.DataFrame
    starts: pl.DataFrame
    churns: pl.DataFrame


def period_days(period: str, fiscal_year_start: int, first: dt.date, last: dt.date) -> pl.DataFrame:
    """``order_date`` → ``idx`` (the period index) for every calendar day in ``first..last``."""
    days = pl.date_range(first, last, eager=True).alias("order_date")
    return days.to_frame().with_columns(
        period_index_expr(pl.col("order_date"), period, fiscal_year_start).cast(pl.Int64).alias("idx")
    )


class OrderEngine(ABC):
    """The order-level reductions of one ledger's used orders up to :attr:`as_of`."""

    name: EngineName

    def __init__(self, as_of: dt.date | None) -> None:
        self.as_of = as_of

    def _as_of(self) -> dt.date:
        if self.as_of is None:
            raise ValueError("this reduction needs the engine's as_of date")
        return self.as_of

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """The orders' columns (a ledger's, whatever the engine adds for itself left out)."""

    @abstractmethod
    def has_values(self, column: str) -> bool:
        """Whether ``column`` exists and holds at least one non-null value."""

    @abstractmethod
    def first_order_date(self) -> dt.date | None:
        """The earliest order date (None without orders)."""

    @abstractmethod
    def customer_totals(self) -> pl.DataFrame:
        """:data:`TOTALS_SCHEMA`: first and last order date, orders and revenue per customer."""

    @abstractmethod
    def gap_counts(self) -> pl.DataFrame:
        """:data:`GAP_SCHEMA`: how often each gap (days > 0 between a customer's consecutive
        orders) occurs, ascending by gap."""

    @abstractmethod
    def churned_revenue_units(self, churn_days: int) -> int:
        """Micro-units of the orders of churned customers (last order more than ``churn_days``
        before ``as_of``) placed in the 365 days up to and including their last order."""

    @abstractmethod
    def cohort_cells(self, period: str, fiscal_year_start: int) -> pl.DataFrame:
        """:data:`COHORT_CELL_SCHEMA`: per (cohort, k) with orders, the customers ordering in
        period cohort + k and the micro-units they spent; cohort = period of the first order."""

    @abstractmethod
    def period_cells(self, window: PeriodWindow) -> PeriodCells:
        """The counts behind the period KPIs of ``window`` (see :mod:`custinv.analytics.kpis`)."""

    @abstractmethod
    def latest_values(self, dims: Sequence[str]) -> list[pl.DataFrame]:
        """``customer_id`` and each dimension's value on the customer's latest order that has
        one (ties on that date: the greatest ``order_id``, then the greatest value; without
        ``order_id`` the greatest value): one frame per group of dimensions read together,
        customers without a value absent."""

    @abstractmethod
    def purchase_totals(self, calibration_end: dt.date, *, cost: bool = False) -> pl.DataFrame:
        """:data:`PURCHASE_SCHEMA` over orders up to ``calibration_end``: first and last
        purchase day, purchase days, revenue, the first day's spend (and ``cost``, the per-customer
        sum of the cost column, when ``cost``)."""

    @abstractmethod
    def holdout_purchases(self, calibration_end: dt.date) -> pl.DataFrame:
        """``customer_id``, ``actual`` (Int64): purchase days after ``calibration_end``, and
        ``revenue``, their spend (customers without one absent)."""

    @abstractmethod
    def profit(self) -> pl.DataFrame:
        """``customer_id``, ``profit``: Σ (amount − cost) over orders with a known cost, null
        for a customer without one."""

    @abstractmethod
    def sample_orders(self, customer_ids: pl.Series | None) -> pl.DataFrame:
        """:data:`SAMPLE_SCHEMA`: the orders of ``customer_ids`` (None: every customer), sorted
        by customer, date and ledger order — what the CLV model choice refits on."""


def engine_for(orders: Any, as_of: dt.date | None) -> OrderEngine:
    """The engine for a ledger's ``orders``: Polars for a Polars frame, Spark for a pyspark one
    (pyspark is imported only then)."""
    if isinstance(orders, (pl.DataFrame, pl.LazyFrame)):
        from custinv.engine.polars_engine import PolarsEngine

        return PolarsEngine(orders.lazy().collect() if isinstance(orders, pl.LazyFrame) else orders, as_of)
    module = type(orders).__module__
    if module.startswith("pyspark."):
        from custinv.engine.spark_engine import SparkEngine

        if as_of is None:
            raise ValueError("the Spark engine needs the ledger's as_of date")
        return SparkEngine(orders, as_of)
    raise TypeError(f"no order engine for a {type(orders).__name__}")
