"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005 "RFM and CLV"; Fader & Hardie 2013 note).

Each purchase's spend is Gamma(p, ν) and ν ~ Gamma(q, γ) across customers. For a customer with
x repeat purchases of mean m, the density of m is

    f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m^(px−1) · x^(px) / (γ + m x)^(px+q)

It is fitted on repeat buyers only, with their mean spend per repeat purchase day (the first
purchase excluded, as in the papers). The model assumes spend is independent of frequency,
so the correlation between x and m is reported and a warning raised when it is strong.
Customers whose mean spend is not positive cannot enter the likelihood; they are excluded
and counted rather than dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from ._mle import FitResult, FloatArray, ModelNotIdentifiable, as_float_array, dense_codes, dot, map_blocks, maximise, row_blocks

NAMES = ("p", "q", "gamma")
#: |corr(x, m)| above this makes the independence assumption doubtful (warn).
CORRELATION_WARNING = 0.3


class SpendFrequencyCorrelationWarning(UserWarning):
    """Frequency and spend are correlated, against the Gamma-Gamma independence assumption."""


@dataclass(frozen=True)
class GammaGammaResult:
    """Gamma-Gamma fit plus the data checks that decide whether to trust it."""

    fit: FitResult
    correlation: float | None
    correlation_warning: bool
    n_excluded: int

    @property
    def params(self) -> dict[str, float]:
        return self.fit.params


class _Objective:
    """Mean negative log-likelihood and gradient; data-only sums are precomputed once.

    Per evaluation the rows only contribute Σ log(γ + m x), Σ x·log(γ + m x), Σ 1/(γ + m x) and
    Σ x/(γ + m x); they are taken over blocks of rows (cache-sized, on several cores) and
    added in block order.
    """

    def __init__(self, x: FloatArray, m: FloatArray) -> None:
        n = x.size
        self.ux, ix = dense_codes(x)
        self.wx = np.bincount(ix, minlength=self.ux.size) / n
        mx = m * x
        self.blocks = [(x[lo:hi], mx[lo:hi]) for lo, hi in row_blocks(n)]
        log_m, log_x = np.log(m), np.log(x)
        # (px−1)·log m + px·log x summed = p·c_p − c_1
        self.c_p = float(np.mean(x * (log_m + log_x)))
        self.c_1 = float(np.mean(log_m))
        self.inv_n = 1.0 / n

    def _row_sums(self, g: float) -> FloatArray:
        """[Σ log(γ+mx), Σ x·log(γ+mx), Σ 1/(γ+mx), Σ x/(γ+mx)] over all rows."""

        def block(rows: tuple[FloatArray, FloatArray]) -> FloatArray:
            x, mx = rows
            y = g + mx
            log_y = np.log(y)
            inv = 1.0 / y
            return np.array([log_y.sum(), dot(x, log_y), inv.sum(), dot(x, inv)])

        return np.sum(map_blocks(block, self.blocks), axis=0)

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, g = np.exp(theta)
        ux, wx = self.ux, self.wx
        sum_log, sum_x_log, sum_inv, sum_x_inv = self._row_sums(float(g))
        mean_log = float(sum_log) * self.inv_n
        mean_x_log = float(sum_x_log) * self.inv_n
        ll = (
            wx @ (gammaln(p * ux + q) - gammaln(p * ux))
            - gammaln(q)
            + q * np.log(g)
            + p * self.c_p
            - self.c_1
            - p * mean_x_log
            - q * mean_log
        )
        g_p = wx @ (ux * (digamma(p * ux + q) - digamma(p * ux))) + self.c_p - mean_x_log
        g_q = wx @ digamma(p * ux + q) - digamma(q) + np.log(g) - mean_log
        g_g = q / g - (p * float(sum_x_inv) + q * float(sum_inv)) * self.inv_n
        return -float(ll), -np.array([g_p * p, g_q * q, g_g * g])


def log_likelihood(params: Mapping[str, float], x: npt.ArrayLike, m: npt.ArrayLike) -> FloatArray:
    """Per-customer log-density of the mean spend m given x repeat purchases."""
    p, q, g = float(params["p"]), float(params["q"]), float(params["gamma"])
    xa, ma = as_float_array(x, "x"), as_float_array(m, "m")
    px = p * xa
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
        + (px - 1) * np.log(ma) + px * np.log(xa) - (px + q) * np.log(g + ma * xa)
    )


def fit(x: npt.ArrayLike, m: npt.ArrayLike, *, penalizer: float = 0.0) -> GammaGammaResult:
    """Fit on customers' repeat-purchase counts x and mean repeat spend m.

    Customers with x = 0 are ignored (no repeat spend observed); those with x > 0 but m <= 0
    are excluded and counted. Raises :class:`ModelNotIdentifiable` with fewer than 3 usable
    customers or when every usable customer has the same mean spend. ``penalizer`` adds
    lifetimes' L2 penalty ``penalizer · (p² + q² + γ²)`` (as its ``GammaGammaFitter``).
    """
    xa, ma = as_float_array(x, "x"), np.asarray(m, dtype=np.float64).reshape(-1)
    repeat = xa > 0
    usable = repeat & np.isfinite(ma) & (ma > 0)
    n_excluded = int(np.sum(repeat & ~usable))
    xu, mu = xa[usable], ma[usable]
    if xu.size < 3:
        raise ModelNotIdentifiable(f"Gamma-Gamma: needs at least 3 repeat buyers with positive spend, got {xu.size}")
    if np.ptp(mu) == 0:
        raise ModelNotIdentifiable("Gamma-Gamma: every repeat buyer has the same mean spend; the spread cannot be fitted")
    correlation = None
    if np.ptp(xu) > 0:
        correlation = float(np.corrcoef(xu, mu)[0, 1])
    strong = correlation is not None and abs(correlation) > CORRELATION_WARNING
    if strong:
        warnings.warn(
            f"frequency and spend are correlated (r = {correlation:.2f}); Gamma-Gamma assumes they are independent",
            SpendFrequencyCorrelationWarning,
            stacklevel=2,
        )
    scale = float(np.mean(mu))
    starts = [np.log([1.0, 2.0, scale]), np.log([5.0, 3.0, 2 * scale]), np.log([0.5, 5.0, scale / 2])]
    result = maximise("gammagamma", NAMES, _Objective(xu, mu), starts, float(xu.size), int(xu.size), penalizer=penalizer)
    return GammaGammaResult(result, correlation, strong, n_excluded)


def conditional_expected_spend(params: Mapping[str, float], x: npt.ArrayLike, m: npt.ArrayLike) -> FloatArray:
    """E[spend per purchase | x, m] = p(γ + x m) / (p x + q − 1); null m (x = 0) gives the population mean.

    Undefined (NaN) when p x + q <= 1, i.e. q <= 1 for one-time buyers: the population mean is infinite.
    """
    p, q, g = float(params["p"]), float(params["q"]), float(params["gamma"])
    xa = as_float_array(x, "x")
    ma = np.nan_to_num(np.asarray(m, dtype=np.float64).reshape(-1), nan=0.0)
    ma = np.where(xa > 0, np.maximum(ma, 0.0), 0.0)
    denom = p * xa + q - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, p * (g + xa * ma) / denom, np.nan)
