"""CLV results summarised for the stocktake: totals by value tier and RFM segment, top customers."""

from __future__ import annotations

from typing import Any

import polars as pl

BY_SEGMENT_AXES = ("value_tier", "rfm_segment", "lifecycle_stage")


def attach_clv(customers: pl.DataFrame, clv: pl.DataFrame) -> pl.DataFrame:
    """``customers`` with the CLV frame's columns added (a left join on ``customer_id``).

    The CLV frame usually lists the same customers in the same order (both come from the
    summary, sorted by id); then its columns are placed alongside, which gives the left join's
    result without hashing a million ids. Any other shape is joined.
    """
    if clv.height == customers.height and clv["customer_id"].equals(customers["customer_id"]):
        return customers.hstack(clv.drop("customer_id").get_columns())
    return customers.join(clv, on="customer_id", how="left", maintain_order="left")


def clv_by_segment(classified: pl.DataFrame) -> list[dict[str, Any]]:
    """CLV per value tier, RFM segment and lifecycle stage (``axis``, ``segment`` keys).

    Needs the classified per-customer frame joined with ``clv``, ``p_alive`` and
    ``expected_purchases``; customers without a CLV (prospects) are left out.
    """
    rows: list[dict[str, Any]] = []
    axes = [axis for axis in BY_SEGMENT_AXES if axis in classified.columns]
    # only the columns used (filtering the whole wide frame copies every column), and the
    # total and the per-axis tables in one collect_all so they run side by side
    priced = (
        classified.lazy()
        .select(*axes, "clv", "p_alive", "expected_purchases", "revenue")
        .filter(pl.col("clv").is_not_null())
    )
    tables = [
        priced.group_by(axis)
        .agg(
            pl.len().alias("customers"),
            pl.col("clv").sum().alias("clv"),
            pl.col("clv").mean().alias("clv_per_customer"),
            pl.col("p_alive").mean().alias("mean_p_alive"),
            pl.col("expected_purchases").sum().alias("expected_purchases"),
            pl.col("revenue").sum().alias("revenue"),
        )
        .sort("clv", descending=True)
        for axis in axes
    ]
    total_frame, *collected = pl.collect_all([priced.select(pl.col("clv").sum()), *tables])
    total = total_frame.item() or 0.0
    for axis, table in zip(axes, collected):
        for r in table.iter_rows(named=True):
            rows.append(
                {
                    "axis": axis,
                    "segment": r[axis],
                    "customers": r["customers"],
                    "clv": r["clv"],
                    "clv_share": (r["clv"] / total) if total else None,
                    "clv_per_customer": r["clv_per_customer"],
                    "mean_p_alive": r["mean_p_alive"],
                    "expected_purchases": r["expected_purchases"],
                    "historical_revenue": r["revenue"],
                }
            )
    return rows


def top_customers_by_clv(classified: pl.DataFrame, top: int) -> list[dict[str, Any]]:
    """The ``top`` customers by CLV with what explains it."""
    cols = [c for c in ("customer_id", "clv", "p_alive", "expected_purchases", "orders", "revenue",
                        "last_order", "value_tier", "rfm_segment") if c in classified.columns]
    # the k-th largest CLV as a cut, then a sort of the few rows at or above it (ties at the
    # cut included): the same rows and order as sorting everyone, without sorting or copying
    # a million customers
    priced = classified["clv"].drop_nulls()
    if top <= 0 or priced.is_empty():
        return []
    cut = priced.top_k(min(top, priced.len())).min()
    frame = (
        classified.select(cols)
        .filter(pl.col("clv") >= cut)
        .sort(["clv", "customer_id"], descending=[True, False])
        .head(top)
    )
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]
