"""The order-level reductions as Spark aggregations and window functions.

The orders are a Spark DataFrame with the columns of a ledger's orders plus ``row`` (ledger
order, :mod:`custinv.spark.frames`). Spark keeps no row order, so wherever the Polars engine
relies on its sorted sequence, a window here orders each customer's orders by ``order_date``
then ``row`` (:func:`_by_customer`). Per-customer money is the same left fold as Polars'
(``aggregate`` over the customer's amounts sorted by date and row, from 0.0); money over many
customers an exact sum of micro-units (``floor(x * 1e6 + 0.5)``, the formula of
:func:`custinv.analytics.money.units` in the same IEEE doubles). Period indices come from the
driver's day → index table (:func:`~custinv.engine.base.period_days`), broadcast.

Only reduced frames (one row per customer at most) are collected to the driver, through Arrow.
pyspark is imported by this module alone, and only when a Spark ledger is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window, WindowSpec
from pyspark.sql import functions as F

from custinv.analytics.money import UNITS_PER_CURRENCY_UNIT, check_exact_total
from custinv.engine.base import (
    CHURNED_REVENUE_DAYS,
    COHORT_CELL_SCHEMA,
    GAP_SCHEMA,
    NO_PERIOD,
    PERIOD_CHURNS_SCHEMA,
    PERIOD_MAIN_SCHEMA,
    PERIOD_STARTS_SCHEMA,
    PURCHASE_SCHEMA,
    SAMPLE_SCHEMA,
    TOTALS_SCHEMA,
    OrderEngine,
    PeriodCells,
    PeriodWindow,
    period_days,
)
from custinv.spark.frames import ROW, to_polars


def _by_customer() -> WindowSpec:
    """Each customer's orders by date, then ledger order (a window needs an active session)."""
    return Window.partitionBy("customer_id").orderBy("order_date", ROW)


def _units(money: Column) -> Column:
    """Micro-units of ``money``: the Polars engine's ``units`` formula, in Spark."""
    return F.floor(money.cast("double") * float(UNITS_PER_CURRENCY_UNIT) + F.lit(0.5)).cast("long")


def _fold(entries: Column, field: str) -> Column:
    """The left fold from 0.0 of ``field`` over ``entries`` (an array of structs, in order),
    nulls counted as 0.0 — the Polars engine's ``run_folds``."""
    return F.aggregate(entries, F.lit(0.0).cast("double"),
                       lambda acc, x: acc + F.coalesce(x[field].cast("double"), F.lit(0.0)))


def _in_order(*fields: str) -> Column:
    """A customer's orders as structs sorted by date and ledger order (inside an ``agg``)."""
    return F.array_sort(F.collect_list(F.struct("order_date", ROW, *fields)))


def _day(column: Column) -> Column:
    """Days since 1970-01-01 (the Polars ``Date`` → ``Int32`` cast)."""
    return F.unix_date(column).cast("long")


