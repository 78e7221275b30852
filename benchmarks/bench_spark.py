"""``--engine spark`` against the Polars engine on one line-item export (issue 19).

    python benchmarks/bench_spark.py --rows 10M                          # audit: Polars vs Spark local[2]
    python benchmarks/bench_spark.py --rows 1M --shape lines_dollar      # one messy shape of bench.py
    python benchmarks/bench_spark.py --rows 100M --mode ingest --engines spark   # the distributed half alone

The input is generated once by ``benchmarks/lineitems.py`` into ``./bench-data/`` (git-ignored;
never committed). Each engine runs in a fresh process, one after the other:

* ``--mode audit`` — ``custinv audit FILE --format json --no-clv --timings`` with ``--engine
  polars`` and with ``--engine spark --spark-master local[2]``; the two JSONs are compared (the
  engine field and timings aside; floats to 1e-12), and the row states whether they are equal.
* ``--mode ingest`` — only what the Spark half distributes: reading, parsing, row accounting and
  grouping lines into orders, ending in a Spark DataFrame of orders whose count and revenue are
  computed in Spark (nothing order-level reaches the driver); for Polars, ``build_ledger``.

The Spark driver's JVM heap is ``spark.driver.memory`` (``--driver-memory``, default 4g). Wall
time is the whole process (JVM start included); peak RSS is the Python process's own (``wait4``):
the JVM's heap is bounded by its setting. Results are appended to
``bench-data/results-spark.jsonl``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"

_INGEST = """
import sys, json
from pathlib import Path
from custinv.config import Settings
engine, path, master, memory = sys.argv[1:5]
if engine == "polars":
    from custinv.ingest.ledger import build_ledger
    ledger = build_ledger([Path(path)], Settings())
    print(json.dumps({"orders": ledger.orders.height, "revenue": float(ledger.orders["amount"].sum())}))
else:
    from pyspark.sql import functions as sf
    from custinv.spark.ingest import build_ledger_spark
    from custinv.spark.session import spark_session
    settings = Settings(engine="spark", spark_master=master, spark_conf={"spark.driver.memory": memory})
    ledger = build_ledger_spark([Path(path)], settings, spark_session(settings))
    row = ledger.orders.agg(sf.count(sf.lit(1)), sf.sum("amount")).collect()[0]
    print(json.dumps({"orders": int(row[0]), "revenue": float(row[1])}))
"""


def parse_count(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


SHAPES = {  # the messy shapes of benchmarks/bench.py: lineitems.py options and the file's suffix
    "lines": ([], ".csv"),
    "lines_mdy": (["--date-format", "mdy"], ".csv"),
    "lines_dollar": (["--money", "dollar"], ".csv"),
    "lines_status": (["--status"], ".csv"),
    "lines_parquet": ([], ".parquet"),
}


def ensure_input(rows: int, seed: int, shape: str = "lines") -> Path:
    options, suffix = SHAPES[shape]
    path = DATA / (f"spark_lines_{rows}{suffix}" if shape == "lines" else f"spark_{shape}_{rows}{suffix}")
    if not path.exists():
        spec = importlib.util.spec_from_file_location("custinv_bench_lineitems", ROOT / "benchmarks" / "lineitems.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        DATA.mkdir(exist_ok=True)
        module.main([str(rows), str(path), "--seed", str(seed), *options])
    return path


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str, str]:
    """(wall seconds, peak RSS MiB from wait4, exit code, stdout, stderr) of one fresh process."""
    import tempfile

    with tempfile.TemporaryFile() as err_file:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file, env=env)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out.decode(errors="replace"), err


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ; floats agree to 1e-12 relatively (the CLV diagnostics
    of one engine already differ in the last bit from run to run). Also used by the tests."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12):
        return []
    return [] if a == b else [path]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=parse_count, default=10_000_000)
    ap.add_argument("--mode", choices=["audit", "ingest"], default="audit")
    ap.add_argument("--engines", default="polars,spark")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="lines")
    args = ap.parse_args()
    path = ensure_input(args.rows, args.seed, args.shape)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "CUSTINV_SPARK_CONF": f"spark.driver.memory={args.driver_memory};spark.driver.maxResultSize=0"}
    results: dict[str, dict[str, Any]] = {}
    for engine in args.engines.split(","):
        if args.mode == "audit":
            cmd = [sys.executable, "-m", "custinv", "audit", str(path), "--format", "json", "--no-clv", "--timings",
                   "-q", "--engine", engine]
            if engine == "spark":
                cmd += ["--spark-master", args.master]
        else:
            cmd = [sys.executable, "-c", _INGEST, engine, str(path), args.master, args.driver_memory]
        load = os.getloadavg()[0]
        wall, rss, code, out, err = run(cmd, env)
        result: dict[str, Any] = {"engine": engine, "mode": args.mode, "shape": args.shape, "rows": args.rows,
                                  "wall_s": round(wall, 2),
                                  "python_rss_mib": round(rss), "exit": code, "load": round(load, 1),
                                  "master": args.master if engine == "spark" else None,
                                  "driver_memory": args.driver_memory if engine == "spark" else None}
        if code == 0:
            data = json.loads(out)
            if args.mode == "audit":
                result["timings"] = data.get("timings")
                result["json"] = data
            else:
                result.update(data)
        else:
            result["stderr"] = err[-2000:]
        results[engine] = result
        shown = {k: v for k, v in result.items() if k != "json"}
        print(json.dumps(shown), flush=True)
        with (DATA / "results-spark.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(shown) + "\n")
    if {"polars", "spark"} <= set(results) and all(r["exit"] == 0 for r in results.values()):
        p, s = results["polars"], results["spark"]
        if args.mode == "audit":
            diff = [d for d in differences(p["json"], s["json"]) if d not in (".settings.engine",)
                    and not d.startswith(".timings")]
            print(f"same JSON: {not diff}" + (f" (differs at {diff[:5]})" if diff else ""))
        else:
            print(f"same orders and revenue: {(p['orders'], round(p['revenue'], 2)) == (s['orders'], round(s['revenue'], 2))}")
        print(f"spark/polars wall: {s['wall_s'] / p['wall_s']:.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
