"""NBD purchase model (Ehrenberg 1959; the no-dropout member of the BTYD family).

Every customer stays for ever and buys as a Poisson process with rate λ ~ Gamma(r, α). It is
the limiting case of BG/NBD and MBG/NBD as the dropout probability goes to 0 (a → 0 or
b → ∞) and of Pareto/NBD as the dropout rate goes to 0 (s/β → 0): when those fits run to
such a limit, this is the model they describe, and it still predicts. Per customer, with the
full timing information (x purchases in (0, T]),

    L = Γ(r+x)/Γ(r) · α^r / (α+T)^(r+x)

(the likelihood of BG/NBD with its dropout term removed, so log-likelihoods of the nested
models are comparable). The posterior of λ is Gamma(r+x, α+T), hence

    E[Y(t) | x, T] = (r+x)/(α+T) · t,      E[X(t)] = r t / α,      P(alive) = 1.

Only (x, T) enter; t_x carries no information without dropout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from ._mle import (
    FitResult,
    FloatArray,
    Grouped,
    as_float_array,
    dense_codes,
    fit_purchase_model,
    group_rfm,
    time_scale,
)

NAMES = ("r", "alpha")


def _unpack(params: Mapping[str, float]) -> tuple[float, float]:
    return float(params["r"]), float(params["alpha"])


class _Objective:
    """Mean negative log-likelihood and gradient in log-parameters, on distinct x and T totals."""

    def __init__(self, data: Grouped) -> None:
        w = data.weight / data.weight.sum()
        self.wsum = float(w.sum())
        self.ux, ix = dense_codes(data.x)
        self.wx = np.bincount(ix, weights=w, minlength=self.ux.size)
        self.uT, iT = dense_codes(data.T)
        self.w_T = np.bincount(iT, weights=w, minlength=self.uT.size)
        self.wx_T = np.bincount(iT, weights=w * data.x, minlength=self.uT.size)

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha = np.exp(theta)
        log_T = np.log(alpha + self.uT)
        rw_T = r * self.w_T + self.wx_T
        ll = float(self.wx @ (gammaln(r + self.ux) - gammaln(r)) + self.wsum * r * np.log(alpha) - rw_T @ log_T)
        g_r = self.wx @ (digamma(r + self.ux) - digamma(r)) + self.wsum * np.log(alpha) - self.w_T @ log_T
        g_alpha = self.wsum * r / alpha - rw_T @ (1.0 / (alpha + self.uT))
        return -ll, -np.array([g_r * r, g_alpha * alpha])


def log_likelihood(
    params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Per-customer log-likelihood (``t_x`` accepted for a common signature, unused)."""
    r, alpha = _unpack(params)
    xa, Ta = as_float_array(x, "x"), as_float_array(T, "T")
    return np.asarray(gammaln(r + xa) - gammaln(r) + r * np.log(alpha) - (r + xa) * np.log(alpha + Ta), dtype=np.float64)


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    penalizer: float = 0.0,
) -> FitResult:
    """Maximum-likelihood NBD fit (raises ``ModelNotIdentifiable`` when not identified)."""
    return fit_purchase_model("nbd", "NBD", NAMES, _Objective, _starts, lambda d: [1.0, time_scale(d.T)],
                              group_rfm(x, t_x, T, weights), penalizer)


def _starts(data: Grouped) -> list[FloatArray]:
    """Starting points scaled to the data's time unit (α is a time scale)."""
    scale = float(np.average(data.T, weights=data.weight)) or 1.0
    return [np.log([1.0, scale / 4]), np.log([0.3, scale / 10]), np.log([2.0, scale])]


def p_alive(params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """Always 1: the NBD has no dropout."""
    return np.ones(as_float_array(x, "x").size)


def expected_purchases(params: Mapping[str, float], t: float | npt.ArrayLike) -> FloatArray:
    """Unconditional E[X(t)] = r t / α."""
    r, alpha = _unpack(params)
    return np.asarray(r / alpha * np.asarray(t, dtype=np.float64), dtype=np.float64)


def expected_purchases_if_alive(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | x, T] = (r+x)/(α+T) · t."""
    r, alpha = _unpack(params)
    xa, Ta = as_float_array(x, "x"), as_float_array(T, "T")
    return np.asarray((r + xa) / (alpha + Ta) * np.asarray(t, dtype=np.float64), dtype=np.float64)


def conditional_expected_purchases(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T] (equal to :func:`expected_purchases_if_alive`)."""
    return expected_purchases_if_alive(params, t, x, T)
