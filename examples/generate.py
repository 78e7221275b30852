"""Write a synthetic transactions CSV of exactly ROWS rows, for benchmarks and scale tests.

    python examples/generate.py 10_000_000 big.csv --customers 1_000_000 --seed 7

Columns: order_id, customer_id, order_date (ISO), amount (2 decimals), quantity, channel, region.

The buyers behave like the customer bases the CLV literature describes, so that the
per-customer summary, frequency classes and BG/NBD fits meet realistic skew rather than a
uniform toy:

* customers join over the whole period, more of them later (a growing business);
* each customer buys at their own rate, drawn from a gamma distribution (few heavy buyers,
  many light ones), and after every purchase drops out with their own probability, drawn
  from a beta distribution (BG/NBD); those who drop out at once are one-time buyers;
* order values are log-normal around a per-customer spending level.

The exact row count is met by giving every customer their first order and sharing the
remaining rows out in proportion to each customer's expected repeat purchases (a
multinomial draw), first across blocks of customers and then within a block. Customers are
generated and written one block at a time (about --chunk-rows rows each), with random
state derived from (seed, block), so 100M rows never need more memory than one block and
the output is the same for the same arguments.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

CHANNELS = pl.Series(["web", "app", "store", "marketplace", "phone"])
CHANNEL_P = np.array([0.45, 0.25, 0.15, 0.12, 0.03])
REGIONS = pl.Series(["North", "South", "East", "West", "Central"])
REGION_P = np.array([0.24, 0.22, 0.2, 0.2, 0.14])

# Population parameters, loosely after the published CDNOW fits (BG/NBD r≈0.24, a≈0.79, b≈2.43):
# a purchase rate with a heavy right tail and a dropout probability with most mass well below 0.5.
RATE_SHAPE = 0.55  # gamma shape of the yearly purchase rate (scale does not matter: rows are fixed)
RATE_MEAN_PER_YEAR = 3.0
DROPOUT_A, DROPOUT_B = 0.8, 2.4
JOIN_GROWTH = 1.6  # Beta(JOIN_GROWTH, 1) join time: density grows over the period
SPEND_MEDIAN, SPEND_SIGMA, ORDER_SIGMA = 45.0, 0.6, 0.5


@dataclass(frozen=True)
class Plan:
    """What to write: sizes, period (days since the Unix epoch), seed and block layout."""

    rows: int
    customers: int
    start_day: int
    span_days: int  # days from start to end, inclusive of both
    seed: int
    block_customers: int

    @property
    def blocks(self) -> int:
        return math.ceil(self.customers / self.block_customers)

    def block_range(self, k: int) -> tuple[int, int]:
        lo = k * self.block_customers
        return lo, min(self.customers, lo + self.block_customers)


@dataclass(frozen=True)
class Customers:
    """One block of customers: join day, active span, expected repeat weight, tastes."""

    join_day: np.ndarray  # int32, days after start
    active_days: np.ndarray  # float64, how long they keep buying (0 = one-time buyer)
    weight: np.ndarray  # float64, expected repeat purchases, drives the row share
    spend: np.ndarray  # float64, median order value
    channel: np.ndarray  # int8 index into CHANNELS
    region: np.ndarray  # int8 index into REGIONS


def make_plan(rows: int, customers: int | None, start: date, end: date, seed: int, chunk_rows: int) -> Plan:
    """Validate the arguments and choose the customer block size (≈ chunk_rows rows per block)."""
    if rows < 1:
        raise ValueError("ROWS must be at least 1")
    if end < start:
        raise ValueError("--end is before --start")
    n = max(1, rows // 10) if customers is None else customers
    if n < 1:
        raise ValueError("--customers must be at least 1")
    n = min(n, rows)  # every customer has at least one order
    block = max(1, min(n, round(n * max(1, chunk_rows) / rows)))
    epoch = date(1970, 1, 1)
    return Plan(rows, n, (start - epoch).days, (end - start).days + 1, seed, block)


def block_customers(plan: Plan, k: int) -> Customers:
    """Draw block k's customers; the same (seed, k) always gives the same customers."""
    lo, hi = plan.block_range(k)
    n = hi - lo
    rng = np.random.default_rng([plan.seed, k, 0])
    join = np.floor(rng.beta(JOIN_GROWTH, 1.0, n) * plan.span_days).astype(np.int32)
    join = np.minimum(join, plan.span_days - 1)
    remaining_years = (plan.span_days - 1 - join) / 365.25
    rate = rng.gamma(RATE_SHAPE, RATE_MEAN_PER_YEAR / RATE_SHAPE, n)  # purchases per year
    p_drop = rng.beta(DROPOUT_A, DROPOUT_B, n)
    repeats_before_dropout = rng.geometric(np.clip(p_drop, 1e-6, 1.0)) - 1  # BG/NBD: 0 = one-time
    alive_years = np.minimum(remaining_years, repeats_before_dropout / np.maximum(rate, 1e-9))
    weight = rate * alive_years
    spend = SPEND_MEDIAN * rng.lognormal(0.0, SPEND_SIGMA, n)
    channel = rng.choice(len(CHANNEL_P), n, p=CHANNEL_P).astype(np.int8)
    region = rng.choice(len(REGION_P), n, p=REGION_P).astype(np.int8)
    return Customers(join, alive_years * 365.25, weight, spend, channel, region)


