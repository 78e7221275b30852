"""Lifecycle stages (潜在/新/流失/风险/忠诚/活跃/沉睡): exclusive, first match wins, so the stages
partition the customers.

Order and rules (``days`` are whole calendar days before as-of, an order on as-of is 0):

1. ``prospect`` — in the customer master with no order (orders == 0).
2. ``new``      — first order within the new window: tenure_days ≤ new_days.
3. ``churned``  — no order within the churn window: recency_days > churn_days.
4. ``at_risk``  — past the expected next purchase: recency_days > at_risk_factor × expected
   gap, where the expected gap is the customer's own mean inter-purchase days when positive,
   otherwise (one order, or all orders on one day) the population's: the median of the
   positive mean inter-purchase days of repeat buyers (the median, so a few long gaps do not
   make everyone look safe). No repeat buyers → no population gap → nobody at_risk by it.
5. ``loyal``    — active, orders ≥ loyal_min_orders and value_tier == "high".
6. ``active``   — ordered within the active window: recency_days ≤ active_days.
7. ``dormant``  — none of the above.

"Within N days" means days ≤ N throughout (:func:`within_days`), the same rule that makes
``churned`` exactly "not within the churn window".
"""

from __future__ import annotations

import polars as pl

from custinv.analytics.actions import LIFECYCLE_STAGES
from custinv.analytics.breakdowns import totals_by
from custinv.models import LifecycleRow


def within_days(days: pl.Expr, window_days: int) -> pl.Expr:
    """The one rule for "within the last N days": days before as-of ≤ N."""
    return days <= window_days


def population_gap_days() -> pl.Expr:
    """Median of the positive per-customer mean inter-purchase days (a scalar expression)."""
    gap = pl.col("mean_interpurchase_days")
    return gap.filter(gap > 0).median()


def add_prospects(frame: pl.DataFrame | pl.LazyFrame, prospects: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Append master-file customers who have no order as rows with orders 0 and revenue 0.

    Only ``customer_id`` is read from ``prospects``; ids already on the frame (buyers) and
    repeated ids are dropped. Every other column of the new rows is null.
    """
    lf = frame.lazy()
    new_ids = (
        prospects.lazy()
        .select(pl.col("customer_id").cast(pl.String))
        .drop_nulls()
        .unique(maintain_order=True)
        .join(lf.select("customer_id"), on="customer_id", how="anti", maintain_order="left")  # the master's order, every run
        .with_columns(pl.lit(0, pl.Int64).alias("orders"), pl.lit(0.0).alias("revenue"))
    )
    return pl.concat([lf, new_ids], how="diagonal_relaxed")


def lifecycle_stage(
    *,
    churn_days: int,
    new_days: int = 30,
    active_days: int = 90,
    loyal_min_orders: int = 3,
    at_risk_factor: float = 2.0,
) -> pl.Expr:
    """The stage expression (needs orders, tenure_days, recency_days, mean_interpurchase_days,
    value_tier). The population gap is taken over the rows it is evaluated on."""
    recency = pl.col("recency_days")
    own_gap = pl.col("mean_interpurchase_days")
    expected_gap = pl.when(own_gap > 0).then(own_gap).otherwise(population_gap_days())
    active = within_days(recency, active_days)
    return (
        pl.when(pl.col("orders") == 0)
        .then(pl.lit("prospect"))
        .when(within_days(pl.col("tenure_days"), new_days))
        .then(pl.lit("new"))
        .when(~within_days(recency, churn_days))
        .then(pl.lit("churned"))
        .when(recency > at_risk_factor * expected_gap)
        .then(pl.lit("at_risk"))
        .when(active & (pl.col("orders") >= loyal_min_orders) & (pl.col("value_tier") == "high"))
        .then(pl.lit("loyal"))
        .when(active)
        .then(pl.lit("active"))
        .otherwise(pl.lit("dormant"))
    )


def add_lifecycle_stage(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    churn_days: int,
    new_days: int = 30,
    active_days: int = 90,
    loyal_min_orders: int = 3,
    at_risk_factor: float = 2.0,
) -> pl.LazyFrame:
    """Add ``lifecycle_stage`` (see module docstring for the rules and their order)."""
    return frame.lazy().with_columns(
        lifecycle_stage(
            churn_days=churn_days,
            new_days=new_days,
            active_days=active_days,
            loyal_min_orders=loyal_min_orders,
            at_risk_factor=at_risk_factor,
        ).alias("lifecycle_stage")
    )


def lifecycle_rows(frame: pl.DataFrame) -> list[LifecycleRow]:
    """One row per stage in stage order (empty stages included); share over all customers."""
    table = totals_by(frame, "lifecycle_stage", LIFECYCLE_STAGES)
    return [
        LifecycleRow(stage=r["lifecycle_stage"], customers=r["customers"], share=r["share"], revenue=r["revenue"])
        for r in table.iter_rows(named=True)
    ]
