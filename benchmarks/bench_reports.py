"""Report generation time for a large customer base (target: 100k customers, xlsx < 30 s, HTML < 2 s).

    python benchmarks/bench_reports.py                   # 100k customers, 400k orders
    python benchmarks/bench_reports.py --customers 1000000 --rows 4000000

Generates a synthetic export with examples/generate.py, runs the audit once (not timed here:
see benchmarks/bench.py), then times each report writer on the same AuditResult and prints
the numbers with the file sizes and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=None, help="order rows (default: 4 per customer)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--lang", default="en", choices=("en", "zh"))
    args = ap.parse_args(argv)
    rows = args.rows or 4 * args.customers

    from custinv.config import Settings
    from custinv.render.excel import write_excel
    from custinv.render.html import write_html
    from custinv.stocktake import audit

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        book = tmp / "orders.csv"
        subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), str(rows), str(book),
                        "--customers", str(args.customers), "--seed", str(args.seed)], check=True,
                       stdout=subprocess.DEVNULL)
        start = time.perf_counter()
        result = audit([book], Settings(lang=args.lang))
        audit_s = time.perf_counter() - start
        print(f"audit: {result.customers.height:,} customers from {rows:,} rows in {audit_s:.2f} s")

        start = time.perf_counter()
        report = write_excel(result, tmp / "stocktake.xlsx", lang=args.lang)
        xlsx_s = time.perf_counter() - start
        size = (tmp / "stocktake.xlsx").stat().st_size
        print(f"xlsx: {xlsx_s:.2f} s  ({size / 1e6:.1f} MB, {report.customers_written:,} customer rows, "
              f"sheets {', '.join(report.sheets)})  target < 30 s")

        start = time.perf_counter()
        write_html(result, tmp / "stocktake.html", lang=args.lang)
        html_s = time.perf_counter() - start
        size = (tmp / "stocktake.html").stat().st_size
        print(f"html: {html_s:.2f} s  ({size / 1e3:.0f} kB)  target < 2 s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    return 0 if xlsx_s < 30 and html_s < 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
