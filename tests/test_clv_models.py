"""BG/NBD, Pareto/NBD and Gamma-Gamma against published CDNOW estimates and brute-force references."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from conftest import CDNOW_CALIBRATION_END, cdnow_ledger
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from custinv.analytics.clv import ModelNotIdentifiable, bgnbd, clv_inputs, gammagamma, paretonbd
from custinv.analytics.clv._mle import central_gradient, group_rfm

CAL_END = CDNOW_CALIBRATION_END


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return clv_inputs(cdnow_ledger(), CAL_END, "week")


@pytest.fixture(scope="module")
def arrays(cdnow: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        cdnow["x"].to_numpy().astype(float),
        cdnow["t_x"].to_numpy(),
        cdnow["T"].to_numpy(),
    )


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------ CDNOW published estimates


def test_bgnbd_reproduces_fader_hardie_lee_2005(arrays) -> None:
    res = bgnbd.fit(*arrays)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert rel(res.params[name], value) < 0.005, name
    assert res.log_likelihood == pytest.approx(-9582.43, abs=0.01)
    assert res.converged and res.n_customers == 2357 and res.iterations > 0


def test_bgnbd_conditional_expectation_published_example(arrays) -> None:
    res = bgnbd.fit(*arrays)
    value = bgnbd.conditional_expected_purchases(res.params, 39, [2], [30.43], [38.86])[0]
    assert rel(value, 1.226) < 0.005


def test_paretonbd_reproduces_fader_hardie_note(arrays) -> None:
    res = paretonbd.fit(*arrays)
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert rel(res.params[name], value) < 0.005, name
    assert res.log_likelihood == pytest.approx(-9594.98, abs=0.01)
    assert res.converged


def test_gammagamma_reproduces_fader_hardie_2013(cdnow: pl.DataFrame) -> None:
    res = gammagamma.fit(cdnow["x"].to_numpy(), cdnow["monetary_value"].to_numpy())
    assert res.fit.n_customers == 946 and res.n_excluded == 0
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert rel(res.params[name], value) < 0.005, name
    assert res.correlation is not None and abs(res.correlation) < 0.3 and not res.correlation_warning


def test_fit_on_unique_rows_with_weights_equals_fit_on_customers(arrays) -> None:
    x, t_x, T = arrays
    g = group_rfm(x, t_x, T)
    assert g.x.size < x.size and g.weight.sum() == x.size
    a, b = bgnbd.fit(x, t_x, T), bgnbd.fit(g.x, g.t_x, g.T, weights=g.weight)
    assert a.log_likelihood == pytest.approx(b.log_likelihood, abs=1e-9)


# ------------------------------------------------------------------ brute-force likelihoods

ROWS = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (7, 20.0, 35.0), (3, 12.0, 12.0)]


def bgnbd_plain(r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float) -> float:
    """FHL 2005 eq. (6) written out term by term with math.lgamma (no logaddexp tricks)."""

    def lbeta(u: float, v: float) -> float:
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    common = math.exp(math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha))
    first = math.exp(lbeta(a, b + x) - lbeta(a, b)) / (alpha + T) ** (r + x)
    second = math.exp(lbeta(a + 1, b + x - 1) - lbeta(a, b)) / (alpha + t_x) ** (r + x) if x > 0 else 0.0
    return math.log(common * (first + second))


def test_bgnbd_loglik_matches_plain_formula() -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*ROWS))
    vec = bgnbd.log_likelihood(params, x, t_x, T)
    for got, row in zip(vec, ROWS):
        assert got == pytest.approx(bgnbd_plain(*params.values(), *row), rel=1e-12)


def test_bgnbd_loglik_matches_double_integral() -> None:
    """Integrate the individual-level likelihood over Gamma(λ) and Beta(p) numerically."""
    r, alpha, a, b = 1.5, 3.0, 2.0, 3.0
    # plain densities (scipy.stats call overhead would dominate the quadrature)
    log_norm = r * math.log(alpha) - math.lgamma(r) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    for x, t_x, T in [(0, 0.0, 10.0), (2, 6.0, 10.0), (4, 3.0, 9.0)]:

        def integrand(p: float, lam: float) -> float:
            ind = (1 - p) ** x * lam**x * math.exp(-lam * T)
            if x > 0:
                ind += p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x)
            dens = math.exp(log_norm - alpha * lam) * lam ** (r - 1) * p ** (a - 1) * (1 - p) ** (b - 1)
            return ind * dens

        value, _ = integrate.dblquad(integrand, 0, 40, 0, 1, epsabs=1e-12, epsrel=1e-8)
        got = bgnbd.log_likelihood({"r": r, "alpha": alpha, "a": a, "b": b}, [x], [t_x], [T])[0]
        assert got == pytest.approx(math.log(value), abs=1e-6)


def paretonbd_quad(r: float, alpha: float, s: float, beta: float, x: int, t_x: float, T: float) -> tuple[float, float]:
    """(log-likelihood, P(alive)) from L = E[λ^x e^{-(λ+μ)T}] + ∫_{t_x}^T E[μ λ^x e^{-(λ+μ)τ}] dτ."""
    c = math.exp(math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) + s * math.log(beta))
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    died, _ = integrate.quad(
        lambda tau: s * (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-12
    )
    return math.log(c * (alive + died)), alive / (alive + died)


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},  # alpha < beta
        {"r": 0.8, "alpha": 20.0, "s": 1.3, "beta": 4.0},  # alpha > beta
        {"r": 0.8, "alpha": 5.0, "s": 1.3, "beta": 5.0},  # equal
    ],
)
def test_paretonbd_loglik_and_p_alive_match_quadrature(params: dict[str, float]) -> None:
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*ROWS))
    ll = paretonbd.log_likelihood(params, x, t_x, T)
    pa = paretonbd.p_alive(params, x, t_x, T)
    for got_ll, got_pa, row in zip(ll, pa, ROWS):
        want_ll, want_pa = paretonbd_quad(*params.values(), *row)
        assert got_ll == pytest.approx(want_ll, abs=1e-9)
        assert got_pa == pytest.approx(want_pa, abs=1e-9)


def test_gammagamma_loglik_matches_integral_over_nu() -> None:
    p, q, g = 6.25, 3.74, 15.44
    for x, m in [(1, 20.0), (3, 35.5), (10, 8.0)]:
        # the mean of x Gamma(p, ν) spends is Gamma(px, rate νx); integrate ν ~ Gamma(q, rate γ)
        value, _ = integrate.quad(
            lambda nu: stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(nu, q, scale=1 / g),
            0,
            np.inf,
            epsabs=0,
            epsrel=1e-11,
        )
        got = gammagamma.log_likelihood({"p": p, "q": q, "gamma": g}, [x], [m])[0]
        assert got == pytest.approx(math.log(value), abs=1e-8)


# ------------------------------------------------------------------ conditional expectations by quadrature


def test_bgnbd_conditional_expectation_matches_integral_over_p() -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    r, alpha, a, b = params.values()
    for x, t_x, T, t in [(0, 0.0, 38.86, 39.0), (2, 30.43, 38.86, 39.0), (5, 10.0, 30.0, 13.0)]:
        # given alive: E[(1/p)(1 - ((α+T)/(α+T+pt))^(r+x))] with p ~ Beta(a, b+x)
        body, _ = integrate.quad(
            lambda p: (1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p * stats.beta.pdf(p, a, b + x),
            0,
            1,
            epsabs=0,
            epsrel=1e-10,
            limit=200,
        )
        want = body * bgnbd.p_alive(params, [x], [t_x], [T])[0]
        got = bgnbd.conditional_expected_purchases(params, t, [x], [t_x], [T])[0]
        assert got == pytest.approx(want, rel=1e-7)


def test_paretonbd_conditional_expectation_matches_integral_over_mu() -> None:
    for params in (
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
        {"r": 0.553, "alpha": 10.578, "s": 1.0, "beta": 11.669},  # the s = 1 limit
    ):
        r, alpha, s, beta = params.values()
        for x, t_x, T, t in [(0, 0.0, 38.86, 39.0), (2, 30.43, 38.86, 39.0)]:
            # given alive: E[λ] · E[(1 - e^{-μt})/μ], λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T)
            e_life, _ = integrate.quad(
                lambda mu: -math.expm1(-mu * t) / mu * stats.gamma.pdf(mu, s, scale=1 / (beta + T)),
                0,
                np.inf,
                epsabs=0,
                epsrel=1e-10,
                limit=200,
            )
            want = paretonbd.p_alive(params, [x], [t_x], [T])[0] * (r + x) / (alpha + T) * e_life
            got = paretonbd.conditional_expected_purchases(params, t, [x], [t_x], [T])[0]
            assert got == pytest.approx(want, rel=1e-7)


# ------------------------------------------------------------------ gradients


def test_bgnbd_analytic_gradient_matches_numeric(arrays) -> None:
    obj = bgnbd._Objective(group_rfm(*arrays))
    for theta in (np.log([0.3, 5.0, 0.9, 2.1]), np.log([2.0, 0.5, 3.0, 0.4])):
        np.testing.assert_allclose(obj(theta)[1], central_gradient(lambda t: obj(t)[0], theta), rtol=1e-6, atol=1e-9)


def test_gammagamma_analytic_gradient_matches_numeric(cdnow: pl.DataFrame) -> None:
    rep = cdnow.filter(pl.col("x") > 0)
    obj = gammagamma._Objective(rep["x"].to_numpy().astype(float), rep["monetary_value"].to_numpy())
    for theta in (np.log([3.0, 2.0, 10.0]), np.log([0.5, 8.0, 40.0])):
        np.testing.assert_allclose(obj(theta)[1], central_gradient(lambda t: obj(t)[0], theta), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------ hand-checkable small cases


def test_bgnbd_x0_customer_is_alive_with_certainty() -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert bgnbd.p_alive(params, [0, 0], [0, 0], [1.0, 100.0]).tolist() == [1.0, 1.0]


def test_bgnbd_p_alive_hand_computed() -> None:
    # x=1, t_x=2, T=4, r=1, α=2, a=1, b=2: odds = a/(b+x-1) ((α+T)/(α+t_x))^(r+x) = 1/2 · (6/4)^2 = 9/8
    params = {"r": 1.0, "alpha": 2.0, "a": 1.0, "b": 2.0}
    assert bgnbd.p_alive(params, [1], [2.0], [4.0])[0] == pytest.approx(1 / (1 + 9 / 8), rel=1e-14)


@pytest.mark.parametrize("module", [bgnbd, paretonbd])
def test_all_one_time_buyers_are_not_identifiable(module) -> None:
    with pytest.raises(ModelNotIdentifiable, match="no repeat buyers"):
        module.fit([0, 0, 0, 0], [0, 0, 0, 0], [10.0, 8.0, 5.0, 3.0])


@pytest.mark.parametrize("module", [bgnbd, paretonbd])
def test_one_customer_is_not_identifiable(module) -> None:
    with pytest.raises(ModelNotIdentifiable, match="at least 3 customers"):
        module.fit([2], [5.0], [10.0])


def test_gammagamma_excludes_zero_spend_with_count_and_needs_three() -> None:
    with pytest.raises(ModelNotIdentifiable):
        gammagamma.fit([1, 2, 3, 0], [10.0, 0.0, 12.0, np.nan])
    with pytest.warns(gammagamma.SpendFrequencyCorrelationWarning):
        res = gammagamma.fit([1, 2, 3, 1, 2, 0], [10.0, 0.0, 12.0, 30.0, 22.0, np.nan])
    assert res.n_excluded == 1 and res.fit.n_customers == 4


def test_gammagamma_warns_on_frequency_spend_correlation() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(1, 10, 300).astype(float)
    m = 5 * x + rng.gamma(4, 2, 300)
    with pytest.warns(gammagamma.SpendFrequencyCorrelationWarning):
        res = gammagamma.fit(x, m)
    assert res.correlation_warning and res.correlation > 0.3


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="t_x"):
        bgnbd.fit([1, 2, 0], [5.0, 12.0, 0.0], [4.0, 20.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        bgnbd.fit([1, 2, 0], [1.0, np.nan, 0.0], [4.0, 20.0, 3.0])


# ------------------------------------------------------------------ properties

# what a ledger can produce: a repeat purchase is a later purchase *day*, so x > 0 means
# t_x ≥ 1 day (1/7 week) and T ≥ t_x; a customer with x = 0 has t_x = 0 and any T ≥ 0
customers = st.integers(0, 40).flatmap(
    lambda x: st.tuples(
        st.just(float(x)),
        st.floats(0, 1) if x > 0 else st.just(0.0),
        st.floats(1 / 7, 200) if x > 0 else st.floats(0, 200),
    ).map(lambda c: (c[0], max(c[1] * c[2], 1 / 7) if c[0] > 0 else 0.0, c[2]))
)
positive = st.floats(0.01, 50)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(customers, min_size=1, max_size=20), r=positive, alpha=positive, a=positive, b=positive, s=positive)
def test_p_alive_is_a_probability(rows, r, alpha, a, b, s) -> None:
    x, t_x, T = (np.array(c) for c in zip(*rows))
    for value in (
        bgnbd.p_alive({"r": r, "alpha": alpha, "a": a, "b": b}, x, t_x, T),
        paretonbd.p_alive({"r": r, "alpha": alpha, "s": s, "beta": b}, x, t_x, T),
    ):
        assert np.all(np.isfinite(value)) and np.all((value >= 0) & (value <= 1))


@settings(max_examples=60, deadline=None)
@given(row=customers, t1=st.floats(0, 100), dt_=st.floats(0, 100))
def test_expected_purchases_non_decreasing_in_horizon(row, t1, dt_) -> None:
    x, t_x, T = ([v] for v in row)
    for module, params in (
        (bgnbd, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
        (paretonbd, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
    ):
        e1 = module.conditional_expected_purchases(params, t1, x, t_x, T)[0]
        e2 = module.conditional_expected_purchases(params, t1 + dt_, x, t_x, T)[0]
        assert 0 <= e1 <= e2 * (1 + 1e-12) + 1e-12


def test_pareto_nbd_survives_scipy_hyp2f1_overflow() -> None:
    """scipy's hyp2f1(1, 23; 111; 0.906) returns inf; the series fallback keeps P(alive) a probability."""
    from scipy.special import hyp2f1

    from custinv.analytics.clv.paretonbd import _hyp2f1_a1

    assert not np.isfinite(hyp2f1(1.0, 23.0, 111.0, 11 / (12 + 1 / 7)))
    b, c, z = np.array([2.0, 3.5, 40.0]), np.array([5.0, 9.0, 41.0]), np.array([0.5, 0.9, 0.3])
    assert _hyp2f1_a1(b, c, z) == pytest.approx(hyp2f1(1.0, b, c, z), rel=1e-12)
    p = paretonbd.p_alive({"r": 50.0, "alpha": 1.0, "s": 22.0, "beta": 12.0},
                          np.array([38.0]), np.array([1 / 7]), np.array([0.1875]))
    assert np.isfinite(p).all() and 0 <= p[0] <= 1
