"""``fit_clv``: choose a purchase model, fit spend, and price every customer.

The chooser's rule, in one place: ``model="auto"`` fits BG/NBD and uses it when the fit
converges; otherwise (not identifiable, not converged) it falls back to the historical CLV and
says why. An explicitly requested model is honoured: it raises ``ModelNotIdentifiable`` when the
data cannot identify it and reports ``converged=False`` rather than silently switching.

Spend per future purchase comes from Gamma-Gamma on repeat buyers; when that cannot be fitted
(too few repeat buyers with positive spend, or q <= 1 so the population mean is infinite), each
customer's own average spend per purchase day is used and the reason recorded.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from . import gammagamma, historical, purchase
from ._mle import FitResult, FloatArray, ModelNotIdentifiable
from .discount import discounted_purchases, schedule
from .inputs import TimeUnit, clv_inputs, clv_inputs_from_summary

ModelName = Literal["auto", "bgnbd", "paretonbd", "historical"]
DEFAULT_MARGIN = 0.3
AUTO_MIN_REPEAT_BUYERS = 20
"""Under ``auto``, fewer repeat buyers than this make the model's heterogeneity unidentifiable in
practice (the fit wanders to a limiting case), so the historical CLV is used, with the reason."""
AUTO_DEGENERATE_PARAM = 1e4
"""A fitted shape/scale this large means the gamma/beta mixing has collapsed to a point."""

CUSTOMER_SCHEMA: dict[str, type[pl.DataType]] = {
    "customer_id": pl.String,
    "p_alive": pl.Float64,
    "expected_purchases": pl.Float64,
    "clv": pl.Float64,
}


def _finite_or_none(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


@dataclass(frozen=True)
class SpendSummary:
    """How expected spend per future purchase was obtained."""

    model: Literal["gammagamma", "historical"]
    params: dict[str, float] = field(default_factory=dict)
    log_likelihood: float | None = None
    converged: bool | None = None
    correlation: float | None = None
    correlation_warning: bool = False
    excluded: int = 0
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": {k: _finite_or_none(v) for k, v in self.params.items()},
            "log_likelihood": _finite_or_none(self.log_likelihood),
            "converged": self.converged,
            "correlation": _finite_or_none(self.correlation),
            "correlation_warning": self.correlation_warning,
            "excluded": self.excluded,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CLVSummary:
    """Everything a report needs to say about a CLV run (keys follow the JSON ``clv`` block)."""

    model: Literal["bgnbd", "paretonbd", "historical"]
    requested_model: str
    reason: str | None
    time_unit: str
    params: dict[str, float]
    log_likelihood: float | None
    converged: bool
    iterations: int | None
    horizon_months: float
    horizon_units: float
    discount_rate: float
    margin: float | str
    total: float
    customers: int
    spend: SpendSummary

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict matching ``custinv.models.ClvSection`` (no NaN: null instead)."""
        horizon: float | int = int(self.horizon_months) if float(self.horizon_months).is_integer() else self.horizon_months
        return {
            "model": self.model,
            "reason": self.reason,
            "time_unit": self.time_unit,
            "params": {k: _finite_or_none(v) for k, v in self.params.items()},
            "log_likelihood": _finite_or_none(self.log_likelihood),
            "converged": self.converged,
            "iterations": self.iterations,
            "horizon": horizon,
            "discount_rate": self.discount_rate,
            "margin": self.margin,
            "total": _finite_or_none(self.total),
            "customers": self.customers,
            "spend_model": self.spend.to_dict(),
        }


def customer_margin(inputs: pl.DataFrame, margin: float | Literal["cost"]) -> FloatArray:
    """Margin fraction per customer: a constant, or 1 − cost/revenue from the ledger's cost.

    Customers with no revenue get the pooled margin of everyone (their own ratio is undefined).
    """
    n = inputs.height
    if margin == "cost":
        if "cost" not in inputs.columns:
            raise ValueError("margin='cost' needs a cost column in the ledger")
        revenue = inputs["revenue"].to_numpy().astype(np.float64)
        cost = inputs["cost"].fill_null(0.0).to_numpy().astype(np.float64)
        total = revenue.sum()
        pooled = 1.0 - cost.sum() / total if total > 0 else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(revenue > 0, 1.0 - cost / np.where(revenue > 0, revenue, 1.0), pooled)
    value = float(margin)
    if not math.isfinite(value) or value > 1:
        raise ValueError(f"margin must be a fraction of revenue (at most 1), got {margin}")
    return np.full(n, value)


def _spend(inputs: pl.DataFrame, x: FloatArray) -> tuple[FloatArray, SpendSummary]:
    """Expected spend per future purchase for every customer, Gamma-Gamma when possible."""
    m = inputs["monetary_value"].to_numpy().astype(np.float64)  # null -> nan
    own = historical.average_order_value(inputs["revenue"].to_numpy().astype(np.float64), x)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gammagamma.SpendFrequencyCorrelationWarning)
            gg = gammagamma.fit(x, m)
    except ModelNotIdentifiable as exc:
        return own, SpendSummary("historical", reason=str(exc))
    spend = gammagamma.conditional_expected_spend(gg.params, x, m)
    common = dict(
        params=gg.params,
        log_likelihood=gg.fit.log_likelihood,
        converged=gg.fit.converged,
        correlation=gg.correlation,
        correlation_warning=gg.correlation_warning,
        excluded=gg.n_excluded,
    )
    if not gg.fit.converged or not np.all(np.isfinite(spend)):
        reason = "Gamma-Gamma did not converge" if not gg.fit.converged else "Gamma-Gamma q <= 1 (infinite mean spend)"
        return own, SpendSummary("historical", reason=reason, **common)  # type: ignore[arg-type]
    return spend, SpendSummary("gammagamma", **common)  # type: ignore[arg-type]


