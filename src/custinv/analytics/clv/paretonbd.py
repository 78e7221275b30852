"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys at Poisson rate λ ~ Gamma(r, α) and has an exponential lifetime
with rate μ ~ Gamma(s, β). The likelihood follows Fader & Hardie's "A Note on Implementing
the Pareto/NBD Model in MATLAB" (2005):

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ]
    A0 = F(t_x) − F(T),  F(t) = 2F1(r+s+x, c; r+s+x+1; |α−β|/(m+t)) / (m+t)^(r+s+x)

with m = max(α, β) and c = s+1 when α ≥ β, else r+x, so the hypergeometric argument is always
in [0, 1). Everything is kept in logs (``logaddexp``, ``log1p``) — the numerically stable form
also used by BTYD and lifetimes. F depends only on (x, t), so it is evaluated once per distinct
(x, t_x) and (x, T) pair, not per customer. The gradient is a central difference in
log-parameters (the derivatives of 2F1 in its parameters have no closed form in scipy).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.special import expit, gammaln, hyp2f1

from ._mle import (
    FitResult,
    FloatArray,
    Grouped,
    as_float_array,
    distinct_pairs,
    fit_purchase_model,
    group_rfm,
    map_blocks,
    time_scale,
)

NAMES = ("r", "alpha", "s", "beta")
_STEP = 1e-5
#: Distinct (x, t) pairs from which the central difference's likelihoods run on threads (fewer:
#: a thread's hand-over costs more than the work).
PARALLEL_PAIRS = 2_000


def _unpack(params: Mapping[str, float]) -> tuple[float, float, float, float]:
    return float(params["r"]), float(params["alpha"]), float(params["s"]), float(params["beta"])


def _log_F(r: float, alpha: float, s: float, beta: float, x: FloatArray, t: FloatArray) -> FloatArray:
    """log F(t) for paired arrays x, t (see the module docstring)."""
    m = max(alpha, beta)
    k = r + s + x
    c = s + 1 if alpha >= beta else r + x
    z = abs(alpha - beta) / (m + t)
    # Euler's transformation 2F1(k, c; k+1; z) = (1-z)^(1-c) · 2F1(1, k+1-c; k+1; z), taken in
    # logs: the right-hand series is bounded by 1/(1-z), so large r + x with z near 1 (where
    # the direct series overflows to inf and the likelihood turned NaN) stays finite
    b, cc = k + 1 - c, k + 1
    if np.max(b, initial=0.0) < _CF_FROM_B:  # every fit away from the limit: scipy, as it always was
        series = np.asarray(hyp2f1(1.0, b, cc, z), dtype=np.float64)
    else:
        # large b (a no-heterogeneity limit the optimiser walks towards: r → ∞): scipy's hyp2f1
        # takes 25 µs a value there and often gives up (NaN); the continued fraction converges
        # in ~100 steps
        b, cc, z = (np.ascontiguousarray(v, dtype=np.float64) for v in np.broadcast_arrays(b, cc, z))
        series = np.full(z.shape, np.nan)
        large = np.flatnonzero(b >= _CF_FROM_B)
        series[large] = _hyp2f1_a1_cf(b[large], cc[large], z[large])
        rest = np.isnan(series)
        if np.any(rest):
            series[rest] = hyp2f1(1.0, b[rest], cc[rest], z[rest])
    bad = ~np.isfinite(series)
    if np.any(bad):
        bb, ccc, zz = np.broadcast_arrays(b, cc, z)
        series = series.copy()
        series[bad] = _hyp2f1_a1(bb[bad], ccc[bad], zz[bad])
    return (1 - c) * np.log1p(-z) + np.log(series) - k * np.log(m + t)


_CF_FROM_B = 1_000.0
"""2F1(1, b; c; z) from this b on by :func:`_hyp2f1_a1_cf` (below it scipy is fast and exact)."""
_CF_STEPS = 500


