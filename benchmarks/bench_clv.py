"""Benchmark: BG/NBD + Gamma-Gamma and Pareto/NBD fits on simulated customers.

Simulates N customers (default 1,000,000) from a BG/NBD process with CDNOW-like parameters
(numpy, seeded): first purchases spread over 12 weeks, calibration ending 39 weeks after the
start, purchase times floored to whole days as a real ledger records them. Spend is simulated
from Gamma-Gamma. Prints fit times (the fits only; simulation excluded) as wall-clock and process CPU time
(CPU time is the fairer number on a shared machine), the fitted parameters and peak RSS.

    python benchmarks/bench_clv.py [--customers 1000000] [--seed 7] [--skip-pareto]

With ``--ledger FILE.parquet`` (a parsed ledger, e.g. custinv's ``Ledger.orders`` written to
parquet) it instead times the audit's CLV stage the way ``audit`` runs it: ``fit_clv`` on
the customer summary and order sequence (built first, not timed), several runs.

    python benchmarks/bench_clv.py --ledger orders10.parquet [--runs 3]

Issue 17 adds, on the same simulated summary: the time of the delta-method intervals (80/95 %
on every customer's expected purchases, P(alive) and CLV, and on the total) against the fit's
time (target: intervals within 2× the fit), MBG/NBD and NBD fit times, and with ``--compare``
the fit times of lifetimes' ``BetaGeoFitter`` and pymc-marketing's ``BetaGeoModel`` (MAP) on
the same (x, t_x, T) — install them with ``pip install -e '.[bench]'``; a library that cannot
be imported or fails is reported with its error instead of a time.

    python benchmarks/bench_clv.py --compare [--compare-customers 1000000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from custinv.analytics.clv import bgnbd, gammagamma, mbgnbd, nbd, paretonbd

TRUE_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # weeks
TRUE_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T, mean repeat spend) in weeks, times on a daily grid."""
    rng = np.random.default_rng(seed)
    T_days = 273 - rng.integers(0, 84, n)  # first purchase in the first 12 weeks
    lam = rng.gamma(TRUE_BGNBD["r"], 1 / TRUE_BGNBD["alpha"], n) / 7  # per day
    p = rng.beta(TRUE_BGNBD["a"], TRUE_BGNBD["b"], n)
    n_alive = rng.geometric(p)  # repeat purchases until (and including) the one after which they drop
    arrivals = rng.poisson(lam * T_days)
    x = np.minimum(arrivals, n_alive)
    # time of the x-th of `arrivals` uniform points in (0, T): a Beta(x, arrivals - x + 1) fraction
    frac = np.zeros(n)
    has = x > 0
    frac[has] = rng.beta(x[has], arrivals[has] - x[has] + 1)
    t_days = np.floor(frac * T_days)
    x = np.where(t_days > 0, x, 0)  # a repeat on the first day is the same purchase day
    t_days = np.where(x > 0, t_days, 0)
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["gamma"], n)
    spend = np.full(n, np.nan)
    spend[x > 0] = rng.gamma(TRUE_GG["p"] * x[x > 0], 1 / (nu[x > 0] * x[x > 0]))
    return x.astype(np.float64), t_days / 7, T_days / 7, spend


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_stage(path: str, runs: int) -> None:
    """Time fit_clv as the audit calls it (summary and sequence precomputed)."""
    import polars as pl

    from custinv.analytics.clv import fit_clv
    from custinv.analytics.periods import order_sequence
    from custinv.analytics.summary import customer_summary

    orders = pl.read_parquet(path)
    as_of = orders["order_date"].max()
    summary = customer_summary(orders, as_of).collect()
    sequence = order_sequence(orders, as_of)
    print(f"{orders.height:,} orders, {summary.height:,} customers")
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        _, result = fit_clv(orders, as_of, summary=summary, sequence=sequence)
        print(f"fit_clv {time.perf_counter() - t0:6.2f}s wall {time.process_time() - c0:6.2f}s cpu  "
              f"model={result.model} iterations={result.iterations} total={result.total:,.2f}; "
              f"peak RSS {peak_rss_mb():.0f} MB", flush=True)


