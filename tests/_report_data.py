"""A small order book with hostile customer ids, shared by the report tests."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from custinv.config import Settings
from custinv.stocktake import AuditResult, audit

HOSTILE_IDS = (
    '=HYPERLINK("http://evil.example/x","click")',
    "<script>alert(1)</script>",
    "{{7*7}}",
    "@SUM(A1:A9)",
    "-2+3",
    "jane.doe@example.com",
    "13812345678",
    "C-1001",
)


def write_hostile_book(path: Path) -> Path:
    """Each customer buys every 1–3 months over a year, so every report section has content."""
    rows = []
    order = 1000
    for i, cid in enumerate(HOSTILE_IDS):
        day = dt.date(2024, 1, 3) + dt.timedelta(days=9 * i)
        step = 30 * (1 + i % 3)
        while day <= dt.date(2024, 12, 20) - dt.timedelta(days=40 * (i % 4)):
            order += 1
            rows.append({"Order ID": str(order), "Customer ID": cid, "Order Date": day.isoformat(),
                         "Amount": f"{50 + 17 * i + order % 7:.2f}", "Region": ["North", "South", "<b>East</b>"][i % 3]})
            day += dt.timedelta(days=step)
    rows.append({"Order ID": "9999", "Customer ID": "C-1001", "Order Date": "not a date", "Amount": "10",
                 "Region": "North"})
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def hostile_result(tmp: Path, **settings: object) -> AuditResult:
    return audit([write_hostile_book(tmp / "orders.csv")], Settings(**settings))