class SparkEngine(OrderEngine):
    """The reductions of a Spark ledger (``orders``: ledger columns plus ``row``)."""

    name = "spark"

    def __init__(self, orders: DataFrame, as_of: dt.date) -> None:
        super().__init__(as_of)
        if ROW not in orders.columns:
            raise ValueError(f"the Spark orders need the {ROW!r} column (ledger order); see custinv.spark.frames")
        if not orders.is_cached:  # a dozen reductions read the orders: parse the source once
            orders = orders.persist(StorageLevel.MEMORY_AND_DISK)
        self.orders = orders.filter(F.col("order_date") <= F.lit(as_of))
        self.session = orders.sparkSession
        self._checked = False

    @property
    def columns(self) -> list[str]:
        return [c for c in self.orders.columns if c != ROW]

    def has_values(self, column: str) -> bool:
        return column in self.columns and bool(self.orders.filter(F.col(column).isNotNull()).limit(1).count())

    def first_order_date(self) -> dt.date | None:
        first = self.orders.agg(F.min("order_date")).first()
        return first[0] if first is not None else None

    def _exact_sums(self) -> None:
        """Refuse amounts too large to add up exactly in micro-units (as the Polars engine does)."""
        if not self._checked:
            row = self.orders.agg(F.sum(F.abs(F.col("amount")))).first()
            check_exact_total(row[0] if row is not None else None)
            self._checked = True

    def _collect(self, frame: DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        """A reduced frame on the driver, with the Polars engine's column types."""
        return to_polars(frame, schema).select(list(schema))

    def _days_table(self, period: str, fiscal_year_start: int, first: dt.date, last: dt.date) -> DataFrame:
        table = period_days(period, fiscal_year_start, first, last)
        return F.broadcast(self.session.createDataFrame(table.to_arrow()))

    # ------------------------------------------------------------------ per customer

    def customer_totals(self) -> pl.DataFrame:
        totals = self.orders.groupBy("customer_id").agg(
            F.min("order_date").alias("first_order"),
            F.max("order_date").alias("last_order"),
            F.count(F.lit(1)).cast("long").alias("orders"),
            _fold(_in_order("amount"), "amount").alias("revenue"),
        )
        return self._collect(totals, TOTALS_SCHEMA)

    def purchase_totals(self, calibration_end: dt.date, *, cost: bool = False) -> pl.DataFrame:
        fields = ("amount", "cost") if cost else ("amount",)
        grouped = (
            self.orders.filter(F.col("order_date") <= F.lit(calibration_end))
            .groupBy("customer_id")
            .agg(
                F.min("order_date").alias("first_day"),
                F.max("order_date").alias("last_day"),
                F.countDistinct("order_date").cast("long").alias("days"),
                _in_order(*fields).alias("_orders"),
            )
        )
        first_day = F.filter(F.col("_orders"), lambda x: x["order_date"] == F.col("first_day"))
        out = grouped.select(
            "customer_id", "first_day", "last_day", "days",
            _fold(F.col("_orders"), "amount").alias("revenue"),
            _fold(first_day, "amount").alias("first_day_amount"),
            *([_fold(F.col("_orders"), "cost").alias("cost")] if cost else []),
        )
        schema = {**PURCHASE_SCHEMA, **({"cost": pl.Float64()} if cost else {})}
        return self._collect(out, schema)

    def holdout_purchases(self, calibration_end: dt.date) -> pl.DataFrame:
        out = (
            self.orders.filter(F.col("order_date") > F.lit(calibration_end))
            .groupBy("customer_id")
            .agg(F.countDistinct("order_date").cast("long").alias("actual"),
                 _fold(_in_order("amount"), "amount").alias("revenue"))
        )
        return self._collect(out, {"customer_id": pl.String(), "actual": pl.Int64(), "revenue": pl.Float64()})

    def profit(self) -> pl.DataFrame:
        margin = (F.col("amount") - F.col("cost")).alias("margin")
        out = (
            self.orders.select("customer_id", "order_date", ROW, margin, F.col("cost").isNotNull().cast("long").alias("k"))
            .groupBy("customer_id")
            .agg(_fold(_in_order("margin"), "margin").alias("profit"), F.sum("k").alias("known"))
            .select("customer_id", F.when(F.col("known") > 0, F.col("profit")).alias("profit"))
        )
        return self._collect(out, {"customer_id": pl.String(), "profit": pl.Float64()})

    def latest_values(self, dims: Sequence[str]) -> list[pl.DataFrame]:
        has_order_id = "order_id" in self.columns
        picks = []
        for dim in dims:
            key = F.struct("order_date", *(["order_id"] if has_order_id else []), dim)
            out = (
                self.orders.filter(F.col(dim).isNotNull())
                .groupBy("customer_id")
                .agg(F.max(key).alias("_latest"))
                .select("customer_id", F.col("_latest")[dim].cast("string").alias(dim))
            )
            picks.append(self._collect(out, {"customer_id": pl.String(), dim: pl.String()}))
        return picks

    def sample_orders(self, customer_ids: pl.Series | None) -> pl.DataFrame:
        orders = self.orders
        if customer_ids is not None:
            ids = self.session.createDataFrame(customer_ids.alias("customer_id").cast(pl.String).to_frame().to_arrow())
            orders = orders.join(F.broadcast(ids), on="customer_id", how="inner")
        out = orders.select("customer_id", "order_date", "amount", ROW).orderBy("customer_id", "order_date", ROW)
        return self._collect(out.drop(ROW), SAMPLE_SCHEMA)

    # ------------------------------------------------------------------ gaps and churn

    def _neighbours(self) -> DataFrame:
        """The orders with the customer's previous and next order date (the Polars sequence)."""
        return self.orders.select(
            "customer_id", "order_date", "amount", ROW,
            F.lag("order_date").over(_by_customer()).alias("prev_date"),
            F.lead("order_date").over(_by_customer()).alias("next_date"),
        )

    def gap_counts(self) -> pl.DataFrame:
        gaps = (
            self._neighbours()
            .select(F.datediff("order_date", "prev_date").cast("long").alias("gap"))
            .filter(F.col("gap") > 0)
            .groupBy("gap")
            .agg(F.count(F.lit(1)).cast("long").alias("count"))
        )
        return self._collect(gaps, GAP_SCHEMA).sort("gap")  # ascending, as the quantile reads them

    def churned_revenue_units(self, churn_days: int) -> int:
        self._exact_sums()
        last = F.max("order_date").over(Window.partitionBy("customer_id"))
        cutoff = F.date_sub(F.lit(self._as_of()), churn_days)
        row = (
            self.orders.select("order_date", "amount", last.alias("_last"))
            .filter((F.col("_last") < cutoff) & (F.datediff("_last", "order_date") < CHURNED_REVENUE_DAYS))
            .agg(F.sum(_units(F.col("amount"))).alias("units"))
            .first()
        )
        return int(row[0] or 0) if row is not None else 0

    # ------------------------------------------------------------------ cohorts and periods

    def cohort_cells(self, period: str, fiscal_year_start: int) -> pl.DataFrame:
        self._exact_sums()
        bounds = self.orders.agg(F.min("order_date"), F.max("order_date")).first()
        if bounds is None or bounds[0] is None:
            return pl.DataFrame(schema=COHORT_CELL_SCHEMA)
        days = self._days_table(period, fiscal_year_start, bounds[0], bounds[1])
        per_period = (
            self.orders.select("customer_id", "order_date", _units(F.col("amount")).alias("units"))
            .join(days, on="order_date", how="inner")
            .groupBy("customer_id", "idx")
            .agg(F.sum("units").alias("units"))
            .withColumn("cohort_index", F.min("idx").over(Window.partitionBy("customer_id")))
        )
        cells = per_period.groupBy("cohort_index", (F.col("idx") - F.col("cohort_index")).alias("k")).agg(
            F.count(F.lit(1)).cast("long").alias("customers"),
            F.sum("units").cast("long").alias("revenue_units"),
        )
        return self._collect(cells, COHORT_CELL_SCHEMA)

    def period_cells(self, window: PeriodWindow) -> PeriodCells:
        self._exact_sums()
        as_of = self._as_of()
        day_after = as_of + dt.timedelta(days=1)
        days = self._days_table(window.period, window.fiscal_year_start, window.lo, day_after)
        as_of_day = (as_of - dt.date(1970, 1, 1)).days
        lo = F.lit(window.lo)
        churn_days = window.churn_days
        # the churn day of each order if nothing follows it in time (capped after as_of: unused)
        orders = self._neighbours().withColumn(
            "churn_date", F.least(F.date_add("order_date", churn_days + 1), F.lit(day_after)))
        cidx_days = days.select(F.col("order_date").alias("churn_date"), F.col("idx").alias("cidx"))
        indexed = (
            orders.join(days, on="order_date", how="left").join(cidx_days, on="churn_date", how="left")
            .select(
                "*",
                F.lag("idx").over(_by_customer()).alias("_prev_idx"),
                F.lag("cidx").over(_by_customer()).alias("_prev_cidx"),
                F.lead("idx").over(_by_customer()).alias("_next_idx"),
            )
            .filter(F.col("order_date") >= lo)
        )
        has_prev, has_next = F.col("prev_date").isNotNull(), F.col("next_date").isNotNull()
        prev_in_frame = F.coalesce(F.col("prev_date") >= lo, F.lit(False))
        long_ago = F.lit(NO_PERIOD + 1).cast("long")
        prev_idx = F.when(prev_in_frame, F.col("_prev_idx")).when(has_prev, long_ago)
        prev_cidx = F.when(prev_in_frame, F.col("_prev_cidx")).when(has_prev, long_ago)
        next_idx = F.when(has_next, F.col("_next_idx"))
        idx = F.col("idx")
        day, prev_day, next_day = _day(F.col("order_date")), _day(F.col("prev_date")), _day(F.col("next_date"))
        churn_day = _day(F.col("churn_date"))
        first_in_period = (~has_prev) | F.coalesce(prev_idx < idx, F.lit(False))
        has_churn = ((~has_next) | (next_day > churn_day)) & (churn_day <= F.lit(as_of_day))
        flags = indexed.select(
            "customer_id", "order_date", ROW,
            _units(F.col("amount")).alias("units"),
            idx.alias("idx"),
            first_in_period.alias("first_in_period"),
            (~has_prev).alias("new"),
            (has_prev & F.coalesce(prev_cidx < idx, F.lit(False))).alias("reactivated"),
            (has_prev | F.coalesce(next_idx == idx, F.lit(False))).alias("repeat"),
            ((~has_prev) | F.coalesce(day - prev_day > churn_days + 1, F.lit(False))).alias("spell_start"),
            F.when(has_churn, F.col("cidx")).alias("churn_idx"),
            ((~has_next) | F.coalesce(next_idx > F.col("cidx"), F.lit(False))).alias("churn_final"),
            F.when(first_in_period, F.coalesce(prev_idx, F.lit(NO_PERIOD).cast("long"))).alias("_lpb"),
            day.alias("day"),
            next_day.alias("next_day"),
        ).withColumn("last_period_before", F.last("_lpb", ignorenulls=True).over(_by_customer().rowsBetween(Window.unboundedPreceding, Window.currentRow)))
        flags = flags.persist()
        try:
            return self._period_counts(flags, window)
        finally:
            flags.unpersist()

    def _period_counts(self, flags: DataFrame, window: PeriodWindow) -> PeriodCells:
        before_day = (window.before - dt.date(1970, 1, 1)).days
        first = window.first
        idx, fip = F.col("idx"), F.col("first_in_period")
        day, next_day = F.col("day"), F.col("next_day")

        def count(flag: Column) -> Column:
            return F.sum(flag.cast("long"))

        counted = flags.agg(count(
            (day <= before_day) & (day >= before_day - window.churn_days)
            & (next_day.isNull() | (next_day > before_day))
        )).first()
        main = flags.filter(idx >= first - 1).groupBy("idx").agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("units").alias("revenue_units"),
            count(fip).alias("active_customers"),
            count(F.col("new")).alias("new_customers"),
            count(F.col("reactivated") & fip).alias("reactivated_customers"),
            count(F.col("repeat") & fip).alias("repeaters"),
            F.sum(F.when(F.col("last_period_before") == idx - 1, F.col("units")).otherwise(F.lit(0))).alias(
                "retained_units"),
        )
        starts = flags.filter(F.col("spell_start") & (idx >= first)).groupBy("idx").agg(
            F.count(F.lit(1)).alias("starts"))
        churns = flags.filter(F.col("churn_idx") >= first).groupBy(F.col("churn_idx").alias("idx")).agg(
            F.count(F.lit(1)).alias("churn_events"), count(F.col("churn_final")).alias("churned_customers"))
        return PeriodCells(
            counted_before=int(counted[0] or 0) if counted is not None else 0,
            main=self._collect(main, PERIOD_MAIN_SCHEMA),
            starts=self._collect(starts, PERIOD_STARTS_SCHEMA),
            churns=self._collect(churns, PERIOD_CHURNS_SCHEMA),
        )
