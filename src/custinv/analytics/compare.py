"""What changed between two stocktakes: KPI deltas, migration matrices, gained and lost
customers, biggest movers. Frames in, a :class:`Comparison` out.

Definitions (one place for each):

- the *live book* of a snapshot: buyers (orders ≥ 1) that are not ``churned``;
  ``customers_gained`` are in the newer live book but not the older (new buyers and
  reactivated ones), ``customers_lost`` in the older but not the newer (churned since, or
  gone from the data). Reason codes: ``new``, ``reactivated``, ``churned``, ``missing``;
- a migration matrix per axis (``rfm_segment``, ``value_tier``, ``lifecycle_stage``): for
  each customer with a class on the axis in either snapshot, the cell (old class → new
  class), ``(new)`` when it had no class in the older snapshot and ``(lost)`` when it has
  none in the newer; ``revenue`` is the cell's customers' lifetime revenue in the newer
  snapshot (the older one for ``(lost)``): how much revenue moved;
- a customer's *value* is its CLV when the snapshot has one, else its lifetime revenue;
  top lists and movers are ranked by it;
- movers: customers in both snapshots whose class changed on some axis, by value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from custinv.models import ChangedCustomer, Comparison, KpiDelta, MigrationCell, Mover, SnapshotRef

if TYPE_CHECKING:
    from custinv.snapshots import Snapshot

AXES = ("rfm_segment", "value_tier", "lifecycle_stage")
NEW, LOST = "(new)", "(lost)"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def kpi_deltas(old: dict[str, Any], new: dict[str, Any]) -> dict[str, KpiDelta]:
    """{kpi: {old, new, delta}} for every numeric KPI of either side (newer side's order first)."""
    keys = list(new) + [k for k in old if k not in new]
    out: dict[str, KpiDelta] = {}
    for key in keys:
        if not all(side.get(key) is None or _number(side.get(key)) is not None for side in (old, new)):
            continue  # not a number on some side (a label, a list)
        a, b = _number(old.get(key)), _number(new.get(key))
        out[key] = KpiDelta(old=a, new=b, delta=None if a is None or b is None else b - a)
    return out


def snapshot_kpis(stocktake: dict[str, Any]) -> dict[str, Any]:
    """The comparable headline numbers of a stocktake: kpis, plus service.* and book.* figures."""
    flat: dict[str, Any] = dict(stocktake.get("kpis") or {})
    service = (stocktake.get("service") or {}).get("kpis") or {}
    flat.update({f"service.{k}": v for k, v in service.items()})
    book = stocktake.get("customer_book") or {}
    for key in ("accounts", "prospects", "prospect_share", "customers_missing_from_master"):
        if key in book:
            flat[f"book.{key}"] = book[key]
    conversion = book.get("conversion") or {}
    if "conversion_rate" in conversion:
        flat["book.conversion_rate"] = conversion["conversion_rate"]
    return flat


def _value(frame: pl.DataFrame) -> pl.Expr:
    if "clv" in frame.columns:
        return pl.coalesce(pl.col("clv"), pl.col("revenue"))
    return pl.col("revenue")


def _classes(frame: pl.DataFrame, axis: str) -> pl.DataFrame:
    if axis not in frame.columns:
        return pl.DataFrame(schema={"customer_id": pl.String, "cls": pl.String, "revenue": pl.Float64})
    return frame.select("customer_id", pl.col(axis).cast(pl.String).alias("cls"),
                        pl.col("revenue").cast(pl.Float64)).drop_nulls("cls")


def migration_matrix(old: pl.DataFrame, new: pl.DataFrame, axis: str) -> pl.DataFrame:
    """Cells ``from, to, customers, revenue`` (see the module docstring), largest first."""
    joined = _classes(old, axis).join(_classes(new, axis), on="customer_id", how="full", coalesce=True,
                                      suffix="_new")
    return (
        joined.select(
            pl.col("cls").fill_null(NEW).alias("from"),
            pl.col("cls_new").fill_null(LOST).alias("to"),
            pl.coalesce(pl.col("revenue_new"), pl.col("revenue")).fill_null(0.0).alias("revenue"),
        )
        .group_by("from", "to")
        .agg(pl.len().alias("customers"), pl.col("revenue").sum())
        .sort(["customers", "revenue", "from", "to"], descending=[True, True, False, False])
        .select("from", "to", "customers", "revenue")
    )


def live_book(frame: pl.DataFrame) -> pl.DataFrame:
    """Buyers that are not churned (customer_id plus the columns the top lists show)."""
    live = pl.col("orders") >= 1
    if "lifecycle_stage" in frame.columns:
        live = live & (pl.col("lifecycle_stage") != "churned").fill_null(True)
    return frame.filter(live)


def _changed_rows(frame: pl.DataFrame, reason: pl.Expr, top: int) -> list[ChangedCustomer]:
    cols = [c for c in ("value_tier", "rfm_segment", "lifecycle_stage") if c in frame.columns]
    ranked = (
        frame.with_columns(_value(frame).alias("value"), reason.alias("reason"))
        .sort(["value", "customer_id"], descending=[True, False], nulls_last=True)
        .head(top)
        .select("customer_id", "reason", pl.col("revenue").cast(pl.Float64), "value", *cols)
    )
    return [ChangedCustomer(**r) for r in ranked.iter_rows(named=True)]


def gained_and_lost(old: pl.DataFrame, new: pl.DataFrame, top: int = 20
                    ) -> tuple[int, int, list[ChangedCustomer], list[ChangedCustomer]]:
    """Counts and top lists of customers gained and lost between the live books."""
    old_live, new_live = live_book(old), live_book(new)
    gained = new_live.join(old_live.select("customer_id"), on="customer_id", how="anti")
    lost = old_live.join(new_live.select("customer_id"), on="customer_id", how="anti")
    old_buyers = old.filter(pl.col("orders") >= 1).select("customer_id")
    new_ids = new.select("customer_id")
    gained_reason = (pl.when(pl.col("customer_id").is_in(old_buyers["customer_id"].implode()))
                     .then(pl.lit("reactivated")).otherwise(pl.lit("new")))
    lost_reason = (pl.when(pl.col("customer_id").is_in(new_ids["customer_id"].implode()))
                   .then(pl.lit("churned")).otherwise(pl.lit("missing")))
    return gained.height, lost.height, _changed_rows(gained, gained_reason, top), _changed_rows(lost, lost_reason, top)


def movers(old: pl.DataFrame, new: pl.DataFrame, axes: Sequence[str] = AXES, top: int = 20) -> list[Mover]:
    """Customers in both snapshots whose class changed on some axis, highest value first."""
    axes = [a for a in axes if a in old.columns and a in new.columns]
    if not axes:
        return []
    keep = ["customer_id", "revenue", *axes]
    joined = old.select(keep).join(
        new.select(*keep, _value(new).alias("value")), on="customer_id", how="inner", suffix="_new"
    )
    changed = pl.any_horizontal([pl.col(a).ne_missing(pl.col(f"{a}_new")) for a in axes])
    ranked = joined.filter(changed).sort(["value", "customer_id"], descending=[True, False], nulls_last=True).head(top)
    return [
        Mover(
            customer_id=r["customer_id"], value=r["value"], revenue_old=r["revenue"], revenue_new=r["revenue_new"],
            changes={a: [r[a], r[f"{a}_new"]] for a in axes if r[a] != r[f"{a}_new"]},
        )
        for r in ranked.iter_rows(named=True)
    ]


def compare(old: Snapshot, new: Snapshot, *, top: int = 20, axes: Iterable[str] = AXES) -> Comparison:
    """The comparison of two snapshots (older first)."""
    gained_n, lost_n, gained, lost = gained_and_lost(old.customers, new.customers, top)
    migrations = {
        axis: [MigrationCell(**{"from": r["from"], "to": r["to"], "customers": r["customers"],
                                "revenue": r["revenue"]})
               for r in migration_matrix(old.customers, new.customers, axis).iter_rows(named=True)]
        for axis in axes
        if axis in old.customers.columns or axis in new.customers.columns
    }
    return Comparison(
        old=SnapshotRef(path=str(old.path), as_of=old.as_of),
        new=SnapshotRef(path=str(new.path), as_of=new.as_of),
        customers_gained=gained_n,
        customers_lost=lost_n,
        gained_customers=gained,
        lost_customers=lost,
        kpi_deltas=kpi_deltas(snapshot_kpis(old.stocktake), snapshot_kpis(new.stocktake)),
        migrations=migrations,
        movers=movers(old.customers, new.customers, list(axes), top),
    )