def bench_intervals(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, m: np.ndarray, bg, gg, fit_seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Time what fit_clv does for intervals after the fits: predictions, gradients, bounds, total."""
    from custinv.analytics.clv import purchase
    from custinv.analytics.clv.discount import schedule
    from custinv.analytics.clv.fit import uncertainty
    from custinv.analytics.clv.intervals import LEVELS

    sched = schedule(12, 0.10, "week")
    t0, c0 = time.perf_counter(), time.process_time()
    predictor = purchase.Predictor("bgnbd", bg.params, x, t_x, T)
    expected, discounted = predictor.discounted(sched)
    alive = predictor.p_alive()
    spend = gammagamma.conditional_expected_spend(gg.params, x, m)
    t_pred = time.perf_counter() - t0
    t1 = time.perf_counter()
    notes: list[str] = []
    unc = uncertainty("bgnbd", bg, predictor, x, t_x, T, sched, spend, m, discounted, expected, alive,
                      np.full(x.size, 0.3), gg, notes)
    assert unc is not None, notes
    for measure in (unc.expected_purchases, unc.p_alive, unc.clv):
        assert measure is not None
        sd = measure.sd_log(unc.cov)
        for level in LEVELS:
            measure.customer_bounds(unc.cov, level, sd)
    total = unc.total(unc.clv)
    t_int, c_int = time.perf_counter() - t1, time.process_time() - c0
    print(f"predictions  {t_pred:6.2f}s wall (expected purchases, P(alive), spend for {x.size:,} customers)")
    print(f"intervals    {t_int:6.2f}s wall {c_int:6.2f}s cpu (delta-method gradients, 80/95 % per customer and total) "
          f"= {t_int / fit_seconds:.2f}× the BG/NBD + Gamma-Gamma fit (target ≤ 2×); "
          f"total CLV {total['value']:,.0f} [95 %: {total['low_95']:,.0f} – {total['high_95']:,.0f}]; "
          f"peak RSS {peak_rss_mb():.0f} MB")


def bench_lifetimes(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    """lifetimes' BetaGeoFitter.fit on the same summary (its own defaults)."""
    try:
        from lifetimes import BetaGeoFitter
    except Exception as exc:  # noqa: BLE001 - report any import failure as the result
        print(f"lifetimes    not run: {type(exc).__name__}: {exc}")
        return
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        fitter = BetaGeoFitter().fit(x, t_x, T)
    except Exception as exc:  # noqa: BLE001
        print(f"lifetimes    failed: {type(exc).__name__}: {exc}")
        return
    print(f"lifetimes    {time.perf_counter() - t0:6.2f}s wall {time.process_time() - c0:6.2f}s cpu  BetaGeoFitter "
          + " ".join(f"{k}={v:.4f}" for k, v in fitter.params_.items()) + f" ({x.size:,} customers)")


def bench_pymc_marketing(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    """pymc-marketing's BetaGeoModel fitted by MAP on the same summary (model build + compile + optimise)."""
    try:
        import pandas as pd
        from pymc_marketing.clv import BetaGeoModel
    except Exception as exc:  # noqa: BLE001
        print(f"pymc-marketing not run: {type(exc).__name__}: {exc}")
        return
    data = pd.DataFrame({"customer_id": np.arange(x.size), "frequency": x, "recency": t_x, "T": T})
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        model = BetaGeoModel(data=data)
        model.fit(method="map")
    except Exception as exc:  # noqa: BLE001
        print(f"pymc-marketing failed: {type(exc).__name__}: {exc}")
        return
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    result = model.fit_result
    draws = getattr(result, "posterior", result)  # an InferenceData, or its posterior Dataset in newer versions
    params = {k: float(draws[k].mean()) for k in ("r", "alpha", "a", "b") if k in draws}
    print(f"pymc-marketing {wall:6.2f}s wall {cpu:6.2f}s cpu  BetaGeoModel MAP "
          + " ".join(f"{k}={v:.4f}" for k, v in params.items()) + f" ({x.size:,} customers)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-pareto", action="store_true")
    ap.add_argument("--ledger", help="time the audit's CLV stage on this parquet ledger instead")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--compare", action="store_true", help="also time lifetimes and pymc-marketing (MAP)")
    ap.add_argument("--compare-customers", type=int, default=1_000_000)
    args = ap.parse_args()
    if args.ledger:
        bench_stage(args.ledger, args.runs)
        return

    t0 = time.perf_counter()
    x, t_x, T, m = simulate(args.customers, args.seed)
    print(f"simulated {args.customers:,} customers in {time.perf_counter() - t0:.2f}s "
          f"({int((x > 0).sum()):,} repeat buyers); peak RSS {peak_rss_mb():.0f} MB")

    t0, c0 = time.perf_counter(), time.process_time()
    bg = bgnbd.fit(x, t_x, T)
    t_bg, c_bg = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    gg = gammagamma.fit(x, m)
    t_gg, c_gg = time.perf_counter() - t0, time.process_time() - c0
    print(f"BG/NBD       {t_bg:6.2f}s wall {c_bg:6.2f}s cpu  converged={bg.converged} iters={bg.iterations} "
          + " ".join(f"{k}={v:.4f}" for k, v in bg.params.items()) + f"  LL={bg.log_likelihood:.1f}")
    print(f"Gamma-Gamma  {t_gg:6.2f}s wall {c_gg:6.2f}s cpu  converged={gg.fit.converged} iters={gg.fit.iterations} "
          + " ".join(f"{k}={v:.4f}" for k, v in gg.params.items()))
    print(f"BG/NBD + Gamma-Gamma fit time {t_bg + t_gg:.2f}s wall, {c_bg + c_gg:.2f}s cpu (target < 2 s); peak RSS {peak_rss_mb():.0f} MB")
    print("true BG/NBD " + " ".join(f"{k}={v}" for k, v in TRUE_BGNBD.items())
          + "; true GG " + " ".join(f"{k}={v}" for k, v in TRUE_GG.items()))

    bench_intervals(x, t_x, T, m, bg, gg, t_bg + t_gg)
    for name, mod in (("MBG/NBD", mbgnbd), ("NBD", nbd)):
        t0, c0 = time.perf_counter(), time.process_time()
        res = mod.fit(x, t_x, T)
        print(f"{name:<12} {time.perf_counter() - t0:6.2f}s wall {time.process_time() - c0:6.2f}s cpu  "
              f"converged={res.converged} " + " ".join(f"{k}={v:.4f}" for k, v in res.params.items()))
    if args.compare:
        n = min(args.compare_customers, x.size)
        bench_lifetimes(x[:n], t_x[:n], T[:n])
        bench_pymc_marketing(x[:n], t_x[:n], T[:n])

    if not args.skip_pareto:
        t0, c0 = time.perf_counter(), time.process_time()
        pn = paretonbd.fit(x, t_x, T)
        t_pn, c_pn = time.perf_counter() - t0, time.process_time() - c0
        print(f"Pareto/NBD   {t_pn:6.2f}s wall {c_pn:6.2f}s cpu  converged={pn.converged} iters={pn.iterations} "
              + " ".join(f"{k}={v:.4f}" for k, v in pn.params.items())
              + f"  LL={pn.log_likelihood:.1f} (target < 20 s); peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
