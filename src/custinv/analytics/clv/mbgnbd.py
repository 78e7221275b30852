"""MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
comparison of models for customer base analysis", IJRM 24(3)).

BG/NBD with one change: a customer may also drop out right after the *first* purchase, not
only after repeat purchases, so a one-time buyer's P(alive) is below 1 (in BG/NBD it is
exactly 1, which overstates how many one-time buyers are still around). While alive a
customer buys as a Poisson process with rate λ ~ Gamma(r, α); after every purchase (the
first included) they drop out with probability p ~ Beta(a, b). Per customer

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / Γ(r) · (α+T)^-(r+x)
        · [ 1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x) ]

    P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))

    E[Y(t) | alive, x, T] = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
                                             · 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]

    E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b+1; a+b; t/(α+t))]

(the same expressions as lifetimes' ``ModifiedBetaGeoFitter`` and BTYDplus'
``mbgnbd.*``). The likelihood is BG/NBD's with b+x−1 → b+x and the dropout term on every
customer, so the fit shares BG/NBD's fast objective (``bgnbd._Objective(modified=True)``).
Published CDNOW estimates (weeks, BTYDplus; lifetimes' tests): r 0.525, α 6.183, a 0.891,
b 1.614.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, expit, gammaln, hyp2f1

from . import bgnbd
from ._mle import FitResult, FloatArray, as_float_array, fit_purchase_model, group_rfm

NAMES = bgnbd.NAMES


def _unpack(params: Mapping[str, float]) -> tuple[float, float, float, float]:
    return float(params["r"]), float(params["alpha"]), float(params["a"]), float(params["b"])


def _log_odds_dead(params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """log[a/(b+x) · ((α+T)/(α+t_x))^(r+x)]: the dropout term relative to the alive term."""
    r, alpha, a, b = _unpack(params)
    return np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))


def log_likelihood(
    params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Per-customer log-likelihood (vectorised)."""
    r, alpha, a, b = _unpack(params)
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    base = gammaln(r + xa) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xa + 1) - betaln(a, b)
    return base - (r + xa) * np.log(alpha + Ta) + np.logaddexp(0.0, _log_odds_dead(params, xa, ta, Ta))


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    penalizer: float = 0.0,
) -> FitResult:
    """Maximum-likelihood MBG/NBD fit (raises ``ModelNotIdentifiable`` when not identified)."""
    return fit_purchase_model("mbgnbd", "MBG/NBD", NAMES, lambda d: bgnbd._Objective(d, modified=True), bgnbd._starts,
                              bgnbd.penalty_scales, group_rfm(x, t_x, T, weights), penalizer)


def p_alive(params: Mapping[str, float], x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """P(alive at T | x, t_x, T); below 1 for one-time buyers too."""
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    return np.asarray(expit(-_log_odds_dead(params, xa, ta, Ta)), dtype=np.float64)


def log_p_alive_gradient(params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """∇ log P(alive) in log-parameters (BG/NBD's closed form with b+x−1 → b+x on every customer)."""
    return bgnbd.log_p_alive_gradient(params, x, t_x, T, modified=True)


def expected_purchases(params: Mapping[str, float], t: float | npt.ArrayLike) -> FloatArray:
    """Unconditional E[X(t)] for a new customer over (0, t] (Batislam et al. 2007)."""
    r, alpha, a, b = _unpack(params)
    ta = np.asarray(t, dtype=np.float64)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9  # removable singularity at a = 1
    z = ta / (alpha + ta)
    return np.asarray(b / (a - 1) * (1 - (alpha / (alpha + ta)) ** r * hyp2f1(r, b + 1, a + b, z)), dtype=np.float64)


def expected_purchases_if_alive(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | alive at T, x, T] (the module docstring's formula); independent of t_x."""
    r, alpha, a, b = _unpack(params)
    xa, Ta = as_float_array(x, "x"), as_float_array(T, "T")
    tt = np.asarray(t, dtype=np.float64)
    a = a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9
    rx = r + xa
    z = tt / (alpha + Ta + tt)
    log_ratio = rx * (np.log(alpha + Ta) - np.log(alpha + Ta + tt))
    num = (a + b + xa) / (a - 1) * (1 - np.exp(log_ratio) * hyp2f1(rx, b + xa + 1, a + b + xa, z))
    return np.maximum(num, 0.0)


def conditional_expected_purchases(
    params: Mapping[str, float], t: float | npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T] = P(alive) · E[Y(t) | alive, x, T]."""
    return expected_purchases_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)
