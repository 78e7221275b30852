"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every
repeat purchase they drop out with probability p ~ Beta(a, b). Per customer the likelihood is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · [ (α+T)^-(r+x) + δ(x>0) a/(b+x-1) (α+t_x)^-(r+x) ]

(the second term uses B(a+1, b+x-1) = B(a, b+x) · a/(b+x-1)). It is evaluated in logs with
a stable softplus so no term under- or overflows, with an analytic gradient in
log-parameters. Terms that depend only on x, or only on T, are computed once per distinct
value (there are few), which is what keeps a fit on a million customers fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from ._mle import (
    FitResult,
    FloatArray,
    Grouped,
    as_float_array,
    block_bounds,
    dense_codes,
    dot,
    fit_purchase_model,
    group_rfm,
    map_blocks,
    time_scale,
)

NAMES = ("r", "alpha", "a", "b")


def _unpack(params: Mapping[str, float]) -> tuple[float, float, float, float]:
    return float(params["r"]), float(params["alpha"]), float(params["a"]), float(params["b"])


@dataclass(frozen=True)
class _Block:
    """Rows of repeat buyers with whole x-segments; ``starts`` are the segment starts in it."""

    i_x: npt.NDArray[np.intp]  # index into this block's distinct x (0 = first segment)
    i_T: npt.NDArray[np.intp]
    i_t: npt.NDArray[np.intp]
    w: FloatArray
    starts: npt.NDArray[np.intp]
    seg0: int
    seg1: int

    def sums(
        self, log_T: FloatArray, log_t: FloatArray, inv_T: FloatArray, inv_t: FloatArray, rx_x: FloatArray, c_x: FloatArray
    ) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        """(Σ w·softplus(d), per x: Σ w·s, Σ w·s·[log(α+T) − log(α+t_x)], Σ w·s·[1/(α+t_x) − 1/(α+T)])."""
        rx = rx_x[self.seg0 : self.seg1][self.i_x]
        c = c_x[self.seg0 : self.seg1][self.i_x]
        d_log = log_T[self.i_T] - log_t[self.i_t]  # >= 0 since t_x <= T
        d = c + rx * d_log
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        s = np.exp(np.minimum(d, 0.0)) / (1.0 + e)  # sigmoid(d) without overflow
        ws = self.w * s
        d_inv = inv_t[self.i_t] - inv_T[self.i_T]
        return (
            dot(self.w, softplus),
            np.add.reduceat(ws, self.starts),
            np.add.reduceat(ws * d_log, self.starts),
            np.add.reduceat(ws * d_inv, self.starts),
        )


