"""read_table on the ugly inputs real exports come as; exact rows_read, header_row and line numbers."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custinv.ingest.readers import (
    LINE,
    RAGGED,
    BadInput,
    RawTable,
    UnreadableInput,
    expand_inputs,
    read_table,
)
from custinv.ingest.sniff import structural_row_codes


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def rows(t: RawTable) -> list[tuple]:
    assert isinstance(t.frame, pl.DataFrame)
    return t.frame.drop(RAGGED).rows()


def assert_all_text(t: RawTable) -> None:
    schema = t.frame.collect_schema()
    assert schema[LINE] == pl.Int64 and schema[RAGGED] == pl.Boolean
    assert all(dtype == pl.String for name, dtype in schema.items() if name not in (LINE, RAGGED))


# --- csv basics -----------------------------------------------------------------------------


def test_plain_csv_keeps_text_exactly(tmp_path: Path) -> None:
    p = write(tmp_path, "o.csv", "Customer ID,Order Date,Amount\n00017,2024-03-05,1e309\n18,2024-03-06,N/A\n")
    t = read_table(p)
    assert_all_text(t)
    assert (t.format, t.encoding, t.delimiter, t.header_row, t.rows_read, t.skipped_blank) == (
        "csv", "utf-8", ",", 1, 2, 0,
    )
    assert rows(t) == [("00017", "2024-03-05", "1e309", 2), ("18", "2024-03-06", "N/A", 3)]
    assert t.header_cells == ["Customer ID", "Order Date", "Amount"]


def test_empty_file(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "e.csv", b""))
    assert (t.rows_read, t.header_row, t.skipped_blank) == (0, None, 0)
    assert "empty file" in t.notes


def test_only_blank_lines(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "b.csv", "\n\r\n  \n"))
    assert (t.rows_read, t.header_row, t.skipped_blank) == (0, None, 3)


@pytest.mark.parametrize("data", ["Customer,Date,Amount\n", "Customer,Date,Amount", "Customer,Date,Amount\n\n\n"])
def test_header_only(tmp_path: Path, data: str) -> None:
    t = read_table(write(tmp_path, "h.csv", data))
    assert (t.rows_read, t.header_row) == (0, 1)
    assert t.columns == ["Customer", "Date", "Amount"]
    assert_all_text(t)


def test_blank_lines_are_not_rows_and_lines_stay_physical(tmp_path: Path) -> None:
    p = write(tmp_path, "b.csv", "a,b\n1,2\n\n3,4\n , \n,\n5,6\n\n")
    t = read_table(p)
    assert (t.rows_read, t.skipped_blank) == (3, 4)
    assert rows(t) == [("1", "2", 2), ("3", "4", 4), ("5", "6", 7)]


@pytest.mark.parametrize("eol", ["\r\n", "\r", "\n"])
def test_line_endings_and_embedded_newlines(tmp_path: Path, eol: str) -> None:
    lines = ["id,note,amount", '1,"first', 'second",10', "", '2,"a,b ""q""",20', '3,"x', "", 'z",30']
    p = write(tmp_path, "e.csv", eol.join(lines) + eol)
    t = read_table(p)
    assert t.rows_read == 3 and t.skipped_blank == 1
    got = rows(t)
    assert [(r[0], r[2], r[3]) for r in got] == [("1", "10", 2), ("2", "20", 5), ("3", "30", 6)]
    assert got[0][1].splitlines() == ["first", "second"]
    assert got[1][1] == 'a,b "q"'
    if eol == "\r":
        assert "CR line endings" in t.notes


@pytest.mark.parametrize(("sep", "name"), [(";", "semi.csv"), ("\t", "tab.tsv"), ("|", "pipe.txt")])
def test_delimiters(tmp_path: Path, sep: str, name: str) -> None:
    body = sep.join(["Customer", "Amount", "Note"]) + "\n" + sep.join(["A", "1,50", '"x, y"']) + "\n"
    t = read_table(write(tmp_path, name, body))
    assert t.delimiter == sep
    assert rows(t) == [("A", "1,50", "x, y", 2)]


def test_delimiter_override(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "x.csv", "a;b,c\n1;2,3\n"), delimiter=",")
    assert t.columns == ["a;b", "c"]


def test_duplicate_and_empty_header_names(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "d.csv", "Total,Total,,Name\n1,2,3,4\n"))
    assert t.columns == ["Total", "Total_2", "column_3", "Name"]
    assert rows(t) == [("1", "2", "3", "4", 2)]


# --- title rows, header override ---------------------------------------------------------------


TITLED = (
    "Opportunity Report\n"
    "As of 2024-03-08,,\n"
    "\n"
    "Account Name,Close Date,Amount\n"
    "Acme,3/5/2024,100\n"
    "Total Wine & More,3/6/2024,200\n"
)


