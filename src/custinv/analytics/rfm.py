"""RFM scores (1–5), the 125-code → 11-segment table, and the Chinese eight-segment scheme.

Scoring rules (one place; equal values always get the same score, never split by row order):

- **quintile** (R and M always; F optionally): the mid-rank percentile of a value among the
  n customers is ``p = (worse + equal / 2) / n`` where ``worse`` counts customers with a
  strictly worse value and ``equal`` those with the same value (itself included); the score
  is ``1 + floor(5·p)``, computed in integers as ``1 + 5·(2·worse + equal) // (2n)``. For
  distinct values this is plain quintiles (n = 10 → 1,1,2,2,3,3,4,4,5,5); a tie group gets
  the score of its middle, so a frame where everyone ties scores 3 (neutral), not 1 or 5.
  R is scored on recency_days with smaller = better (5 = most recent), F on orders,
  M on gross revenue.
- **thresholds** (F default, ``(1, 2, 3, 5)``): F = 1 + the number of cut points the order
  count exceeds: 1 for ≤ 1 order, 2 for 2, 3 for 3, 4 for 4–5, 5 for 6 or more. Frequency is
  mostly 1s and 2s, so quintiles of it would be meaningless.
- **distinct**: the mid-rank rule applied to the k distinct values instead of customers
  (dense rank d → ``1 + 5·(2d − 1) // (2k)``), so each distinct order count is its own step.

Reported cut points (``thresholds``): for each score s = 1..5, the boundary a customer must
reach to score at least s — for F and M the smallest value among customers scoring ≥ s, for R
the largest recency_days among customers scoring ≥ s (None when nobody scores ≥ s).

cn8 scheme: R is good when recency_days is strictly below the mean, F and M are high when
strictly above the mean. M high → 重要 (important_*), else 一般 (general_*); R good & F high →
价值 value, R good & F low → 发展 development, R bad & F high → 保持 retention, R bad & F low →
挽留 winback. Its reported thresholds are the three means.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
from collections.abc import Sequence
from typing import Literal

import polars as pl

from custinv.analytics.actions import ACTIONS, CN8_SEGMENTS, RFM_SEGMENTS
from custinv.analytics.breakdowns import totals_by
from custinv.analytics.money import cents
from custinv.models import RfmSection, RfmSegmentRow

Scheme = Literal["standard", "cn8"]
FrequencyMethod = Literal["thresholds", "distinct", "quintile"]
DEFAULT_FREQUENCY_CUTS: tuple[int, int, int, int] = (1, 2, 3, 5)
SCORE_COLUMNS: dict[str, tuple[str, str]] = {
    # thresholds key: (score column, value column)
    "recency": ("r_score", "recency_days"),
    "frequency": ("f_score", "orders"),
    "monetary": ("m_score", "revenue"),
}


@functools.cache
def segment_table() -> dict[int, str]:
    """The shipped rfm_code → segment table as {R*100 + F*10 + M: segment}."""
    raw = importlib.resources.files("custinv").joinpath("data/rfm_segments.csv").read_bytes()
    table = pl.read_csv(io.BytesIO(raw), schema={"rfm_code": pl.String, "segment": pl.String})
    return {int(code): seg for code, seg in zip(table["rfm_code"], table["segment"], strict=True)}


def quintile_score(value: pl.Expr, *, higher_is_better: bool = True) -> pl.Expr:
    """Mid-rank quintile score 1–5 of a non-null column (see module docstring)."""
    # rank "average" of a tie group spanning ranks a..b is (a+b)/2, so 2·avg − 1 = a + b − 1
    # = 2·worse + equal exactly (half-integers are exact in floating point).
    avg_rank = value.rank("average", descending=not higher_is_better)
    twice_p_n = (2 * avg_rank - 1).cast(pl.Int64)
    n = pl.len().cast(pl.Int64)
    return (1 + (5 * twice_p_n) // (2 * n)).cast(pl.Int8)


def threshold_score(value: pl.Expr, cuts: Sequence[float]) -> pl.Expr:
    """1 + number of the four increasing cut points that ``value`` exceeds."""
    if len(cuts) != 4 or any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise ValueError(f"frequency cut points must be four increasing numbers, got {tuple(cuts)}")
    return (1 + pl.sum_horizontal(*((value > c).cast(pl.Int8) for c in cuts))).cast(pl.Int8)


def distinct_score(value: pl.Expr) -> pl.Expr:
    """Mid-rank score over the distinct values: dense rank d of k → 1 + 5·(2d − 1) // (2k)."""
    d = value.rank("dense").cast(pl.Int64)
    k = value.n_unique().cast(pl.Int64)
    return (1 + (5 * (2 * d - 1)) // (2 * k)).cast(pl.Int8)


def _frequency_score(method: FrequencyMethod, cuts: Sequence[float]) -> pl.Expr:
    orders = pl.col("orders")
    if method == "thresholds":
        return threshold_score(orders, cuts)
    if method == "distinct":
        return distinct_score(orders)
    if method == "quintile":
        return quintile_score(orders)
    raise ValueError(f"unknown RFM frequency method {method!r} (thresholds, distinct, quintile)")


CN8_CODES: dict[int, str] = {
    # 4·(M high) + 2·(R good) + (F high) → key
    4 + 2 + 1: "important_value",
    4 + 2 + 0: "important_development",
    4 + 0 + 1: "important_retention",
    4 + 0 + 0: "important_winback",
    0 + 2 + 1: "general_value",
    0 + 2 + 0: "general_development",
    0 + 0 + 1: "general_retention",
    0 + 0 + 0: "general_winback",
}


def cn8_segment() -> pl.Expr:
    """The eight-segment key from above/below-mean R, F, M (see module docstring)."""
    r_good = (pl.col("recency_days") < pl.col("recency_days").mean()).cast(pl.Int8)
    f_high = (pl.col("orders") > pl.col("orders").mean()).cast(pl.Int8)
    m_high = (cents(pl.col("revenue")) > cents(pl.col("revenue").mean())).cast(pl.Int8)
    return (4 * m_high + 2 * r_good + f_high).replace_strict(CN8_CODES, return_dtype=pl.String)


def add_rfm(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    scheme: Scheme = "standard",
    frequency_method: FrequencyMethod = "thresholds",
    frequency_cuts: Sequence[float] = DEFAULT_FREQUENCY_CUTS,
) -> pl.LazyFrame:
    """Add r_score, f_score, m_score (Int8), rfm_code (e.g. "545") and rfm_segment.

    The frame must hold buyers only (orders ≥ 1): scores are relative to the rows present.
    rfm_segment is the 11-segment name under ``standard`` and the cn8 key under ``cn8``;
    the scores and code are computed under both.
    """
    if scheme not in ("standard", "cn8"):
        raise ValueError(f"unknown RFM scheme {scheme!r} (standard, cn8)")
    scored = frame.lazy().with_columns(
        quintile_score(pl.col("recency_days"), higher_is_better=False).alias("r_score"),
        _frequency_score(frequency_method, frequency_cuts).alias("f_score"),
        quintile_score(cents(pl.col("revenue"))).alias("m_score"),  # ties are never split by float noise
    )
    code = (
        pl.col("r_score").cast(pl.Int32) * 100
        + pl.col("f_score").cast(pl.Int32) * 10
        + pl.col("m_score").cast(pl.Int32)
    )
    coded = scored.with_columns(code.alias("_code"))
    segment = (
        pl.col("_code").replace_strict(segment_table(), return_dtype=pl.String)
        if scheme == "standard"
        else cn8_segment()
    )
    return coded.with_columns(
        pl.col("_code").cast(pl.String).alias("rfm_code"),
        segment.alias("rfm_segment"),
    ).drop("_code")


def rfm_thresholds(frame: pl.DataFrame, scheme: Scheme = "standard") -> dict[str, list[float | None]]:
    """The cut points actually used, per axis (see module docstring). Buyers only."""
    buyers = frame.filter(pl.col("r_score").is_not_null())
    if scheme == "cn8":
        return {
            axis: [None if buyers.is_empty() else float(buyers[value].mean())]  # type: ignore[arg-type]
            for axis, (_, value) in SCORE_COLUMNS.items()
        }
    out: dict[str, list[float | None]] = {}
    for axis, (score, value) in SCORE_COLUMNS.items():
        smaller_is_better = axis == "recency"
        per_score = buyers.group_by(score).agg(
            (pl.col(value).max() if smaller_is_better else pl.col(value).min()).alias("bound")
        )
        bounds = dict(zip(per_score[score].to_list(), per_score["bound"].to_list(), strict=True))
        # boundary for "score ≥ s": fold the (at most five) per-score bounds from the top down
        cuts: list[float | None] = []
        running: float | None = None
        for s in range(5, 0, -1):
            b = bounds.get(s)
            if b is not None:
                running = b if running is None else (max(running, b) if smaller_is_better else min(running, b))
            cuts.append(None if running is None else float(running))
        out[axis] = cuts[::-1]
    return out


def rfm_segment_rows(frame: pl.DataFrame, scheme: Scheme = "standard") -> list[RfmSegmentRow]:
    """One row per segment of the scheme, in the scheme's order (empty segments included)."""
    keys = RFM_SEGMENTS if scheme == "standard" else CN8_SEGMENTS
    buyers = frame.filter(pl.col("rfm_segment").is_not_null())
    base = totals_by(buyers, "rfm_segment", keys)
    avgs = buyers.group_by("rfm_segment").agg(
        pl.col("recency_days").mean().alias("avg_recency_days"),
        pl.col("orders").mean().alias("avg_frequency"),
        pl.col("revenue").mean().alias("avg_monetary"),
    )
    table = base.join(avgs, on="rfm_segment", how="left", maintain_order="left")
    return [
        RfmSegmentRow(
            segment=r["rfm_segment"],
            customers=r["customers"],
            share=r["share"],
            revenue=r["revenue"],
            revenue_share=r["revenue_share"],
            avg_recency_days=r["avg_recency_days"],
            avg_frequency=r["avg_frequency"],
            avg_monetary=r["avg_monetary"],
            action=ACTIONS[r["rfm_segment"]]["en"],
        )
        for r in table.iter_rows(named=True)
    ]


def rfm_section(frame: pl.DataFrame, scheme: Scheme = "standard") -> RfmSection:
    """The JSON ``rfm`` section of a classified frame."""
    thresholds = rfm_thresholds(frame, scheme)
    rows = rfm_segment_rows(frame, scheme)
    method = "quintile" if scheme == "standard" else "mean"
    if any(v is None for values in thresholds.values() for v in values):
        # models.RfmSection.thresholds is dict[str, list[float]]; an unoccupied top score has
        # no boundary. Build without validation (everything else is already validated) so
        # the null reaches JSON; the model should allow list[float | None].
        return RfmSection.model_construct(method=method, scheme=scheme, thresholds=thresholds, segments=rows)
    return RfmSection(method=method, scheme=scheme, thresholds=thresholds, segments=rows)
