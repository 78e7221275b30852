"""``fit_clv``: choose a purchase model, fit spend, and price every customer.

The chooser: ``model="auto"`` ranks NBD, BG/NBD, MBG/NBD and Pareto/NBD by a holdout split
of the history (:mod:`.select`, where the rule lives) and fits the best on every customer; a
limiting case is the nested NBD, not a reason to stop predicting. Without a usable holdout the
lowest BIC on all customers decides; the historical CLV is the last resort. The reason is
always a sentence in the summary. An explicitly requested model is honoured: it raises
``ModelNotIdentifiable`` when the data cannot identify it and reports ``converged=False`` (and
a warning) rather than silently switching.

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

from custinv.engine import OrderEngine

from . import gammagamma, historical, intervals, purchase, select
from ._mle import FitResult, FloatArray, ModelNotIdentifiable
from .discount import Schedule, discounted_purchases, schedule
from .inputs import TimeUnit, clv_inputs_from_totals, unit_days
from .intervals import LEVELS, Measure, Uncertainty

ModelName = Literal["auto", "nbd", "bgnbd", "mbgnbd", "paretonbd", "historical"]
DEFAULT_MARGIN = 0.3
AUTO_MIN_REPEAT_BUYERS = select.MIN_REPEAT_BUYERS
"""Under ``auto``, fewer repeat buyers than this make the model's heterogeneity unidentifiable in
practice (the fit wanders to a limiting case), so the historical CLV is used, with the reason."""

CUSTOMER_SCHEMA: dict[str, type[pl.DataType]] = {
    "customer_id": pl.String,
    "p_alive": pl.Float64,
    "p_alive_low": pl.Float64,
    "p_alive_high": pl.Float64,
    "expected_purchases": pl.Float64,
    "expected_purchases_low": pl.Float64,
    "expected_purchases_high": pl.Float64,
    "p_purchase": pl.Float64,
    "next_purchase_from": pl.Date,
    "next_purchase_to": pl.Date,
    "spend_per_purchase": pl.Float64,
    "expected_spend": pl.Float64,
    "clv": pl.Float64,
    "clv_low": pl.Float64,
    "clv_high": pl.Float64,
}
"""Per-customer CLV columns. ``*_low``/``*_high``: 80 % intervals; ``p_purchase``: P(at least
one purchase in the horizon);
``expected_spend``: undiscounted expected revenue in the horizon; ``next_purchase_from``/``_to``:
the dates between which a still-active customer's next purchase falls with 50 % probability."""


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

    model: Literal["nbd", "bgnbd", "mbgnbd", "paretonbd", "historical"]
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
    penalizer: float = 0.0
    selection: dict[str, Any] | None = None
    param_intervals: dict[str, dict[str, float]] = field(default_factory=dict)
    total_intervals: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    uncertainty: Uncertainty | None = field(default=None, repr=False, compare=False)

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
            "penalizer": self.penalizer,
            "selection": self.selection,
            "param_intervals": self.param_intervals,
            "total_intervals": self.total_intervals,
            "diagnostics": self.diagnostics,
            "warnings": list(self.warnings),
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


def _spend(
    inputs: pl.DataFrame, x: FloatArray, penalizer: float = 0.0
) -> tuple[FloatArray, SpendSummary, gammagamma.GammaGammaResult | None]:
    """Expected spend per future purchase for every customer, Gamma-Gamma when possible."""
    m = inputs["monetary_value"].to_numpy().astype(np.float64)  # null -> nan
    own = historical.average_order_value(inputs["revenue"].to_numpy().astype(np.float64), x)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gammagamma.SpendFrequencyCorrelationWarning)
            gg = gammagamma.fit(x, m, penalizer=penalizer)
    except ModelNotIdentifiable as exc:
        return own, SpendSummary("historical", reason=str(exc)), None
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
        return own, SpendSummary("historical", reason=reason, **common), gg  # type: ignore[arg-type]
    return spend, SpendSummary("gammagamma", **common), gg  # type: ignore[arg-type]


