"""Pareto/NBD near its no-heterogeneity limit (r and α → ∞: every customer buys at one rate).

Buyers without heterogeneity (subscriptions, regular B2B reorders) walk the optimiser towards
r → ∞, where scipy's hyp2f1 takes 25 µs a value and often returns NaN: the model choice on such
data took 40 s. There 2F1(1, b; c; z) comes from the incomplete beta function's continued
fraction; these tests hold it against the hypergeometric series itself, summed exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import hyp2f1

from custinv.analytics.clv import paretonbd


def _series(b: float, c: float, z: float) -> float:
    """Σ (b)_n/(c)_n zⁿ — positive terms, added exactly (math.fsum) until they vanish."""
    terms, t, n = [1.0], 1.0, 0
    while t > 1e-20:
        t *= (b + n) / (c + n) * z
        n += 1
        terms.append(t)
    return math.fsum(terms)


def _limit_points(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(b, c, z) as the Pareto/NBD likelihood asks for them with a large r."""
    rng = np.random.default_rng(seed)
    r = 10 ** rng.uniform(3, 5.5, n)
    s = 10 ** rng.uniform(-4, 0.5, n)
    x = rng.integers(0, 40, n).astype(float)
    alpha, beta = 10 ** rng.uniform(2, 6.5, n), 10 ** rng.uniform(0, 6.5, n)
    t = rng.uniform(0, 300, n)
    k = r + s + x
    c_orig = np.where(alpha >= beta, s + 1, r + x)
    z = np.abs(alpha - beta) / (np.maximum(alpha, beta) + t)
    keep = z < 0.999  # the exact series needs ~1/(1 − z) terms: keep the reference quick
    return (k + 1 - c_orig)[keep], (k + 1)[keep], z[keep]


def test_continued_fraction_is_the_series_where_b_is_large() -> None:
    b, c, z = _limit_points(seed=3, n=300)
    got = paretonbd._hyp2f1_a1_cf(b, c, z)
    want = np.array([_series(*p) for p in zip(b, c, z, strict=True)])
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_continued_fraction_agrees_with_scipy_where_scipy_answers() -> None:
    b, c, z = _limit_points(seed=4, n=400)
    theirs = hyp2f1(1.0, b, c, z)
    ok = np.isfinite(theirs)
    assert ok.sum() > 100
    np.testing.assert_allclose(paretonbd._hyp2f1_a1_cf(b[ok], c[ok], z[ok]), theirs[ok], rtol=1e-12)


def test_a_fraction_that_does_not_converge_is_left_to_the_other_evaluations() -> None:
    # small b, z near 1: hundreds of thousands of steps — NaN here, scipy or the series answers
    value = paretonbd._hyp2f1_a1_cf(np.array([0.7]), np.array([1.9]), np.array([0.999999]))
    assert np.isnan(value).all()


@pytest.mark.parametrize("params", [
    {"r": 1.76e5, "alpha": 3.27e6, "s": 1.02e-4, "beta": 6.27e3},  # where a fit on such data ran to
    {"r": 2.0e4, "alpha": 9.0e3, "s": 0.3, "beta": 4.0e4},  # α < β: the other branch of c
])
def test_log_likelihood_near_the_limit_is_the_series_form(params: dict[str, float]) -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 12, 50).astype(float)
    T = rng.uniform(20, 100, 50)
    t_x = np.where(x > 0, rng.uniform(0, 1, 50) * T, 0.0)
    got = paretonbd.log_likelihood(params, x, t_x, T)
    r, alpha, s, beta = (params[k] for k in paretonbd.NAMES)

    def log_f(xi: float, t: float) -> float:  # the module docstring's F, by the exact series
        m, k = max(alpha, beta), r + s + xi
        c = s + 1 if alpha >= beta else r + xi
        z = abs(alpha - beta) / (m + t)
        return (1 - c) * math.log1p(-z) + math.log(_series(k + 1 - c, k + 1, z)) - k * math.log(m + t)

    want = []
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        alive = -(r + xi) * math.log(alpha + Ti) - s * math.log(beta + Ti)
        f_tx, f_T = log_f(xi, ti), log_f(xi, Ti)
        died = math.log(s) - math.log(r + s + xi) + f_tx + math.log1p(-math.exp(min(f_T - f_tx, 0.0)))
        base = math.lgamma(r + xi) - math.lgamma(r) + r * math.log(alpha) + s * math.log(beta)
        want.append(base + np.logaddexp(alive, died))
    np.testing.assert_allclose(got, want, rtol=1e-9)
