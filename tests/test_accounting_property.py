"""Property: on any messy file, every row lands in exactly one bucket and revenue is exact.

The generator writes rows of known kinds (good, anonymous, cancelled, unparseable date or
amount, placeholder amount, return, blank line, footer) in random order; the expected
accounting is computed from the kinds alone, independently of custinv's code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custinv.config import Settings
from custinv.ingest.ledger import build_ledger

KINDS = ["good", "good", "good", "anonymous", "cancelled", "bad_date", "bad_amount", "missing_amount",
         "return", "blank"]
EXPECTED_BUCKET = {
    "good": "used", "anonymous": "anonymous", "cancelled": "cancelled", "bad_date": "bad_date",
    "bad_amount": "bad_amount", "missing_amount": "missing_amount", "return": "return",
}

row = st.tuples(
    st.sampled_from(KINDS),
    st.integers(min_value=1, max_value=8),                       # customer number
    st.integers(min_value=0, max_value=365),                     # day offset
    st.integers(min_value=0, max_value=10_000_00),               # cents
    st.sampled_from(["", "paid", "Completed", "交易成功"]),        # a used status
)


def render(kind: str, cust: int, day: int, cents: int, status: str, money: str) -> str | None:
    date = (dt.date(2023, 1, 1) + dt.timedelta(days=day)).isoformat()
    amount = money.format(cents / 100)
    cid = f"C{cust:03d}"
    if kind == "blank":
        return None
    if kind == "anonymous":
        cid = ""
    if kind == "cancelled":
        status = "cancelled"
    if kind == "bad_date":
        date = "sometime"
    if kind == "bad_amount":
        amount = "twelve"
    if kind == "missing_amount":
        amount = "N/A"
    if kind == "return":
        amount = f"-{cents / 100 + 1:.2f}"
    return f"{cid},{date},{amount},{status}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=60), currency_style=st.sampled_from(["plain", "dollar"]),
       footer=st.booleans())
def test_every_row_accounted_and_revenue_exact(tmp_path: Path, rows, currency_style, footer):
    lines = ["Customer ID,Order Date,Amount,Status"]
    expected: Counter[str] = Counter()
    revenue_cents = 0
    money = "{:.2f}" if currency_style == "plain" else '"${:,.2f}"'
    for kind, cust, day, cents, status in rows:
        text = render(kind, cust, day, cents, status, money)
        if text is None:
            lines.append("")
            continue
        lines.append(text)
        expected[EXPECTED_BUCKET[kind]] += 1
        if kind == "good":
            revenue_cents += cents
    if footer:
        lines.append("Total,,999.99,")
        expected["footer"] += 1
    path = tmp_path / "messy.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    if expected["used"] == 0:
        return  # nothing usable is a clean DataError, covered elsewhere
    ledger = build_ledger([path], Settings(max_reject_rate=1.0))
    src = ledger.source
    assert src.rows_read == sum(expected.values())
    assert src.rows_read == src.rows_used + sum(src.rows_excluded.values()) + src.rows_rejected
    got = Counter({"used": src.rows_used, **src.rows_excluded, **src.reject_reasons})
    assert +got == +expected
    assert ledger.orders["amount"].sum() == pytest.approx(revenue_cents / 100, abs=1e-6)