def _fit_requested(
    requested: str, x: FloatArray, t_x: FloatArray, T: FloatArray, penalizer: float, notes: list[str]
) -> FitResult:
    """The explicitly requested model's fit, honoured even at a limiting case (with a warning)."""
    result = purchase.fit(requested, x, t_x, T, penalizer=penalizer)
    if not result.converged:
        notes.append(f"{purchase.LABELS[requested]} did not converge ({result.message}); its numbers are shown as requested")
    if select.vanished_dropout(requested, result.params, float(np.mean(T)) if T.size else 0.0):
        notes.append(f"{purchase.LABELS[requested]} ran to its no-dropout limit: it is the NBD model in effect "
                     "(--model auto or nbd would say so)")
    return result


def _fit_on_everyone(
    name: str, x: FloatArray, t_x: FloatArray, T: FloatArray, penalizer: float, failures: list[str]
) -> tuple[str, FitResult, str | None] | None:
    """(model, fit, note) of a candidate on every customer — its nested NBD at a limiting case —
    or None with the reason appended to ``failures``."""
    try:
        used, result, note = select.nested_fit(name, purchase.fit(name, x, t_x, T, penalizer=penalizer), x, t_x, T,
                                               penalizer)
    except ModelNotIdentifiable as exc:
        failures.append(str(exc))
        return None
    if not result.converged:
        failures.append(f"{purchase.LABELS[used]} did not converge on all customers: {result.message}")
        return None
    return used, result, note


def _choose(
    requested: str,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    selection: select.Selection | None,
    why_no_holdout: str | None,
    penalizer: float,
    notes: list[str],
) -> tuple[str, FitResult | None, str]:
    """(model used, its fit on everyone or None for historical, the reason — always a sentence).

    ``auto`` tries the holdout ranking best first; each is fitted on every customer and a
    limiting case becomes the nested NBD (:func:`select.nested_fit`). Without a holdout split
    the converged candidate with the lowest BIC on all the data is used. Historical is the last
    resort.
    """
    if requested == "historical":
        return "historical", None, "historical model requested (--model historical)"
    if requested in purchase.MODELS:
        return requested, _fit_requested(requested, x, t_x, T, penalizer, notes), f"{purchase.LABELS[requested]} requested (--model {requested})"
    if requested != "auto":
        raise ValueError(f"model must be auto, {', '.join(purchase.MODELS)} or historical, got {requested!r}")
    failures: list[str] = []
    if selection is not None and selection.ranked():
        ranked = selection.ranked()
        scores = "; ".join(
            f"{purchase.LABELS[c.model]} {c.rmse:.4g}" + (" (as NBD)" if c.scored_as == "nbd" and c.model != "nbd" else "")
            for c in ranked if c.rmse is not None
        )
        for cand in ranked:
            fitted = _fit_on_everyone(cand.model, x, t_x, T, penalizer, failures)
            if fitted is None:
                continue
            used, result, note = fitted
            if note:
                notes.append(note)
            how = f"{purchase.LABELS[cand.model]}" + (f" (reduced to {purchase.LABELS[used]})" if used != cand.model else "")
            reason = (f"chosen by holdout: {how} predicted the held-out purchases best "
                      f"(RMSE per customer: {scores})")
            if failures:
                reason += "; " + "; ".join(failures)
            return used, result, reason
    fallback_why = why_no_holdout or "no candidate could be scored on the holdout"
    fits: list[tuple[float, str, FitResult, str | None]] = []
    repeat_buyers = int(np.count_nonzero(x > 0))
    if repeat_buyers < AUTO_MIN_REPEAT_BUYERS:  # no model would be trusted: do not spend time fitting them
        failures.append(f"only {repeat_buyers} repeat buyers in all (a model needs {AUTO_MIN_REPEAT_BUYERS} "
                        "to be trusted; --model bgnbd forces one)")
        if repeat_buyers == 0:
            failures.append("no repeat buyers, so purchase rates and dropout cannot be separated")
        if x.size < 3:
            failures.append(f"needs at least 3 customers, got {x.size}")
        return "historical", None, "historical CLV (last resort): " + "; ".join([fallback_why, *failures])
    for name in select.LADDER:
        fitted = _fit_on_everyone(name, x, t_x, T, penalizer, failures)
        if fitted is not None:
            used, result, note = fitted
            bic = -2 * result.log_likelihood + len(result.params) * math.log(max(result.n_customers, 1))
            fits.append((bic, used, result, note))
    if fits:
        bic, used, result, note = min(fits, key=lambda f: f[0])
        if note:
            notes.append(note)
        return used, result, f"{fallback_why}; chosen by BIC on all customers: {purchase.LABELS[used]} (BIC {bic:.1f})"
    unique = list(dict.fromkeys(failures))
    return "historical", None, "historical CLV (last resort): " + "; ".join([fallback_why, *unique][:3])


