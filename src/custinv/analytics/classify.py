"""Purchase-frequency classes and value tiers, and :func:`classify`, which puts every customer
on every axis (frequency, value, RFM, lifecycle) in one pass of Polars expressions.

Frequency classes (高频 / 低频 / 一次性):
- ``one_time``: exactly one order. Otherwise ``high_frequency`` when orders per year ≥ the
  bar, else ``low_frequency``. Prospects (0 orders) get no class (null).
- orders per year = orders × 365.25 / max(tenure_days, min_tenure_days), tenure counted from
  the first order to as-of. The floor (default 30 days) keeps a customer who bought twice this
  week from scoring 100+ orders a year.
- The bar is the median orders-per-year of repeat buyers (≥ 2 orders; the mean of the middle
  two for an even count), or ``high_frequency_bar`` when given. No repeat buyers and no
  override → no bar (None) and every buyer is one_time or low_frequency.

Value tiers (高/中/低价值), one rule for every method: order customers by value, descending;
a customer's *share before* is the share of the total held by customers with a strictly
greater value; the customer is ``high`` when share before < cut₁, ``medium`` when < cut₂,
else ``low``. So the customer who crosses cut₁ is high, and a tie group shares the tier of
its first member (its share before is the same for all of them) — no dependence on row order.
- ``abc`` (default cuts 0.80, 0.95): share of value = revenue.
- ``margin`` (default 0.80, 0.95): share of value = gross profit (``profit`` column, see
  :func:`with_profit`); customers with no known cost have null profit and are ``low``.
- ``quantile`` (default cuts 0.20, 0.50): share of *customers*, i.e. top 20 % / next 30 % /
  bottom 50 % by revenue.
Negative values (a loss-making customer under margin) count as 0 toward the shares; when
the total is 0 every share before is 0. A tier's threshold is the smallest value in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from custinv.analytics.actions import FREQUENCY_CLASSES, VALUE_TIERS
from custinv.analytics.breakdowns import totals_by
from custinv.analytics.lifecycle import add_lifecycle_stage, add_prospects, lifecycle_rows
from custinv.analytics.money import cents
from custinv.analytics.rfm import (
    DEFAULT_FREQUENCY_CUTS,
    FrequencyMethod,
    Scheme,
    add_rfm,
    rfm_section,
)
from custinv.engine import OrderEngine
from custinv.models import FrequencyClassRow, LifecycleRow, RfmSection, ValueTierRow

ValueMethod = Literal["abc", "quantile", "margin"]
DAYS_PER_YEAR = 365.25
DEFAULT_VALUE_CUTS: dict[str, tuple[float, float]] = {
    "abc": (0.80, 0.95),
    "margin": (0.80, 0.95),
    "quantile": (0.20, 0.50),
}


@dataclass(frozen=True)
class ClassifySettings:
    """Every knob of the classification, with its default (config.py maps flags onto this)."""

    high_frequency_bar: float | None = None
    min_tenure_days: int = 30
    value_method: ValueMethod = "abc"
    value_cuts: tuple[float, float] | None = None  # None → DEFAULT_VALUE_CUTS[value_method]
    rfm_scheme: Scheme = "standard"
    rfm_frequency_method: FrequencyMethod = "thresholds"
    rfm_frequency_cuts: tuple[float, float, float, float] = DEFAULT_FREQUENCY_CUTS
    new_days: int = 30
    active_days: int = 90
    loyal_min_orders: int = 3
    at_risk_factor: float = 2.0


# ---------------------------------------------------------------- frequency classes


def orders_per_year(min_tenure_days: int = 30) -> pl.Expr:
    """orders × 365.25 / max(tenure_days, min_tenure_days)."""
    tenure = pl.max_horizontal(pl.col("tenure_days"), pl.lit(min_tenure_days)).cast(pl.Float64)
    return pl.col("orders") * DAYS_PER_YEAR / tenure


def frequency_bar(frame: pl.DataFrame | pl.LazyFrame, override: float | None = None) -> float | None:
    """The orders-per-year bar between low and high frequency (needs ``orders_per_year``)."""
    if override is not None:
        return float(override)
    bar = frame.lazy().select(pl.col("orders_per_year").filter(pl.col("orders") >= 2).median()).collect().item()
    return None if bar is None else float(bar)


def _frequency_bar_expr(override: float | None) -> pl.Expr:
    if override is not None:
        return pl.lit(float(override))
    return pl.col("orders_per_year").filter(pl.col("orders") >= 2).median()


def add_frequency_class(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    high_frequency_bar: float | None = None,
    min_tenure_days: int = 30,
) -> pl.LazyFrame:
    """Add ``orders_per_year`` and ``frequency_class`` (see module docstring)."""
    lf = frame.lazy().with_columns(orders_per_year(min_tenure_days).alias("orders_per_year"))
    bar = _frequency_bar_expr(high_frequency_bar)
    orders = pl.col("orders")
    return lf.with_columns(
        pl.when(orders == 1)
        .then(pl.lit("one_time"))
        .when((orders >= 2) & (pl.col("orders_per_year") >= bar))
        .then(pl.lit("high_frequency"))
        .when(orders >= 2)
        .then(pl.lit("low_frequency"))
        .otherwise(pl.lit(None, pl.String))
        .alias("frequency_class")
    )


def frequency_class_rows(frame: pl.DataFrame, bar: float | None) -> list[FrequencyClassRow]:
    """Rows for high_frequency, low_frequency, one_time; the bar is stated on the first two."""
    table = totals_by(frame, "frequency_class", FREQUENCY_CLASSES)
    return [
        FrequencyClassRow(
            frequency_class=r["frequency_class"],
            customers=r["customers"],
            share=r["share"],
            revenue=r["revenue"],
            revenue_share=r["revenue_share"],
            threshold=None if r["frequency_class"] == "one_time" else bar,
        )
        for r in table.iter_rows(named=True)
    ]


# ---------------------------------------------------------------- value tiers


def with_profit(
    summary: pl.DataFrame | pl.LazyFrame, ledger: pl.DataFrame | pl.LazyFrame | OrderEngine
) -> pl.DataFrame | pl.LazyFrame:
    """Add ``profit`` = Σ (amount − cost) over the customer's orders with a known cost; null
    when none of their orders has one (unknown is not zero). Keeps the summary's frame type.
    ``ledger`` is the orders or an order engine (:meth:`~custinv.engine.base.OrderEngine.profit`)."""
    if isinstance(ledger, OrderEngine):
        engine: OrderEngine = ledger
    else:
        from custinv.engine.polars_engine import PolarsEngine

        frame = ledger.collect() if isinstance(ledger, pl.LazyFrame) else ledger
        if "order_date" not in frame.columns:  # undated costs: added up in ledger order
            frame = frame.with_columns(pl.lit(0, dtype=pl.Int32).cast(pl.Date).alias("order_date"))
        engine = PolarsEngine(frame, None)
    per_customer = engine.profit().lazy()
    lf = summary.lazy()
    if "profit" in lf.collect_schema().names():
        lf = lf.drop("profit")
    out = lf.join(per_customer, on="customer_id", how="left", maintain_order="left")
    return out.collect() if isinstance(summary, pl.DataFrame) else out


def value_cuts(method: ValueMethod, cuts: Sequence[float] | None = None) -> tuple[float, float]:
    """The two cut points of a method, validated (0 < cut₁ ≤ cut₂ ≤ 1)."""
    if method not in DEFAULT_VALUE_CUTS:
        raise ValueError(f"unknown value method {method!r} (abc, quantile, margin)")
    a, b = DEFAULT_VALUE_CUTS[method] if cuts is None else tuple(cuts)
    if not 0 < a <= b <= 1:
        raise ValueError(f"value tier cut points must satisfy 0 < first ≤ second ≤ 1, got {a}, {b}")
    return float(a), float(b)


def weight_strictly_above(key: pl.Expr, weight: pl.Expr) -> pl.Expr:
    """For each row, Σ weight over the rows whose key is strictly greater (keys non-null).

    ``weight`` must be a non-decreasing function of ``key`` (equal keys, equal weights), so
    sorting the weights descending lines them up with the keys sorted descending without a
    second arg-sort. The rows strictly above a key are then the first ``count`` of them, with
    ``count`` = (min-rank, descending) − 1; a tie group gets one number, whatever its order.
    """
    count_above = key.rank("min", descending=True).cast(pl.Int64) - 1
    cumulative = weight.sort(descending=True).cum_sum().cast(pl.Float64)
    return pl.lit(0.0).append(cumulative).gather(count_above)


def exact_ratio(numerator: pl.Expr, scalar_denominator: pl.Expr) -> pl.Expr:
    """numerator / a scalar, correctly rounded.

    Polars 2.1 divides a column by a scalar by multiplying with its reciprocal, which is not
    correctly rounded (12 / 20 → 0.6000000000000001); a customer whose share before is exactly
    a cut point could then land in the wrong tier. Broadcasting the divisor to a column first
    (adding 0 × numerator, which no optimizer may fold because of NaN/Inf) forces a true
    element-wise division.
    """
    return numerator / (scalar_denominator + numerator * 0.0)


def add_value_tier(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    method: ValueMethod = "abc",
    cuts: Sequence[float] | None = None,
) -> pl.LazyFrame:
    """Add ``value`` (revenue, or profit under margin) and ``value_tier`` (see module docstring).

    Rows with orders == 0 (prospects) get no tier and are left out of the shares.
    """
    a, b = value_cuts(method, cuts)
    lf = frame.lazy()
    if method == "margin" and "profit" not in lf.collect_schema().names():
        raise ValueError("value method 'margin' needs a profit column (map a cost column; see with_profit)")
    source = pl.col("profit") if method == "margin" else pl.col("revenue")
    is_buyer = pl.col("orders") >= 1
    lf = lf.with_columns(pl.when(is_buyer).then(source).cast(pl.Float64).alias("value"))
    value = pl.col("value")
    # ranking key: null values (and non-buyers) rank below every number; weights never go
    # negative, non-buyers weigh nothing, and both weights rise with the key
    key = cents(value).fill_null(float("-inf"))  # equal spend ties, whatever float noise says
    weight = is_buyer.cast(pl.Float64) if method == "quantile" else key.clip(lower_bound=0.0)
    total = weight.sum()
    lf = lf.with_columns(weight_strictly_above(key, weight).alias("_share_before")).with_columns(
        pl.when(total > 0).then(exact_ratio(pl.col("_share_before"), total)).otherwise(0.0).alias("_share_before")
    )
    share_before = pl.col("_share_before")
    tier = (
        pl.when(~is_buyer)
        .then(pl.lit(None, pl.String))
        .when(value.is_null())
        .then(pl.lit("low"))
        .when(share_before < a)
        .then(pl.lit("high"))
        .when(share_before < b)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )
    return lf.with_columns(tier.alias("value_tier")).drop("_share_before")


def value_tier_rows(frame: pl.DataFrame) -> list[ValueTierRow]:
    """Rows for high, medium, low; threshold = the smallest value in the tier."""
    table = totals_by(frame, "value_tier", VALUE_TIERS)
    mins = frame.group_by("value_tier").agg(pl.col("value").min().alias("threshold"))
    table = table.join(mins, on="value_tier", how="left", maintain_order="left")
    return [
        ValueTierRow(
            tier=r["value_tier"],
            customers=r["customers"],
            share=r["share"],
            revenue=r["revenue"],
            revenue_share=r["revenue_share"],
            threshold=r["threshold"],
        )
        for r in table.iter_rows(named=True)
    ]


# ---------------------------------------------------------------- everything at once


def classify(
    summary: pl.DataFrame | pl.LazyFrame,
    *,
    churn_days: int,
    settings: ClassifySettings = ClassifySettings(),  # noqa: B008 (frozen, immutable)
    prospects: pl.DataFrame | pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """The per-customer frame with every classification added: orders_per_year,
    frequency_class, value, value_tier, r_score, f_score, m_score, rfm_code, rfm_segment,
    lifecycle_stage.

    Scores, tiers and bars are relative to the buyers on the frame; ``prospects`` (customer
    master ids without orders) are appended afterwards with only a lifecycle stage. as-of is
    already inside the summary (recency_days, tenure_days), so it is not a parameter here.
    """
    lf = add_frequency_class(
        summary, high_frequency_bar=settings.high_frequency_bar, min_tenure_days=settings.min_tenure_days
    )
    lf = add_value_tier(lf, method=settings.value_method, cuts=settings.value_cuts)
    lf = add_rfm(
        lf,
        scheme=settings.rfm_scheme,
        frequency_method=settings.rfm_frequency_method,
        frequency_cuts=settings.rfm_frequency_cuts,
    )
    if prospects is not None:
        lf = add_prospects(lf, prospects)
    lf = add_lifecycle_stage(
        lf,
        churn_days=churn_days,
        new_days=settings.new_days,
        active_days=settings.active_days,
        loyal_min_orders=settings.loyal_min_orders,
        at_risk_factor=settings.at_risk_factor,
    )
    return lf.collect()


@dataclass(frozen=True)
class ClassificationTables:
    """The model rows of a classified frame, ready for the Stocktake."""

    frequency_classes: list[FrequencyClassRow]
    value_tiers: list[ValueTierRow]
    rfm: RfmSection
    lifecycle: list[LifecycleRow]
    high_frequency_bar: float | None = None


def classification_tables(
    classified: pl.DataFrame,
    settings: ClassifySettings = ClassifySettings(),  # noqa: B008
) -> ClassificationTables:
    """Aggregate a frame from :func:`classify` (with the same settings) into the table rows."""
    buyers = classified.filter(pl.col("orders") >= 1)
    bar = frequency_bar(buyers, settings.high_frequency_bar)
    return ClassificationTables(
        frequency_classes=frequency_class_rows(buyers, bar),
        value_tiers=value_tier_rows(buyers),
        rfm=rfm_section(buyers, settings.rfm_scheme),
        lifecycle=lifecycle_rows(classified),
        high_frequency_bar=bar,
    )