class _Objective:
    """Weighted mean negative log-likelihood and its gradient in log-parameters.

    Written for a million customers (about half a million distinct rows), where every pass
    over the rows counts. With A = −(r+x)·log(α+T), B = log a − log(b+x−1) − (r+x)·log(α+t_x)
    and d = B − A = log a − log(b+x−1) + (r+x)·[log(α+T) − log(α+t_x)], each row's term is
    log(e^A + e^B) = A + softplus(d), and s = sigmoid(d) is the share of the second term that
    the gradient needs. So:

    * the A part and every gradient term that does not involve s are sums over rows of
      (weights × a function of T): they are taken once per distinct T from per-T weight totals;
    * the per-row work is softplus(d) and s = sigmoid(d) from one e^−|d| (instead of logaddexp
      and expit, which call libm per element), on repeat buyers only (s = 0 when x = 0);
    * the s-weighted sums are per distinct x (rows are sorted by x: ``np.add.reduceat``);
    * log(α+T), log(α+t_x) and 1/(α+·) are evaluated on the distinct T and t_x (a few thousand
      days) and gathered;
    * the rows are cut into blocks of whole x-segments (:func:`block_bounds`) that stay in cache
      and run on several cores (:func:`map_blocks`); their sums are added in block order.
    """

    def __init__(self, data: Grouped, *, modified: bool = False) -> None:
        # MBG/NBD (Batislam et al. 2007) is the same likelihood with b+x−1 → b+x and the dropout
        # term present for every customer (a customer may leave right after the first purchase)
        self.k = 1.0 if modified else 0.0
        w = data.weight / data.weight.sum()
        x, t_x, T = data.x, data.t_x, data.T
        if np.any(np.diff(x) < 0):  # reduceat needs each x's rows together
            order = np.argsort(x, kind="stable")
            x, t_x, T, w = x[order], t_x[order], T[order], w[order]
        self.wsum = float(w.sum())
        self.ux, ix = dense_codes(x)
        self.wx = np.bincount(ix, weights=w, minlength=self.ux.size)  # weight per distinct x
        self.uT, iT = dense_codes(T)
        self.ut, it = dense_codes(t_x)
        self.w_T = np.bincount(iT, weights=w, minlength=self.uT.size)  # Σ w per distinct T
        self.wx_T = np.bincount(iT, weights=w * x, minlength=self.uT.size)  # Σ w·x per distinct T
        repeat = x > 0 if not modified else np.ones(x.size, dtype=bool)
        self.rx_values = self.ux[self.ux > 0] if not modified else self.ux  # distinct x of the dropout-term rows
        first_repeat = self.ux.size - self.rx_values.size
        self.i_x = ix[repeat] - first_repeat
        self.i_T, self.i_t, self.w = iT[repeat], it[repeat], w[repeat]
        xr = x[repeat]
        starts = np.flatnonzero(np.r_[True, xr[1:] != xr[:-1]]) if xr.size else np.zeros(0, dtype=np.intp)
        self.blocks = [
            _Block(self.i_x[r0:r1] - self.i_x[r0], self.i_T[r0:r1], self.i_t[r0:r1], self.w[r0:r1], starts[s0:s1] - r0, s0, s1)
            for r0, r1, s0, s1 in block_bounds(starts, xr.size)
        ]

    def _repeat_sums(
        self, r: float, alpha: float, a: float, b: float
    ) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        """(Σ w·softplus(d), and per distinct repeat x: Σ w·s, Σ w·s·ΔlogT, Σ w·s·Δ1/T)."""
        if not self.blocks:
            return 0.0, np.zeros(0), np.zeros(0), np.zeros(0)
        xr = self.rx_values
        tables = (
            np.log(alpha + self.uT),
            np.log(alpha + self.ut),
            1.0 / (alpha + self.uT),
            1.0 / (alpha + self.ut),
            r + xr,
            np.log(a) - np.log(b + xr - 1 + self.k),
        )
        parts = map_blocks(lambda block: block.sums(*tables), self.blocks)
        return (
            float(sum(p[0] for p in parts)),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
        )

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(theta)
        ux, wx = self.ux, self.wx
        log_T = np.log(alpha + self.uT)
        rw_T = r * self.w_T + self.wx_T  # Σ w·(r+x) per distinct T
        sum_sp, s_x, s_log_x, s_inv_x = self._repeat_sums(r, alpha, a, b)
        # per-distinct-x parts: Γ(r+x)/Γ(r) and B(a, b+x+k)/B(a, b)
        k = self.k
        ll_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux + k) - betaln(a, b)
        ll = float(wx @ ll_x + self.wsum * r * np.log(alpha) - rw_T @ log_T + sum_sp)
        xr = self.rx_values
        g_r = wx @ (digamma(r + ux) - digamma(r)) + self.wsum * np.log(alpha) - self.w_T @ log_T + s_log_x.sum()
        g_alpha = self.wsum * r / alpha - rw_T @ (1.0 / (alpha + self.uT)) - (r + xr) @ s_inv_x
        psi_ab = digamma(a + b)
        g_a = wx @ (psi_ab - digamma(a + b + ux + k)) + s_x.sum() / a
        g_b = wx @ (digamma(b + ux + k) - digamma(a + b + ux + k) - digamma(b) + psi_ab) - s_x @ (1.0 / (b + xr - 1 + k))
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
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    penalizer: float = 0.0,
) -> FitResult:
    """Maximum-likelihood BG/NBD fit on per-customer (or weighted unique) (x, t_x, T).

    ``penalizer`` adds lifetimes' L2 penalty (:func:`custinv.analytics.clv._mle.penalised`).
    Raises :class:`ModelNotIdentifiable` when the data cannot identify the model.
    """
    return fit_purchase_model("bgnbd", "BG/NBD", NAMES, _Objective, _starts, penalty_scales,
                              group_rfm(x, t_x, T, weights), penalizer)