def share_rows(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` rows over `weights` with a multinomial draw (equal shares if all weights are 0)."""
    if total == 0:
        return np.zeros(len(weights), dtype=np.int64)
    s = float(weights.sum())
    p = weights / s if s > 0 else np.full(len(weights), 1.0 / len(weights))
    p = p / p.sum()
    return rng.multinomial(total, p)


def block_extras(plan: Plan) -> np.ndarray:
    """Rows beyond each customer's first order, per block (pass 1: only block weight sums kept)."""
    sums = np.array([block_customers(plan, k).weight.sum() for k in range(plan.blocks)])
    rng = np.random.default_rng([plan.seed, 0, 1])
    return share_rows(rng, plan.rows - plan.customers, sums)


def block_frame(plan: Plan, k: int, extra: int, first_order_id: int) -> pl.DataFrame:
    """All orders of block k's customers, in random order, as the output frame."""
    c = block_customers(plan, k)
    rng = np.random.default_rng([plan.seed, k, 2])
    counts = 1 + share_rows(rng, extra, c.weight)
    cust = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    is_first = np.zeros(len(cust), dtype=bool)
    is_first[np.concatenate(([0], np.cumsum(counts)[:-1]))] = True
    shuffle = rng.permutation(len(cust))  # rows of one customer are not adjacent in real exports
    cust, is_first = cust[shuffle], is_first[shuffle]
    offset = np.where(is_first, 0.0, rng.random(len(cust)) * c.active_days[cust])
    day = plan.start_day + c.join_day[cust] + np.floor(offset).astype(np.int32)
    amount = np.round(c.spend[cust] * rng.lognormal(0.0, ORDER_SIGMA, len(cust)), 2)
    quantity = 1 + rng.poisson(0.8, len(cust))
    switch = rng.random(len(cust)) < 0.2  # most orders through the customer's usual channel
    channel = np.where(switch, rng.choice(len(CHANNEL_P), len(cust), p=CHANNEL_P), c.channel[cust])
    lo, hi = plan.block_range(k)
    width = max(8, len(str(plan.customers)))
    ids = pl.select(  # formatted once per customer, then gathered per row (10x fewer strings to build)
        pl.concat_str(pl.lit("C"), pl.int_range(lo + 1, hi + 1, eager=True).cast(pl.String).str.zfill(width))
    ).to_series()
    return pl.DataFrame(
        {
            "order_id": np.arange(first_order_id, first_order_id + len(cust), dtype=np.int64),
            "customer_id": ids.gather(cust),
            "order_date": pl.Series(day).cast(pl.Date),
            "amount": amount,
            "quantity": quantity,
            "channel": CHANNELS.gather(channel),  # gather: no per-row Python strings
            "region": REGIONS.gather(c.region[cust]),
        }
    )


def frames(plan: Plan) -> Iterator[pl.DataFrame]:
    """Yield the output block by block; together they hold exactly plan.rows rows."""
    next_id = 1_000_001
    for k, extra in enumerate(block_extras(plan)):
        df = block_frame(plan, k, int(extra), next_id)
        next_id += df.height
        yield df


def write(plan: Plan, out: Path) -> int:
    """Write the CSV chunk by chunk (header once); return the number of data rows written."""
    written = 0
    with out.open("wb") as fh:
        for i, df in enumerate(frames(plan)):
            df.write_csv(fh, include_header=i == 0, float_precision=2)
            written += df.height
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Write a synthetic transactions CSV (heavy-tailed buyers, realistic dates and amounts).",
    )
    ap.add_argument("rows", type=lambda s: int(s.replace("_", "")), metavar="ROWS", help="data rows to write")
    ap.add_argument("out", type=Path, metavar="OUT.csv", help="output file")
    ap.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=None,
                    help="number of customers (default ROWS/10)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (same arguments, same file)")
    ap.add_argument("--start", type=date.fromisoformat, default=date(2021, 1, 1), help="first date (ISO)")
    ap.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31), help="last date (ISO)")
    ap.add_argument("--chunk-rows", type=lambda s: int(s.replace("_", "")), default=5_000_000,
                    help="rows generated and written per chunk (bounds memory)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan = make_plan(args.rows, args.customers, args.start, args.end, args.seed, args.chunk_rows)
    except ValueError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 2
    n = write(plan, args.out)
    print(f"wrote {n:,} rows for {plan.customers:,} customers to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