def _engine(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    as_of: dt.date,
    summary: pl.DataFrame | None,
    sequence: pl.DataFrame | None,
) -> OrderEngine:
    """The order engine the inputs come from: ``ledger`` when it is one; else the Polars engine
    of the orders, reusing the audit's order sequence when it holds the orders up to ``as_of``
    (a summary reaching past ``as_of`` means the sequence does too: the ledger is sorted again)."""
    if isinstance(ledger, OrderEngine):
        return ledger
    from custinv.engine.polars_engine import PolarsEngine

    frame = ledger.collect() if isinstance(ledger, pl.LazyFrame) else ledger
    usable = sequence is not None and (
        summary is None or summary.height == 0 or summary["last_order"].max() <= as_of  # type: ignore[operator]
    )
    return PolarsEngine(frame, as_of, sequence=sequence if usable else None)


def fit_clv(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    as_of: dt.date,
    model: ModelName = "auto",
    time_unit: TimeUnit = "week",
    horizon_months: float = 12,
    discount_rate: float = 0.10,
    margin: float | Literal["cost"] = DEFAULT_MARGIN,
    *,
    summary: pl.DataFrame | None = None,
    sequence: pl.DataFrame | None = None,
    penalizer: float = 0.0,
    intervals: bool = True,
) -> tuple[pl.DataFrame, CLVSummary]:
    """Per-customer predictions (:data:`CUSTOMER_SCHEMA`) and a run summary.

    ``expected_purchases`` is the undiscounted expectation over the horizon; ``clv`` the
    discounted expected margin (discounted expected purchases × expected spend × margin).
    ``p_alive`` is null under the historical model (it has no dropout process); the NBD's is 1.
    The ``*_low``/``*_high`` columns are 80 % intervals from the parameters' uncertainty
    (:mod:`.intervals`; null when the fit's information matrix is singular, with a warning);
    ``next_purchase_from``/``_to`` are dates after ``as_of`` (the middle half of the waiting time
    of a customer who is still active; null when the rate is 0).

    ``model="auto"`` chooses by holdout (:mod:`.select`); every warning raised on the way
    (numerical or about the data) ends up in ``summary.warnings``, never as a Python warning.

    ``ledger`` is the orders or an order engine (an audit passes its engine, Polars or Spark):
    the model inputs and the model choice's sample are the engine's reductions. ``summary`` and
    ``sequence`` (an order sequence of ``ledger``) spare a Polars ledger a second sort; they are
    not used when the summary has orders after ``as_of``. Rows are sorted by ``customer_id``.
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, result = _fit_clv(ledger, as_of, model, time_unit, horizon_months, discount_rate, margin,
                                 summary, sequence, penalizer, intervals, notes)
    for w in caught:
        notes.append(str(w.message))
    result.warnings.extend(dict.fromkeys(n for n in notes if n not in result.warnings))
    return frame, result


def _fit_clv(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    as_of: dt.date,
    model: str,
    time_unit: TimeUnit,
    horizon_months: float,
    discount_rate: float,
    margin: float | Literal["cost"],
    summary: pl.DataFrame | None,
    sequence: pl.DataFrame | None,
    penalizer: float,
    want_intervals: bool,
    notes: list[str],
) -> tuple[pl.DataFrame, CLVSummary]:
    if not math.isfinite(penalizer) or penalizer < 0:
        raise ValueError(f"penalizer must be a non-negative number, got {penalizer}")
    engine = _engine(ledger, as_of, summary, sequence)
    with_cost = margin == "cost" and "cost" in engine.columns  # else customer_margin says what is missing
    inputs = clv_inputs_from_totals(engine.purchase_totals(as_of, cost=with_cost), as_of, time_unit)
    x = inputs["x"].to_numpy().astype(np.float64)
    t_x = inputs["t_x"].to_numpy().astype(np.float64)
    T = inputs["T"].to_numpy().astype(np.float64)
    m = inputs["monetary_value"].to_numpy().astype(np.float64)
    margins = customer_margin(inputs, margin)
    sched = schedule(horizon_months, discount_rate, time_unit)
    selection: select.Selection | None = None
    why_no_holdout: str | None = None
    if model != "historical" and inputs.height:
        candidates = select.LADDER if model == "auto" else (model,)
        chosen_ids = select.sample_customers(inputs["customer_id"])
        orders = engine.sample_orders(chosen_ids)
        selection, why_no_holdout = select.split_and_score(
            orders, as_of, time_unit, candidates, penalizer=penalizer, sampled=chosen_ids is not None)
    used, result, reason = _choose(model, x, t_x, T, selection, why_no_holdout, penalizer, notes)
    if used == "historical" and model == "auto":
        notes.append(reason)

    unc: Uncertainty | None = None
    p_any: FloatArray
    if result is None:
        alive: FloatArray = np.full(x.size, np.nan)
        rate = historical.purchase_rate(x, T)
        expected, discounted = discounted_purchases(lambda t: rate * t, sched, x.size)
        p_any = -np.expm1(-rate * sched.horizon)
        with np.errstate(divide="ignore"):
            window = tuple(-np.log1p(-q) / rate for q in purchase.NEXT_PURCHASE_QUANTILES)
        spend = historical.average_order_value(inputs["revenue"].to_numpy().astype(np.float64), x)
        spend_summary = SpendSummary("historical", reason="historical CLV uses each customer's average order value")
        gg = None
    else:
        predictor = purchase.Predictor(used, result.params, x, t_x, T)
        expected, discounted = predictor.discounted(sched)
        alive = predictor.p_alive()
        p_any = predictor.p_purchase(sched.horizon)
        window = predictor.next_purchase_window()
        spend, spend_summary, gg = _spend(inputs, x, penalizer)
        if spend_summary.correlation_warning:
            notes.append(f"frequency and spend are correlated (r = {spend_summary.correlation:.2f}); "
                         "Gamma-Gamma assumes they are independent")
        if spend_summary.reason:
            notes.append(f"spend per purchase: {spend_summary.reason}; each customer's own average is used")
        if want_intervals:
            unc = uncertainty(used, result, predictor, x, t_x, T, sched, spend, m, discounted, expected, alive,
                               margins, gg if spend_summary.model == "gammagamma" else None, notes)

    clv = discounted * spend * margins
    columns: dict[str, Any] = {
        "customer_id": inputs["customer_id"],
        "p_alive": alive,
        "expected_purchases": expected,
        "p_purchase": p_any,
        "next_purchase_from": _dates_after(as_of, window[0], time_unit),
        "next_purchase_to": _dates_after(as_of, window[1], time_unit),
        "spend_per_purchase": spend,
        "expected_spend": expected * spend,
        "clv": clv,
    }
    level = LEVELS[0]
    for name, measure in (("expected_purchases", unc.expected_purchases if unc else None),
                          ("p_alive", unc.p_alive if unc else None), ("clv", unc.clv if unc else None)):
        if unc is not None and measure is not None:
            low, high = measure.customer_bounds(unc.cov, level)
        else:
            low = high = np.full(x.size, np.nan)
        columns[f"{name}_low"], columns[f"{name}_high"] = low, high
    frame = pl.DataFrame(
        {k: (v if isinstance(v, pl.Series) else pl.Series(k, v, dtype=pl.Float64, nan_to_null=True))
         for k, v in columns.items()},
    ).select(list(CUSTOMER_SCHEMA))

    params_ci: dict[str, dict[str, float]] = {}
    if result is not None and unc is not None:
        k = len(result.params)
        params_ci = intervals.parameter_intervals(result, unc.cov[:k, :k])
        if gg is not None and unc.cov.shape[0] > k:
            params_ci.update({f"spend.{n}": v for n, v in intervals.parameter_intervals(gg.fit, unc.cov[k:, k:]).items()})
    diagnostics: dict[str, Any] = {"p_alive_histogram": p_alive_histogram(alive)}
    if selection is not None:
        diagnostics["by_frequency"] = selection.by_frequency
        diagnostics["tracking"] = selection.tracking
    totals: dict[str, Any] = {}
    if unc is not None:
        totals = {"clv": unc.total(unc.clv), "expected_purchases": unc.total(unc.expected_purchases)}
    out = CLVSummary(
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
        penalizer=penalizer,
        selection=selection.to_dict() if selection is not None else None,
        param_intervals=params_ci,
        total_intervals=totals,
        diagnostics=diagnostics,
        uncertainty=unc,
    )
    return frame, out


def _dates_after(as_of: dt.date, units: FloatArray, time_unit: str) -> pl.Series:
    """``as_of`` plus ``units`` model time units, as dates (null where not finite)."""
    days = units * unit_days(time_unit)
    ok = np.isfinite(days) & (days < 365.25 * 100)  # beyond a century: "not in any useful time"
    whole = np.where(ok, np.round(np.where(ok, days, 0.0)), 0).astype(np.int64)
    base = (as_of - dt.date(1970, 1, 1)).days
    return pl.Series(np.where(ok, base + whole, 0), dtype=pl.Int32).cast(pl.Date).set(pl.Series(~ok), None)


def p_alive_histogram(alive: FloatArray) -> list[dict[str, Any]]:
    """Customers per tenth of P(alive) (0–0.1, …, 0.9–1.0; 1.0 in the last bin); empty without P(alive)."""
    ok = alive[np.isfinite(alive)]
    if ok.size == 0:
        return []
    counts = np.bincount(np.minimum((ok * 10).astype(np.intp), 9), minlength=10)
    return [{"from": i / 10, "to": (i + 1) / 10, "customers": int(c)} for i, c in enumerate(counts)]


def uncertainty(
    name: str,
    result: FitResult,
    predictor: purchase.Predictor,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    sched: Schedule,
    spend: FloatArray,
    m: FloatArray,
    discounted: FloatArray,
    expected: FloatArray,
    alive: FloatArray,
    margins: FloatArray,
    gg: gammagamma.GammaGammaResult | None,
    notes: list[str],
) -> Uncertainty | None:
    """Covariances and per-customer log-gradients (:mod:`.intervals`); None, with a note, when singular."""
    cov_p, why = intervals.covariance(result)
    if cov_p is None:
        notes.append(f"no intervals for {purchase.LABELS[name]}: {why}")
        return None
    cov_s = None
    if gg is not None:
        cov_s, why_s = intervals.covariance(gg.fit)
        if cov_s is None:
            notes.append(f"CLV intervals leave out the spend model's uncertainty: Gamma-Gamma {why_s}")
    inverse = predictor.inverse
    mod = purchase.module(name)
    if hasattr(mod, "log_p_alive_gradient"):  # closed form (BG family): no P(alive) re-evaluations
        g_alive = mod.log_p_alive_gradient(result.params, x, t_x, T)
    elif name == "nbd":
        g_alive = np.zeros((len(result.params), x.size))
    else:
        g_alive = intervals.log_gradient(lambda p: predictor.with_params(p, x, t_x, T).p_alive(), result.params)
    pairs = predictor.pair_count
    base = np.concatenate(predictor.discounted_pairs(sched))  # cached by the predictor: no recomputation
    g_pairs = intervals.log_gradient(lambda p: np.concatenate(predictor.discounted_pairs(sched, p)), result.params, base)
    # gathered row by row: each row is contiguous, a 2-D fancy index on a strided view is not
    g_expected = np.empty_like(g_alive)
    g_clv_purchase = np.empty_like(g_alive)
    for j in range(g_alive.shape[0]):
        np.add(np.ascontiguousarray(g_pairs[j, :pairs])[inverse], g_alive[j], out=g_expected[j])
        np.add(np.ascontiguousarray(g_pairs[j, pairs:])[inverse], g_alive[j], out=g_clv_purchase[j])
    if cov_s is not None and gg is not None:
        g_clv = np.concatenate([g_clv_purchase, intervals.spend_log_gradient(gg.params, x, m)], axis=0)
        cov = intervals.block_diagonal(cov_p, cov_s)
    else:
        g_clv, cov = g_clv_purchase, cov_p
    clv = discounted * spend * margins
    return Uncertainty(
        names=list(result.params) + ([f"spend.{n}" for n in gg.params] if cov_s is not None and gg is not None else []),
        cov=cov,
        expected_purchases=Measure(expected, g_expected),
        p_alive=Measure(alive, g_alive, probability=True) if name != "nbd" else None,
        clv=Measure(clv, g_clv),
    )
