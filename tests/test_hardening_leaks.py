"""Issue 15, leaks and injection: terminal escapes never reach a terminal, personal data is
masked wherever it hides, --pii hash never uses a published key, xlsx stays readable with any
cell text, and look-alike ids stay different customers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import stat
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import run_cli
from rich.table import Table
from rich.text import Text

from custinv.config import Settings
from custinv.errors import ConfigError
from custinv.render import pii as pii_mod
from custinv.render.excel import write_excel
from custinv.render.html import write_html
from custinv.render.pii import mask, protect, protect_expr
from custinv.stocktake import audit
from custinv.terminal import SafeConsole, clean

HOSTILE_TEXT = {
    "clear screen": "North\x1b[2J\x1b[H",
    "retitle": "\x1b]0;pwned\x07South",
    "osc 8 link": "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "c1 csi": "East\x9b31m",
    "reset": "\x1bcWest",
    "bidi": "Ea\u202est",
    "bell": "Bell\x07",
}
ESCAPE_BYTES = ("\x1b", "\x9b", "\x9d", "\x07", "\u202e")


@pytest.mark.parametrize("name", HOSTILE_TEXT)
def test_clean_strips_sequences_and_controls(name: str) -> None:
    out = clean(HOSTILE_TEXT[name])
    assert not any(b in out for b in ESCAPE_BYTES), repr(out)
    assert out.isprintable()
    assert clean("客户 A\tB\nC") == "客户 A\tB\nC"  # text, tabs and newlines stay


def test_safe_console_cleans_strings_tables_and_text_objects() -> None:
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, color_system="standard", width=100)
    table = Table("region")
    for value in HOSTILE_TEXT.values():
        table.add_row(value)
    table.add_row(Text(HOSTILE_TEXT["retitle"]))
    console.print(table)
    console.print(HOSTILE_TEXT["clear screen"], style="bold red")
    out = buffer.getvalue()
    # Rich's own colours are CSI "m" sequences; nothing else may be there
    import re

    residue = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert not any(b in residue for b in ESCAPE_BYTES), repr(residue)
    assert "North" in out and "click" in out


def test_hostile_dimension_values_file_names_and_map_values_never_reach_the_terminal(tmp_path: Path) -> None:
    book = tmp_path / "orders\x1b[2J.csv"
    rows = [["Order ID", "Customer ID", "Order Date", "Amount", "Region"]]
    for i, value in enumerate(HOSTILE_TEXT.values()):
        rows += [[f"{i}a", f"c{i}", "2024-01-05", "10", value], [f"{i}b", f"c{i}", "2024-02-05", "12", value]]
    with book.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    for args in (["audit", str(book)], ["inspect", str(book)],
                 ["audit", str(book), "--map", "customer_id=\x1b]0;x\x07nope"],
                 ["audit", str(tmp_path / "missing\x1b[31m.csv")]):
        proc = run_cli(*args)
        for stream in (proc.stdout, proc.stderr):
            assert not any(b in stream for b in ESCAPE_BYTES), (args, stream[-300:])


def test_compare_output_is_clean(tmp_path: Path) -> None:
    book = tmp_path / "o.csv"
    book.write_text("Order ID,Customer ID,Order Date,Amount\n1,\x1b]0;evil\x07a,2024-01-01,10\n"
                    "2,b,2024-02-01,20\n3,\x1b]0;evil\x07a,2024-03-01,10\n", encoding="utf-8")
    snaps = tmp_path / "snaps"
    assert run_cli("audit", str(book), "-q", "--as-of", "2024-02-15", "--snapshot", str(snaps)).returncode == 0
    assert run_cli("audit", str(book), "-q", "--snapshot", str(snaps)).returncode == 0
    proc = run_cli("compare", *sorted(str(p) for p in snaps.iterdir()))
    assert proc.returncode == 0, proc.stderr
    assert not any(b in proc.stdout for b in ESCAPE_BYTES)


# ----------------------------------------------------------------------------- personal data

EMBEDDED = {
    "Jane Doe <jane.doe@example.com>": "Jane Doe <j***@example.com>",
    "mailto:bob@shop.co.uk": "mailto:b***@shop.co.uk",
    "tel:+1-555-123-4567": "155****4567",
    "+1 (555) 123-4567 ext. 12": "155****4567",
    "(555) 123-4567 x12": "555***4567",
    "电话：13812345678": "138****5678",
    "a@b.cn; c@d.cn": "a***@b.cn; c***@d.cn",
    "Order C-1001 ext. 2": "Order C-1001 ext. 2",  # not a phone
}


@pytest.mark.parametrize("value,expected", EMBEDDED.items())
def test_mask_catches_embedded_emails_and_decorated_phones(value: str, expected: str) -> None:
    assert mask(value) == expected
    frame = pl.DataFrame({"v": [value]})
    assert frame.select(protect_expr(pl.col("v"), "mask"))["v"].item() == expected
    assert protect(value, "hash") == value or protect(value, "hash").startswith("h:")  # type: ignore[union-attr]


def _embedded_book(path: Path) -> Path:
    rows = [["Order ID", "Customer ID", "Order Date", "Amount"]]
    ids = [k for k, v in EMBEDDED.items() if k != v]
    for i, cid in enumerate(ids):
        day = dt.date(2024, 1, 1)
        for j in range(3):
            rows.append([f"{i}-{j}", cid, (day + dt.timedelta(days=30 * j + i)).isoformat(), str(10 + i + j)])
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _leaks(text: str) -> list[str]:
    needles = ["jane.doe@", "bob@shop", "555-123-4567", "123-4567", "13812345678", "a@b.cn", "c@d.cn"]
    return [n for n in needles if n in text]


def test_reports_and_tables_mask_embedded_personal_data(tmp_path: Path) -> None:
    book = _embedded_book(tmp_path / "o.csv")
    result = audit([book], Settings(top=50))
    write_excel(result, tmp_path / "r.xlsx")
    write_html(result, tmp_path / "r.html")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    cells = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    assert _leaks(cells) == []
    assert _leaks((tmp_path / "r.html").read_text(encoding="utf-8")) == []
    proc = run_cli("churn", str(book), "--top", "50")
    assert proc.returncode == 0 and _leaks(proc.stdout) == []


def test_inspect_masks_by_default(tmp_path: Path) -> None:
    book = _embedded_book(tmp_path / "o.csv")
    for fmt in ("table", "json"):
        proc = run_cli("inspect", str(book), "-f", fmt)
        assert proc.returncode == 0, proc.stderr
        assert _leaks(proc.stdout) == [], fmt
    proc = run_cli("inspect", str(book), "-f", "json", "--pii", "show")
    assert "jane.doe@example.com" in proc.stdout


def test_hash_without_a_key_uses_a_private_generated_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTINV_PII_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    pii_mod._key_cache.clear()
    token = pii_mod.keyed_hash("jane@example.com")
    key_file = tmp_path / "cfg" / "custinv" / "pii.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(key_file.read_text(encoding="utf-8").strip()) == 64
    assert "custinv-default-pii-key" not in Path(pii_mod.__file__).read_text(encoding="utf-8")
    pii_mod._key_cache.clear()
    assert pii_mod.keyed_hash("jane@example.com") == token  # stable across runs
    # through the CLI: said on stderr the first time, with the path
    book = _embedded_book(tmp_path / "o.csv")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg2")}
    proc = run_cli("audit", str(book), "-q", "--pii", "hash", "--html", str(tmp_path / "h.html"), env=env)
    assert proc.returncode == 0 and "pii.key" in proc.stderr and "CUSTINV_PII_KEY" in proc.stderr


def test_hash_refuses_when_no_key_can_be_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTINV_PII_KEY", raising=False)
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocked))
    pii_mod._key_cache.clear()
    with pytest.raises(ConfigError, match="CUSTINV_PII_KEY"):
        pii_mod.keyed_hash("jane@example.com")


# ----------------------------------------------------------------------------- xlsx and ids


def test_xml_illegal_characters_never_make_the_workbook_unreadable(tmp_path: Path) -> None:
    book = tmp_path / "o.csv"
    bad = ["x\ufffey", "z\uffff", "esc\x1bl", "v\x0bt"]
    rows = ["Order ID,Customer ID,Order Date,Amount,Region"]
    for i, value in enumerate(bad):
        rows += [f"{i}a,{value},2024-01-0{i + 1},10,{value}", f"{i}b,{value},2024-02-0{i + 1},12,{value}"]
    book.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = audit([book], Settings())
    write_excel(result, tmp_path / "r.xlsx", pii="show")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")  # raised on U+FFFE/U+FFFF before
    text = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "\ufffe" not in text and "\uffff" not in text and "x\ufffdy" in text


def test_look_alike_ids_stay_different_customers(tmp_path: Path) -> None:
    book = tmp_path / "o.csv"
    ids = ["A1", "Ａ1", "A\u200d1", "A\u200b1", "１２３", "123"]
    rows = ["Order ID,Customer ID,Order Date,Amount"]
    rows += [f"{i},{cid},2024-01-0{i + 1},10" for i, cid in enumerate(ids)]
    book.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = audit([book], Settings(clv=False))
    got = sorted(result.customers["customer_id"].to_list())
    # full-width digits fold (１２３ is 123); full-width letters and zero-width marks do not
    assert got == sorted(["A1", "Ａ1", "A\u200d1", "A\u200b1", "123"])
    assert result.customers.filter(pl.col("customer_id") == "123")["orders"].item() == 2


def test_json_output_keeps_ids_raw(tmp_path: Path) -> None:
    book = _embedded_book(tmp_path / "o.csv")
    proc = run_cli("customers", str(book), "-f", "json", "--no-clv")
    assert "jane.doe@example.com" in json.dumps(json.loads(proc.stdout), ensure_ascii=False)