def _choose(
    requested: str, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[str, FitResult | None, str | None]:
    """(model used, its fit or None, reason for a fallback)."""
    if requested == "historical":
        return "historical", None, None
    if requested in purchase.MODELS:
        return requested, purchase.fit(requested, x, t_x, T), None
    if requested != "auto":
        raise ValueError(f"model must be auto, bgnbd, paretonbd or historical, got {requested!r}")
    try:
        result = purchase.fit("bgnbd", x, t_x, T)
    except ModelNotIdentifiable as exc:
        return "historical", None, str(exc)
    if not result.converged:
        return "historical", None, f"BG/NBD did not converge: {result.message}"
    repeat_buyers = int(np.count_nonzero(x > 0))
    if repeat_buyers < AUTO_MIN_REPEAT_BUYERS:
        return "historical", None, (
            f"only {repeat_buyers} repeat buyers (auto needs {AUTO_MIN_REPEAT_BUYERS} to trust BG/NBD; "
            "--model bgnbd forces it)"
        )
    degenerate = {k: v for k, v in result.params.items() if v > AUTO_DEGENERATE_PARAM}
    if degenerate:
        names = ", ".join(f"{k}={v:.3g}" for k, v in degenerate.items())
        return "historical", None, (
            f"BG/NBD ran to a limiting case ({names}): the data cannot tell customers' purchase rates "
            "and dropout apart (--model bgnbd forces it)"
        )
    return "bgnbd", result, None


def _inputs(
    ledger: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    time_unit: TimeUnit,
    margin: float | str,
    summary: pl.DataFrame | None,
    sequence: pl.DataFrame | None,
) -> pl.DataFrame:
    """The model inputs: from the audit's summary and sequence when they can serve, else the ledger."""
    usable = (
        summary is not None
        and sequence is not None
        and margin != "cost"  # the per-customer cost is only in the ledger
        and (summary.height == 0 or summary["last_order"].max() <= as_of)  # type: ignore[operator]
    )
    if usable:
        assert summary is not None and sequence is not None
        return clv_inputs_from_summary(summary, sequence, as_of, time_unit)
    return clv_inputs(ledger, as_of, time_unit)


def fit_clv(
    ledger: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    model: ModelName = "auto",
    time_unit: TimeUnit = "week",
    horizon_months: float = 12,
    discount_rate: float = 0.10,
    margin: float | Literal["cost"] = DEFAULT_MARGIN,
    *,
    summary: pl.DataFrame | None = None,
    sequence: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, CLVSummary]:
    """Per-customer ``customer_id, p_alive, expected_purchases, clv`` and a run summary.

    ``expected_purchases`` is the undiscounted expectation over the horizon; ``clv`` the
    discounted expected margin (discounted expected purchases × expected spend × margin).
    ``p_alive`` is null under the historical model (it has no dropout process).

    An audit that already has the ledger's customer summary and order sequence passes them
    (``summary``, ``sequence``): the model inputs are then built from those instead of grouping
    every order again (:func:`~custinv.analytics.clv.inputs.clv_inputs_from_summary`). The
    ledger is still used when the margin comes from its cost column or when the summary has
    orders after ``as_of``. Rows come in the summary's order (sorted by ``customer_id``).
    """
    inputs = _inputs(ledger, as_of, time_unit, margin, summary, sequence)
    x = inputs["x"].to_numpy().astype(np.float64)
    t_x = inputs["t_x"].to_numpy().astype(np.float64)
    T = inputs["T"].to_numpy().astype(np.float64)
    margins = customer_margin(inputs, margin)
    sched = schedule(horizon_months, discount_rate, time_unit)
    used, result, reason = _choose(model, x, t_x, T)

    if result is None:
        alive: FloatArray = np.full(x.size, np.nan)
        expected, discounted = discounted_purchases(historical.cumulative_purchases(x, T), sched, x.size)
        spend = historical.average_order_value(inputs["revenue"].to_numpy().astype(np.float64), x)
        spend_summary = SpendSummary("historical", reason="historical CLV uses each customer's average order value")
    else:
        predictor = purchase.Predictor(used, result.params, x, t_x, T)
        expected, discounted = predictor.discounted(sched)
        alive = predictor.p_alive()
        spend, spend_summary = _spend(inputs, x)

    clv = discounted * spend * margins
    frame = pl.DataFrame(
        {
            "customer_id": inputs["customer_id"],
            "p_alive": pl.Series(alive, dtype=pl.Float64, nan_to_null=True),
            "expected_purchases": pl.Series(expected, dtype=pl.Float64, nan_to_null=True),
            "clv": pl.Series(clv, dtype=pl.Float64, nan_to_null=True),
        },
        schema=CUSTOMER_SCHEMA,
    )
    summary = CLVSummary(
        model=used,  # type: ignore[arg-type]
        requested_model=model,
        reason=reason,
        time_unit=time_unit,
        params=dict(result.params) if result else {},
        log_likelihood=result.log_likelihood if result else None,
        converged=result.converged if result else True,
        iterations=result.iterations if result else None,
        horizon_months=horizon_months,
        horizon_units=sched.horizon,
        discount_rate=discount_rate,
        margin=margin,
        total=float(np.nansum(clv)),
        customers=inputs.height,
        spend=spend_summary,
    )
    return frame, summary
