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
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from custinv.analytics.clv import bgnbd, gammagamma, paretonbd

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-pareto", action="store_true")
    ap.add_argument("--ledger", help="time the audit's CLV stage on this parquet ledger instead")
    ap.add_argument("--runs", type=int, default=3)
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

    if not args.skip_pareto:
        t0, c0 = time.perf_counter(), time.process_time()
        pn = paretonbd.fit(x, t_x, T)
        t_pn, c_pn = time.perf_counter() - t0, time.process_time() - c0
        print(f"Pareto/NBD   {t_pn:6.2f}s wall {c_pn:6.2f}s cpu  converged={pn.converged} iters={pn.iterations} "
              + " ".join(f"{k}={v:.4f}" for k, v in pn.params.items())
              + f"  LL={pn.log_likelihood:.1f} (target < 20 s); peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
