"""CLV results summarised for the stocktake: totals by value tier and RFM segment, top customers."""

from __future__ import annotations

from typing import Any

import polars as pl

BY_SEGMENT_AXES = ("value_tier", "rfm_segment", "lifecycle_stage")


def clv_by_segment(classified: pl.DataFrame) -> list[dict[str, Any]]:
    """CLV per value tier, RFM segment and lifecycle stage (``axis``, ``segment`` keys).

    Needs the classified per-customer frame joined with ``clv``, ``p_alive`` and
    ``expected_purchases``; customers without a CLV (prospects) are left out.
    """
    rows: list[dict[str, Any]] = []
    priced = classified.filter(pl.col("clv").is_not_null())
    total = priced["clv"].sum() or 0.0
    for axis in BY_SEGMENT_AXES:
        if axis not in priced.columns:
            continue
        table = (
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
        )
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
    frame = (
        classified.filter(pl.col("clv").is_not_null())
        .sort(["clv", "customer_id"], descending=[True, False])
        .head(top)
        .select(cols)
    )
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]
