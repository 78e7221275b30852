"""Issue 17: the NBD / MBG/NBD models, the holdout model choice, intervals, per-customer predictions.

References are independent of the code under test: likelihoods by numerical integration over
the latent rates (the model's definition), published CDNOW estimates (BTYDplus / lifetimes for
MBG/NBD), brute-force optimisation, parametric bootstrap, simulation with known parameters.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import polars as pl
import pytest
from conftest import CDNOW_CALIBRATION_END, cdnow_ledger
from scipy import integrate, optimize, stats
from scipy.special import betaln, gammaln

from custinv.analytics.clv import (
    bgnbd,
    clv_inputs,
    fit_clv,
    mbgnbd,
    nbd,
    paretonbd,
    validate_holdout,
)
from custinv.analytics.clv._mle import (
    central_gradient,
    group_rfm,
    observed_information,
    penalised,
)
from custinv.analytics.clv.intervals import covariance, z_value
from custinv.analytics.clv.purchase import Predictor, waiting_time_quantile
from custinv.analytics.clv.select import holdout_days, vanished_dropout

CAL_END = CDNOW_CALIBRATION_END
SMALL = [(0, 0.0, 5.0), (1, 2.0, 6.5), (3, 4.5, 5.0), (2, 0.7, 9.0), (7, 8.0, 8.5)]  # (x, t_x, T)


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    inp = clv_inputs(cdnow_ledger(), CAL_END, "week")
    return inp["x"].to_numpy().astype(float), inp["t_x"].to_numpy(), inp["T"].to_numpy()


# ------------------------------------------------------------------ likelihoods by integration


def _mbg_by_integration(r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float) -> float:
    """∫∫ λ^x (1−p)^x [(1−p) e^{−λT} + p e^{−λ t_x}] g(λ) f(p) dλ dp (Batislam et al. 2007's story)."""

    log_g = r * math.log(alpha) - math.lgamma(r)
    log_b = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)

    def inner(lam: float, p: float) -> float:
        given = lam**x * (1 - p) ** x * ((1 - p) * math.exp(-lam * T) + p * math.exp(-lam * t_x))
        dens = math.exp(log_g + (r - 1) * math.log(lam) - alpha * lam + log_b + (a - 1) * math.log(p)
                        + (b - 1) * math.log1p(-p))
        return given * dens

    value, _ = integrate.dblquad(inner, 0, 1, 0, 60, epsabs=1e-12, epsrel=1e-9)
    return value


def _nbd_by_integration(r: float, alpha: float, x: int, T: float) -> float:
    value, _ = integrate.quad(lambda lam: lam**x * math.exp(-lam * T) * stats.gamma.pdf(lam, r, scale=1 / alpha),
                              0, 80, epsabs=1e-14, epsrel=1e-11)
    return value


@pytest.mark.parametrize(("x", "t_x", "T"), SMALL)
def test_mbgnbd_likelihood_equals_numerical_integration(x: int, t_x: float, T: float) -> None:
    params = {"r": 1.3, "alpha": 2.5, "a": 1.7, "b": 2.2}
    want = math.log(_mbg_by_integration(1.3, 2.5, 1.7, 2.2, x, t_x, T))
    assert mbgnbd.log_likelihood(params, [x], [t_x], [T])[0] == pytest.approx(want, abs=1e-7)


@pytest.mark.parametrize(("x", "t_x", "T"), SMALL)
def test_nbd_likelihood_equals_numerical_integration(x: int, t_x: float, T: float) -> None:
    want = math.log(_nbd_by_integration(0.8, 3.0, x, T))
    assert nbd.log_likelihood({"r": 0.8, "alpha": 3.0}, [x], [t_x], [T])[0] == pytest.approx(want, abs=1e-8)


def test_nbd_is_bgnbd_without_dropout() -> None:
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*SMALL))
    tiny = {"r": 0.8, "alpha": 3.0, "a": 1e-12, "b": 5.0}
    np.testing.assert_allclose(bgnbd.log_likelihood(tiny, x, t_x, T), nbd.log_likelihood(tiny, x, t_x, T), atol=1e-9)
    np.testing.assert_allclose(mbgnbd.log_likelihood(tiny, x, t_x, T), nbd.log_likelihood(tiny, x, t_x, T), atol=1e-9)


