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
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

SCHEMA_VERSION = 1
MONEY_DECIMALS = 2
RATE_DECIMALS = 6


def _round_money(value: float | None) -> float | None:
    return None if value is None else round(value, MONEY_DECIMALS)


def _round_rate(value: float | None) -> float | None:
    return None if value is None else round(value, RATE_DECIMALS)


Money = Annotated[float, PlainSerializer(_round_money, return_type=float)]
"""Full precision inside; rounded to cents only when serialised (the edge)."""
OptMoney = Annotated[float | None, PlainSerializer(_round_money, return_type=float | None)]
Rate = Annotated[float | None, PlainSerializer(_round_rate, return_type=float | None)]
"""A fraction in [0, 1] (or a ratio such as growth), rounded to 6 decimals when serialised."""


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
    anonymous_revenue: OptMoney = None
    returns: OptMoney = None
    returns_rows: int = 0
    warnings: list[str] = Field(default_factory=list)
    profile: str | None = None


class Kpis(_Model):
    customers: int
    orders: int
    revenue: Money
    returns: OptMoney = None
    average_order_value: OptMoney = None
    revenue_per_customer: OptMoney = None
    repeat_purchase_rate: Rate = None
    one_time_customers: int | None = None
    active_customers: int | None = None
    new_customers: int | None = None
    churned_customers: int | None = None
    churn_rate: Rate = None
    retention_rate: Rate = None
    customer_growth_rate: Rate = None
    top20_revenue_share: Rate = None
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
    share: Rate
    revenue: Money
    revenue_share: Rate
    threshold: float | None = None


class ValueTierRow(_Model):
    """One value tier; ``threshold`` is the smallest customer value inside the tier."""

    tier: str
    customers: int
    share: Rate
    revenue: Money
    revenue_share: Rate
    threshold: OptMoney


class RfmSegmentRow(_Model):
    segment: str
    customers: int
    share: Rate
    revenue: Money
    revenue_share: Rate
    avg_recency_days: float | None
    avg_frequency: float | None
    avg_monetary: OptMoney
    action: str | None = None


class RfmSection(_Model):
    method: str
    scheme: str
    thresholds: dict[str, list[float | None]]
    segments: list[RfmSegmentRow]


class LifecycleRow(_Model):
    stage: str
    customers: int
    share: Rate
    revenue: Money




class BreakdownRow(_Model):
    value: str
    customers: int
    share: Rate
    revenue: Money
    revenue_share: Rate
    average_order_value: OptMoney
    repeat_purchase_rate: Rate
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
    revenue: Money
    value_at_risk: OptMoney
    value_tier: str | None = None


class ChurnSection(_Model):
    definition: dict[str, Any]
    churn_rate: Rate
    churned_customers: int
    churned_revenue: OptMoney = None
    at_risk_customers: int = 0
    at_risk: list[AtRiskCustomer] = Field(default_factory=list)
    win_back: list[AtRiskCustomer] = Field(default_factory=list)


class Cohort(_Model):
    cohort: str
    size: int
    customers: list[int | None]
    revenue: list[OptMoney]
    retention: list[Rate] = Field(default_factory=list)


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
    revenue: Money
    average_order_value: OptMoney
    customer_growth_rate: Rate
    retention_rate: Rate
    churn_rate: Rate
    repeat_purchase_rate: Rate
    net_revenue_retention: Rate


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
    total: OptMoney
    customers: int
    spend_model: dict[str, Any] | None = None
    by_segment: list[dict[str, Any]] = Field(default_factory=list)
    top_customers: list[dict[str, Any]] = Field(default_factory=list)
    validation: dict[str, Any] | None = None
    # issue 17: how the model was chosen, how sure the numbers are, and the fit diagnostics
    penalizer: float = 0.0
    selection: dict[str, Any] | None = None  # holdout split, every candidate's score, the choice
    param_intervals: dict[str, dict[str, float]] = Field(default_factory=dict)  # estimate, se, low/high_80/95
    total_intervals: dict[str, Any] = Field(default_factory=dict)  # clv / expected_purchases: value, low/high_80/95
    diagnostics: dict[str, Any] = Field(default_factory=dict)  # by_frequency, tracking, p_alive_histogram
    warnings: list[str] = Field(default_factory=list)  # every model warning, also printed on stderr


# ---------------------------------------------------------------- customer book and service


Measure = Annotated[float | None, PlainSerializer(_round_rate, return_type=float | None)]
"""A derived measure (hours, days, points, per-100 counts), rounded to 6 decimals when serialised."""