def test_title_rows_above_header(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "t.csv", TITLED))
    assert (t.header_row, t.rows_read, t.skipped_blank) == (4, 2, 1)
    assert t.columns == ["Account Name", "Close Date", "Amount"]
    assert rows(t) == [("Acme", "3/5/2024", "100", 5), ("Total Wine & More", "3/6/2024", "200", 6)]
    assert any("title line" in n for n in t.notes)


def test_header_row_override(tmp_path: Path) -> None:
    p = write(tmp_path, "t.csv", TITLED)
    t = read_table(p, header_row=5)
    assert t.header_row == 5 and t.columns == ["Acme", "3/5/2024", "100"]
    assert rows(t) == [("Total Wine & More", "3/6/2024", "200", 6)]
    with pytest.raises(BadInput) as e:
        read_table(p, header_row=3)  # a blank line
    assert e.value.exit_code == 65 and e.value.hint


def test_header_scorer_chooses_the_header(tmp_path: Path) -> None:
    text = "Name,Comment\nExport,by admin\nCustomer ID,Amount\nC1,5\n"

    def knows(cells: list[str]) -> float:
        return sum(c in {"Customer ID", "Amount"} for c in cells)

    assert read_table(write(tmp_path, "s.csv", text)).header_row == 1
    t = read_table(write(tmp_path, "s2.csv", text), header_score=knows)
    assert (t.header_row, t.rows_read, rows(t)) == (3, 1, [("C1", "5", 4)])


# --- ragged rows, footers, repeated headers ----------------------------------------------------


def test_ragged_rows_are_kept_and_marked(tmp_path: Path) -> None:
    p = write(tmp_path, "r.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9\n10,11,12,,\n13,14,15,,x\n")
    t = read_table(p)
    assert t.rows_read == 5
    assert t.frame.select("a", LINE, RAGGED).rows() == [
        ("1", 2, False),
        ("4", 3, True),  # one cell more than the header
        ("8", 4, False),  # short: padded
        ("10", 5, False),  # only empty cells beyond the header
        ("13", 6, True),
    ]
    assert t.frame.row(2) == ("8", "9", None, 4, False)


def test_salesforce_footer_and_repeated_header(tmp_path: Path) -> None:
    text = (
        '"Account Name","Opportunity Name","Close Date","Amount"\n'
        '"Total Wine & More","Q1 restock","3/5/2024","$1,200.00"\n'
        '"Account Name","Opportunity Name","Close Date","Amount"\n'
        '"Acme","Renewal","3/6/2024","$300.00"\n'
        '"Grand Totals (2 records)","","","$1,500.00"\n'
        "\n"
        '"Opportunity Report"\n'
        '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."\n'
        '"Confidential Information - Do Not Distribute"\n'
        '"Generated By:  Jane Admin  3/8/2024 10:00 AM"\n'
        '"Acme Corp"\n'
    )
    t = read_table(write(tmp_path, "sf.csv", text))
    assert (t.header_row, t.rows_read, t.skipped_blank) == (1, 9, 1)
    codes = structural_row_codes(t.frame, t.header_cells).to_list()
    lines = t.frame[LINE].to_list()
    assert dict(zip(lines, codes, strict=True)) == {
        2: None,
        3: "repeated_header",
        4: None,
        5: "footer",
        7: "footer",
        8: "footer",
        9: "footer",
        10: "footer",
        11: "footer",
    }
    via_expr = t.frame.select(t.structural_rows().alias("s"))["s"].to_list()  # what the ledger uses
    assert via_expr == codes


# --- encodings --------------------------------------------------------------------------------

ZH = "客户编号,下单时间,实付金额\nC001,2024年3月5日,￥100.00\nC002,2024年3月6日,￥5\n"


@pytest.mark.parametrize(
    ("bom", "codec", "label"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
    ],
)
def test_bom_encodings(tmp_path: Path, bom: bytes, codec: str, label: str) -> None:
    t = read_table(write(tmp_path, "zh.csv", bom + ZH.replace("\n", "\r\n").encode(codec)))
    assert t.encoding == label
    assert t.columns == ["客户编号", "下单时间", "实付金额"]
    assert rows(t) == [("C001", "2024年3月5日", "￥100.00", 2), ("C002", "2024年3月6日", "￥5", 3)]
    assert any("BOM" in n for n in t.notes)


def test_utf16_without_bom(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "u.csv", "Customer,Amount\nA,1\n".encode("utf-16-le")))
    assert t.encoding == "utf-16-le" and rows(t) == [("A", "1", 2)]


def test_gb18030_chinese_headers(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "gbk.csv", ZH.encode("gbk")))
    assert t.encoding == "gb18030"
    assert t.columns == ["客户编号", "下单时间", "实付金额"]
    assert rows(t)[0] == ("C001", "2024年3月5日", "￥100.00", 2)
    assert "transcoded from gb18030" in t.notes


