"""``--model auto``: choose the purchase model by how well it predicts held-out purchases.

The ladder, simplest first: NBD (no dropout), BG/NBD, MBG/NBD, Pareto/NBD. Likelihoods of
models with different numbers of parameters are not comparable evidence about *prediction*,
so the choice is made the way the literature validates these models (Fader, Hardie & Lee
2005; Batislam et al. 2007): the last part of the history is held out, every candidate is
fitted on the rest, and each one's expected repeat purchases per customer in the holdout are
compared with what the customers did. The rule, in one place:

* **holdout length** — a quarter of the history (first order to as-of), at least the median
  time between a repeat buyer's purchases (so the holdout can see a typical next purchase),
  at most half of the history;
* **score** — root mean squared error of holdout purchases per customer (it is minimised by
  the true conditional mean, so it rewards the right expectation rather than a shrunk one);
  MAE, the total and the per-frequency table are reported alongside;
* **limiting cases are nested models** — a BG/NBD or MBG/NBD fit whose dropout probability
  vanishes (a/(a+b) → 0), or a Pareto/NBD fit whose dropout rate vanishes (s/β·T̄ → 0), *is*
  the NBD; it is scored as the NBD and says so, instead of being dropped;
* **pick** — the lowest RMSE; a tie (within 0.1 %) goes to the simpler model;
* **historical** is scored too, for reference, and used only when no model can be fitted; the
  reason is always stated.

On a large base the candidates are fitted on a fixed sample of customers (every k-th id),
which decides the model as well as everyone would and keeps ``auto`` close to one fit's cost;
the chosen model is then fitted on every customer.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from . import historical, purchase
from ._mle import FitResult, FloatArray, ModelNotIdentifiable
from .inputs import TimeUnit, clv_inputs, purchase_days, unit_days

LADDER = ("nbd", "bgnbd", "mbgnbd", "paretonbd")
HOLDOUT_SHARE = 0.25
MAX_HOLDOUT_SHARE = 0.5
#: Customers fitted per candidate at most; above, a fixed sample (hash of the id).
SAMPLE_CUSTOMERS = 10_000
#: Fewer calibration repeat buyers than this cannot tell the models apart.
MIN_REPEAT_BUYERS = 20
#: Mean dropout probability per purchase (BG family) or expected dropouts within the mean T
#: (Pareto/NBD) below this: the fit is the NBD in the limit (0.1 % per purchase changes no
#: prediction a report shows; fits that reach it wander to a ≈ 500, b ≈ 3·10⁶ or a → 0).
VANISHING_DROPOUT = 1e-3
TIE = 1e-3
BUCKET_CAP = 7


def vanished_dropout(name: str, params: dict[str, float], mean_T: float) -> bool:
    """True when a fitted dropout model has run to its no-dropout limit (the NBD)."""
    if name in ("bgnbd", "mbgnbd"):
        a, b = params["a"], params["b"]
        return a / (a + b) < VANISHING_DROPOUT
    if name == "paretonbd":
        return params["s"] / params["beta"] * max(mean_T, 1e-12) < VANISHING_DROPOUT
    return False


def nested_fit(name: str, result: FitResult, x: FloatArray, t_x: FloatArray, T: FloatArray,
               penalizer: float) -> tuple[str, FitResult, str | None]:
    """(model, fit, note): the NBD fit instead when ``result`` is the NBD in the limit."""
    if name == "nbd" or not vanished_dropout(name, result.params, float(np.mean(T)) if T.size else 0.0):
        return name, result, None
    limit = ", ".join(f"{k}={v:.3g}" for k, v in result.params.items())
    note = f"{purchase.LABELS[name]} ran to its no-dropout limit ({limit}), which is the NBD model"
    return "nbd", purchase.fit("nbd", x, t_x, T, penalizer=penalizer), note


@dataclass(frozen=True)
class Candidate:
    """One candidate's holdout score (``rmse`` None when it could not be fitted)."""

    model: str
    scored_as: str | None
    rmse: float | None
    mae: float | None
    predicted: float | None
    log_likelihood: float | None
    converged: bool | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "scored_as": self.scored_as, "rmse": _finite(self.rmse), "mae": _finite(self.mae),
                "predicted_purchases": _finite(self.predicted), "calibration_log_likelihood": _finite(self.log_likelihood),
                "converged": self.converged, "note": self.note}


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


