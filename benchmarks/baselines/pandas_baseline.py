"""The pandas baseline of issue 8: read_csv + per-customer groupby summary + quintile RFM.

Deliberately the short script an analyst would write — no accounting, no parsing rules,
no cohorts or CLV — so custinv must beat it while doing far more.

    python benchmarks/baselines/pandas_baseline.py bench-data/r10m.csv
"""

from __future__ import annotations

import sys
import time

import pandas as pd


def rfm(path: str) -> pd.DataFrame:
    """Per-customer recency/frequency/monetary with 1..5 quintile scores."""
    df = pd.read_csv(path, parse_dates=["order_date"])
    as_of = df["order_date"].max()
    summary = df.groupby("customer_id").agg(
        first_order=("order_date", "min"),
        last_order=("order_date", "max"),
        orders=("order_id", "count"),
        revenue=("amount", "sum"),
    )
    summary["recency_days"] = (as_of - summary["last_order"]).dt.days
    # Ranks first: frequency and recency have many ties, which plain qcut cannot split.
    summary["r_score"] = pd.qcut(summary["recency_days"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1]).astype(int)
    summary["f_score"] = pd.qcut(summary["orders"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    summary["m_score"] = pd.qcut(summary["revenue"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    summary["rfm_code"] = (
        summary["r_score"].astype(str) + summary["f_score"].astype(str) + summary["m_score"].astype(str)
    )
    return summary


if __name__ == "__main__":
    start = time.perf_counter()
    out = rfm(sys.argv[1])
    print(f"{len(out)} customers in {time.perf_counter() - start:.2f} s", file=sys.stderr)
