"""Totals per value of a column of the per-customer frame: the classification tables and the
dimension breakdowns (region, industry, channel, owner …) share this one aggregation.

Rules (one place):
- A table counts the rows whose key is not null; ``share`` is customers / those rows and
  ``revenue_share`` revenue / their revenue, both None when the denominator is 0.
- Breakdowns group a dimension's blank (null) values under ``(blank)``; the top ``top`` values
  by revenue (ties by value, ascending) are listed and the rest merged into ``(other)``,
  listed last. Parentheses keep these two apart from real values such as ``Other``.
- A customer's dimension value is the one on their most recent order that has it
  (:func:`attach_dimensions`): where they are now, not where they once were.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from custinv.analytics.actions import VALUE_TIERS
from custinv.engine import OrderEngine
from custinv.models import Breakdown, BreakdownRow

DIMENSIONS: tuple[str, ...] = ("region", "country", "city", "industry", "channel", "segment", "owner")
BLANK = "(blank)"
OTHER = "(other)"


def _ratio(numerator: float | int, denominator: float | int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def totals_by(frame: pl.DataFrame, column: str, keys: Sequence[str]) -> pl.DataFrame:
    """customers, share, revenue, revenue_share per key of ``column``, one row per key in
    ``keys`` order (keys absent from the data get zeros, so tables keep a stable shape).

    Rows whose key is null (e.g. prospects on the frequency axis) are not counted.
    """
    grouped = (
        frame.lazy()
        .select(column, "revenue")
        .group_by(column)
        .agg(pl.len().cast(pl.Int64).alias("customers"), pl.col("revenue").sum().alias("revenue"))
        .drop_nulls(column)
        .collect()
    )
    total_customers = int(grouped["customers"].sum())
    total_revenue = float(grouped["revenue"].sum())
    skeleton = pl.DataFrame({column: list(keys)}, schema={column: pl.String})
    out = skeleton.join(grouped, on=column, how="left", maintain_order="left").with_columns(
        pl.col("customers").fill_null(0), pl.col("revenue").fill_null(0.0)
    )
    # shares in Python: a handful of rows, and true (correctly rounded) division — Polars 2.1
    # multiplies by the reciprocal when dividing by a scalar
    return out.with_columns(
        pl.Series("share", [_ratio(c, total_customers) for c in out["customers"]], dtype=pl.Float64),
        pl.Series("revenue_share", [_ratio(r, total_revenue) for r in out["revenue"]], dtype=pl.Float64),
    )


def present_dimensions(frame: pl.DataFrame | pl.LazyFrame | OrderEngine) -> list[str]:
    """The known dimension columns the frame (or an order engine's orders) carries, in canonical order."""
    columns = frame.columns if isinstance(frame, OrderEngine) else frame.collect_schema().names()
    return [d for d in DIMENSIONS if d in columns]


def attach_dimensions(
    summary: pl.DataFrame | pl.LazyFrame,
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    dims: Sequence[str] | None = None,
    *,
    sequence: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add each dimension column to the per-customer frame: the value of the customer's most
    recent order that has one (ties on a date broken by order_id, then by the value, so the
    result never depends on row order). Customers with no value get null.

    The values are an engine's reduction (:meth:`~custinv.engine.base.OrderEngine.latest_values`);
    ``ledger`` is the ledger's orders or an engine. ``sequence`` (the
    :func:`~custinv.analytics.periods.order_sequence` of a Polars ledger) lets the Polars engine
    read the dimensions without nulls off each customer's last rows. The values are matched to
    the frame's customers on one narrow column and added beside its columns, so the (wide)
    frame is never copied by a join.
    """
    if isinstance(ledger, OrderEngine):
        engine: OrderEngine = ledger
    else:
        from custinv.engine.polars_engine import PolarsEngine

        engine = PolarsEngine(ledger.collect() if isinstance(ledger, pl.LazyFrame) else ledger, None,
                              sequence=sequence)
    dims = list(dims) if dims is not None else present_dimensions(engine)
    frame = summary.lazy().collect() if isinstance(summary, pl.LazyFrame) else summary
    if not dims:
        return frame
    return attach_values(frame, engine.latest_values(dims), dims)


def attach_values(frame: pl.DataFrame, picks: Sequence[pl.DataFrame], dims: Sequence[str]) -> pl.DataFrame:
    """``frame`` with the dimension columns of ``picks`` (frames of customer_id and some of
    ``dims``, one row per customer that has a value) lined up with its customers, as text."""
    frame = frame.drop([d for d in dims if d in frame.columns])
    values = [_values_for(frame["customer_id"], p) for p in picks]
    by_dim = {d: v[d] for v in values for d in v.columns}
    # the ledger may hold dimensions as categoricals; the per-customer frame is what exports and
    # reports read, so it carries plain text (1M values, not 10M)
    return frame.hstack([by_dim[d].cast(pl.String) for d in dims])


def _id_hash(ids: pl.Expr) -> pl.Expr:
    return ids.hash(seed=0)


def _values_for(ids: pl.Series, picks: pl.DataFrame) -> pl.DataFrame:
    """``picks`` (one row per customer_id) lined up with ``ids``: null where a customer has none.

    Joined on a 64-bit hash of the id, which is several times cheaper than on the strings; the
    strings are then compared, and any hash shared by two ids (two matches, or a match with a
    different id) sends it back to the join on the ids themselves.
    """
    key = _id_hash(pl.col("customer_id")).alias("_h")
    left = ids.to_frame("customer_id").with_columns(key)
    joined = left.join(picks.with_columns(key).rename({"customer_id": "_id"}), on="_h", how="left",
                       maintain_order="left")
    if joined.height == ids.len() and bool(
        joined.select((pl.col("_id").is_null() | (pl.col("_id") == pl.col("customer_id"))).all()).item()
    ):
        return joined.drop("customer_id", "_h", "_id")
    return left.drop("_h").join(picks, on="customer_id", how="left", maintain_order="left").drop("customer_id")


def breakdown(frame: pl.DataFrame, dimension: str, top: int = 20) -> Breakdown:
    """Per value of one dimension: customers, shares, revenue, average order value, repeat
    purchase rate and the count of customers in each value tier (when tiers are present)."""
    has_tiers = "value_tier" in frame.columns
    key = pl.col(dimension).cast(pl.String).fill_null(BLANK).alias("value")
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("revenue").sum().alias("revenue"),
        pl.col("orders").sum().alias("orders"),
        (pl.col("orders") >= 2).sum().cast(pl.Int64).alias("repeat"),
    ]
    if has_tiers:
        aggs += [(pl.col("value_tier") == t).sum().cast(pl.Int64).alias(f"tier_{t}") for t in VALUE_TIERS]
    per_value = frame.group_by(key).agg(aggs).sort(["revenue", "value"], descending=[True, False])
    sums = [c for c in per_value.columns if c != "value"]
    listed = per_value.head(top)
    rest = per_value.slice(top)
    if rest.height:
        other = rest.select(pl.lit(OTHER).alias("value"), *(pl.col(c).sum() for c in sums))
        listed = pl.concat([listed, other], how="vertical_relaxed")
    total_customers = frame.height
    total_revenue = float(frame["revenue"].sum()) if frame.height else 0.0
    rows = [
        BreakdownRow(
            value=r["value"],
            customers=r["customers"],
            share=_ratio(r["customers"], total_customers),
            revenue=r["revenue"],
            revenue_share=_ratio(r["revenue"], total_revenue),
            average_order_value=_ratio(r["revenue"], r["orders"]),
            repeat_purchase_rate=_ratio(r["repeat"], r["customers"]),
            tiers={t: r[f"tier_{t}"] for t in VALUE_TIERS} if has_tiers else {},
        )
        for r in listed.iter_rows(named=True)
    ]
    return Breakdown(dimension=dimension, rows=rows)


def breakdowns(frame: pl.DataFrame, dims: Sequence[str] | None = None, top: int = 20) -> list[Breakdown]:
    """One :class:`Breakdown` per dimension (default: every known dimension on the frame)."""
    chosen = list(dims) if dims is not None else present_dimensions(frame)
    missing = [d for d in chosen if d not in frame.columns]
    if missing:
        raise ValueError(f"dimension(s) not on the per-customer frame: {', '.join(missing)}")
    return [breakdown(frame, d, top=top) for d in chosen]