def test_cp1252_even_when_gb18030_also_decodes(tmp_path: Path) -> None:
    text = "Kunde,Straße,Betrag\nMüller,Hauptstraße 5,12\n"
    raw = text.encode("cp1252")
    raw.decode("gb18030")  # both decode: the choice must not be by order alone
    t = read_table(write(tmp_path, "de.csv", raw))
    assert t.encoding == "cp1252"
    assert t.columns == ["Kunde", "Straße", "Betrag"] and rows(t) == [("Müller", "Hauptstraße 5", "12", 2)]


def test_encoding_override(tmp_path: Path) -> None:
    p = write(tmp_path, "o.csv", "Name,Amount\nCafé,1\n".encode("latin-1"))
    t = read_table(p, encoding="latin-1")
    assert t.encoding == "iso8859-1" and rows(t) == [("Café", "1", 2)]
    with pytest.raises(BadInput):
        read_table(p, encoding="no-such-codec")
    with pytest.raises(BadInput):
        read_table(write(tmp_path, "z.csv", ZH.encode("gbk")), encoding="utf-8")


def test_non_utf8_after_the_sniffed_sample(tmp_path: Path) -> None:
    body = "Customer,Amount\n" + "A,1\n" * 300_000 + "Café,2\n"
    p = write(tmp_path, "late.csv", body.encode("cp1252"))
    assert p.stat().st_size > 1 << 20
    t = read_table(p)
    # the file is UTF-8 (ASCII) but for one line: only that line is decoded otherwise, with a warning
    assert t.encoding == "utf-8" and t.rows_read == 300_001
    assert any("1 line(s) not UTF-8" in n and "300002 (cp1252)" in n for n in t.notes), t.notes
    assert t.frame.row(-1) == ("Café", "2", 300_002, False)


def test_undecodable_bytes_raise(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252 and an incomplete GB18030 sequence before a newline.
    with pytest.raises(BadInput) as e:
        read_table(write(tmp_path, "x.csv", b"a,b\n1,\x81\n"))
    assert e.value.exit_code == 65


# --- binary and unreadable ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"PK\x03\x04\x14\x00\x06\x00",
        b"Customer,Amount\nA,1\x00\x00\nB,2\n",
    ],
)
def test_binary_and_nul_bytes(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(BadInput) as e:
        read_table(write(tmp_path, "bin.csv", data))
    assert e.value.exit_code == 65 and e.value.hint


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput) as e:
        read_table(tmp_path / "nope.csv")
    assert e.value.exit_code == 66 and "nope.csv" in e.value.message
    with pytest.raises(UnreadableInput):
        read_table(tmp_path)


def test_expand_inputs(tmp_path: Path) -> None:
    for m in ("2024-02", "2024-01", "2024-03"):
        write(tmp_path, f"orders-{m}.csv", "a\n1\n")
    got = expand_inputs([str(tmp_path / "orders-2024-0[12].csv"), str(tmp_path / "orders-*.csv")])
    assert [p.name for p in got] == ["orders-2024-01.csv", "orders-2024-02.csv", "orders-2024-03.csv"]
    with pytest.raises(UnreadableInput, match="no file matches"):
        expand_inputs([str(tmp_path / "*.xlsx")])
    with pytest.raises(UnreadableInput, match="missing.csv"):
        expand_inputs([str(tmp_path / "missing.csv")])
    with pytest.raises(UnreadableInput) as e:
        expand_inputs([str(tmp_path)])
    assert e.value.hint and "*.csv" in e.value.hint


# --- xlsx ------------------------------------------------------------------------------------