def penalty_scales(data: Grouped) -> list[float]:
    """(r, α, a, b): α is a time scale, measured as lifetimes does after its time rescaling."""
    return [1.0, time_scale(data.T), 1.0, 1.0]


def p_alive(params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """P(still alive at T | x, t_x, T); exactly 1 for x = 0 (no dropout before a repeat purchase)."""
    r, alpha, a, b = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a) - np.log(np.where(xa > 0, b + xa - 1, 1.0)) + (r + xa) * (np.log(alpha + Ta) - np.log(alpha + ta))
        )
    return np.where(xa > 0, expit(-log_odds), 1.0)


def log_p_alive_gradient(
    params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray, *, modified: bool = False
) -> FloatArray:
    """∇ log P(alive) in (log r, log α, log a, log b), closed form (rows = parameters, columns = customers).

    P(alive) = expit(−L) with L = log a − log(b+x−1+k) + (r+x)·[log(α+T) − log(α+t_x)]
    (k = 1 for MBG/NBD), so ∇ log P = −(1 − P)·∇L; one-time buyers of BG/NBD have P = 1 and
    a zero gradient. Used by the delta method instead of differencing a million P(alive).
    """
    r, alpha, a, b = _unpack(params)
    k = 1.0 if modified else 0.0
    term = x > 0 if not modified else np.ones(x.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log(alpha + T) - np.log(alpha + t_x)
        L = np.log(a) - np.log(np.where(term, b + x - 1 + k, 1.0)) + (r + x) * delta
        dead = np.where(term, expit(L), 0.0)  # 1 − P(alive)
        grads = (r * delta, (r + x) * alpha * (1.0 / (alpha + T) - 1.0 / (alpha + t_x)),
                 np.ones_like(x), -b / np.where(term, b + x - 1 + k, 1.0))
    out = np.empty((4, x.size))
    for i, g in enumerate(grads):
        np.multiply(-dead, g, out=out[i])
    return out


def expected_purchases(params: Mapping[str, float], t: float | npt.ArrayLike) -> FloatArray:
    """Unconditional E[X(t)] for a new customer over (0, t] (FHL 2005 eq. 9)."""
    r, alpha, a, b = _unpack(params)
    ta = np.asarray(t, dtype=np.float64)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity at a = 1
    z = ta / (alpha + ta)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + ta)) ** r * hyp2f1(r, b, a + b - 1, z))


def expected_purchases_if_alive(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | alive at T, x, T]: FHL 2005 eq. 10 without its P(alive) factor.

    It depends on (x, T) and not on t_x, so a caller can evaluate it once per distinct
    (x, T) pair (the hypergeometric function is the costly part) and multiply by each
    customer's :func:`p_alive`.
    """
    r, alpha, a, b = _unpack(params)
    xa, Ta = as_float_array(x, "x"), as_float_array(T, "T")
    tt = np.asarray(t, dtype=np.float64)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity at a = 1
    rx = r + xa
    z = tt / (alpha + Ta + tt)
    log_ratio = rx * (np.log(alpha + Ta) - np.log(alpha + Ta + tt))
    num = (a + b + xa - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyp2f1(rx, b + xa, a + b + xa - 1, z))
    # the bracket is a difference of nearly equal numbers for tiny t: clip rounding below 0
    return np.maximum(num, 0.0)


def conditional_expected_purchases(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (FHL 2005 eq. 10), vectorised.

    ``t`` may be a scalar or broadcast against the customers.
    """
    return expected_purchases_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)
