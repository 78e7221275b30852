"""The Excel workbook: sheets, typed cells, KPI values equal to the JSON, formats, charts,
hostile strings stored as text, control characters replaced, the row cap."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from _report_data import HOSTILE_IDS, hostile_result

from custinv.render.excel import FMT_DATE, FMT_MONEY, write_excel
from custinv.render.i18n import label
from custinv.stocktake import AuditResult


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return hostile_result(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def workbook(result: AuditResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, openpyxl.Workbook]:
    path = tmp_path_factory.mktemp("xlsx") / "stocktake.xlsx"
    report = write_excel(result, path, lang="en", pii="mask")
    assert report.customers_written == report.customers_total == 8
    return path, openpyxl.load_workbook(path)


def test_sheet_names(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    assert workbook[1].sheetnames == ["Summary", "Customers", "Segments", "Cohorts", "Trends", "CLV", "Breakdowns",
                                      "Churn", "Rejects", "Definitions"]


def test_summary_kpis_equal_the_json(result: AuditResult, workbook: tuple[Path, openpyxl.Workbook]) -> None:
    ws = workbook[1]["Summary"]
    by_label = {row[0]: row[1] for row in ws.iter_rows(min_row=1, values_only=True) if row[0]}
    kpis = json.loads(json.dumps(result.stocktake.to_json_dict()))["kpis"]
    checked = 0
    for key, value in kpis.items():
        if value is None:
            continue
        cell = by_label[label("report:" + key, "en")]
        assert isinstance(cell, (int, float)), key
        assert cell == pytest.approx(value, abs=0.005 if isinstance(value, float) else 0), key
        checked += 1
    assert checked >= 12
    # the source accounting: read = used + excluded + rejected, as numbers
    src = result.stocktake.source
    assert by_label["Rows read"] == src.rows_read == 49
    assert by_label["Rows rejected"] == 1 and by_label["Rows used"] == 48


def test_customers_sheet_typed_and_formatted(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    ws = workbook[1]["Customers"]
    header = [c.value for c in ws[2]]
    assert header[:5] == ["Customer", "First order", "Last order", "Orders", "Revenue"]
    assert ws.freeze_panes == "B3"
    assert list(ws.tables) == ["Customers"] and ws.tables["Customers"].ref == f"A2:{ws.cell(2, len(header)).column_letter}10"
    first = ws[3]
    assert isinstance(first[1].value, dt.datetime) and first[1].number_format == FMT_DATE
    assert isinstance(first[3].value, int)
    assert isinstance(first[4].value, float) and first[4].number_format == FMT_MONEY
    assert first[4].value == 1239.0  # sorted by revenue: 13812345678 has 8 orders, 1239.00
    assert first[0].value == "138****5678"  # masked phone
    revenues = [r[4] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert revenues == sorted(revenues, reverse=True)
    assert ws.column_dimensions["A"].width >= len("=HYPERLINK(")


def test_hostile_strings_are_text_never_formulas(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    path, wb = workbook
    ids = {c.value: c for c in wb["Customers"]["A"][2:]}
    for hostile in HOSTILE_IDS:
        if hostile in ("jane.doe@example.com", "13812345678"):
            continue
        cell = ids[hostile]
        assert cell.data_type == "s", hostile
        if hostile[0] in "=+-@":
            assert cell.quotePrefix, hostile
    assert "j***@example.com" in ids
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode(), name


def test_charts_and_colour_scale(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    path, wb = workbook
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        xml = "".join(z.read(n).decode() for n in charts)
    assert len(charts) >= 7  # 4 segment charts + 3 trend lines
    assert "<barChart>" in xml and "<pieChart>" in xml and "<lineChart>" in xml
    rules = list(wb["Cohorts"].conditional_formatting)
    assert rules and rules[0].rules[0].type == "colorScale"


def test_rejects_sheet(result: AuditResult, workbook: tuple[Path, openpyxl.Workbook]) -> None:
    rows = list(workbook[1]["Rejects"].iter_rows(min_row=3, values_only=True))
    assert len(rows) == 1
    assert rows[0][1:] == (50, "Order Date", "not a date", "unreadable date")


def test_lang_zh_and_pii_show(result: AuditResult, tmp_path: Path) -> None:
    path = tmp_path / "zh.xlsx"
    write_excel(result, path, lang="zh", pii="show")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["概览", "客户明细"]
    ids = [c.value for c in wb["客户明细"]["A"][2:]]
    assert "jane.doe@example.com" in ids and "13812345678" in ids
    assert wb["客户明细"]["K3"].value in ("高频客户", "低频客户", "一次性客户")
    assert path.stat().st_mode & 0o777 == 0o600


def test_control_characters_replaced_and_counted(result: AuditResult, tmp_path: Path) -> None:
    dirty = result.customers.with_columns(
        pl.when(pl.col("customer_id") == "C-1001").then(pl.lit("Bell\x07 and\x00null")).otherwise(pl.col("region"))
        .alias("region"))
    bad = dataclasses.replace(result, customers=dirty)
    report = write_excel(bad, tmp_path / "dirty.xlsx")
    assert report.control_chars_replaced == 2
    wb = openpyxl.load_workbook(tmp_path / "dirty.xlsx")
    regions = [r[-1] for r in wb["Customers"].iter_rows(min_row=3, values_only=True)]
    assert "Bell\ufffd and\ufffdnull" in regions
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Control characters replaced"] == 2


def test_customers_capped_at_the_row_limit(result: AuditResult, tmp_path: Path) -> None:
    report = write_excel(result, tmp_path / "capped.xlsx", max_rows=5)
    assert report.capped and report.customers_written == 3
    ws = openpyxl.load_workbook(tmp_path / "capped.xlsx")["Customers"]
    assert "top 3 of 8" in ws["A1"].value and "--customers" in ws["A1"].value
    assert ws.max_row == 5