def make_workbook(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes["A1"] = "Read me first"
    data = wb.create_sheet("Orders")
    data["B2"] = "Sales Report 2024"  # title row; the table starts in column B
    data["B4"], data["C4"], data["D4"], data["E4"] = "Customer", "Order Date", "Amount", "Qty"
    data.append([None, "A", dt.datetime(2024, 3, 5, 14, 22), 12.5, 3])  # row 5
    data.append([None, "B", dt.date(2024, 3, 6), 12.0, "x"])  # row 6
    data.append([])  # row 7 blank
    data.append([None, "C", 45000, 17850.0, 1])  # row 8: an Excel serial stays a number
    other = wb.create_sheet("Returns")
    other.append(["Customer", "Amount"])
    other.append(["Z", -5])
    wb.save(path)


def test_xlsx_title_rows_and_default_sheet(tmp_path: Path) -> None:
    p = tmp_path / "book.xlsx"
    make_workbook(p)
    t = read_table(p)
    assert_all_text(t)
    assert (t.format, t.sheet, t.header_row, t.rows_read, t.skipped_blank) == ("xlsx", "Orders", 4, 3, 3)
    assert t.columns == ["Customer", "Order Date", "Amount", "Qty"]
    assert rows(t) == [
        ("A", "2024-03-05 14:22:00", "12.5", "3", 5),
        ("B", "2024-03-06", "12", "x", 6),
        ("C", "45000", "17850", "1", 8),
    ]


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    p = tmp_path / "book.xlsx"
    make_workbook(p)
    by_name = read_table(p, sheet="returns")
    by_index = read_table(p, sheet=3)
    for t in (by_name, by_index):
        assert (t.sheet, t.header_row, rows(t)) == ("Returns", 1, [("Z", "-5", 2)])
    notes = read_table(p, sheet=1)
    assert (notes.sheet, notes.header_row, notes.rows_read) == ("Notes", 1, 0)
    with pytest.raises(BadInput) as e:
        read_table(p, sheet="Missing")
    assert "Orders" in (e.value.hint or "")
    with pytest.raises(BadInput):
        read_table(p, sheet=9)
    t = read_table(p, sheet="Orders", header_row=5)
    assert t.columns == ["A", "2024-03-05 14:22:00", "12.5", "3"] and t.rows_read == 2


def test_xlsx_that_is_not_a_workbook(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        read_table(write(tmp_path, "fake.xlsx", "a,b\n1,2\n"))


# --- parquet / json ----------------------------------------------------------------------------


def test_parquet_cast_to_text(tmp_path: Path) -> None:
    p = tmp_path / "o.parquet"
    pl.DataFrame(
        {
            "customer_id": [17850, None, 12],
            "order_date": [dt.date(2024, 3, 5), None, dt.date(2024, 3, 7)],
            "ts": [dt.datetime(2024, 3, 5, 14, 22, 10), None, dt.datetime(2024, 3, 7)],
            "amount": [12.0, None, 0.5],
            "vip": [True, None, False],
        }
    ).write_parquet(p)
    t = read_table(p)
    assert_all_text(t)
    assert (t.format, t.rows_read, t.skipped_blank) == ("parquet", 2, 1)
    assert rows(t) == [
        ("17850", "2024-03-05", "2024-03-05 14:22:10", "12", "true", 1),
        ("12", "2024-03-07", "2024-03-07 00:00:00", "0.5", "false", 3),
    ]


def test_json_array_and_ndjson(tmp_path: Path) -> None:
    recs = [
        {"id": 1234567890123456789, "amount": 12.5, "date": "2024-03-05"},
        {"id": "A-7", "amount": 3, "date": "2024-03-06", "extra": [1, 2]},
    ]
    arr = read_table(write(tmp_path, "o.json", json.dumps(recs)))
    nd = read_table(write(tmp_path, "o.ndjson", "\n".join(json.dumps(r) for r in recs) + "\n"))
    nd_as_json = read_table(write(tmp_path, "o2.json", "\n".join(json.dumps(r) for r in recs)))
    assert (arr.format, nd.format, nd_as_json.format) == ("json", "ndjson", "ndjson")
    for t in (arr, nd, nd_as_json):
        assert_all_text(t)
        assert t.rows_read == 2
        got = t.frame.select("id", "amount", "date", LINE).rows()
        assert t.frame["extra"].to_list() == [None, "[1,2]"]
        assert got == [("1234567890123456789", "12.5", "2024-03-05", 1), ("A-7", "3", "2024-03-06", 2)]


# --- property: any table written by csv.writer reads back with its physical line numbers ---------

cell = st.text(alphabet=st.sampled_from(list('ab,;" \n1é客')), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(st.lists(cell, min_size=3, max_size=3), max_size=8),
    blanks=st.lists(st.booleans(), min_size=9, max_size=9),
    eol=st.sampled_from(["\n", "\r\n"]),
)
def test_roundtrip_line_numbers(tmp_path: Path, body: list[list[str]], blanks: list[bool], eol: str) -> None:
    # Force every data row to have a non-blank first cell so no row is blank by content.
    body = [["k" + r[0], *r[1:]] for r in body]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    w.writerow(["Key", "Value", "Note"])
    expected: list[tuple] = []
    line = 2
    for i, r in enumerate(body):
        if blanks[i]:
            buf.write(eol)
            line += 1
        w.writerow(r)
        expected.append((*[(c if c else None) for c in r], line))
        line += 1 + sum(c.count("\n") for c in r)
    p = write(tmp_path, "prop.csv", buf.getvalue().encode("utf-8"))
    t = read_table(p, delimiter=",", header_row=1)
    got = [tuple(v.replace("\r\n", "\n") if isinstance(v, str) else v for v in row) for row in rows(t)]
    assert got == expected
    assert t.rows_read == len(body) and t.skipped_blank == sum(blanks[: len(body)])
