"""CLV results summarised for the stocktake: totals by value tier and RFM segment, top customers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

if TYPE_CHECKING:
    from .intervals import Uncertainty

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


def _segment_codes(labels: pl.Series) -> tuple[pl.Series, npt.NDArray[np.intp]]:
    """(the distinct non-null labels in order of first appearance, each row's index into them;
    −1 for a null label)."""
    uniques = labels.drop_nulls().unique(maintain_order=True)
    codes_series = labels.replace_strict(uniques, pl.int_range(uniques.len(), eager=True), default=-1,
                                         return_dtype=pl.Int64) if uniques.len() else pl.Series([-1] * labels.len())
    return uniques, codes_series.fill_null(-1).to_numpy().astype(np.intp)


def _segment_intervals(
    classified: pl.DataFrame, axis: str, clv_ids: pl.Series, unc: Uncertainty
) -> dict[Any, dict[str, Any]]:
    """Per segment of ``axis``: 80/95 % bounds of its CLV, expected purchases and mean P(alive).

    The uncertainty's rows follow ``clv_ids`` (the CLV frame's order); the segment labels are
    gathered in that order (directly when the frames are aligned, else by a join).
    """
    if classified.height == clv_ids.len() and classified["customer_id"].equals(clv_ids):
        labels = classified[axis]
    else:
        labels = (
            pl.DataFrame({"customer_id": clv_ids})
            .join(classified.select("customer_id", axis), on="customer_id", how="left", maintain_order="left")[axis]
        )
    uniques, codes = _segment_codes(labels)
    groups = uniques.len()
    parts: dict[str, dict[str, Any]] = {
        "clv": unc.clv.group_bounds(unc.cov, codes, groups),
        "expected_purchases": unc.expected_purchases.group_bounds(unc.cov, codes, groups),
    }
    if unc.p_alive is not None:
        parts["mean_p_alive"] = unc.p_alive.group_bounds(unc.cov, codes, groups, mean=True)
    out: dict[Any, dict[str, Any]] = {}
    for i, seg in enumerate(uniques.to_list()):
        out[seg] = {
            f"{name}_{bound}": float(values[i])
            for name, table in parts.items() for bound, values in table.items() if bound != "value"
        }
    return out


def clv_by_segment(
    classified: pl.DataFrame, uncertainty: Uncertainty | None = None, clv_ids: pl.Series | None = None
) -> list[dict[str, Any]]:
    """CLV per value tier, RFM segment and lifecycle stage (``axis``, ``segment`` keys).

    Needs the classified per-customer frame joined with ``clv``, ``p_alive`` and
    ``expected_purchases``; customers without a CLV (prospects) are left out. With the fit's
    ``uncertainty`` (and ``clv_ids``, the CLV frame's customer order) each row also carries
    ``clv_low_80`` … ``mean_p_alive_high_95``: delta-method bounds of the segment's sums.
    """
    rows: list[dict[str, Any]] = []
    axes = [axis for axis in BY_SEGMENT_AXES if axis in classified.columns]
    priced = classified.select(*axes, "clv", "p_alive", "expected_purchases", "revenue").filter(
        pl.col("clv").is_not_null())
    values = {c: priced[c].cast(pl.Float64).to_numpy() for c in ("clv", "p_alive", "expected_purchases", "revenue")}
    total = float(np.sum(values["clv"]))
    for axis in axes:
        bounds = _segment_intervals(classified, axis, clv_ids, uncertainty) if uncertainty is not None and clv_ids is not None else {}
        table = _segment_sums(priced[axis], values)
        for r in sorted(table, key=lambda r: (-r["clv"], str(r["segment"]))):
            rows.append({
                "axis": axis, "segment": r["segment"], "customers": r["customers"], "clv": r["clv"],
                "clv_share": (r["clv"] / total) if total else None,
                **{k: r[k] for k in ("clv_per_customer", "mean_p_alive", "expected_purchases", "historical_revenue")},
                **bounds.get(r["segment"], {}),
            })
    return rows


def _segment_sums(labels: pl.Series, values: dict[str, npt.NDArray[np.float64]]) -> list[dict[str, Any]]:
    """Per segment: customers, CLV (sum and per customer), mean P(alive), expected purchases and
    revenue. Each segment's values are taken in the customers' order and summed pairwise
    (``np.sum``): the same bits in every run, as accurate as Polars' sums — whose group_by adds
    a group's rows in the order its threads meet them, which moved the last bit of these sums
    from one run to the next. A null P(alive) is left out of its mean."""
    uniques, codes = _segment_codes(labels)
    groups = uniques.len()
    if not (codes >= 0).all():  # null labels: a group of their own, as group_by keeps them
        codes = np.where(codes >= 0, codes, groups)
        uniques = uniques.append(pl.Series([None], dtype=uniques.dtype))
        groups += 1
    small = codes.astype(np.int16) if groups < np.iinfo(np.int16).max else codes
    order = np.argsort(small, kind="stable")  # a radix sort for 16-bit codes: the segments, each in customer order
    bounds = np.searchsorted(small[order], np.arange(groups + 1))

    def sums(v: npt.NDArray[np.float64]) -> list[float]:
        ordered = np.nan_to_num(v[order], nan=0.0)
        return [float(np.sum(ordered[bounds[i]:bounds[i + 1]])) for i in range(groups)]

    customers = np.diff(bounds)
    alive_count = np.bincount(codes, weights=~np.isnan(values["p_alive"]), minlength=groups)
    clv, p_alive = sums(values["clv"]), sums(values["p_alive"])
    purchases, revenue = sums(values["expected_purchases"]), sums(values["revenue"])
    return [
        {
            "segment": segment,
            "customers": int(customers[i]),
            "clv": clv[i],
            "clv_per_customer": clv[i] / int(customers[i]),
            "mean_p_alive": p_alive[i] / alive_count[i] if alive_count[i] else None,
            "expected_purchases": purchases[i],
            "historical_revenue": revenue[i],
        }
        for i, segment in enumerate(uniques.to_list())
    ]


def top_customers_by_clv(classified: pl.DataFrame, top: int) -> list[dict[str, Any]]:
    """The ``top`` customers by CLV with what explains it."""
    cols = [c for c in ("customer_id", "clv", "clv_low", "clv_high", "p_alive", "expected_purchases", "p_purchase",
                        "orders", "revenue", "last_order", "value_tier", "rfm_segment") if c in classified.columns]
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
