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

:func:`clv_inputs` builds them from the ledger (two group_bys over every order).
:func:`clv_inputs_from_summary` builds the same frame from what an audit already has — the
per-customer summary and the order sequence — because purchase *days* differ from orders only
where a customer has several orders on one day: days = orders − (orders whose date equals the
previous order's date), and the first day's spend is the first order's amount plus that of the
same-day orders that follow it. Only those few rows are added up (they are contiguous per
customer in the sequence), so no pass groups all orders.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import polars as pl

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
    ledger: pl.DataFrame | pl.LazyFrame,
    calibration_end: dt.date,
    time_unit: TimeUnit = "week",
) -> pl.DataFrame:
    """Per-customer ``customer_id, x, t_x, T, monetary_value`` from orders up to ``calibration_end``.

    Also returns ``revenue`` (all calibration spend, first purchase included) and, when the
    ledger has a ``cost`` column, ``cost``; the historical CLV and per-customer margins use them.
    Sorted by ``customer_id`` so outputs are reproducible.
    """
    u = unit_days(time_unit)
    days = purchase_days(ledger, None, calibration_end)
    has_cost = "cost" in days.collect_schema().names()
    aggs = [
        pl.col("order_date").min().alias("_first"),
        pl.col("order_date").max().alias("_last"),
        pl.len().cast(pl.Int64).alias("_days"),
        pl.col("amount").sum().alias("revenue"),
        pl.col("amount").sort_by("order_date").first().alias("_first_amount"),
    ]
    if has_cost:
        aggs.append(pl.col("cost").sum().alias("cost"))
    out = (
        days.group_by("customer_id")
        .agg(aggs)
        .with_columns((pl.col("_days") - 1).alias("x"))
        .with_columns(_model_columns(pl.col("_first"), pl.col("_last"), calibration_end, u))
        .select(
            "customer_id", "x", "t_x", "T", "monetary_value", "revenue", *(["cost"] if has_cost else [])
        )
        .sort("customer_id")
    )
    return out.collect()


def clv_inputs_from_summary(
    summary: pl.DataFrame,
    sequence: pl.DataFrame,
    calibration_end: dt.date,
    time_unit: TimeUnit = "week",
) -> pl.DataFrame:
    """:func:`clv_inputs` (without ``cost``) from a customer summary and an order sequence.

    ``summary`` is :func:`custinv.analytics.summary.customer_summary` (``customer_id``,
    ``first_order``, ``last_order``, ``orders``, ``revenue``; one row per customer, sorted by
    ``customer_id``) and ``sequence`` is :func:`custinv.analytics.periods.order_sequence` of the
    same orders (sorted by customer and date, ``prev_date`` null on a customer's first order).
    Both must hold only orders up to ``calibration_end``: a calibration cut needs
    :func:`clv_inputs` on the ledger, so a later order raises ``ValueError``. Revenue sums the
    orders rather than the purchase days, so it can differ from :func:`clv_inputs` in the last
    bits of a float; everything else is the same frame.
    """
    u = unit_days(time_unit)
    last_seen = summary["last_order"].max() if summary.height else None
    if isinstance(last_seen, dt.date) and last_seen > calibration_end:
        raise ValueError(
            f"the summary has orders up to {last_seen}, after calibration_end {calibration_end}; use clv_inputs"
        )
    date, prev = pl.col("order_date"), pl.col("prev_date")
    start = prev.is_null()  # a customer's first order (the sequence is sorted by customer, date)
    # only a customer's first order and the orders on the same day as the order before them
    # can change purchase days or the first day's spend; each customer's rows stay together
    few = sequence.lazy().filter(start | (date == prev)).select(
        start.alias("start"),
        pl.when(date == pl.when(start).then(date).forward_fill()).then(pl.col("amount")).otherwise(0.0).alias("first_day"),
    )
    ids = sequence.lazy().filter(start).select("customer_id")
    few_rows, firsts = pl.collect_all([few, ids])
    # number the customers by their start rows and add up per customer (rows are contiguous)
    customer = np.cumsum(few_rows["start"].to_numpy()) - 1
    n = firsts.height
    firsts = firsts.with_columns(
        pl.Series("_first_amount", np.bincount(customer, weights=few_rows["first_day"].to_numpy(), minlength=n)),
        pl.Series("_same_day", np.bincount(customer, minlength=n) - 1, dtype=pl.Int64),
    )
    out = (
        summary.lazy()
        .select("customer_id", "first_order", "last_order", "orders", "revenue")
        .join(firsts.lazy(), on="customer_id", how="left", maintain_order="left")
        .with_columns((pl.col("orders") - pl.col("_same_day") - 1).cast(pl.Int64).alias("x"))
        .with_columns(_model_columns(pl.col("first_order"), pl.col("last_order"), calibration_end, u))
        .select("customer_id", "x", "t_x", "T", "monetary_value", "revenue")
    )
    return out.collect()

