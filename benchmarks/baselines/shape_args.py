"""The command line both baselines share: the input and its shape (what the analyst knows).

    python benchmarks/baselines/pandas_baseline.py lines.csv --date-format mdy --money dollar --status
"""

from __future__ import annotations

import argparse


def shape_parser(doc: str | None) -> argparse.ArgumentParser:
    """PATH plus the shape options benchmarks/lineitems.py writes (see its docstring)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--date-format", choices=("iso", "mdy"), default="iso")
    ap.add_argument("--money", choices=("plain", "dollar"), default="plain")
    ap.add_argument("--status", action="store_true", help="drop Refunded orders (status column)")
    return ap
