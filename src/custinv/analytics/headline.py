"""Headline KPIs of a stocktake, from the per-customer summary (one row per customer)."""

from __future__ import annotations

import math

import polars as pl

from custinv.analytics.lifecycle import within_days
from custinv.models import Kpis


def _ratio(numerator: float | int | None, denominator: float | int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def top_share(values: pl.Series, fraction: float = 0.2) -> float | None:
    """Share of the total held by the top ``fraction`` of customers (⌈fraction·n⌉ of them)."""
    total = values.sum()
    if values.len() == 0 or not total:
        return None
    k = max(1, math.ceil(fraction * values.len()))
    return float(values.sort(descending=True).head(k).sum()) / float(total)


def headline_kpis(
    summary: pl.DataFrame,
    *,
    returns: float | None,
    new_days: int,
    active_days: int,
) -> Kpis:
    """Customers, orders, revenue and the ratios an analyst quotes first.

    ``new_customers`` are customers whose first order is within ``new_days`` before as-of,
    ``active_customers`` ordered within ``active_days`` — "within" is the lifecycle's one rule
    (:func:`~custinv.analytics.lifecycle.within_days`), so these equal the stage counts.
    """
    stats = summary.select(
        pl.len().alias("customers"),
        pl.col("orders").sum().alias("orders"),
        pl.col("revenue").sum().alias("revenue"),
        (pl.col("orders") >= 2).sum().alias("repeat"),
        (pl.col("orders") == 1).sum().alias("one_time"),
        within_days(pl.col("tenure_days"), new_days).sum().alias("new"),
        within_days(pl.col("recency_days"), active_days).sum().alias("active"),
        pl.col("mean_interpurchase_days").mean().alias("ipt"),
    ).row(0, named=True)
    customers = int(stats["customers"])
    orders = int(stats["orders"] or 0)
    revenue = float(stats["revenue"] or 0.0)
    return Kpis(
        customers=customers,
        orders=orders,
        revenue=revenue,
        returns=returns,
        average_order_value=_ratio(revenue, orders),
        revenue_per_customer=_ratio(revenue, customers),
        repeat_purchase_rate=_ratio(stats["repeat"], customers),
        one_time_customers=int(stats["one_time"]),
        active_customers=int(stats["active"]),
        new_customers=int(stats["new"]),
        top20_revenue_share=top_share(summary["revenue"]),
        average_orders_per_customer=_ratio(orders, customers),
        mean_interpurchase_days=stats["ipt"],
        new_customer_window_days=new_days,
        active_window_days=active_days,
    )
