"""Benchmark table of issue 8: custinv audit against the bare Polars floor and a pandas baseline.

For each size it generates (once) a synthetic export with ``examples/generate.py`` into a
git-ignored folder (``./bench-data/`` by default; 10 rows per customer), then runs, each in a
fresh process so peak RSS is that run's own:

* floor   — ``pl.scan_csv(path, try_parse_dates=True).group_by("customer_id")
             .agg(count, sum, min, max).collect()``: the least any summary can cost;
* custinv — ``custinv audit FILE --format json --timings`` (everything: accounting, classification,
             cohorts, period KPIs, BG/NBD + Gamma-Gamma, JSON); its stage split comes from the JSON;
* pandas  — benchmarks/baselines/pandas_baseline.py (read_csv + groupby + quintile RFM),
             skipped above --pandas-max rows (it needs ~10x the file in memory).

    python benchmarks/bench.py                      # 1M and 10M
    python benchmarks/bench.py --sizes 1M,10M,100M  # 100M is opt-in: ~4.8 GB of CSV

On a shared machine single runs move by ±30 %: ``--repeat N`` runs the three commands in turn
N times (floor, custinv, pandas, floor, …) and reports each one's median wall time, so the ratios
compare runs made under the same load; CPU seconds (user + system, the process's own) are
printed too, as they move less with the load. The load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "examples" / "generate.py"
PANDAS = Path(__file__).resolve().parent / "baselines" / "pandas_baseline.py"

FLOOR = """
import sys, polars as pl
pl.scan_csv(sys.argv[1], try_parse_dates=True).group_by("customer_id").agg(
    pl.len().alias("orders"), pl.col("amount").sum().alias("revenue"),
    pl.col("order_date").min().alias("first"), pl.col("order_date").max().alias("last"),
).collect()
"""


@dataclass
class Run:
    """One measured process: wall seconds, peak RSS in MiB, exit status and its stdout."""

    seconds: float
    peak_mib: float
    status: int
    stdout: str = ""
    cpu: float = 0.0


@dataclass
class Row:
    rows: int
    floor: Run
    custinv: Run
    pandas: Run | None
    stages: dict[str, float] = field(default_factory=dict)


def parse_size(text: str) -> int:
    """'10M' → 10_000_000, '500k' → 500_000, '1000' → 1000."""
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows:,}"


def measure(cmd: list[str], stdout_path: Path | None = None) -> Run:
    """Run cmd; wall time and the child's own peak RSS (wait4 gives that child's rusage)."""
    out = stdout_path.open("wb") if stdout_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
    text = stdout_path.read_text() if stdout_path else ""
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, text, usage.ru_utime + usage.ru_stime)


def median_run(runs: list[Run]) -> Run:
    """The run with the median wall time (its RSS, CPU and output come with it)."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[(len(ordered) - 1) // 2]


def ensure_input(folder: Path, rows: int) -> Path:
    """Generate the input once (10 rows per customer, seed 7); reuse it afterwards."""
    path = folder / f"orders_{label(rows)}.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.csv")
        print(f"generating {path} …", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(GENERATOR), str(rows), str(tmp), "--customers", str(max(1, rows // 10)), "--seed", "7"],
            check=True,
        )
        tmp.rename(path)
    return path


def bench_size(path: Path, rows: int, pandas_max: int, extra: list[str], repeat: int = 1) -> Row:
    json_out = path.with_suffix(".audit.json")
    floors: list[Run] = []
    audits: list[Run] = []
    pandas_runs: list[Run] = []
    for _ in range(repeat):
        floors.append(measure([sys.executable, "-c", FLOOR, str(path)]))
        audits.append(measure([sys.executable, "-m", "custinv", "audit", str(path), "--format", "json", "--timings",
                               *extra], json_out))
        if rows <= pandas_max:
            pandas_runs.append(measure([sys.executable, str(PANDAS), str(path)]))
    custinv = median_run(audits)
    stages: dict[str, float] = {}
    if custinv.status in (0, 3):
        stages = json.loads(custinv.stdout).get("timings") or {}
    return Row(rows, median_run(floors), custinv, median_run(pandas_runs) if pandas_runs else None, stages)


def table(rows: list[Row]) -> str:
    head = ("| rows | floor s | custinv s | ratio | ingest+summary s | ratio | floor RSS MiB | custinv RSS MiB "
            "| RSS ratio | pandas s | CPU s floor / custinv / pandas |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        core = sum(r.stages.get(k, 0.0) for k in ("ingest", "summary"))
        pandas = f"{r.pandas.seconds:.2f}" if r.pandas else "—"
        cpu = f"{r.floor.cpu:.1f} / {r.custinv.cpu:.1f} / " + (f"{r.pandas.cpu:.1f}" if r.pandas else "—")
        status = "" if r.custinv.status in (0, 3) else f" (exit {r.custinv.status})"
        lines.append(
            f"| {label(r.rows)} | {r.floor.seconds:.2f} | {r.custinv.seconds:.2f}{status} "
            f"| {r.custinv.seconds / r.floor.seconds:.1f}× | {core:.2f} | {core / r.floor.seconds:.1f}× "
            f"| {r.floor.peak_mib:.0f} | {r.custinv.peak_mib:.0f} | {r.custinv.peak_mib / r.floor.peak_mib:.1f}× "
            f"| {pandas} | {cpu} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated row counts, e.g. 1M,10M,100M")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data", help="folder for generated inputs")
    parser.add_argument("--pandas-max", type=parse_size, default=parse_size("10M"),
                        help="skip the pandas baseline above this many rows")
    parser.add_argument("--custinv-args", default="", help="extra audit options, e.g. '--no-clv'")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command per size (medians are reported)")
    args = parser.parse_args()
    results = []
    for size in args.sizes.split(","):
        rows = parse_size(size)
        path = ensure_input(args.data, rows)
        print(f"{label(rows)}: load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        row = bench_size(path, rows, args.pandas_max, args.custinv_args.split(), max(1, args.repeat))
        results.append(row)
        if row.stages:
            split = ", ".join(f"{k} {v:.2f}" for k, v in row.stages.items())
            print(f"  custinv stages: {split}", file=sys.stderr)
    print(table(results))
    one, five, fifteen = os.getloadavg()
    print(f"\nload average at the end: {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
