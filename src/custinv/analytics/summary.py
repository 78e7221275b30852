"""The per-customer summary: one row per customer, computed in one ``group_by`` over the ledger.

The ledger (built by :mod:`custinv.ingest.ledger`) holds one row per *used order* with at least:

=============  ==========  ==================================================================
column         dtype       meaning
=============  ==========  ==================================================================
customer_id    String      normalised customer identity (never null in the ledger)
order_id       String      the order's id (synthesised as ``customer|date`` when not exported)
order_date     Date        the order's calendar date as written
amount         Float64     gross revenue of the order (full precision; may be 0 for free items)
=============  ==========  ==================================================================

and optionally ``quantity`` (Float64), ``cost`` (Float64, cost of goods of the order),
``currency`` and dimension columns (``region``, ``country``, ``city``, ``industry``,
``channel``, ``segment``, ``owner``; String, the first non-null value per order).

Everything after this summary works on one row per customer, so this is the one heavy
aggregation of an audit; it is kept as plain Polars expressions so the same plan could run
on another engine.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

SUMMARY_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "customer_id": pl.String,
    "first_order": pl.Date,
    "last_order": pl.Date,
    "orders": pl.Int64,
    "revenue": pl.Float64,
    "average_order_value": pl.Float64,
    "recency_days": pl.Int64,
    "tenure_days": pl.Int64,
    "mean_interpurchase_days": pl.Float64,
}


def customer_summary(ledger: pl.LazyFrame | pl.DataFrame, as_of: dt.date) -> pl.LazyFrame:
    """Aggregate the order ledger into one row per customer.

    ``recency_days`` is days from the last order to ``as_of``; ``tenure_days`` days from the
    first order to ``as_of``; ``mean_interpurchase_days`` is (last − first) / (orders − 1),
    null for one-time buyers (the mean gap between consecutive orders telescopes to that).
    """
    totals = ledger.lazy().group_by("customer_id").agg(
        pl.col("order_date").min().alias("first_order"),
        pl.col("order_date").max().alias("last_order"),
        pl.len().cast(pl.Int64).alias("orders"),
        pl.col("amount").sum().alias("revenue"),
    )
    return _derived(totals, as_of)


def summary_from_sequence(sequence: pl.DataFrame | pl.LazyFrame, as_of: dt.date) -> pl.DataFrame:
    """:func:`customer_summary` of the orders in an order sequence
    (:func:`custinv.analytics.periods.order_sequence`, which holds the orders up to ``as_of``),
    through the Polars engine's :meth:`~custinv.engine.base.OrderEngine.customer_totals`.

    The same frame as :func:`customer_summary` except that revenue adds a customer's orders in
    date order (a left fold, the rule both engines follow), so it may differ from it in the
    last bits of a float (as two runs of that ``group_by`` do).
    """
    from custinv.engine.polars_engine import PolarsEngine

    frame = sequence.lazy().collect() if isinstance(sequence, pl.LazyFrame) else sequence
    return summary_from_totals(PolarsEngine.from_sequence(frame, as_of).customer_totals(), as_of)


def summary_from_totals(totals: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The per-customer summary from an engine's customer totals (first and last order date,
    orders, revenue per customer): the derived columns, sorted by ``customer_id``."""
    # one chunk: a mean or sum over the frame then adds in one fixed order, run after run
    return _derived(totals.lazy(), as_of).collect().rechunk()


def _derived(totals: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """The columns computed from a customer's first/last order, order count and revenue."""
    as_of_lit = pl.lit(as_of, dtype=pl.Date)
    return (
        totals.with_columns(
            (pl.col("revenue") / pl.col("orders")).alias("average_order_value"),
            (as_of_lit - pl.col("last_order")).dt.total_days().cast(pl.Int64).alias("recency_days"),
            (as_of_lit - pl.col("first_order")).dt.total_days().cast(pl.Int64).alias("tenure_days"),
            pl.when(pl.col("orders") > 1)
            .then(
                (pl.col("last_order") - pl.col("first_order")).dt.total_days()
                / (pl.col("orders") - 1)
            )
            .otherwise(None)
            .cast(pl.Float64)
            .alias("mean_interpurchase_days"),
        )
        .select(list(SUMMARY_SCHEMA))
        .sort("customer_id")
    )
