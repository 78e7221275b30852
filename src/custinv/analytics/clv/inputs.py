"""Recency/frequency/monetary inputs of the CLV models, from the order ledger.

The conventions are the ones of the customer-base literature (and they reproduce the
published CDNOW summary exactly):

* a *purchase* is a customer's purchase day: several orders on one calendar day are one
  purchase (their amounts summed); a zero-amount order is still a purchase;
* ``x`` counts repeat purchases (purchase days after the first one);
* ``t_x`` is the time from the first to the last purchase day, ``T`` the time from the first
  purchase day to ``calibration_end`` (both as day differences divided by the unit's length);
* ``monetary_value`` is the mean spend per *repeat* purchase day (first purchase excluded, as
  Fader, Hardie & Lee do for the Gamma-Gamma model), null for one-time buyers.

:func:`clv_inputs` builds them from an order engine's purchase totals
(:meth:`~custinv.engine.base.OrderEngine.purchase_totals`: per customer the first and last
purchase day, the number of purchase days, revenue and the first day's spend, each money total
added in date order) — the same reduction on one machine or on Spark.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from custinv.engine import OrderEngine, as_engine

TimeUnit = Literal["day", "week", "month"]

#: Length of each time unit in days; a month is the mean Gregorian month.
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def unit_days(time_unit: str) -> float:
    """Days in one ``time_unit``; raises ``ValueError`` for anything else."""
    try:
        return UNIT_DAYS[time_unit]
    except KeyError:
        raise ValueError(f"time_unit must be one of {sorted(UNIT_DAYS)}, got {time_unit!r}") from None


def months_to_units(months: float, time_unit: str) -> float:
    """Convert a horizon in months into model time units."""
    return months * DAYS_PER_MONTH / unit_days(time_unit)


def purchase_days(ledger: pl.DataFrame | pl.LazyFrame, start: dt.date | None, end: dt.date) -> pl.LazyFrame:
    """One row per (customer, purchase day) with orders in ``start..end`` (inclusive).

    ``cost`` is summed when the ledger has it, so margins can be derived per customer.
    """
    lf = ledger.lazy()
    has_cost = "cost" in lf.collect_schema().names()
    cond = pl.col("order_date") <= pl.lit(end, dtype=pl.Date)
    if start is not None:
        cond = cond & (pl.col("order_date") >= pl.lit(start, dtype=pl.Date))
    aggs = [pl.col("amount").sum().alias("amount")]
    if has_cost:
        aggs.append(pl.col("cost").sum().alias("cost"))
    return lf.filter(cond).group_by("customer_id", "order_date").agg(aggs)


def _model_columns(first: pl.Expr, last: pl.Expr, calibration_end: dt.date, unit: float) -> list[pl.Expr]:
    """``t_x``, ``T`` and ``monetary_value`` from the first and last purchase days, ``x``,
    ``revenue`` and ``_first_amount`` (the rule of the module docstring, for both builders)."""
    return [
        ((last - first).dt.total_days() / unit).alias("t_x"),
        ((pl.lit(calibration_end, dtype=pl.Date) - first).dt.total_days() / unit).alias("T"),
        pl.when(pl.col("x") > 0)
        .then((pl.col("revenue") - pl.col("_first_amount")) / pl.col("x"))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("monetary_value"),
    ]


def clv_inputs(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    calibration_end: dt.date,
    time_unit: TimeUnit = "week",
) -> pl.DataFrame:
    """Per-customer ``customer_id, x, t_x, T, monetary_value`` from orders up to ``calibration_end``.

    Also returns ``revenue`` (all calibration spend, first purchase included) and, when the
    ledger has a ``cost`` column, ``cost``; the historical CLV and per-customer margins use them.
    Sorted by ``customer_id`` so outputs are reproducible. ``ledger`` is the orders or an order
    engine, whose :meth:`~custinv.engine.base.OrderEngine.purchase_totals` is the reduction.
    """
    engine = as_engine(ledger)
    totals = engine.purchase_totals(calibration_end, cost="cost" in engine.columns)
    return clv_inputs_from_totals(totals, calibration_end, time_unit)


def clv_inputs_from_totals(totals: pl.DataFrame, calibration_end: dt.date, time_unit: TimeUnit = "week") -> pl.DataFrame:
    """The model inputs from an engine's purchase totals (first and last purchase day, purchase
    days, revenue, the first day's spend, optionally cost), by the rules of the module docstring."""
    u = unit_days(time_unit)
    has_cost = "cost" in totals.columns
    return (
        totals.lazy()
        .with_columns((pl.col("days") - 1).cast(pl.Int64).alias("x"), pl.col("first_day_amount").alias("_first_amount"))
        .with_columns(_model_columns(pl.col("first_day"), pl.col("last_day"), calibration_end, u))
        .select("customer_id", "x", "t_x", "T", "monetary_value", "revenue", *(["cost"] if has_cost else []))
        .sort("customer_id")
        .collect()
    )


def clv_inputs_from_summary(
    summary: pl.DataFrame,
    sequence: pl.DataFrame,
    calibration_end: dt.date,
    time_unit: TimeUnit = "week",
) -> pl.DataFrame:
    """:func:`clv_inputs` (without ``cost``) from an audit's customer summary and order sequence.

    ``sequence`` is :func:`custinv.analytics.periods.order_sequence` of the summary's orders;
    both must hold only orders up to ``calibration_end`` (a later order raises ``ValueError``:
    a calibration cut needs :func:`clv_inputs` on the ledger). The sequence already has every
    customer's orders in date order, so the purchase totals are sums over its runs.
    """
    last_seen = summary["last_order"].max() if summary.height else None
    if isinstance(last_seen, dt.date) and last_seen > calibration_end:
        raise ValueError(
            f"the summary has orders up to {last_seen}, after calibration_end {calibration_end}; use clv_inputs"
        )
    from custinv.engine.polars_engine import PolarsEngine

    totals = PolarsEngine.from_sequence(sequence, calibration_end).purchase_totals(calibration_end)
    return clv_inputs_from_totals(totals, calibration_end, time_unit)