def _hyp2f1_a1_cf(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """2F1(1, b; c; z) (0 < b < c, 0 ≤ z < 1) by the continued fraction of the incomplete beta
    function (DLMF 8.17.22 with a = c − 1, b − c + 1 for its second parameter, for which
    2F1(1, b; c; z) = 1 / (1 + d₁/(1 + d₂/(1 + …)))), evaluated by the modified Lentz method.

    It converges fast where b is large and z < c/(b + 2) — the Pareto/NBD's no-heterogeneity
    limit, where scipy's hyp2f1 is slow and often NaN. Values that have not converged within
    :data:`_CF_STEPS` steps are NaN (the caller takes scipy's, then the series)."""
    a, q = c - 1.0, b - c + 1.0
    tiny = 1e-300
    f, C, D = np.ones_like(z), np.ones_like(z), np.zeros_like(z)
    done = np.zeros(z.shape, dtype=bool)
    for j in range(1, _CF_STEPS):
        m = j // 2
        if j % 2:
            d = -(a + m) * (a + q + m) * z / ((a + 2 * m) * (a + 2 * m + 1))
        else:
            d = m * (q - m) * z / ((a + 2 * m - 1) * (a + 2 * m))
        D = 1.0 + d * D
        D = np.where(np.abs(D) < tiny, tiny, D)
        C = 1.0 + d / C
        C = np.where(np.abs(C) < tiny, tiny, C)
        D = 1.0 / D
        delta = C * D
        f = np.where(done, f, f * delta)
        done |= np.abs(delta - 1.0) < 1e-16
        if done.all():
            break
    return np.where(done, 1.0 / f, np.nan)


def _hyp2f1_a1(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """2F1(1, b; c; z) by its power series, for the few points where scipy's hyp2f1 overflows.

    With 0 < b < c and 0 ≤ z < 1 every term is positive and the ratio of terms,
    ρ_n = (b + n)/(c + n)·z, rises towards z, so the sum converges and is at most 1/(1 − z).
    Near z = 1 (parameters the optimiser visits at the edge of the range, never an optimum on
    real data) the series needs millions of terms: it is summed to at most
    :data:`_SERIES_TERMS` terms and the rest taken as the geometric tail term·ρ/(1 − ρ) with
    the last ratio, which is within the series' own bound.
    """
    total = np.ones_like(z)
    term = np.ones_like(z)
    n = 0
    while n < _SERIES_TERMS:
        for _ in range(50):  # check convergence every 50 terms, not every term
            term = term * (b + n) / (c + n) * z
            total = total + term
            n += 1
        if np.all(term <= 1e-17 * total):
            return total
    ratio = (b + n) / (c + n) * z
    return total + term * ratio / (1.0 - ratio)


_SERIES_TERMS = 2_000


def _log_terms(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, T: FloatArray, log_f_tx: FloatArray, log_f_T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The two log-terms inside the bracket: alive at T, and died in (t_x, T]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        diff = np.minimum(log_f_T - log_f_tx, 0.0)
        log_a0 = log_f_tx + np.log1p(-np.exp(diff))
        died = np.log(s) - np.log(r + s + x) + log_a0
    return alive, died


class _Objective:
    """Weighted mean negative log-likelihood, with F evaluated on distinct (x, t) pairs."""

    def __init__(self, data: Grouped) -> None:
        self.w = data.weight / data.weight.sum()
        self.x, self.T = data.x, data.T
        n = data.x.size
        pairs = np.stack([np.concatenate([data.x, data.x]), np.concatenate([data.t_x, data.T])], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        self.px, self.pt = uniq[:, 0].copy(), uniq[:, 1].copy()
        self.i_tx, self.i_T = inverse[:n], inverse[n:]
        self.ux, ix = np.unique(data.x, return_inverse=True)
        self.wx = np.bincount(ix.reshape(-1), weights=self.w, minlength=self.ux.size)
        self.wsum = float(self.w.sum())

    def value(self, theta: FloatArray) -> float:
        r, alpha, s, beta = np.exp(theta)
        log_f = _log_F(r, alpha, s, beta, self.px, self.pt)
        alive, died = _log_terms(r, alpha, s, beta, self.x, self.T, log_f[self.i_tx], log_f[self.i_T])
        base = self.wx @ (gammaln(r + self.ux) - gammaln(r)) + self.wsum * (r * np.log(alpha) + s * np.log(beta))
        ll = float(base + self.w @ np.logaddexp(alive, died))
        return -ll if np.isfinite(ll) else np.inf

    def _quiet_value(self, theta: FloatArray) -> float:
        with np.errstate(all="ignore"):  # numpy's error state is per thread: the fit's, in a worker
            return self.value(theta)

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        steps = np.eye(theta.size) * _STEP
        points = [theta, *(theta + e for e in steps), *(theta - e for e in steps)]
        if self.px.size >= PARALLEL_PAIRS:
            # the nine likelihoods are independent and hyp2f1 releases the GIL: they run on the
            # pool's threads (1.8× on 2 cores), each exactly as it would run here
            values = map_blocks(self._quiet_value, points)
        else:
            values = [self.value(p) for p in points]
        k = theta.size
        grad = np.array([(values[1 + i] - values[1 + k + i]) / (2 * _STEP) for i in range(k)])
        return values[0], grad


def log_likelihood(
    params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Per-customer log-likelihood (vectorised)."""
    r, alpha, s, beta = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    alive, died = _log_terms(
        r, alpha, s, beta, xa, Ta, _log_F(r, alpha, s, beta, xa, ta), _log_F(r, alpha, s, beta, xa, Ta)
    )
    base = gammaln(r + xa) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return base + np.logaddexp(alive, died)


def _starts(data: Grouped) -> list[FloatArray]:
    """Starting points scaled to the data's time unit (α and β are time scales)."""
    scale = float(np.average(data.T, weights=data.weight)) or 1.0
    return [
        np.log([1.0, scale / 4, 1.0, scale / 4]),
        np.log([0.5, scale / 2, 0.5, scale / 2]),
        np.log([2.0, scale, 2.0, scale / 10]),
    ]


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    penalizer: float = 0.0,
) -> FitResult:
    """Maximum-likelihood Pareto/NBD fit on per-customer (or weighted unique) (x, t_x, T).

    ``penalizer`` adds lifetimes' L2 penalty (α and β measured after its time rescaling).
    Raises :class:`ModelNotIdentifiable` when the data cannot identify the model.
    """
    return fit_purchase_model("paretonbd", "Pareto/NBD", NAMES, _Objective, _starts, _penalty_scales,
                              group_rfm(x, t_x, T, weights), penalizer)


def _penalty_scales(data: Grouped) -> list[float]:
    """(r, α, s, β): α and β are time scales, measured as lifetimes does after its time rescaling."""
    ts = time_scale(data.T)
    return [1.0, ts, 1.0, ts]


def _log_F_distinct(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """log F(t_x) and log F(T) per customer, each evaluated once per distinct (x, t) pair."""
    n = x.size
    px, pt, inverse = distinct_pairs(np.concatenate([x, x]), np.concatenate([t_x, T]))
    log_f = _log_F(r, alpha, s, beta, px, pt)[inverse]
    return log_f[:n], log_f[n:]


def p_alive(params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """P(alive at T | x, t_x, T) = alive term / (alive + died) of the likelihood bracket."""
    r, alpha, s, beta = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    alive, died = _log_terms(r, alpha, s, beta, xa, Ta, *_log_F_distinct(r, alpha, s, beta, xa, ta, Ta))
    return expit(alive - died)


def expected_purchases_if_alive(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | alive at T, x, T] = (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)].

    At s = 1 the bracket's limit (β+T)/(α+T)·(r+x)·ln((β+T+t)/(β+T)) is used. It does not
    depend on t_x (see :func:`custinv.analytics.clv.bgnbd.expected_purchases_if_alive`).
    """
    r, alpha, s, beta = _unpack(params)
    xa, Ta = as_float_array(x, "x"), as_float_array(T, "T")
    tt = np.asarray(t, dtype=np.float64)
    log_growth = np.log(beta + Ta + tt) - np.log(beta + Ta)
    rate = (r + xa) / (alpha + Ta) * (beta + Ta)
    if abs(s - 1.0) > 1e-9:
        mass = -np.expm1(-(s - 1) * log_growth) / (s - 1)
    else:
        mass = log_growth
    return rate * mass


def expected_purchases(params: Mapping[str, float], t: float | npt.ArrayLike) -> FloatArray:
    """Unconditional E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)] (Schmittlein et al. 1987); s = 1 by its limit."""
    r, alpha, s, beta = _unpack(params)
    tt = np.asarray(t, dtype=np.float64)
    log_growth = np.log(beta + tt) - np.log(beta)
    mass = -np.expm1(-(s - 1) * log_growth) / (s - 1) if abs(s - 1.0) > 1e-9 else log_growth
    return np.asarray(r * beta / alpha * mass, dtype=np.float64)


def conditional_expected_purchases(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T] = P(alive) · E[Y(t) | alive, x, T]."""
    return p_alive(params, x, t_x, T) * expected_purchases_if_alive(params, t, x, T)
