"""The corpus of bad inputs real exports produce, each with its expected exit code or partial result."""

from __future__ import annotations

import json

import pytest
from conftest import assert_accounting, run_cli

HEADER = "Customer ID,Order Date,Amount\n"
GOOD = "c1,2024-01-05,10.00\nc2,2024-01-06,20.00\nc3,2024-01-07,30.00\nc1,2024-01-08,5.00\n"


def audit(path, *extra):
    proc = run_cli("audit", str(path), "--format", "json", "--no-clv", *extra)
    data = json.loads(proc.stdout) if proc.returncode in (0, 3) else None
    return proc, data


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("empty.csv", b"", 65),
        ("header_only.csv", HEADER.encode(), 65),
        ("picture.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 65),
        ("nul.csv", (HEADER + "c1,2024-01-05,1\x00\x00\n").encode(), 65),
        ("nothing_maps.csv", b"Foo,Bar,Baz\n1,2,3\n", 65),
    ],
)
def test_unusable_inputs_fail_with_a_message(write, name, content, code):
    proc, _ = audit(write(name, content))
    assert proc.returncode == code, proc.stderr
    err = json.loads(proc.stderr)["error"]
    assert err["message"] and "Traceback" not in proc.stderr


def test_utf16_with_bom_reads(write):
    path = write("u16.csv", ("\ufeff" + HEADER + GOOD).encode("utf-16-le"))
    proc, data = audit(path)
    assert proc.returncode == 0, proc.stderr
    assert data["kpis"]["customers"] == 3 and data["kpis"]["revenue"] == pytest.approx(65.0)


def test_row_level_garbage_is_rejected_and_counted(write):
    bad = (
        "c4,not a date,5\n"      # bad_date
        "c5,2024-01-09,N/A\n"    # placeholder: missing amount
        "c6,2024-01-09,1e309\n"  # overflow: bad amount
        "c7,2024-01-09,NaN\n"    # placeholder: missing amount
        "c8,2024-01-10,7,extra\n"  # ragged row
    )
    path = write("garbage.csv", HEADER + GOOD + bad)
    proc, data = audit(path, "--max-reject-rate", "0.9")
    assert proc.returncode == 0, proc.stderr
    src = data["source"]
    assert_accounting(src)
    assert src["rows_read"] == 9 and src["rows_used"] == 4
    assert src["reject_reasons"] == {"ragged_row": 1, "bad_date": 1, "missing_amount": 2, "bad_amount": 1}
    assert data["kpis"]["revenue"] == pytest.approx(65.0)
    # over the default 10% the run refuses
    proc, _ = audit(path)
    assert proc.returncode == 65


def test_duplicated_header_and_footer_rows_are_excluded(write):
    text = HEADER + GOOD + HEADER + "c9,2024-01-11,1.00\n" + "Total,,66.00\n" + "\n\n"
    proc, data = audit(write("structure.csv", text))
    assert proc.returncode == 0, proc.stderr
    src = data["source"]
    assert src["rows_read"] == 7  # blank lines are not rows
    assert src["rows_excluded"] == {"footer": 1, "repeated_header": 1}
    assert data["kpis"]["customers"] == 4 and data["kpis"]["revenue"] == pytest.approx(66.0)


def test_ids_that_turn_alphanumeric_after_row_5000_stay_exact(write):
    numeric = "".join(f"{100000 + i},2024-02-{1 + i % 28:02d},1.00\n" for i in range(5000))
    mixed = "".join(f"AB{i:05d},2024-03-{1 + i % 28:02d},2.00\n" for i in range(50))
    long_ids = "1234567890123456789,2024-03-29,3.00\n0001234567890123456,2024-03-29,4.00\n"
    proc, data = audit(write("ids.csv", HEADER + numeric + mixed + long_ids))
    assert proc.returncode == 0, proc.stderr
    assert data["kpis"]["customers"] == 5052
    assert data["source"]["rows_rejected"] == 0
    proc = run_cli("customers", str(write("ids2.csv", HEADER + numeric + mixed + long_ids)), "--format", "csv", "--no-clv")
    ids = {line.split(",")[0] for line in proc.stdout.splitlines()[1:]}
    assert {"1234567890123456789", "0001234567890123456", "AB00049", "104999"} <= ids


def test_semicolon_decimal_comma_export(write):
    text = "Customer ID;Order Date;Amount\n" "K-1;05.03.2024;1.234,50\n" "K-2;06.03.2024;99,95\n" "K-1;17.03.2024;0,05\n"
    proc, data = audit(write("eu.csv", text, "cp1252"))
    assert proc.returncode == 0, proc.stderr
    assert data["kpis"]["revenue"] == pytest.approx(1334.5)
    assert data["as_of"] == "2024-03-17"
    assert data["source"]["files"][0]["delimiter"] == ";"


def test_truly_ambiguous_dates_fail_clearly(write):
    text = HEADER + "c1,01/02/2024,1\nc2,03/04/2024,2\nc3,05/06/2024,3\n"
    path = write("ambiguous.csv", text)
    proc, _ = audit(path)
    assert proc.returncode == 65
    assert "date-format" in json.loads(proc.stderr)["error"]["hint"]
    proc, data = audit(path, "--date-format", "%d/%m/%Y")
    assert proc.returncode == 0, proc.stderr
    assert data["as_of"] == "2024-06-05"