@dataclass
class Selection:
    """The holdout split, every candidate's score, the choice and the chosen model's diagnostics."""

    calibration_end: dt.date
    as_of: dt.date
    holdout_units: float
    time_unit: str
    customers: int
    sampled: bool
    actual_purchases: float
    candidates: list[Candidate] = field(default_factory=list)
    chosen: str | None = None
    by_frequency: list[dict[str, Any]] = field(default_factory=list)
    tracking: list[dict[str, Any]] = field(default_factory=list)

    def ranked(self) -> list[Candidate]:
        """Scored model candidates (historical excluded), best first, ties to the simpler model."""
        scored = [c for c in self.candidates if c.rmse is not None and c.model != "historical"]
        order = {m: i for i, m in enumerate(LADDER)}
        best = min((c.rmse for c in scored if c.rmse is not None), default=None)
        if best is None:
            return []

        def key(c: Candidate) -> tuple[int, float, int]:
            assert c.rmse is not None
            near = c.rmse <= best * (1 + TIE) + 1e-12
            return (0 if near else 1, 0.0 if near else c.rmse, order.get(c.model, 99))

        return sorted(scored, key=key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": "lowest RMSE of holdout repeat purchases per customer; ties (0.1 %) to the simpler model",
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_start": (self.calibration_end + dt.timedelta(days=1)).isoformat(),
            "holdout_end": self.as_of.isoformat(),
            "holdout_length": self.holdout_units,
            "time_unit": self.time_unit,
            "customers": self.customers,
            "sampled": self.sampled,
            "actual_purchases": self.actual_purchases,
            "candidates": [c.to_dict() for c in self.candidates],
            "chosen": self.chosen,
        }


def holdout_days(span_days: int, median_gap_days: float | None) -> int:
    """Holdout length in days (the module docstring's rule)."""
    want = max(span_days * HOLDOUT_SHARE, median_gap_days or 0.0)
    return round(min(want, span_days * MAX_HOLDOUT_SHARE))


def sample_customers(customer_ids: pl.Series) -> pl.Series | None:
    """Every k-th of the customers (ids sorted) so that about :data:`SAMPLE_CUSTOMERS` remain, or
    None when there are no more than that (everyone is used).

    A stride over the sorted ids is a systematic sample every engine draws alike (the ids are
    on the driver, one per customer): the engine then returns those customers' orders. Ids do
    not follow the business closely enough to bias it (a stride over sequential ids is spread
    evenly over the sign-up years).
    """
    if customer_ids.len() <= SAMPLE_CUSTOMERS:
        return None
    stride = math.ceil(customer_ids.len() / SAMPLE_CUSTOMERS)
    return customer_ids.sort().gather_every(stride)


def bucket_table(x: FloatArray, actual: FloatArray, predicted: FloatArray) -> list[dict[str, Any]]:
    """Calibration frequency 0..6, 7+ → customers, actual and predicted holdout purchases (totals, means)."""
    b = np.minimum(x, BUCKET_CAP).astype(np.intp)
    rows: list[dict[str, Any]] = []
    for k in range(BUCKET_CAP + 1):
        m = b == k
        n = int(m.sum())
        if n == 0:
            continue
        rows.append({
            "frequency": f"{BUCKET_CAP}+" if k == BUCKET_CAP else str(k),
            "customers": n,
            "actual_total": float(actual[m].sum()),
            "predicted_total": float(predicted[m].sum()),
            "actual_mean": float(actual[m].mean()),
            "predicted_mean": float(predicted[m].mean()),
        })
    return rows


def _median_gap_days(inputs: pl.DataFrame, unit: float) -> float | None:
    rep = inputs.filter(pl.col("x") > 0)
    if rep.height == 0:
        return None
    median = rep.select((pl.col("t_x") / pl.col("x")).median()).item()
    return float(median or 0.0) * unit


def _tracking(model: str, params: dict[str, float], days: pl.DataFrame, start: dt.date, cal_end: dt.date,
              as_of: dt.date, unit: float) -> list[dict[str, Any]]:
    """Cumulative repeat purchases of the calibration cohort, actual vs expected, per period.

    The standard tracking plot (FHL 2005 fig. 2): for customers first seen by ``cal_end``,
    repeat purchase days up to the end of each period, against Σ_cohorts n_c · E[X(t − s_c)]
    with E[X(t)] the model's unconditional expectation and s_c the cohort's first day.
    Periods are whole time units, merged so there are at most about 120 points.
    """
    span = (as_of - start).days
    step_days = max(1, math.ceil(max(span / 120, unit)))
    ends = [start + dt.timedelta(days=d) for d in range(step_days, span + step_days, step_days)]
    ends[-1] = min(ends[-1], as_of)
    firsts = days.group_by("customer_id").agg(pl.col("order_date").min().alias("first"))
    firsts = firsts.filter(pl.col("first") <= cal_end)
    cohort = firsts.group_by("first").agg(pl.len().alias("n")).sort("first")  # one order: the dot product below adds alike
    s = np.array([(d - start).days for d in cohort["first"].to_list()], dtype=np.float64)
    n = cohort["n"].to_numpy().astype(np.float64)
    repeat = (
        days.join(firsts, on="customer_id", how="inner")
        .filter(pl.col("order_date") > pl.col("first"))
        .select(((pl.col("order_date") - pl.lit(start, dtype=pl.Date)).dt.total_days()).alias("d"))
    )["d"].to_numpy()
    mod = purchase.module(model) if model != "historical" else None
    # E[X(t)] once per whole day of age (ages are whole days), then looked up per period × cohort
    curve = (np.asarray(mod.expected_purchases(params, np.arange(span + 1) / unit), dtype=np.float64)
             if mod is not None else None)
    repeat_sorted = np.sort(repeat)
    rows: list[dict[str, Any]] = []
    for end in ends:
        e = (end - start).days
        actual = float(np.searchsorted(repeat_sorted, e, side="right"))
        expected = None if curve is None else float(n @ curve[np.clip(e - s, 0, span).astype(np.intp)])
        rows.append({"period_end": end.isoformat(), "actual_cumulative": actual, "expected_cumulative": expected,
                     "holdout": end > cal_end})
    return rows


