"""Benchmark tables of issues 8 and 14: custinv audit against the Polars floor, pandas and DuckDB.

For each shape and size it generates (once) an input into a git-ignored folder
(``./bench-data/`` by default), then runs, each in a fresh process so peak RSS is that run's own:

* floor   — the least a correct per-customer summary can cost in Polars: one scan of the file
            (``scan_csv(try_parse_dates=True)`` / ``scan_parquet`` / fastexcel for xlsx), the text
            the shape needs parsed (m/d/Y dates, ``$1,234.50`` money), Refunded lines dropped, then
            ``group_by("customer_id").agg(len, sum, min, max)``;
* custinv — ``custinv audit FILE --format json --timings`` (everything: accounting, classification,
            cohorts, period KPIs, BG/NBD + Gamma-Gamma, JSON); its stage split comes from the JSON;
* no-clv  — the same with ``--no-clv`` (the run the pandas/DuckDB targets are about);
* pandas  — baselines/pandas_baseline.py (read + groupby summary + quintile RFM, right on every shape);
* duckdb  — baselines/duckdb_baseline.py (the same summary + RFM as one SQL query).

Shapes (``--shapes``): ``one_line`` (examples/generate.py: one line per order), and the line-item
exports of benchmarks/lineitems.py (≈15 % of orders with 2+ lines): ``lines``, ``lines_mdy``
(m/d/Y dates), ``lines_dollar`` (``$1,234.50``), ``lines_status`` (3 % Refunded),
``lines_names`` (customers keyed by name: ``客户 00226115``), ``lines_parquet``, ``lines_xlsx``
(sized by ``--xlsx-sizes``: xlsx files stay small).

    python benchmarks/bench.py --repeat 3                            # every shape at 1M and 5M
    python benchmarks/bench.py --sizes 10M --shapes lines,lines_mdy  # a few shapes at 10M
    python benchmarks/bench.py --sizes 100M --shapes lines --only custinv,floor

On a shared machine single runs move by ±30 %: ``--repeat N`` runs the commands in turn N times
and reports each one's median wall time, so the ratios compare runs made under the same load; the
load average is printed with each row and at the end. Raw figures go to ``bench-data/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
GENERATOR = ROOT / "examples" / "generate.py"
LINE_ITEMS = HERE / "lineitems.py"
PANDAS = HERE / "baselines" / "pandas_baseline.py"
DUCKDB = HERE / "baselines" / "duckdb_baseline.py"

FLOOR = """
import sys, polars as pl
path, date_format, money, status = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
if path.endswith(".parquet"):
    lf = pl.scan_parquet(path)
elif path.endswith(".xlsx"):
    lf = pl.read_excel(path).lazy()
else:
    lf = pl.scan_csv(path, try_parse_dates=True)
day = pl.col("order_date").str.to_date("%m/%d/%Y") if date_format == "mdy" else pl.col("order_date")
amount = pl.col("amount").str.replace_all("[$,]", "").cast(pl.Float64) if money == "dollar" else pl.col("amount")
if status:
    lf = lf.filter(pl.col("status") != "Refunded")
lf.group_by("customer_id").agg(
    pl.len().alias("orders"), amount.sum().alias("revenue"), day.min().alias("first"), day.max().alias("last"),
).collect()
"""


@dataclass(frozen=True)
class Shape:
    """One kind of input: which generator, which text shapes, which file format."""

    name: str
    generator: str = "lines"  # "lines" (benchmarks/lineitems.py) or "one_line" (examples/generate.py)
    suffix: str = ".csv"
    date_format: str = "iso"
    money: str = "plain"
    status: bool = False
    customers: str = "codes"  # lineitems.py --customers: "names" keys customers by name (the general id rules)

    def baseline_args(self) -> list[str]:
        return ["--date-format", self.date_format, "--money", self.money, *(["--status"] if self.status else [])]

    def generator_args(self) -> list[str]:
        return [*self.baseline_args(), "--customers", self.customers]


SHAPES = {s.name: s for s in (
    Shape("one_line", generator="one_line"),
    Shape("lines"),
    Shape("lines_mdy", date_format="mdy"),
    Shape("lines_dollar", money="dollar"),
    Shape("lines_status", status=True),
    Shape("lines_names", customers="names"),
    Shape("lines_parquet", suffix=".parquet"),
    Shape("lines_xlsx", suffix=".xlsx"),
)}
COMMANDS = ("floor", "custinv", "no_clv", "pandas", "duckdb")


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
    shape: str
    rows: int
    runs: dict[str, Run]
    stages: dict[str, float] = field(default_factory=dict)
    load: float = 0.0
    agree: str = "—"


def parse_size(text: str) -> int:
    """'10M' → 10_000_000, '500k' → 500_000, '1000' → 1000."""
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    return f"{rows // 1_000}k" if rows % 1_000 == 0 else f"{rows:,}"


def measure(cmd: list[str], stdout_path: Path | None = None) -> Run:
    """Run cmd; wall time and the child's own peak RSS (wait4 gives that child's rusage)."""
    out = stdout_path.open("wb") if stdout_path else subprocess.PIPE
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        captured = b""
        if not stdout_path:
            assert proc.stdout is not None
            captured = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
    text = stdout_path.read_text() if stdout_path else captured.decode(errors="replace")
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, text, usage.ru_utime + usage.ru_stime)


def median_run(runs: list[Run]) -> Run:
    """The run with the median wall time (its RSS, CPU and output come with it)."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[(len(ordered) - 1) // 2]


