"""Fill mode of the streaming reader on Shopify-like exports: whole orders per batch.

An order's order-level fields (Financial Status, Total, Refunded Amount, Cancelled at, the
billing fields) are written on its first line only; the eager reader copies them to the other
lines, decides the amount mode from every multi-line order, rejects an order whose total is
bad, and counts a refund once per order. The streaming reader does the same batch by batch,
holding each order's lines in one batch. Property: at any batch size (1 line, a few, all),
with or without --as-of, --status-used/--status-excluded, on random exports — orders in any
order, some repeated totals, refunds, cancellations, unknown statuses, blank and bad values,
repeated headers, blank lines and a footer — the streaming reader gives the eager reader's
ledger, or (an order's lines apart) hands the file back."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_streaming_ingest import assert_same

from custinv.config import Settings
from custinv.ingest import ledger as L
from custinv.ingest import streaming as S

HEADER = ["Name", "Email", "Financial Status", "Paid at", "Currency", "Total", "Created at", "Lineitem quantity",
          "Lineitem name", "Lineitem price", "Billing Name", "Cancelled at", "Refunded Amount", "Source", "Notes"]
STATUSES = ["paid", "paid", "paid", "pending", "refunded", "partially_refunded", "voided", "authorized", "chargeback", ""]


def _order(rng: random.Random, number: int, *, messy: bool, repeat: bool, notes: bool = False) -> list[list[str]]:
    customer = rng.randint(1, 40)
    email = f"c{customer}@example.com"
    if messy and rng.random() < 0.1:
        email = f" C{customer}@Example.COM "
    status = rng.choice(STATUSES)
    day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:15:00 -0500"
    lines = rng.choices([1, 1, 2, 3, 4], k=1)[0]
    prices = [rng.randint(100, 9000) / 100 for _ in range(lines)]
    total = f"{sum(prices) + 4.95:.2f}"
    if messy and rng.random() < 0.05:
        total = rng.choice(["", "N/A", "abc"])
    refunded = "0.00"
    if status == "refunded":
        refunded = total if total.replace(".", "").isdigit() else "10.00"
    elif status == "partially_refunded":
        refunded = f"{rng.randint(100, 2000) / 100:.2f}"
    cancelled = day if status == "voided" and rng.random() < 0.7 else ""
    if status == "paid" and rng.random() < 0.03:
        cancelled = day  # cancelled although paid: the date decides
    created = day if not (messy and rng.random() < 0.03) else "not a date"
    rows = []
    for i in range(lines):
        first = i == 0 or repeat
        rows.append([
            f"#{number}", email, status if first else "", day if status == "paid" and first else "",
            "USD" if first else "", total if first else "", created, str(rng.randint(1, 3)),
            f"Item {rng.randint(1, 9)}", f"{prices[i]:.2f}", f"Customer {customer}" if first else "",
            cancelled if first else "", refunded if first else ("0.00" if rng.random() < 0.5 else ""), "web",
            '"leave at the door,\nring twice"' if notes and i == 0 and rng.random() < 0.3 else "",
        ])
    return rows


def write_export(path: Path, seed: int, *, messy: bool, scattered: bool = False) -> Path:
    """A Shopify-like export (``scattered``: one order's lines apart — not a run); some exports
    have order notes over two lines (quoted), from the first order or only from a later one."""
    rng = random.Random(seed)
    numbers = list(range(1001, 1001 + rng.randint(30, 120)))
    if rng.random() < 0.5:
        numbers.reverse()  # Shopify writes the newest order first
    elif rng.random() < 0.5:
        rng.shuffle(numbers)
    repeat = rng.random() < 0.2  # every order-level field on every line
    notes_from = rng.choice([len(numbers), 0, len(numbers) // 2])  # no notes, notes throughout, late notes
    rows: list[list[str]] = [HEADER]
    for k, n in enumerate(numbers):
        rows.extend(_order(rng, n, messy=messy, repeat=repeat, notes=k >= notes_from))
        if messy and rng.random() < 0.02:
            rows.append(HEADER)  # a second export pasted below the first
        if messy and rng.random() < 0.02:
            rows.append([""] * len(HEADER))
    if scattered:
        multi = [i for i in range(2, len(rows)) if rows[i][0] == rows[i - 1][0]]
        if multi:
            rows.append(rows.pop(multi[0]))
    if messy:
        rows.append(["Total", *[""] * (len(HEADER) - 1)])
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


SETTINGS = [
    Settings(max_reject_rate=1.0),
    Settings(max_reject_rate=1.0, as_of="2024-06-30"),
    Settings(max_reject_rate=1.0, status_used=["chargeback"], status_excluded=["authorized"]),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 100_000), messy=st.booleans(), which=st.integers(0, len(SETTINGS) - 1),
       batch_rows=st.sampled_from([1, 2, 7, 500_000]), head_rows=st.sampled_from([12, 1000]))
def test_fill_mode_reads_platform_exports_as_the_eager_reader(
    tmp_path_factory: pytest.TempPathFactory, seed: int, messy: bool, which: int, batch_rows: int, head_rows: int
) -> None:
    """``head_rows``: the plan decided from the first 12 rows too, so what only later rows show
    (a multi-line order, a note over two lines, another shape) makes the read decide again."""
    path = write_export(tmp_path_factory.mktemp("fill") / "orders_export.csv", seed, messy=messy)
    settings_ = SETTINGS[which]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(S, "BATCH_ROWS", batch_rows)
        mp.setattr(S, "HEAD_ROWS", head_rows)
        streamed = S.build_ledger_streaming(path, settings_)
        mp.setattr(S, "LAZY_MIN_BYTES", 1 << 62)
        expected = L.build_ledger([path], settings_)
    assert expected.source.profile == "shopify"
    if not messy:  # plain order names, timestamps and amounts: nothing for the eager reader alone
        assert streamed is not None
    if streamed is not None:
        assert_same(streamed, expected)


@pytest.mark.parametrize("seed", range(4))
def test_an_order_whose_lines_are_apart_is_handed_back(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The eager reader fills an order from its first line wherever its other lines are; the
    batches hold runs: a file with an order's line elsewhere is the eager reader's."""
    path = write_export(tmp_path / "orders_export.csv", seed, messy=False, scattered=True)
    monkeypatch.setattr(S, "BATCH_ROWS", 500_000)
    assert S.build_ledger_streaming(path, Settings(max_reject_rate=1.0)) is None
    monkeypatch.setattr(S, "LAZY_MIN_BYTES", 0)
    monkeypatch.setattr(S, "big_file", lambda p: True)
    ledger = L.build_ledger([path], Settings(max_reject_rate=1.0))
    monkeypatch.setattr(S, "big_file", lambda p: False)
    assert_same(ledger, L.build_ledger([path], Settings(max_reject_rate=1.0)))


def test_strict_refuses_on_the_streaming_reader_as_on_the_eager_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--strict: an unknown status (a warning) is exit 65 on both readers, with the same message."""
    from custinv.errors import DataError

    path = write_export(tmp_path / "orders_export.csv", 5, messy=False)
    text = path.read_text(encoding="utf-8").replace(",paid,", ",chargeback,", 1)
    path.write_text(text, encoding="utf-8")
    strict = Settings(max_reject_rate=1.0, strict=True)
    with pytest.raises(DataError) as streamed:
        S.build_ledger_streaming(path, strict)
    monkeypatch.setattr(S, "LAZY_MIN_BYTES", 1 << 62)
    with pytest.raises(DataError) as eager:
        L.build_ledger([path], strict)
    assert "chargeback" in str(streamed.value)
    assert str(streamed.value) == str(eager.value)
