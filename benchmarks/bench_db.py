"""Benchmark of issue 18: the same orders audited from PostgreSQL and from a CSV file.

Generates (once) ``examples/generate.py`` rows into ``./bench-data/`` (git-ignored), starts a
throw-away PostgreSQL server (the test suite's own fixture: initdb/pg_ctl on a temporary folder
and a free port, as an unprivileged user when run as root), loads the rows twice — typed
(date, numeric(12,2), bigint) and as text columns — and runs, each in a fresh process so peak
RSS is that run's own:

* csv        — ``custinv audit FILE --format json --timings --no-clv``;
* pg typed   — ``custinv audit postgresql://…?table=orders_typed`` (same flags);
* pg text    — ``custinv audit postgresql://…?table=orders_text`` (same flags);
* pg fetch   — the Arrow batches alone (ADBC, COPY BINARY), no custinv ingest: the floor.

The JSON of each audit must equal the CSV's (paths aside), else the script fails.

    python benchmarks/bench_db.py                 # 1M rows, 3 repeats
    python benchmarks/bench_db.py --rows 200000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _databases import PASSWORD, postgres_server  # noqa: E402  (the suite's server fixture)
from bench import Run, measure, median_run  # noqa: E402

FETCH = """
import sys, adbc_driver_postgresql.dbapi as pg
with pg.connect(sys.argv[1]) as conn, conn.cursor() as cur:
    cur.execute("SELECT * FROM orders_typed")
    print(sum(b.num_rows for b in cur.fetch_record_batch()))
"""


def ensure_input(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"orders_{rows}.csv"
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), str(rows), str(path),
                        "--customers", str(max(rows // 10, 1)), "--seed", "7"], check=True)
    return path


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in result.items() if k not in ("source", "timings")}
    src = result["source"]
    out["accounting"] = {k: src[k] for k in ("rows_read", "rows_used", "rows_excluded", "rows_rejected")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path("bench-data"))
    args = ap.parse_args()
    csv = ensure_input(args.data, args.rows)
    custinv = [sys.executable, "-m", "custinv", "audit"]
    flags = ["--format", "json", "--timings", "--no-clv", "--quiet"]
    with postgres_server() as server:
        text = pl.read_csv(csv, infer_schema=False)
        typed = text.with_columns(pl.col("order_date").str.to_date(), pl.col("amount").cast(pl.Decimal(12, 2)),
                                  pl.col("quantity").cast(pl.Int64))
        server.load("orders_text", text)
        server.load("orders_typed", typed)
        server.execute("VACUUM ANALYZE orders_text", "VACUUM ANALYZE orders_typed")
        os.environ["CUSTINV_DB_PASSWORD"] = PASSWORD
        commands = {
            "csv": [*custinv, str(csv), *flags],
            "pg typed": [*custinv, server.uri("orders_typed"), *flags],
            "pg text": [*custinv, server.uri("orders_text"), *flags],
            "pg fetch": [sys.executable, "-c", FETCH, server.admin_uri()],
        }
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        out = args.data / "bench_db_out.json"
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                run = measure(cmd, out)
                if run.status != 0:
                    print(f"{name} failed (exit {run.status})", file=sys.stderr)
                    return 1
                runs[name].append(run)
    reference = comparable(json.loads(median_run(runs["csv"]).stdout))
    print(f"{args.rows:,} rows, {args.repeat} repeat(s), load {os.getloadavg()[0]:.1f}\n")
    print("| source | wall s (median) | CPU s | peak RSS MiB | ingest s | same JSON as the CSV |")
    print("|---|---|---|---|---|---|")
    for name, measured in runs.items():
        best = median_run(measured)
        ingest, same = "—", "—"
        if name != "pg fetch":
            result = json.loads(best.stdout)
            ingest = f"{result['timings']['ingest']:.2f}" if "timings" in result else "?"
            same = "yes" if comparable(result) == reference else "NO"
            if same == "NO":
                print(f"{name}: the JSON differs from the CSV's", file=sys.stderr)
        print(f"| {name} | {best.seconds:.2f} | {best.cpu:.2f} | {best.peak_mib:.0f} | {ingest} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