def ensure_input(folder: Path, shape: Shape, rows: int) -> Path:
    """Generate the input once (seed 7); reuse it afterwards."""
    name = f"orders_{label(rows)}.csv" if shape.generator == "one_line" else f"{shape.name}_{label(rows)}{shape.suffix}"
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"tmp_{path.name}")
        print(f"generating {path} …", file=sys.stderr)
        if shape.generator == "one_line":
            cmd = [sys.executable, str(GENERATOR), str(rows), str(tmp), "--customers", str(max(1, rows // 10)),
                   "--seed", "7"]
        else:
            cmd = [sys.executable, str(LINE_ITEMS), str(rows), str(tmp), "--seed", "7", *shape.generator_args()]
        subprocess.run(cmd, check=True)
        tmp.rename(path)
    return path


def commands(path: Path, shape: Shape, extra: list[str], before: Path | None = None) -> dict[str, list[str]]:
    py = sys.executable
    args = ["audit", str(path), "--format", "json", "--timings", *extra]
    audit = [py, "-m", "custinv", *args]
    cmds = {
        "floor": [py, "-c", FLOOR, str(path), shape.date_format, shape.money, "1" if shape.status else "0"],
        "custinv": audit,
        "no_clv": [*audit, "--no-clv"],
        "pandas": [py, str(PANDAS), str(path), *shape.baseline_args()],
        "duckdb": [py, str(DUCKDB), str(path), *shape.baseline_args()],
    }
    if before is not None:  # the same audit with another checkout's code first on the path
        run_before = (f"import runpy, sys; sys.path.insert(0, {str(before / 'src')!r}); "
                      "sys.argv = ['custinv', *sys.argv[1:]]; runpy.run_module('custinv', run_name='__main__')")
        cmds["before"] = [py, "-c", run_before, *args]
    return cmds


def bench_one(path: Path, shape: Shape, rows: int, only: set[str], pandas_max: int, extra: list[str],
              repeat: int, before: Path | None = None) -> Row:
    json_out = path.with_name(path.name + ".audit.json")
    cmds = commands(path, shape, extra, before)
    wanted = [c for c in (*COMMANDS, "before") if c in cmds and c in only | ({"before"} if before else set())
              and not (c == "pandas" and rows > pandas_max)]
    runs: dict[str, list[Run]] = {c: [] for c in wanted}
    load = os.getloadavg()[0]
    for _ in range(repeat):
        for c in wanted:
            runs[c].append(measure(cmds[c], json_out if c == "custinv" else None))
    medians = {c: median_run(r) for c, r in runs.items()}
    stages: dict[str, float] = {}
    if "custinv" in medians and medians["custinv"].status in (0, 3):
        stages = json.loads(medians["custinv"].stdout).get("timings") or {}
    if "before" in medians and medians["before"].status in (0, 3):
        before_stages = json.loads(medians["before"].stdout).get("timings") or {}
        stages |= {f"before_{k}": v for k, v in before_stages.items()}
    row = Row(shape.name, rows, medians, stages, load)
    row.agree = agreement(medians)
    return row


def agreement(runs: dict[str, Run]) -> str:
    """Do custinv and the baselines count the same customers, orders and revenue (to the cent)?"""
    seen: dict[str, tuple[int, int, str]] = {}
    audit = runs.get("custinv")
    if audit and audit.status in (0, 3):
        kpis = json.loads(audit.stdout)["kpis"]
        seen["custinv"] = (kpis["customers"], kpis["orders"], f"{kpis['revenue']:.2f}")
    for name in ("pandas", "duckdb"):
        run = runs.get(name)
        match = re.match(r"(\d+) customers, (\d+) orders, revenue ([0-9.]+)", run.stdout) if run else None
        if match:
            seen[name] = (int(match[1]), int(match[2]), f"{float(match[3]):.2f}")
    if len(seen) < 2:
        return "—"
    if len(set(seen.values())) == 1:
        return "yes"
    return "NO: " + "; ".join(f"{k} {v}" for k, v in seen.items())


def _cell(run: Run | None) -> str:
    if run is None:
        return "—"
    return f"{run.seconds:.2f}" + ("" if run.status in (0, 3) else f" (exit {run.status})")


def table(rows: list[Row]) -> str:
    head = ("| shape | rows | load | floor s | audit s | audit/floor | ingest s | ingest/floor | audit --no-clv s "
            "| pandas s | DuckDB s | no-clv/pandas | no-clv/DuckDB | floor MiB | audit MiB | RSS/floor | same numbers |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        floor, audit, no_clv = r.runs.get("floor"), r.runs.get("custinv"), r.runs.get("no_clv")
        pandas, duck = r.runs.get("pandas"), r.runs.get("duckdb")

        def ratio(a: Run | None, b: Run | None) -> str:
            return f"{a.seconds / b.seconds:.1f}×" if a and b else "—"

        ingest = r.stages.get("ingest")
        lines.append(
            f"| {r.shape} | {label(r.rows)} | {r.load:.1f} | {_cell(floor)} | {_cell(audit)} | {ratio(audit, floor)} "
            f"| {f'{ingest:.2f}' if ingest is not None else '—'} "
            f"| {f'{ingest / floor.seconds:.1f}×' if ingest is not None and floor else '—'} "
            f"| {_cell(no_clv)} | {_cell(pandas)} | {_cell(duck)} | {ratio(no_clv, pandas)} | {ratio(no_clv, duck)} "
            f"| {f'{floor.peak_mib:.0f}' if floor else '—'} | {f'{audit.peak_mib:.0f}' if audit else '—'} "
            f"| {f'{audit.peak_mib / floor.peak_mib:.1f}×' if audit and floor else '—'} | {r.agree} |"
        )
    return "\n".join(lines)


def before_table(rows: list[Row]) -> str:
    """Before (``--before DIR``) and after, run in turn under the same load."""
    head = "| shape | rows | load | audit s before → after | ingest s before → after | peak MiB before → after |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        b, a = r.runs.get("before"), r.runs.get("custinv")
        if b is None or a is None:
            continue
        bi, ai = r.stages.get("before_ingest"), r.stages.get("ingest")
        ingest = f"{bi:.2f} → {ai:.2f}" if bi is not None and ai is not None else "—"
        lines.append(f"| {r.shape} | {label(r.rows)} | {r.load:.1f} | {_cell(b)} → {_cell(a)} | {ingest} "
                     f"| {b.peak_mib:.0f} → {a.peak_mib:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,5M", help="comma-separated row counts, e.g. 1M,5M,10M,100M")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of: {', '.join(SHAPES)}")
    parser.add_argument("--xlsx-sizes", default="200k", help="row counts for the xlsx shape (xlsx stays small)")
    parser.add_argument("--only", default=",".join(COMMANDS), help=f"commands to run, of: {', '.join(COMMANDS)}")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data", help="folder for generated inputs")
    parser.add_argument("--pandas-max", type=parse_size, default=parse_size("10M"),
                        help="skip the pandas baseline above this many rows")
    parser.add_argument("--custinv-args", default="", help="extra audit options, e.g. '--no-cache'")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command per size (medians are reported)")
    parser.add_argument("--before", type=Path, default=None,
                        help="a copy of the code before a change (e.g. `git archive main | tar -x -C DIR`): its "
                             "audit runs in turn with the others, for a before/after table under the same load")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results = []
    for name in args.shapes.split(","):
        shape = SHAPES[name]
        sizes = args.xlsx_sizes if shape.suffix == ".xlsx" else args.sizes
        for size in sizes.split(","):
            rows = parse_size(size)
            path = ensure_input(args.data, shape, rows)
            row = bench_one(path, shape, rows, only, args.pandas_max, args.custinv_args.split(), max(1, args.repeat),
                            args.before)
            results.append(row)
            split = ", ".join(f"{k} {v:.2f}" for k, v in row.stages.items())
            times = ", ".join(f"{c} {r.seconds:.2f}s/{r.peak_mib:.0f}MiB" for c, r in row.runs.items())
            print(f"{name} {label(rows)} (load {row.load:.2f}): {times}; stages: {split}", file=sys.stderr)
            with (args.data / "results.jsonl").open("a") as fh:
                record = {"shape": name, "rows": rows, "load": row.load, "stages": row.stages, "when": time.time(),
                          "agree": row.agree,
                          "runs": {c: {k: v for k, v in asdict(r).items() if k != "stdout"} for c, r in row.runs.items()}}
                fh.write(json.dumps(record) + "\n")
    print(table(results))
    if args.before is not None:
        print()
        print(before_table(results))
    one, five, fifteen = os.getloadavg()
    print(f"\nload average at the end: {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
