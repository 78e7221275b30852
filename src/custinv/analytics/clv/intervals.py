"""How sure the CLV numbers are: parameter covariance and delta-method intervals.

The estimates are maximum likelihood, so their sampling distribution is approximately
normal with covariance the inverse of the observed information (the Hessian of the negative
log-likelihood at the optimum; :func:`~custinv.analytics.clv._mle.observed_information`).
Everything is done in log-parameters, where the models are fitted and where the normal
approximation is far better for positive parameters; a parameter's interval is
exp(θ̂ ± z·se).

For a prediction v(θ) (a customer's expected purchases, P(alive), CLV, or a sum of them over
a segment) the delta method gives Var v ≈ ∇v' Σ ∇v. The gradients are taken by central
differences in log-parameters of the model's own prediction functions (one evaluation per
parameter and side, on the distinct (x, T) pairs and P(alive) vectors — not per customer
formula), and stored as log-gradients g = ∇ log v, so that a segment's sum S = Σ v_i has
∇S = Σ v_i g_i (a weighted column sum per segment) and every interval is formed on the log
scale: v · exp(±z · sd(log v)); P(alive) is formed on the logit scale. CLV's log-gradient
adds the Gamma-Gamma block (its spend per purchase p(γ + x m)/(p x + q − 1) has the
closed-form log-gradient used below); the purchase and spend fits are independent, so the
covariance is block-diagonal.

What these intervals are not: they describe how well the *model's parameters* are pinned
down by the data (the uncertainty that shrinks with more customers). The Poisson noise of
one customer's future purchases is not in them; a single customer's actual purchases will
scatter far beyond their interval, while totals over many customers track it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit, logit, ndtri

from ._mle import FitResult, FloatArray

LEVELS = (0.80, 0.95)
#: Central-difference step in log-parameters for prediction gradients.
STEP = 1e-4
#: Above this condition number the information matrix is treated as singular (a flat ridge).
MAX_CONDITION = 1e12


def z_value(level: float) -> float:
    """The two-sided normal quantile of ``level`` — ``scipy.stats.norm.ppf(0.5 + level / 2)``,
    which is ``scipy.special.ndtri`` itself: importing scipy.stats costs 0.3 s more per run."""
    return float(ndtri(0.5 + level / 2))


def covariance(fit: FitResult) -> tuple[FloatArray | None, str | None]:
    """(covariance of the log-parameters, None) or (None, why it is not available)."""
    info = fit.information
    if info is None or fit.log_params is None:
        return None, "the fit carries no information matrix"
    if not np.all(np.isfinite(info)):
        return None, "the likelihood's curvature at the optimum is not finite"
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None, "the likelihood is flat or not at a maximum in some direction (parameters not identified)"
    if np.linalg.cond(info) > MAX_CONDITION:
        return None, "the information matrix is nearly singular (parameters not identified)"
    cov = np.linalg.inv(info)
    return 0.5 * (cov + cov.T), None


def parameter_intervals(fit: FitResult, cov: FloatArray) -> dict[str, dict[str, float]]:
    """Per parameter: estimate, standard error (of the estimate, by the delta method) and 80/95 % bounds."""
    assert fit.log_params is not None
    out: dict[str, dict[str, float]] = {}
    for i, (name, value) in enumerate(fit.params.items()):
        se_log = math.sqrt(max(float(cov[i, i]), 0.0))
        row = {"estimate": value, "se": value * se_log}
        for level in LEVELS:
            z = z_value(level)
            row[f"low_{round(level * 100)}"] = value * math.exp(-z * se_log)
            row[f"high_{round(level * 100)}"] = value * math.exp(z * se_log)
        out[name] = row
    return out


def log_gradient(
    evaluate: Callable[[Mapping[str, float]], FloatArray],
    params: Mapping[str, float],
    base: FloatArray | None = None,
) -> FloatArray:
    """∇ log v in log-parameters: one row per parameter, one column per entry of v.

    Central differences, or forward differences from ``base`` = v at ``params`` when the caller
    already has it (half the evaluations; with the 1e-4 step the truncation error is ~1e-4 of
    the gradient, far below what an interval's width can show).
    """
    names = list(params)
    theta = np.log(np.array([params[n] for n in names], dtype=np.float64))

    def log_at(t: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.log(evaluate(dict(zip(names, np.exp(t))))), dtype=np.float64)

    with np.errstate(divide="ignore", invalid="ignore"):
        log_base = None if base is None else np.log(base)
    rows = []
    for j in range(theta.size):
        up = theta.copy()
        up[j] += STEP
        if log_base is None:
            down = theta.copy()
            down[j] -= STEP
            with np.errstate(invalid="ignore"):
                row = (log_at(up) - log_at(down)) / (2 * STEP)
        else:
            with np.errstate(invalid="ignore"):
                row = (log_at(up) - log_base) / STEP
        rows.append(np.where(np.isfinite(row), row, 0.0))
    return np.stack(rows, axis=0) if rows else np.zeros((0, 0))


def spend_log_gradient(params: Mapping[str, float], x: FloatArray, m: FloatArray) -> FloatArray:
    """∇ log E[spend | x, m] in (log p, log q, log γ), closed form (rows = parameters, columns = customers).

    log s = log p + log(γ + x m) − log(p x + q − 1), with m = 0 for one-time buyers; where the
    spend is undefined (p x + q ≤ 1) the gradient is 0 (that customer's CLV is not a number).
    """
    p, q, g = float(params["p"]), float(params["q"]), float(params["gamma"])
    mm = np.where(x > 0, np.nan_to_num(m, nan=0.0), 0.0)
    denom = p * x + q - 1
    inv = np.divide(1.0, denom, out=np.zeros_like(denom), where=denom > 0)
    out = np.empty((3, x.size))
    np.multiply(-p * x, inv, out=out[0])
    out[0] += 1.0
    np.multiply(-q, inv, out=out[1])
    np.divide(g, g + x * mm, out=out[2])
    return out


def _sd_log(grad: FloatArray, cov: FloatArray) -> FloatArray:
    """sd of log v per column of ``grad`` (parameters × entries): sqrt(g' Σ g), Σ cut to the
    gradient's leading parameters.

    Row passes over contiguous rows (Σ_j g_j · Σ_l Σ_jl g_l, using Σ's symmetry): cheaper
    than a (million × k)·(k × k) matmul through BLAS for k this small.
    """
    k = grad.shape[0]
    c = cov[:k, :k]
    total = np.zeros(grad.shape[1])
    for j in range(k):
        inner = c[j, j] * grad[j]
        for i in range(j + 1, k):
            inner += 2.0 * c[i, j] * grad[i]
        inner *= grad[j]
        total += inner
    return np.sqrt(np.maximum(total, 0.0))


@dataclass(frozen=True)
class Measure:
    """Per-customer values of one prediction and their log-gradients in the parameters."""

    values: FloatArray
    grad: FloatArray  # (parameters, customers): rows are contiguous for the row passes
    probability: bool = False  # intervals on the logit scale (P(alive))

    def customer_bounds(self, cov: FloatArray, level: float, sd: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """(low, high) per customer at ``level`` (``sd`` from :meth:`sd_log` when already known)."""
        z = z_value(level)
        sd = self.sd_log(cov) if sd is None else sd
        v = self.values
        if self.probability:
            with np.errstate(divide="ignore", invalid="ignore"):
                sd_logit = sd / np.where(v < 1, 1 - v, np.inf)
                centre = logit(np.clip(v, 1e-300, 1 - 1e-16))
            low, high = expit(centre - z * sd_logit), expit(centre + z * sd_logit)
            return np.where(v >= 1, 1.0, low), np.where(v >= 1, 1.0, high)
        factor = np.exp(z * sd)
        return v / factor, v * factor

    def sd_log(self, cov: FloatArray) -> FloatArray:
        """Per customer: the delta-method sd of log v."""
        return _sd_log(self.grad, cov)

    def group_bounds(
        self, cov: FloatArray, codes: npt.NDArray[np.intp], groups: int, *, mean: bool = False
    ) -> dict[str, FloatArray]:
        """Per group (``codes`` 0..groups−1, −1 = left out): the sum (or mean) and its 80/95 % bounds."""
        keep = codes >= 0
        every = bool(keep.all())
        c = codes if every else codes[keep]
        v = np.nan_to_num(self.values if every else self.values[keep])
        total = np.asarray(np.bincount(c, weights=v, minlength=groups), dtype=np.float64)
        grad_sum = np.asarray(np.stack([np.bincount(c, weights=v * (row if every else row[keep]), minlength=groups)
                                        for row in self.grad], axis=0), dtype=np.float64)
        count = np.bincount(c, minlength=groups).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd_log = _sd_log(grad_sum, cov) / total
        sd_log = np.where(np.isfinite(sd_log), sd_log, 0.0)
        value = total / np.where(count > 0, count, 1.0) if mean else total
        out = {"value": value}
        for level in LEVELS:
            z = z_value(level)
            pct = round(level * 100)
            if self.probability and mean:
                with np.errstate(divide="ignore", invalid="ignore"):
                    sd_logit = sd_log / np.where(value < 1, 1 - value, np.inf)
                    centre = logit(np.clip(value, 1e-300, 1 - 1e-16))
                out[f"low_{pct}"] = np.where(value >= 1, 1.0, expit(centre - z * sd_logit))
                out[f"high_{pct}"] = np.where(value >= 1, 1.0, expit(centre + z * sd_logit))
            else:
                out[f"low_{pct}"] = value * np.exp(-z * sd_log)
                out[f"high_{pct}"] = value * np.exp(z * sd_log)
        return out


@dataclass(frozen=True)
class Uncertainty:
    """The covariance of all fitted parameters and the measures' log-gradients in them."""

    names: Sequence[str]
    cov: FloatArray
    expected_purchases: Measure
    p_alive: Measure | None
    clv: Measure

    def total(self, measure: Measure) -> dict[str, float]:
        """The sum over every customer and its 80/95 % bounds."""
        codes = np.zeros(measure.values.size, dtype=np.intp)
        return {k: float(v[0]) for k, v in measure.group_bounds(self.cov, codes, 1).items()}


def block_diagonal(a: FloatArray, b: FloatArray | None) -> FloatArray:
    """[[a, 0], [0, b]] (b may be absent)."""
    if b is None:
        return a
    out = np.zeros((a.shape[0] + b.shape[0],) * 2)
    out[: a.shape[0], : a.shape[0]] = a
    out[a.shape[0] :, a.shape[0] :] = b
    return out
