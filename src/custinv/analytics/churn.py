"""Churn: the inactivity window, who has churned, who is about to, and who is worth winning back.

Rules (each written once, here):

- **Churn window** (``inactive_days``, W): unless the caller overrides it (``--churn-days``),
  the 90th percentile of inter-purchase gaps, rounded up to whole days, never below
  :data:`WINDOW_FLOOR_DAYS`. A gap is the days between two consecutive *purchase dates* of the
  same customer (several orders on one day are one purchase date, so same-day orders do not
  shorten the window). 90 % of returns happen within W days, so a customer silent for longer
  is unlikely to come back. Without any repeat purchase the window is
  :data:`FALLBACK_WINDOW_DAYS` (a year: with no evidence of a buying cycle, only a year of
  silence counts as leaving).
- **Churned** as of a date: ``recency_days > W`` (recency = days from the last order to that
  date). A customer *counts* (is a current customer) from their first order until they pass
  the window; :func:`counting_rule` states it for the output.
- **Churned revenue**: the churned customers' revenue in the 365 days up to and including
  their last order (order dates in ``(last_order − 365, last_order]``): the annual business
  that stopped.
- **At risk**: not churned, but silent for more than ``factor`` (2) × their usual interval —
  their own mean inter-purchase days, or the population's (median of repeat buyers' means)
  for one-time buyers and buyers whose orders all fell on one day.
- **Value at risk**: historical annual revenue = revenue / max(tenure years, 1/12), tenure
  years = tenure_days / 365.25 (a customer younger than a month is annualised as one month),
  unless the caller names a value column (e.g. ``clv``) to use instead.
- **Win-back**: churned customers of a high value tier (``value_tier`` in ``high_tiers``,
  default ``high``) sorted by lifetime revenue; when the summary has no ``value_tier``
  column, those whose lifetime revenue is in the top 20 % of all customers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from typing import Any, Final

import polars as pl

from custinv.analytics.money import money_from_units
from custinv.engine import OrderEngine, as_engine
from custinv.engine.polars_engine import positive_counts
from custinv.models import AtRiskCustomer, ChurnSection

WINDOW_QUANTILE: Final[float] = 0.9
WINDOW_FLOOR_DAYS: Final[int] = 30
FALLBACK_WINDOW_DAYS: Final[int] = 365
AT_RISK_FACTOR: Final[float] = 2.0
DAYS_PER_YEAR: Final[float] = 365.25
WIN_BACK_TOP_SHARE: Final[float] = 0.2
HIGH_TIERS: Final[tuple[str, ...]] = ("high",)  # value tiers of custinv.analytics.classify


def purchase_gap_counts(frame: pl.DataFrame | pl.LazyFrame | OrderEngine) -> pl.DataFrame:
    """How often each gap occurs: ``gap`` (days between consecutive purchase dates of the same
    customer, > 0) and ``count``, one row per distinct gap, ascending.

    Counted rather than listed: gaps are whole days, so millions of them take a few thousand
    distinct values, and a quantile needs only their counts (no sort of every gap). ``frame``
    is the ledger, its order sequence or an order engine (the reduction is the engine's).
    """
    return as_engine(frame).gap_counts()


def linear_quantile(counts: pl.DataFrame, quantile: float) -> float | None:
    """The ``quantile`` of the values ``counts`` lists (``gap`` ascending, ``count`` each),
    with linear interpolation — Polars' ``quantile(q, "linear")`` of the expanded values:
    position p = q·(n − 1), the values at floor(p) and ceil(p), and (p − floor(p))·(upper −
    lower) + lower between them. None when there are no values."""
    n = int(counts["count"].sum()) if counts.height else 0
    if n == 0:
        return None
    position = (n - 1) * quantile
    low, high = math.floor(position), math.ceil(position)
    ends = counts.select(pl.col("count").cum_sum().alias("_through"), pl.col("gap").cast(pl.Float64))
    lower, upper = (float(ends.filter(pl.col("_through") > k)["gap"][0]) for k in (low, high))
    return lower if lower == upper else (position - low) * (upper - lower) + lower


def churn_window_days(
    frame: pl.DataFrame | pl.LazyFrame | OrderEngine,
    *,
    quantile: float = WINDOW_QUANTILE,
    floor: int = WINDOW_FLOOR_DAYS,
    fallback: int = FALLBACK_WINDOW_DAYS,
) -> tuple[int, str]:
    """The churn window derived from the data, and a sentence saying how.

    ``frame`` is the ledger (or its :func:`~custinv.analytics.periods.order_sequence`); a
    per-customer summary (no ``order_date``) also works, then the per-customer mean
    inter-purchase days of repeat buyers stand in for the individual gaps.
    """
    columns = frame.columns if isinstance(frame, (OrderEngine, pl.DataFrame)) else frame.collect_schema().names()
    if "order_date" in columns:
        counts = purchase_gap_counts(frame)
        what = "inter-purchase gaps (days between a customer's consecutive purchase dates)"
    else:
        assert not isinstance(frame, OrderEngine)
        counts = positive_counts(frame, pl.col("mean_interpurchase_days").cast(pl.Float64))
        what = "repeat buyers' mean inter-purchase days"
    value = linear_quantile(counts, quantile)
    if value is None:
        return fallback, f"no repeat purchases in the data; default of {fallback} days"
    n = int(counts["count"].sum())
    raw = math.ceil(float(value) - 1e-9)
    days = max(raw, floor)
    basis = f"{quantile * 100:g}th percentile of {n:,} {what} = {float(value):.1f}, rounded up"
    if raw < floor:
        basis += f"; raised to the floor of {floor} days"
    return days, basis


def counting_rule(churn_days: int) -> str:
    """The customer-counting rule of the period KPIs, stated for people who recompute them."""
    return (
        f"A customer counts from their first order until {churn_days} days pass without an "
        f"order: counted at the end of day t when their last order on or before t is at most "
        f"{churn_days} days before t. customers_start is the count at the end of the day "
        f"before the period, customers_end at its last day (as_of for the current period). "
        f"new: first-ever order in the period; reactivated: ordered before, not counted at the "
        f"start, ordered in the period; churned: counted at the start or new/reactivated, and "
        f"not counted at the end. customers_end = customers_start + new + reactivated − churned."
    )


def churned_expr(churn_days: int) -> pl.Expr:
    """The churn rule on a summary: silent for longer than the window."""
    return pl.col("recency_days") > churn_days


def _population_interval(summary: pl.DataFrame) -> float | None:
    """Median of repeat buyers' mean inter-purchase days (the 'usual' interval of a one-timer)."""
    values = summary.filter(pl.col("mean_interpurchase_days") > 0)["mean_interpurchase_days"]
    return None if values.len() == 0 else float(values.median())  # type: ignore[arg-type]


def _value_expr(value_column: str | None) -> pl.Expr:
    if value_column is not None:
        return pl.col(value_column).cast(pl.Float64)
    years = pl.max_horizontal(pl.col("tenure_days") / DAYS_PER_YEAR, pl.lit(1 / 12))
    return pl.col("revenue") / years


CONTACT_COLUMNS = ("customer_name", "owner", "region")
"""Carried into the at-risk and win-back lists when the per-customer frame has them, so a list
names whom to call and who owns the account, not just a key."""


def _rows(frame: pl.DataFrame, has_tier: bool) -> list[AtRiskCustomer]:
    cols = [
        "customer_id",
        "last_order",
        "recency_days",
        "usual_interval_days",
        "orders",
        "revenue",
        "value_at_risk",
    ]
    if has_tier:
        cols.append("value_tier")
    cols += [c for c in CONTACT_COLUMNS if c in frame.columns]
    return [AtRiskCustomer(**row) for row in frame.select(cols).iter_rows(named=True)]


def churn_flags(
    summary: pl.DataFrame | pl.LazyFrame,
    churn_days: int,
    *,
    value_column: str | None = None,
    at_risk_factor: float = AT_RISK_FACTOR,
) -> pl.DataFrame:
    """The columns the churn lists show, with ``churned``, ``at_risk``, ``usual_interval_days``
    and ``value_at_risk`` (``value_tier`` too when the summary has it).

    ``usual_interval_days`` is the customer's own mean interval (null for one-time buyers);
    the at-risk test falls back to the population's interval where the own one is missing or 0.
    Only those columns are kept: the lists filter and sort this frame, and carrying every
    column of a wide per-customer frame through that copied it several times over.
    """
    frame = summary.lazy().collect() if isinstance(summary, pl.LazyFrame) else summary
    population = _population_interval(frame)
    own = pl.col("mean_interpurchase_days")
    interval = pl.when(own > 0).then(own).otherwise(pl.lit(population, dtype=pl.Float64))
    churned = churned_expr(churn_days)
    return frame.select(
        "customer_id",
        "last_order",
        "recency_days",
        own.alias("usual_interval_days"),
        "orders",
        "revenue",
        _value_expr(value_column).alias("value_at_risk"),
        *(["value_tier"] if "value_tier" in frame.columns else []),
        *[c for c in CONTACT_COLUMNS if c in frame.columns],
        churned.alias("churned"),
        ((~churned) & (pl.col("recency_days") > at_risk_factor * interval)).fill_null(False).alias("at_risk"),
    )


def churned_revenue(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine, as_of: dt.date, churn_days: int
) -> float:
    """Churned customers' revenue in the 365 days up to and including their last order: an
    exact sum (:meth:`~custinv.engine.base.OrderEngine.churned_revenue_units`) of the ledger,
    its order sequence or an engine's orders."""
    return money_from_units(as_engine(ledger, as_of).churned_revenue_units(churn_days))


def churn_section(
    summary: pl.DataFrame | pl.LazyFrame,
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    churn_days: int,
    basis: str,
    *,
    as_of: dt.date,
    top: int = 50,
    value_column: str | None = None,
    high_tiers: Collection[str] = HIGH_TIERS,
    at_risk_factor: float = AT_RISK_FACTOR,
) -> ChurnSection:
    """Overall churn as of the summary's ``as_of``: rate, revenue, at-risk and win-back lists.

    ``summary`` is :func:`custinv.analytics.summary.customer_summary` (optionally with
    ``value_tier`` and a ``value_column`` such as ``clv``) as of ``as_of``; ``ledger`` the
    order ledger, or better its order sequence (sorted once per audit), used for churned
    revenue. Lists hold the ``top`` customers.
    """
    flags = churn_flags(
        summary, churn_days, value_column=value_column, at_risk_factor=at_risk_factor
    )
    has_tier = "value_tier" in flags.columns
    customers = flags.height
    churned_customers = int(flags["churned"].sum())
    at_risk = flags.filter(pl.col("at_risk")).sort(
        ["value_at_risk", "customer_id"], descending=[True, False], nulls_last=True
    )
    if has_tier:
        high = pl.col("value_tier").is_in(list(high_tiers))
        high_rule = f"value_tier in {sorted(high_tiers)}"
    else:
        bar = flags["revenue"].quantile(1 - WIN_BACK_TOP_SHARE, interpolation="linear")
        high = pl.col("revenue") >= (bar if bar is not None else math.inf)
        high_rule = f"lifetime revenue in the top {WIN_BACK_TOP_SHARE:.0%} of customers"
    win_back = flags.filter(pl.col("churned") & high).sort(
        ["revenue", "customer_id"], descending=[True, False]
    )
    definition: dict[str, Any] = {
        "inactive_days": churn_days,
        "basis": basis,
        "churned": f"recency_days > {churn_days}",
        "customer_counting": counting_rule(churn_days),
        "churned_revenue": "churned customers' revenue in the 365 days up to their last order",
        "at_risk": (
            f"not churned and recency_days > {at_risk_factor:g} × usual interval (own mean "
            f"inter-purchase days; population median for one-time buyers)"
        ),
        "value_at_risk": (
            f"column {value_column}"
            if value_column
            else "historical annual revenue = revenue / max(tenure_days / 365.25, 1/12)"
        ),
        "win_back": f"churned and {high_rule}",
    }
    return ChurnSection(
        definition=definition,
        churn_rate=churned_customers / customers if customers else None,
        churned_customers=churned_customers,
        churned_revenue=churned_revenue(ledger, as_of, churn_days),
        at_risk_customers=at_risk.height,
        at_risk=_rows(at_risk.head(top), has_tier),
        win_back=_rows(win_back.head(top), has_tier),
    )
