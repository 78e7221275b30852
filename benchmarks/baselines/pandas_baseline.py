"""The pandas baseline: read the export + per-customer summary + quintile RFM.

Deliberately the short script an analyst would write — no accounting, no parsing rules beyond
what the file needs, no cohorts or CLV — so custinv must beat it while doing far more. It is
made *right* for each shape it is given before it is compared (issue 14): money like
``$1,234.50`` is parsed to numbers (not summed as strings), m/d/Y dates are read with their
format, Refunded orders are dropped, and orders are counted once however many lines they have.

    python benchmarks/baselines/pandas_baseline.py bench-data/lines_5M.csv
    python benchmarks/baselines/pandas_baseline.py lines_mdy.csv --date-format mdy --money dollar --status
    python benchmarks/baselines/pandas_baseline.py lines.parquet      # .xlsx is read with read_excel
"""

from __future__ import annotations

import time

import pandas as pd
from shape_args import shape_parser  # the sibling module: scripts run by path

COLUMNS = ["order_id", "customer_id", "order_date", "amount"]


def load(path: str, date_format: str, money: str, status: bool) -> pd.DataFrame:
    """The four columns (plus status), typed: dates as datetimes, money as floats."""
    columns = [*COLUMNS, "status"] if status else COLUMNS
    if path.endswith(".parquet"):
        df = pd.read_parquet(path, columns=columns)
    elif path.endswith(".xlsx"):
        df = pd.read_excel(path, usecols=columns)
    else:
        df = pd.read_csv(path, usecols=columns, dtype={"amount": str} if money == "dollar" else None)
    if money == "dollar":
        df["amount"] = df["amount"].str.replace(r"[$,]", "", regex=True).astype(float)
    df["order_date"] = pd.to_datetime(df["order_date"], format="%m/%d/%Y" if date_format == "mdy" else "ISO8601")
    if status:
        df = df[df["status"] != "Refunded"]
    return df


def rfm(df: pd.DataFrame) -> pd.DataFrame:
    """Per-customer recency/frequency/monetary with 1..5 quintile scores."""
    as_of = df["order_date"].max()
    summary = df.groupby("customer_id").agg(
        first_order=("order_date", "min"),
        last_order=("order_date", "max"),
        orders=("order_id", "nunique"),
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


def main() -> None:
    args = shape_parser(__doc__).parse_args()
    start = time.perf_counter()
    out = rfm(load(args.path, args.date_format, args.money, args.status))
    print(f"{len(out)} customers, {out['orders'].sum()} orders, revenue {out['revenue'].sum():.2f} "
          f"in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