def _random_rfm(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 60, n).astype(float)
    x = rng.poisson(2.0, n).astype(float)
    t_x = np.where(x > 0, np.round(rng.uniform(0, 1, n) * T, 1), 0.0)
    return x, t_x, T, rng.integers(1, 4, n).astype(float)


@pytest.mark.parametrize("module", [mbgnbd, nbd])
def test_fast_objective_and_gradient_equal_plain_loglik(module) -> None:  # type: ignore[no-untyped-def]
    x, t_x, T, w = _random_rfm(3)
    data = group_rfm(x, t_x, T, w)
    obj = bgnbd._Objective(data, modified=True) if module is mbgnbd else nbd._Objective(data)
    names = module.NAMES
    theta = np.log([0.7, 4.0, 1.3, 2.1][: len(names)])
    params = dict(zip(names, np.exp(theta)))
    want = -float(np.sum(w * module.log_likelihood(params, x, t_x, T)) / w.sum())
    value, grad = obj(theta)
    assert value == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(grad, central_gradient(lambda th: obj(th)[0], theta), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------ published and brute-force fits


def test_mbgnbd_reproduces_btydplus_cdnow(cdnow) -> None:
    res = mbgnbd.fit(*cdnow)
    # BTYDplus' mbgnbd.EstimateParameters on CDNOW (weeks), as in lifetimes' test suite
    for name, value in {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}.items():
        assert res.params[name] == pytest.approx(value, abs=0.0015), name
    assert res.converged
    assert res.log_likelihood == pytest.approx(float(mbgnbd.log_likelihood(res.params, *cdnow).sum()), abs=1e-6)


def test_nbd_fit_equals_brute_force_optimum(cdnow) -> None:
    x, t_x, T = cdnow
    res = nbd.fit(x, t_x, T)

    def nll(theta: np.ndarray) -> float:
        r, a = np.exp(theta)
        return -float(np.sum(gammaln(r + x) - gammaln(r) + r * np.log(a) - (r + x) * np.log(a + T)))

    brute = optimize.minimize(nll, np.log([1.0, 10.0]), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                                                          "maxiter": 5000})
    assert res.params["r"] == pytest.approx(math.exp(brute.x[0]), rel=1e-5)
    assert res.params["alpha"] == pytest.approx(math.exp(brute.x[1]), rel=1e-5)
    assert res.log_likelihood == pytest.approx(-brute.fun, abs=1e-6)
    # the NBD nests in BG/NBD: its likelihood cannot be higher than BG/NBD's published −9582.43
    assert res.log_likelihood < -9582.43


def test_mbgnbd_predictions_match_definitions(cdnow) -> None:
    params = mbgnbd.fit(*cdnow).params
    # P(alive) is the alive share of the likelihood bracket, also for a one-time buyer
    x, t_x, T = 0.0, 0.0, 30.0
    r, al, a, b = params["r"], params["alpha"], params["a"], params["b"]
    both = _mbg_by_integration(r, al, a, b, 0, 0.0, T)
    alive_term = math.exp(betaln(a, b + 1) - betaln(a, b) + r * math.log(al) - r * math.log(al + T))
    value = mbgnbd.p_alive(params, [x], [t_x], [T])[0]
    assert 0 < value < 1 and value == pytest.approx(alive_term / both, rel=1e-6)
    # E[X(t)] by differencing: dE/dt at t = 0 is the mean purchase rate r/α of people alive at 0, × P(survive first)
    h = 1e-6
    slope = float(mbgnbd.expected_purchases(params, h)) / h
    assert slope == pytest.approx(r / al * b / (a + b), rel=1e-4)


# ------------------------------------------------------------------ penalizer (lifetimes' definition)


def test_penalizer_adds_lifetimes_l2_term_and_shrinks(cdnow) -> None:
    x, t_x, T = cdnow
    data = group_rfm(x, t_x, T)
    obj = bgnbd._Objective(data)
    scales = bgnbd.penalty_scales(data)
    assert scales[1] == pytest.approx(10 / T.max())
    theta = np.log([0.3, 4.0, 0.8, 2.0])
    pen = penalised(obj, 0.1, scales)
    params = np.exp(theta) * np.array(scales)
    assert pen(theta)[0] == pytest.approx(obj(theta)[0] + 0.1 * float(np.sum(params**2)), rel=1e-14)
    np.testing.assert_allclose(pen(theta)[1], central_gradient(lambda th: pen(th)[0], theta), rtol=1e-6, atol=1e-9)
    plain, shrunk = bgnbd.fit(x, t_x, T), bgnbd.fit(x, t_x, T, penalizer=0.1)
    assert sum(shrunk.params.values()) < sum(plain.params.values())
    assert shrunk.log_likelihood < plain.log_likelihood  # reported unpenalised, at the penalised optimum


