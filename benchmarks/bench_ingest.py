"""The ingest alone, before and after a change, in CPU seconds: a fair comparison on a shared machine.

    python benchmarks/bench_ingest.py bench-data/lines_5M.csv bench-data/lines_dollar_5M.csv --before /tmp/old --repeat 3

Each file is read by ``custinv.ingest.ledger.build_ledger`` (the CLI's ingest: the streaming path
for big files) in a fresh process, in turn with the code at ``--before DIR`` (a copy of the tree
before the change, e.g. ``git archive main | tar -x -C DIR``) when given. Wall seconds move with
the other processes on the machine; the process's own CPU seconds (user + system) move much less,
so they are the column to compare when the load is high. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, resource, sys, time
from pathlib import Path
if sys.argv[2]:
    sys.path.insert(0, sys.argv[2])
from custinv.config import Settings
from custinv.ingest.ledger import build_ledger
start, cpu = time.perf_counter(), time.process_time()
ledger = build_ledger([Path(sys.argv[1])], Settings())
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mib": usage.ru_maxrss / 1024, "orders": ledger.orders.height,
                  "revenue": float(ledger.orders["amount"].sum())}))
"""


def run(path: Path, src: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path), src], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def pair(runs: dict[str, list[dict[str, float]]], key: str, fmt: str) -> str:
    """'before → after' of the medians of ``key`` (only 'after' without a before run)."""
    def med(name: str) -> str:
        return format(statistics.median(r[key] for r in runs[name]), fmt)

    return f"{med('before')} → {med('after')}" if "before" in runs else med("after")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--before", type=Path, default=None, help="a copy of the tree before the change")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    versions = {"after": ""} | ({"before": str(args.before / "src")} if args.before else {})
    print("| file | load | ingest CPU s before → after | ingest wall s before → after | peak MiB before → after "
          "| same orders and revenue |")
    print("|---|---|---|---|---|---|")
    for path in args.files:
        runs: dict[str, list[dict[str, float]]] = {v: [] for v in versions}
        load = os.getloadavg()[0]
        for _ in range(args.repeat):
            for name, src in versions.items():
                runs[name].append(run(path, src))

        same = len({(r["orders"], round(r["revenue"], 2)) for rs in runs.values() for r in rs}) == 1
        print(f"| {path.name} | {load:.1f} | {pair(runs, 'cpu', '.2f')} | {pair(runs, 'wall', '.2f')} "
              f"| {pair(runs, 'peak_mib', '.0f')} "
              f"| {'yes' if same else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