def split_and_score(
    ledger: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    time_unit: TimeUnit,
    candidates: tuple[str, ...] = LADDER,
    *,
    penalizer: float = 0.0,
    sampled: bool = False,
) -> tuple[Selection | None, str | None]:
    """(selection, None) or (None, why a holdout split is not possible on these data).

    ``sampled`` says the orders are those of a sample of the customers (:func:`sample_customers`),
    as the selection reports.
    """
    unit = unit_days(time_unit)
    days = purchase_days(ledger, None, as_of).collect()
    if days.height == 0:
        return None, "no orders"
    start = days["order_date"].min()
    assert isinstance(start, dt.date)
    span = (as_of - start).days
    full = clv_inputs(days.lazy(), as_of, time_unit)
    length = holdout_days(span, _median_gap_days(full, unit))
    cal_end = as_of - dt.timedelta(days=length)
    if length < 1 or cal_end <= start:
        return None, f"the history ({span} days) is too short to hold part of it out"
    cal = clv_inputs(days.lazy(), cal_end, time_unit)
    repeat_buyers = int((cal["x"] > 0).sum())
    if repeat_buyers < MIN_REPEAT_BUYERS:
        return None, (f"only {repeat_buyers} repeat buyers before the holdout ({cal_end}); "
                      f"choosing a model by holdout needs {MIN_REPEAT_BUYERS}")
    actual_frame = (
        days.lazy().filter(pl.col("order_date") > pl.lit(cal_end, dtype=pl.Date))
        .group_by("customer_id").agg(pl.len().cast(pl.Float64).alias("actual"))
    )
    joined = cal.lazy().join(actual_frame, on="customer_id", how="left", maintain_order="left").with_columns(pl.col("actual").fill_null(0.0)).collect()
    x = joined["x"].to_numpy().astype(np.float64)
    t_x = joined["t_x"].to_numpy().astype(np.float64)
    T = joined["T"].to_numpy().astype(np.float64)
    actual = joined["actual"].to_numpy()
    h_units = length / unit
    sel = Selection(cal_end, as_of, h_units, time_unit, joined.height, sampled, float(actual.sum()))
    predictions: dict[str, tuple[str, dict[str, float], FloatArray]] = {}
    for name in candidates:
        try:
            scored, used, note = nested_fit(name, purchase.fit(name, x, t_x, T, penalizer=penalizer), x, t_x, T, penalizer)
        except ModelNotIdentifiable as exc:
            sel.candidates.append(Candidate(name, None, None, None, None, None, None, str(exc)))
            continue
        if not used.converged:
            sel.candidates.append(Candidate(name, None, None, None, None, used.log_likelihood, False,
                                            f"did not converge: {used.message}"))
            continue
        pred = purchase.Predictor(scored, used.params, x, t_x, T).expected(h_units)
        predictions[name] = (scored, used.params, pred)
        err = pred - actual
        sel.candidates.append(Candidate(name, scored, float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err))),
                                        float(pred.sum()), used.log_likelihood, used.converged, note))
    hist = historical.cumulative_purchases(x, T)(h_units)
    err = hist - actual
    sel.candidates.append(Candidate("historical", "historical", float(np.sqrt(np.mean(err**2))),
                                    float(np.mean(np.abs(err))), float(hist.sum()), None, None,
                                    "reference: each customer's own past rate, no dropout"))
    ranked = sel.ranked()
    if ranked:
        best = ranked[0]
        sel.chosen = best.model
        scored, params, pred = predictions[best.model]
        sel.by_frequency = bucket_table(x, actual, pred)
        sel.tracking = _tracking(scored, params, days, start, cal_end, as_of, unit)
    else:
        sel.by_frequency = bucket_table(x, actual, hist)
        sel.tracking = _tracking("historical", {}, days, start, cal_end, as_of, unit)
    return sel, None