# ------------------------------------------------------------------ information and intervals


def test_observed_information_equals_second_differences(cdnow) -> None:
    res = bgnbd.fit(*cdnow)
    data = group_rfm(*cdnow)
    obj = bgnbd._Objective(data)
    theta = np.asarray(res.log_params)
    h = 1e-3
    k = theta.size
    hess = np.empty((k, k))
    f = lambda th: obj(th)[0]
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(observed_information(obj, theta, 2357.0), hess * 2357, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(res.information, hess * 2357, rtol=2e-3, atol=1e-3)


def simulate_bgnbd(params: dict[str, float], n: int, seed: int, weeks: float = 52.0) -> tuple[np.ndarray, ...]:
    """Exact BG/NBD draws: purchases at Poisson rate λ, dropout after each repeat purchase with prob p."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(weeks / 2, weeks, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        t = np.where(active, t + rng.exponential(1 / lam), t)
        bought = active & (t <= T)
        x = np.where(bought, x + 1, x)
        t_x = np.where(bought, t, t_x)
        active = bought & (rng.uniform(size=n) > p)
    return x, t_x, T


@pytest.mark.slow
def test_parameter_intervals_cover_the_truth_in_90_percent_of_50_seeds() -> None:
    truth = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
    covered = dict.fromkeys(truth, 0)
    for seed in range(50):
        x, t_x, T = simulate_bgnbd(truth, 3000, seed)
        res = bgnbd.fit(x, t_x, T)
        cov, why = covariance(res)
        assert cov is not None, why
        z = z_value(0.95)
        for i, (name, value) in enumerate(truth.items()):
            se = math.sqrt(cov[i, i])
            covered[name] += abs(math.log(res.params[name]) - math.log(value)) <= z * se
    assert all(c >= 45 for c in covered.values()), covered


def test_delta_method_total_clv_interval_agrees_with_parametric_bootstrap() -> None:
    ledger = cdnow_ledger()
    frame, summary = fit_clv(ledger, CAL_END, model="bgnbd")
    unc = summary.uncertainty
    assert unc is not None
    total = summary.total_intervals["clv"]
    sd_delta = math.log(total["high_95"] / total["value"]) / z_value(0.95)
    # bootstrap the purchase parameters (spend held at its estimate) and recompute the total discounted purchases
    inp = clv_inputs(ledger, CAL_END, "week")
    x, t_x, T = (inp[c].to_numpy().astype(float) for c in ("x", "t_x", "T"))
    from custinv.analytics.clv.discount import schedule

    sched = schedule(12, 0.10, "week")
    base = Predictor("bgnbd", summary.params, x, t_x, T)
    spend_margin = (frame["clv"] / base.discounted(sched)[1]).to_numpy()
    rng = np.random.default_rng(5)
    k = 4
    draws = rng.multivariate_normal(np.log(list(summary.params.values())), unc.cov[:k, :k], size=300)
    totals = [float(np.sum(base.with_params(dict(zip(summary.params, np.exp(d))), x, t_x, T).discounted(sched)[1]
                           * spend_margin)) for d in draws]
    sd_boot = float(np.std(np.log(totals)))
    # the delta interval also holds Gamma-Gamma's share; the purchase part alone must be close to the bootstrap
    g = unc.clv.grad[:k] @ unc.clv.values
    sd_delta_purchase = math.sqrt(float(g @ unc.cov[:k, :k] @ g)) / summary.total
    assert sd_delta_purchase == pytest.approx(sd_boot, rel=0.2)
    assert sd_delta >= sd_delta_purchase


# ------------------------------------------------------------------ per-customer predictions


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "paretonbd", "nbd"])
def test_probability_of_a_purchase_equals_integration(name: str) -> None:
    params = {"nbd": {"r": 0.6, "alpha": 5.0}, "bgnbd": {"r": 0.6, "alpha": 5.0, "a": 0.9, "b": 2.0},
              "mbgnbd": {"r": 0.6, "alpha": 5.0, "a": 0.9, "b": 2.0},
              "paretonbd": {"r": 0.6, "alpha": 5.0, "s": 0.7, "beta": 9.0}}[name]
    x, t_x, T, t = np.array([3.0]), np.array([20.0]), np.array([30.0]), 26.0
    pred = Predictor(name, params, x, t_x, T)
    R, A = params["r"] + 3, params["alpha"] + 30
    if name == "paretonbd":  # Monte Carlo over the posterior rates given alive: λ ~ Γ(R, A), μ ~ Γ(s, B)
        rng = np.random.default_rng(0)
        lam = rng.gamma(R, 1 / A, 2_000_000)
        mu = rng.gamma(params["s"], 1 / (params["beta"] + 30), 2_000_000)
        given_alive = float(np.mean(lam / (lam + mu) * -np.expm1(-(lam + mu) * t)))
        assert pred.p_purchase(t)[0] == pytest.approx(pred.p_alive()[0] * given_alive, rel=2e-3)
        return
    given_alive, _ = integrate.quad(lambda lam: -math.expm1(-lam * t) * stats.gamma.pdf(lam, R, scale=1 / A), 0, 50)
    assert pred.p_purchase(t)[0] == pytest.approx(pred.p_alive()[0] * given_alive, rel=1e-6)


def test_next_purchase_window_is_the_waiting_time_quartiles() -> None:
    params = {"r": 0.6, "alpha": 5.0}
    x, T = np.array([0.0, 4.0]), np.array([10.0, 40.0])
    for q in (0.25, 0.75):
        t = waiting_time_quantile(params, x, T, q)
        R, A = 0.6 + x, 5.0 + T
        np.testing.assert_allclose(1 - (A / (A + t)) ** R, q, rtol=1e-12)


# ------------------------------------------------------------------ model choice


def test_holdout_length_rule() -> None:
    assert holdout_days(400, 20.0) == 100  # a quarter of the history
    assert holdout_days(400, 150.0) == 150  # at least the median gap
    assert holdout_days(400, 300.0) == 200  # at most half


def test_vanishing_dropout_is_the_nbd() -> None:
    assert vanished_dropout("bgnbd", {"r": 1, "alpha": 1, "a": 4e-6, "b": 57_000}, 50)
    assert not vanished_dropout("bgnbd", {"r": 1, "alpha": 1, "a": 0.8, "b": 2.4}, 50)
    assert vanished_dropout("paretonbd", {"r": 1, "alpha": 1, "s": 1e-5, "beta": 1e3}, 50)


def superstore_like(seed: int = 11, customers: int = 700) -> pl.DataFrame:
    """Long-lived buyers: 4 years, nobody leaves, gamma-distributed purchase rates (the Superstore shape)."""
    rng = np.random.default_rng(seed)
    start = dt.date(2020, 1, 1)
    ids, dates, amounts = [], [], []
    rate = rng.gamma(2.5, 1 / 2.5, customers) * 6 / 365.25  # about six purchase days a year on average
    for c in range(customers):  # a generator loop (test data), not product code
        first = int(rng.integers(0, 365))
        gaps = rng.exponential(1 / rate[c], 80)
        days = first + np.concatenate([[0.0], np.cumsum(gaps)])
        days = days[days < 4 * 365]
        for d in np.floor(days).astype(int):
            ids.append(f"C{c:04d}")
            dates.append(start + dt.timedelta(days=int(d)))
            amounts.append(float(np.round(rng.gamma(3.0, 60.0), 2)))
    return pl.DataFrame({"customer_id": ids, "order_id": [str(i) for i in range(len(ids))], "order_date": dates,
                         "amount": amounts}, schema={"customer_id": pl.String, "order_id": pl.String,
                                                     "order_date": pl.Date, "amount": pl.Float64})


def test_superstore_like_long_lived_buyers_get_a_predictive_model() -> None:
    ledger = superstore_like()
    as_of = ledger["order_date"].max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak as a Python warning
        frame, summary = fit_clv(ledger, as_of)
    assert summary.model != "historical", summary.reason
    assert (summary.reason or "").startswith("chosen by holdout")
    sel = summary.selection
    assert sel is not None and {c["model"] for c in sel["candidates"]} >= {"nbd", "bgnbd", "mbgnbd", "paretonbd"}
    # no dropout in these data: every dropout model runs to its NBD limit and the NBD is used
    assert summary.model == "nbd"
    assert all(c["scored_as"] == "nbd" for c in sel["candidates"] if c["model"] != "historical")
    assert frame["p_alive"].drop_nulls().median() > 0.8  # type: ignore[operator]
    assert frame["expected_purchases"].null_count() == 0 and frame["clv"].sum() > 0
    assert summary.total_intervals["clv"]["low_95"] < summary.total < summary.total_intervals["clv"]["high_95"]
    # BG/NBD forced on the same data: honoured, and it says when it ran to the NBD limit
    _, forced = fit_clv(ledger, as_of, model="bgnbd")
    assert forced.model == "bgnbd" and vanished_dropout("bgnbd", forced.params, 100.0)
    assert any("no-dropout limit" in w for w in forced.warnings)
    assert any(w.startswith("no intervals for BG/NBD") for w in forced.warnings)  # a flat ridge, said so


def test_auto_on_cdnow_reports_every_candidate_and_diagnostics() -> None:
    frame, summary = fit_clv(cdnow_ledger(), CAL_END)
    sel = summary.selection
    assert sel is not None and sel["chosen"] == summary.model
    scored = [c for c in sel["candidates"] if c["rmse"] is not None and c["model"] != "historical"]
    assert min(scored, key=lambda c: c["rmse"])["model"] == summary.model
    diag = summary.diagnostics
    assert [r["frequency"] for r in diag["by_frequency"]][:2] == ["0", "1"]
    assert sum(r["customers"] for r in diag["by_frequency"]) == sel["customers"]
    assert sum(r["actual_total"] for r in diag["by_frequency"]) == sel["actual_purchases"]
    assert sum(h["customers"] for h in diag["p_alive_histogram"]) == frame.height
    track = diag["tracking"]
    # the last point of the actual cumulative curve counts every repeat purchase day of the cohort: 2457 (FHL 2005)
    assert track[-1]["actual_cumulative"] == 2457
    assert all(r["expected_cumulative"] is not None for r in track)
    assert abs(track[-1]["expected_cumulative"] / 2457 - 1) < 0.1
    # per-customer intervals bracket the estimates
    for col in ("expected_purchases", "clv", "p_alive"):
        assert (frame[f"{col}_low"] <= frame[col] + 1e-12).all() and (frame[col] <= frame[f"{col}_high"] + 1e-12).all()


def test_holdout_validation_table_is_labelled_and_numeric_without_python_warnings() -> None:
    ledger = cdnow_ledger()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = validate_holdout(ledger, CAL_END, dt.date(1998, 6, 30), "mbgnbd")
    assert caught == []
    d = v.to_dict()
    assert [r["frequency"] for r in d["by_frequency"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert all(isinstance(r["predicted_total"], float) and math.isfinite(r["predicted_total"]) for r in d["by_frequency"])
    assert d["actual_purchases"] == 1882
    assert 0.5 < d["correlation"] < 1
    assert d["predicted_purchases"] == pytest.approx(sum(r["predicted_total"] for r in d["by_frequency"]))


def test_paretonbd_unconditional_expectation_is_the_limit_of_the_conditional() -> None:
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    # a brand-new customer (x = 0, T = 0, alive) has E[Y(t)] = E[X(t)]
    assert paretonbd.expected_purchases(params, 39.0) == pytest.approx(
        paretonbd.expected_purchases_if_alive(params, 39.0, [0.0], [0.0])[0], rel=1e-12)
    assert mbgnbd.expected_purchases({"r": 0.5, "alpha": 6, "a": 0.9, "b": 1.6}, 0.0) == pytest.approx(0.0, abs=1e-15)


def test_z_value_is_the_standard_normal_quantile() -> None:
    """Two-sided quantiles of the standard normal as tables print them (Φ⁻¹(0.9) = 1.2815515655,
    Φ⁻¹(0.975) = 1.9599639845, Φ⁻¹(0.995) = 2.5758293035)."""
    assert z_value(0.80) == pytest.approx(1.2815515655446004, rel=1e-15)
    assert z_value(0.95) == pytest.approx(1.959963984540054, rel=1e-15)
    assert z_value(0.99) == pytest.approx(2.5758293035489004, rel=1e-15)