class InputFileReport(_Model):
    """How a side file (customer master, tickets) was read, and every row's bucket:
    ``rows_read == rows_used + sum(rows_excluded) + rows_rejected``."""

    path: str
    format: str
    encoding: str | None = None
    mapping: dict[str, str]
    rows_read: int
    rows_used: int
    rows_excluded: dict[str, int] = Field(default_factory=dict)
    rows_rejected: int = 0
    reject_reasons: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class ConversionPeriod(_Model):
    """Accounts created in one period and how many placed a first order within the window.
    ``complete`` is false while some account of the period is younger than the window."""

    period: str
    accounts: int
    converted: int
    conversion_rate: Rate
    complete: bool


class ConversionSection(_Model):
    within_days: int
    period: str
    accounts: int
    accounts_eligible: int
    converted: int
    conversion_rate: Rate
    median_days_to_first_order: Measure = None
    mean_days_to_first_order: Measure = None
    ordered_before_signup: int = 0
    periods: list[ConversionPeriod] = Field(default_factory=list)


class MissingCustomer(_Model):
    customer_id: str
    orders: int
    revenue: Money


class CustomerBookSection(_Model):
    """The customer master joined to the orders (``--customers-file``)."""

    source: InputFileReport
    accounts: int
    buyers: int
    prospects: int
    prospect_share: Rate
    customers_missing_from_master: int
    missing_orders: int
    missing_revenue: Money
    missing_customers: list[MissingCustomer] = Field(default_factory=list)
    dimensions_from_master: list[str] = Field(default_factory=list)
    conversion: ConversionSection | None = None


class ServiceKpis(_Model):
    """Service quality over a set of tickets. Rates are fractions; NPS is in points (−100..100)."""

    tickets: int
    complaints: int
    customers_with_complaints: int
    active_customers: int
    complaint_rate: Rate
    orders: int
    tickets_per_100_orders: Measure
    resolved_tickets: int
    median_resolution_hours: Measure
    sla_tickets: int
    sla_rate: Rate
    csat_responses: int
    csat: Rate
    nps_responses: int
    nps: Measure


class ServicePeriodRow(ServiceKpis):
    period: str
    partial: bool


class ServiceSegmentRow(ServiceKpis):
    axis: str
    segment: str


class ChurnByComplaint(_Model):
    """Churn rate of one group of buyers (complained / did not; unresolved / resolved)."""

    group: str
    customers: int
    churned: int
    churn_rate: Rate


class ServiceSection(_Model):
    source: InputFileReport
    sla_hours: float
    kpis: ServiceKpis
    by_type: dict[str, int] = Field(default_factory=dict)
    by_period: list[ServicePeriodRow] = Field(default_factory=list)
    by_segment: list[ServiceSegmentRow] = Field(default_factory=list)
    churn_by_complaint: list[ChurnByComplaint] = Field(default_factory=list)
    anonymous_tickets: int = 0
    unknown_customer_tickets: int = 0


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
    customer_book: CustomerBookSection | None = None
    service: ServiceSection | None = None
    settings: dict[str, Any] | None = None
    timings: dict[str, float] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The contract object: sections not computed are omitted, keys in declaration order."""
        data = self.model_dump(mode="json", by_alias=True)
        return {k: v for k, v in data.items() if v is not None or k in ("as_of", "currency")}


# ---------------------------------------------------------------- comparison of two snapshots (custinv compare)


Delta = Measure


class KpiDelta(_Model):
    old: Delta
    new: Delta
    delta: Delta


class MigrationCell(_Model):
    """Customers whose class on one axis was ``from`` in the older snapshot and ``to`` in the
    newer; ``(new)`` / ``(lost)`` stand for not being in that snapshot's class list."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, ser_json_inf_nan="null")

    from_: str = Field(serialization_alias="from", validation_alias="from")
    to: str
    customers: int
    revenue: Money


class ChangedCustomer(_Model):
    customer_id: str
    reason: str
    revenue: Money
    value: OptMoney
    value_tier: str | None = None
    rfm_segment: str | None = None
    lifecycle_stage: str | None = None


class Mover(_Model):
    customer_id: str
    value: OptMoney
    revenue_old: Money
    revenue_new: Money
    changes: dict[str, list[str | None]]


class SnapshotRef(_Model):
    path: str
    as_of: dt.date | None


class Comparison(_Model):
    """What changed between two stocktakes (``custinv compare``)."""

    schema_version: int = SCHEMA_VERSION
    old: SnapshotRef
    new: SnapshotRef
    customers_gained: int
    customers_lost: int
    gained_customers: list[ChangedCustomer]
    lost_customers: list[ChangedCustomer]
    kpi_deltas: dict[str, KpiDelta]
    migrations: dict[str, list[MigrationCell]]
    movers: list[Mover] = Field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
