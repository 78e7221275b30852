"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every
repeat purchase they drop out with probability p ~ Beta(a, b). Per customer the likelihood is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · [ (α+T)^-(r+x) + δ(x>0) a/(b+x-1) (α+t_x)^-(r+x) ]

(the second term uses B(a+1, b+x-1) = B(a, b+x) · a/(b+x-1)). It is evaluated in logs with
``logaddexp`` so no term under- or overflows, with an analytic gradient in log-parameters.
Terms that depend only on x are computed once per distinct x (there are few), which is what
keeps a fit on a million customers fast.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from ._mle import FitResult, FloatArray, Grouped, as_float_array, check_identifiable, group_rfm, maximise

NAMES = ("r", "alpha", "a", "b")


def _unpack(params: Mapping[str, float]) -> tuple[float, float, float, float]:
    return float(params["r"]), float(params["alpha"]), float(params["a"]), float(params["b"])


class _Objective:
    """Weighted mean negative log-likelihood and its gradient in log-parameters."""

    def __init__(self, data: Grouped) -> None:
        self.w = data.weight / data.weight.sum()
        self.t_x, self.T = data.t_x, data.T
        self.ux, self.ix = np.unique(data.x, return_inverse=True)
        self.ix = self.ix.reshape(-1)
        self.x = data.x
        self.wx = np.bincount(self.ix, weights=self.w, minlength=self.ux.size)  # weight per distinct x
        self.repeat = data.x > 0
        self.wsum = float(self.w.sum())

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(theta)
        ux, x, w = self.ux, self.x, self.w
        # per-distinct-x parts: Γ(r+x)/Γ(r) and B(a, b+x)/B(a, b)
        ll_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
        log_aT = np.log(alpha + self.T)
        log_atx = np.log(alpha + self.t_x)
        rx = r + x
        A = -rx * log_aT
        bx1 = np.where(self.repeat, b + x - 1, 1.0)
        B = np.where(self.repeat, np.log(a) - np.log(bx1) - rx * log_atx, -np.inf)
        D = np.logaddexp(A, B)
        ll = float(self.wx @ ll_x + self.wsum * r * np.log(alpha) + w @ D)
        # share of the second (dropped-after-t_x) term in D
        s = np.where(self.repeat, expit(B - A), 0.0)
        g_r = (
            self.wx @ (digamma(r + ux) - digamma(r))
            + self.wsum * np.log(alpha)
            - w @ ((1 - s) * log_aT + s * log_atx)
        )
        g_alpha = self.wsum * r / alpha - w @ (rx * ((1 - s) / (alpha + self.T) + s / (alpha + self.t_x)))
        psi_ab = digamma(a + b)
        g_a = self.wx @ (psi_ab - digamma(a + b + ux)) + w @ (s / a)
        g_b = self.wx @ (digamma(b + ux) - digamma(a + b + ux) - digamma(b) + psi_ab) - w @ (s / bx1)
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll, -grad


def log_likelihood(
    params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Per-customer log-likelihood (vectorised)."""
    r, alpha, a, b = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    base = gammaln(r + xa) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xa) - betaln(a, b)
    A = -(r + xa) * np.log(alpha + Ta)
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.where(
            xa > 0, np.log(a) - np.log(np.where(xa > 0, b + xa - 1, 1.0)) - (r + xa) * np.log(alpha + ta), -np.inf
        )
    return base + np.logaddexp(A, B)


def _starts(data: Grouped) -> list[FloatArray]:
    """Starting points scaled to the data's time unit (α is a time scale)."""
    scale = float(np.average(data.T, weights=data.weight)) or 1.0
    return [
        np.log([1.0, scale / 4, 1.0, 2.0]),
        np.log([0.3, scale / 10, 0.8, 2.5]),
        np.log([2.0, scale, 0.5, 5.0]),
    ]


def fit(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> FitResult:
    """Maximum-likelihood BG/NBD fit on per-customer (or weighted unique) (x, t_x, T).

    Raises :class:`ModelNotIdentifiable` when the data cannot identify the model.
    """
    data = group_rfm(x, t_x, T, weights)
    check_identifiable(data, "BG/NBD")
    objective = _Objective(data)
    return maximise("bgnbd", NAMES, objective, _starts(data), float(data.weight.sum()), data.n_customers)


def p_alive(params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """P(still alive at T | x, t_x, T); exactly 1 for x = 0 (no dropout before a repeat purchase)."""
    r, alpha, a, b = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a) - np.log(np.where(xa > 0, b + xa - 1, 1.0)) + (r + xa) * (np.log(alpha + Ta) - np.log(alpha + ta))
        )
    return np.where(xa > 0, expit(-log_odds), 1.0)


def expected_purchases(params: Mapping[str, float], t: float | npt.ArrayLike) -> FloatArray:
    """Unconditional E[X(t)] for a new customer over (0, t] (FHL 2005 eq. 9)."""
    r, alpha, a, b = _unpack(params)
    ta = np.asarray(t, dtype=np.float64)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity at a = 1
    z = ta / (alpha + ta)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + ta)) ** r * hyp2f1(r, b, a + b - 1, z))


def conditional_expected_purchases(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (FHL 2005 eq. 10), vectorised.

    ``t`` may be a scalar or broadcast against the customers.
    """
    r, alpha, a, b = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    tt = np.asarray(t, dtype=np.float64)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity at a = 1
    rx = r + xa
    z = tt / (alpha + Ta + tt)
    log_ratio = rx * (np.log(alpha + Ta) - np.log(alpha + Ta + tt))
    num = (a + b + xa - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyp2f1(rx, b + xa, a + b + xa - 1, z))
    # the bracket is a difference of nearly equal numbers for tiny t: clip rounding below 0
    return np.maximum(num, 0.0) * p_alive(params, xa, ta, Ta)
