"""The Stocktake: the single source of truth for every output (JSON contract, schema_version 1).

Every renderer (console, json, excel, html) reads only this model. Sections that a command did
not compute are ``None`` and are left out of JSON (``exclude_none`` is *not* used, so a
computed ``null`` value inside a section stays visible; unset sections are dropped by
:func:`Stocktake.to_json_dict`).

Rules the model enforces (so no renderer has to):
- snake_case keys in a stable order (field declaration order);
- rates and shares are fractions in [0, 1]; no NaN or Infinity anywhere (``None`` instead);
- money keeps full precision here and is rounded only when rendered.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1


def finite_or_none(value: float | None) -> float | None:
    """Map NaN/±Infinity to None: the JSON contract never carries them."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="null")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nan(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value


# ---------------------------------------------------------------- source / accounting


class FileReport(_Model):
    path: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    rows_read: int
    rows_used: int = 0
    rows_excluded: dict[str, int] = Field(default_factory=dict)
    rows_rejected: int = 0
    notes: list[str] = Field(default_factory=list)


class SourceReport(_Model):
    files: list[FileReport]
    mapping: dict[str, str]
    rows_read: int
    rows_used: int
    rows_excluded: dict[str, int]
    rows_rejected: int
    reject_reasons: dict[str, int]
    anonymous_revenue: float | None = None
    returns: float | None = None
    returns_rows: int = 0
    warnings: list[str] = Field(default_factory=list)


class Kpis(_Model):
    customers: int
    orders: int
    revenue: float
    returns: float | None = None
    average_order_value: float | None = None
    revenue_per_customer: float | None = None
    repeat_purchase_rate: float | None = None
    one_time_customers: int | None = None
    active_customers: int | None = None
    new_customers: int | None = None
    churned_customers: int | None = None
    churn_rate: float | None = None
    retention_rate: float | None = None
    customer_growth_rate: float | None = None
    top20_revenue_share: float | None = None
    average_orders_per_customer: float | None = None
    mean_interpurchase_days: float | None = None
    new_customer_window_days: int | None = None
    active_window_days: int | None = None


# ---------------------------------------------------------------- classification


class FrequencyClassRow(_Model):
    """One purchase-frequency class. ``threshold`` is the orders-per-year bar between low and
    high frequency (the same on both rows; null for one_time)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, ser_json_inf_nan="null")

    frequency_class: str = Field(serialization_alias="class", validation_alias="class")
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None
    threshold: float | None = None


class ValueTierRow(_Model):
    """One value tier; ``threshold`` is the smallest customer value inside the tier."""

    tier: str
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None
    threshold: float | None


class RfmSegmentRow(_Model):
    segment: str
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None
    avg_recency_days: float | None
    avg_frequency: float | None
    avg_monetary: float | None
    action: str | None = None


class RfmSection(_Model):
    method: str
    scheme: str
    thresholds: dict[str, list[float]]
    segments: list[RfmSegmentRow]


class LifecycleRow(_Model):
    stage: str
    customers: int
    share: float | None
    revenue: float




class BreakdownRow(_Model):
    value: str
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None
    average_order_value: float | None
    repeat_purchase_rate: float | None
    tiers: dict[str, int] = Field(default_factory=dict)


class Breakdown(_Model):
    dimension: str
    rows: list[BreakdownRow]


# ---------------------------------------------------------------- churn / retention / trends


class AtRiskCustomer(_Model):
    customer_id: str
    last_order: dt.date
    recency_days: int
    usual_interval_days: float | None
    orders: int
    revenue: float
    value_at_risk: float | None
    value_tier: str | None = None


class ChurnSection(_Model):
    definition: dict[str, Any]
    churn_rate: float | None
    churned_customers: int
    churned_revenue: float | None = None
    at_risk_customers: int = 0
    at_risk: list[AtRiskCustomer] = Field(default_factory=list)
    win_back: list[AtRiskCustomer] = Field(default_factory=list)


class Cohort(_Model):
    cohort: str
    size: int
    customers: list[int | None]
    revenue: list[float | None]
    retention: list[float | None] = Field(default_factory=list)


class RetentionSection(_Model):
    period: str
    cohorts: list[Cohort]


class PeriodKpis(_Model):
    period: str
    start: dt.date
    end: dt.date
    partial: bool
    customers_start: int
    new_customers: int
    reactivated_customers: int
    churned_customers: int
    customers_end: int
    active_customers: int
    orders: int
    revenue: float
    average_order_value: float | None
    customer_growth_rate: float | None
    retention_rate: float | None
    churn_rate: float | None
    repeat_purchase_rate: float | None
    net_revenue_retention: float | None


class Alert(_Model):
    rule: str
    kpi: str
    value: float | None
    breached: bool


# ---------------------------------------------------------------- CLV


class ClvSection(_Model):
    model: str
    reason: str | None = None
    time_unit: str
    params: dict[str, float | None]
    log_likelihood: float | None
    converged: bool
    iterations: int | None = None
    horizon: int
    discount_rate: float
    margin: float | str | None
    total: float | None
    customers: int
    spend_model: dict[str, Any] | None = None
    by_segment: list[dict[str, Any]] = Field(default_factory=list)
    top_customers: list[dict[str, Any]] = Field(default_factory=list)
    validation: dict[str, Any] | None = None


# ---------------------------------------------------------------- the stocktake


class Tool(_Model):
    name: str = "custinv"
    version: str


class Stocktake(_Model):
    schema_version: int = SCHEMA_VERSION
    tool: Tool
    as_of: dt.date | None
    currency: str | None
    source: SourceReport
    kpis: Kpis | None = None
    frequency_classes: list[FrequencyClassRow] | None = None
    value_tiers: list[ValueTierRow] | None = None
    rfm: RfmSection | None = None
    lifecycle: list[LifecycleRow] | None = None
    breakdowns: list[Breakdown] | None = None
    churn: ChurnSection | None = None
    retention: RetentionSection | None = None
    kpis_by_period: list[PeriodKpis] | None = None
    alerts: list[Alert] | None = None
    clv: ClvSection | None = None
    settings: dict[str, Any] | None = None
    timings: dict[str, float] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The contract object: sections not computed are omitted, keys in declaration order."""
        data = self.model_dump(mode="json", by_alias=True)
        return {k: v for k, v in data.items() if v is not None or k in ("as_of", "currency")}
