"""The Changes, Customer book and Service sheets / sections of the Excel and HTML reports.

The README's flow is run for real (``--as-of 2023-12-31 --snapshot DIR``, then the same
without as-of): the first run has no Changes sheet, the second has one whose numbers equal
``custinv compare`` on the two snapshot folders; the book and service sheets equal the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import html5lib
import openpyxl
import pytest
from _report_data import hostile_result
from conftest import EXAMPLES, run_cli

from custinv.changes import changes_for_run, previous_snapshot, run_snapshot
from custinv.models import Comparison
from custinv.render.book_views import kpi_kind, shown_deltas
from custinv.render.excel import write_excel
from custinv.render.html import render_html
from custinv.render.i18n import label

NS = "{http://www.w3.org/1999/xhtml}"
INPUTS = (str(EXAMPLES / "salesforce_opportunities.csv"), "--customers-file", str(EXAMPLES / "crm_accounts.csv"),
          "--tickets", str(EXAMPLES / "tickets.csv"), "--no-clv")  # CLV only changes "value"; skipped for speed


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two audits with --snapshot (README flow), and `custinv compare` on the two snapshots."""
    tmp = tmp_path_factory.mktemp("book_reports")
    snaps = tmp / "stocktakes"
    out: dict[str, Any] = {"tmp": tmp, "snaps": snaps}
    for name, extra in (("first", ("--as-of", "2023-12-31")), ("second", ())):
        proc = run_cli("audit", *INPUTS, *extra, "--snapshot", str(snaps), "--excel", str(tmp / f"{name}.xlsx"),
                       "--html", str(tmp / f"{name}.html"), "--format", "json")
        assert proc.returncode == 0, proc.stderr
        out[name] = {"json": json.loads(proc.stdout), "stderr": proc.stderr,
                     "wb": openpyxl.load_workbook(tmp / f"{name}.xlsx"),
                     "html": (tmp / f"{name}.html").read_text(encoding="utf-8")}
    new_as_of = out["second"]["json"]["as_of"]
    proc = run_cli("compare", str(snaps / "2023-12-31"), str(snaps / new_as_of), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out["compare"] = json.loads(proc.stdout)
    return out


# ----------------------------------------------------------------------------- helpers


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def _table_after(ws: Any, first_header: str, start: int = 0) -> tuple[int, list[Any], list[tuple[Any, ...]]]:
    """(row index, header, body rows) of the first table whose header starts with ``first_header``."""
    rows = _rows(ws)
    for i in range(start, len(rows)):
        if rows[i][0] == first_header:
            body = []
            for r in rows[i + 1:]:
                if all(v is None for v in r):
                    break
                body.append(r)
            return i, list(rows[i]), body
    raise AssertionError(f"no table headed {first_header!r} in {ws.title}")


def _facts(ws: Any) -> dict[str, Any]:
    _, _, body = _table_after(ws, label("report:metric", "en"))
    return {r[0]: r[1] for r in body}


def _cell_with(ws: Any, value: str) -> Any:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == value:
                return cell
    raise AssertionError(f"{value!r} not in {ws.title}")


def _tree(text: str) -> Any:
    return html5lib.parse(text, namespaceHTMLElements=True)


def _text(el: Any) -> str:
    return "".join(el.itertext())


def _section(tree: Any, sid: str) -> Any:
    return tree.find(f".//{NS}section[@id='{sid}']")


# ----------------------------------------------------------------------------- the flow


def test_first_run_has_no_changes_the_second_has(runs: dict[str, Any]) -> None:
    first, second = runs["first"], runs["second"]
    assert "Changes" not in first["wb"].sheetnames
    assert first["wb"].sheetnames[-4:] == ["Customer book", "Service", "Rejects", "Definitions"]
    assert _section(_tree(first["html"]), "changes") is None
    assert "Changes since" not in first["stderr"]
    # the second run: Changes right after the Summary, the console hint on stderr
    assert second["wb"].sheetnames[:3] == ["Summary", "Changes", "Customers"]
    assert "Changes since 2023-12-31: Customers gained +1 · Customers lost −1" in second["stderr"]
    # JSON output of audit stays the contract object (no comparison in it)
    assert "kpi_deltas" not in second["json"] and "comparison" not in second["json"]
    assert set(second["json"]) >= {"kpis", "service", "customer_book"}


def test_changes_header_and_counts(runs: dict[str, Any]) -> None:
    ws, cmp = runs["second"]["wb"]["Changes"], runs["compare"]
    assert ws["A1"].value == f"{label('book:comparison', 'en')}: 2023-12-31 → {cmp['new']['as_of']}"
    facts = _facts(ws)
    assert facts["Customers gained"] == cmp["customers_gained"] == 1
    assert facts["Customers lost"] == cmp["customers_lost"] == 1


def test_changes_kpi_deltas_equal_compare(runs: dict[str, Any]) -> None:
    ws, cmp = runs["second"]["wb"]["Changes"], runs["compare"]
    top, head, body = _table_after(ws, label("report:metric", "en"), start=5)
    assert head[:4] == ["Metric", "Before", "After", "Change"]
    by_label = {r[0]: r for r in body}
    shown = shown_deltas(Comparison.model_validate(cmp))
    assert len(body) == len(shown) >= 30
    for key, d in shown:
        row = by_label[label("book:" + key, "en")]
        kind = kpi_kind(key)
        for got, want in ((row[1], d.old), (row[2], d.new)):
            assert got == (None if want is None else pytest.approx(want, abs=1e-6)), key
        want_delta = None if d.delta is None else d.delta * (100 if kind == "rate" else 1)
        assert row[3] == (None if want_delta is None else pytest.approx(want_delta, abs=1e-4)), key
    # typed and formatted: revenue is money, churn rate a percentage, its change in points
    revenue = _cell_with(ws, "Revenue")
    assert ws.cell(revenue.row, 3).value == pytest.approx(593100.0)
    assert ws.cell(revenue.row, 3).number_format == "\"$\"#,##0.00;-\"$\"#,##0.00"  # money names its currency
    churn = _cell_with(ws, "Churn rate")
    assert ws.cell(churn.row, 2).number_format == "0.0%"
    assert ws.cell(churn.row, 4).number_format.endswith('" pp"')
    assert ws.cell(churn.row, 4).value == pytest.approx((cmp["kpi_deltas"]["churn_rate"]["delta"]) * 100, abs=1e-4)


@pytest.mark.parametrize("axis", ["rfm_segment", "value_tier", "lifecycle_stage"])
def test_migration_grids_equal_compare(runs: dict[str, Any], axis: str) -> None:
    ws, cmp = runs["second"]["wb"]["Changes"], runs["compare"]
    cells = cmp["migrations"][axis]
    names = {label("book:" + c[k], "en"): c[k] for c in cells for k in ("from", "to")}
    for measure in ("customers", "revenue"):
        title = f"{label('book:migration', 'en')}: {label('book:' + axis, 'en')} — {label('book:migration_' + measure, 'en')}"
        title_row = _cell_with(ws, title).row
        _, head, body = _table_after(ws, f"{label('book:' + axis, 'en')} ↓ / →", start=title_row)
        grid = {(names[r[0]], names[to]): v for r in body for to, v in zip(head[1:], r[1:], strict=False)
                if to is not None}
        want = {(c["from"], c["to"]): c[measure] for c in cells}
        assert {k for k, v in grid.items() if v is not None} == set(want)
        for key, value in want.items():
            assert grid[key] == pytest.approx(value, abs=0.005)
        if measure == "customers":  # every customer of either snapshot with a class is in exactly one cell
            assert sum(v for v in grid.values() if v is not None) == sum(c["customers"] for c in cells)
            assert all(isinstance(v, int) for v in grid.values() if v is not None)


def test_gained_lost_and_movers_equal_compare(runs: dict[str, Any]) -> None:
    ws, cmp = runs["second"]["wb"]["Changes"], runs["compare"]
    rows = _rows(ws)
    for key in ("gained_customers", "lost_customers"):
        start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith(label("book:" + key, "en")))
        _, _, body = _table_after(ws, "Customer", start=start)
        assert [r[0] for r in body] == [c["customer_id"] for c in cmp[key]]
        for r, c in zip(body, cmp[key], strict=True):
            assert r[2] == pytest.approx(c["value"], abs=0.005) and r[3] == pytest.approx(c["revenue"], abs=0.005)
    start = next(i for i, r in enumerate(rows) if r[0] == label("book:movers", "en"))
    _, head, body = _table_after(ws, "Customer", start=start)
    assert [r[0] for r in body] == [m["customer_id"] for m in cmp["movers"]]
    first = cmp["movers"][0]
    assert body[0][1] == pytest.approx(first["value"], abs=0.005)
    assert (body[0][2], body[0][3]) == (pytest.approx(first["revenue_old"]), pytest.approx(first["revenue_new"]))
    axis, (old, new) = next(iter(first["changes"].items()))
    assert body[0][head.index(label("book:" + axis, "en"))] == f"{label('book:' + old, 'en')} → {label('book:' + new, 'en')}"


def test_customer_book_sheet_equals_json(runs: dict[str, Any]) -> None:
    ws, book = runs["second"]["wb"]["Customer book"], runs["second"]["json"]["customer_book"]
    facts = _facts(ws)
    conv = book["conversion"]
    for key, want in (("accounts", book["accounts"]), ("buyers", book["buyers"]), ("prospects", book["prospects"]),
                      ("customers_missing_from_master", book["customers_missing_from_master"]),
                      ("accounts_eligible", conv["accounts_eligible"]), ("converted", conv["converted"]),
                      ("within_days", conv["within_days"])):
        assert facts[label("book:" + key, "en")] == want, key
        assert isinstance(facts[label("book:" + key, "en")], int)
    assert facts["Accounts in the master"] == 17 and facts["Prospects (never bought)"] == 5
    assert facts["Prospect share"] == pytest.approx(book["prospect_share"], abs=1e-6)
    assert facts["Conversion rate"] == pytest.approx(conv["conversion_rate"], abs=1e-6) == pytest.approx(0.6)
    assert facts["Median days to first order"] == pytest.approx(conv["median_days_to_first_order"], abs=1e-6)
    assert _cell_with(ws, "Prospect share").offset(column=1).number_format == "0.0%"
    _, head, body = _table_after(ws, "Period")
    assert [r[0] for r in body] == [p["period"] for p in conv["periods"]]
    for r, p in zip(body, conv["periods"], strict=True):
        assert (r[1], r[2]) == (p["accounts"], p["converted"])
        assert r[3] == pytest.approx(p["conversion_rate"], abs=1e-6)
    # buyers missing from the master: a header and none listed for this book
    _, head, body = _table_after(ws, "Customer")
    assert head[:3] == ["Customer", "Orders", "Revenue"] and body == [] == book["missing_customers"]


def test_service_sheet_equals_json(runs: dict[str, Any]) -> None:
    ws, svc = runs["second"]["wb"]["Service"], runs["second"]["json"]["service"]
    facts = _facts(ws)
    for key, want in svc["kpis"].items():
        got = facts[label("book:" + key, "en")]
        assert isinstance(got, (int, float)), key
        assert got == pytest.approx(want, abs=1e-6), key
    assert facts["Tickets"] == 14 and facts["Complaints"] == 6
    assert facts[label("book:sla_hours", "en")] == 48
    assert _cell_with(ws, "Complaint rate").offset(column=1).number_format == "0.0%"
    _, _, body = _table_after(ws, label("book:ticket_type", "en"))
    assert {r[0]: r[1] for r in body} == {label(f"book:kind.{k}", "en"): n for k, n in svc["by_type"].items()}
    _, head, body = _table_after(ws, "Period")
    assert [r[0] for r in body] == [p["period"] for p in svc["by_period"]]
    col = head.index("Complaint rate")
    for r, p in zip(body, svc["by_period"], strict=True):
        assert r[head.index("Tickets")] == p["tickets"]
        assert r[col] == (None if p["complaint_rate"] is None else pytest.approx(p["complaint_rate"], abs=1e-6))
    _, head, body = _table_after(ws, "Axis")
    assert len(body) == len(svc["by_segment"])
    assert sum(r[head.index("Tickets")] for r in body if r[0] == "Value tier") == \
        sum(s["tickets"] for s in svc["by_segment"] if s["axis"] == "value_tier")
    _, head, body = _table_after(ws, label("book:churn_by_complaint", "en"), start=5)
    groups = {r[0]: r for r in body}
    for g in svc["churn_by_complaint"]:
        row = groups[label("book:" + g["group"], "en")]
        assert (row[1], row[2]) == (g["customers"], g["churned"])
        assert row[3] == pytest.approx(g["churn_rate"], abs=1e-6)


# ----------------------------------------------------------------------------- HTML


def test_html_sections_in_order_with_values(runs: dict[str, Any]) -> None:
    text, data, cmp = runs["second"]["html"], runs["second"]["json"], runs["compare"]
    tree = _tree(text)
    ids = [s.get("id") for s in tree.iter(f"{NS}section")]
    assert ids.index("kpis") < ids.index("changes") < ids.index("base")
    assert ids.index("book") < ids.index("service") < ids.index("quality")
    changes = _section(tree, "changes")
    assert _text(changes.find(f".//{NS}h2")) == "Changes since 2023-12-31"
    revenue = changes.find(f".//{NS}tr[@data-kpi='revenue']")
    cells = [_text(td) for td in revenue.findall(f"{NS}td")]
    assert cells == ["Revenue", "$405,950.00", "$593,100.00", "+$187,150.00"]
    churn = [_text(td) for td in changes.find(f".//{NS}tr[@data-kpi='churn_rate']").findall(f"{NS}td")]
    d = cmp["kpi_deltas"]["churn_rate"]
    assert churn[1:] == [f"{d['old'] * 100:.1f}%", f"{d['new'] * 100:.1f}%", f"{d['delta'] * 100:+.1f} pp"]
    for axis, cells_ in cmp["migrations"].items():
        grid = changes.find(f".//{NS}table[@data-axis='{axis}']")
        counts = [int(_text(b).replace(",", "")) for b in grid.iter(f"{NS}b")]
        assert sorted(counts) == sorted(c["customers"] for c in cells_)
    service = _section(tree, "service")
    cards = {c.get("data-kpi"): _text(c) for c in service.iter(f"{NS}div") if c.get("data-kpi")}
    k = data["service"]["kpis"]
    assert f"{k['tickets']}" in cards["tickets"] and f"{k['complaint_rate'] * 100:.1f}%" in cards["complaint_rate"]
    assert f"{k['nps']:.1f}" in cards["nps"]
    book = _section(tree, "book")
    conv_rows = book.find(f".//{NS}table[@class='conversion']").findall(f"{NS}tbody/{NS}tr")[1:]
    assert len(conv_rows) == len(data["customer_book"]["conversion"]["periods"])
    assert "17" in _text(book) and "Prospects (never bought)" in _text(book)


def test_compare_with_an_explicit_snapshot_in_chinese(runs: dict[str, Any]) -> None:
    tmp, snaps = runs["tmp"], runs["snaps"]
    proc = run_cli("audit", *INPUTS, "--compare-with", str(snaps / "2023-12-31"), "--lang", "zh",
                   "--excel", str(tmp / "zh.xlsx"), "--html", str(tmp / "zh.html"), "-q")
    assert proc.returncode == 0, proc.stderr
    wb = openpyxl.load_workbook(tmp / "zh.xlsx")
    assert wb.sheetnames[:2] == ["概览", "盘点变化"] and {"客户档案", "服务质量"} <= set(wb.sheetnames)
    tree = _tree((tmp / "zh.html").read_text(encoding="utf-8"))
    assert _text(_section(tree, "changes").find(f".//{NS}h2")) == "自 2023-12-31 以来的变化"
    assert _text(_section(tree, "service").find(f".//{NS}h2")) == "服务质量"
    # an explicit folder that is not a snapshot: exit 66 before the work
    proc = run_cli("audit", *INPUTS, "--compare-with", str(tmp), "--excel", str(tmp / "x.xlsx"))
    assert proc.returncode == 66 and "not a snapshot" in proc.stderr


def test_previous_snapshot_is_strictly_before(runs: dict[str, Any]) -> None:
    import datetime as dt

    snaps = runs["snaps"]
    new_as_of = dt.date.fromisoformat(runs["second"]["json"]["as_of"])
    assert previous_snapshot(snaps, new_as_of) == snaps / "2023-12-31"
    assert previous_snapshot(snaps, dt.date(2023, 12, 31)) is None
    assert previous_snapshot(snaps / "nowhere", new_as_of) is None


# ----------------------------------------------------------------------------- hostile text, in process


@pytest.fixture(scope="module")
def hostile_changes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Comparison]:
    """The hostile book at mid-year and at year end: the movers carry the hostile ids."""
    from custinv.analytics.compare import compare

    tmp = tmp_path_factory.mktemp("hostile_changes")
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    old = hostile_result(tmp / "a", as_of="2024-06-30")
    new = hostile_result(tmp / "b")
    cmp = compare(run_snapshot(old), run_snapshot(new))
    assert cmp.movers
    return new, cmp


def test_hostile_ids_are_text_in_excel_and_html(hostile_changes: tuple[Any, Comparison], tmp_path: Path) -> None:
    result, cmp = hostile_changes
    path = tmp_path / "h.xlsx"
    report = write_excel(result, path, comparison=cmp)
    assert "Changes" in report.sheets
    ws = openpyxl.load_workbook(path)["Changes"]
    ids = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith(("=", "@", "-"))]
    mover_ids = {m.customer_id for m in cmp.movers if m.customer_id.startswith(("=", "@", "-"))}
    assert mover_ids and mover_ids <= {c.value for c in ids}
    for cell in ids:
        assert cell.data_type == "s" and cell.quotePrefix
    emails = [m.customer_id for m in cmp.movers if "@" in m.customer_id and not m.customer_id.startswith("@")]
    text = render_html(result, comparison=cmp)
    for cid in emails:
        assert cid not in text  # masked by default
    assert "<script>alert(1)</script>" not in text
    changes = _section(_tree(text), "changes")
    shown = _text(changes)
    assert "<script>alert(1)</script>" in shown or all("<script>" not in m.customer_id for m in cmp.movers)
    assert "{{7*7}}" in shown or all(m.customer_id != "{{7*7}}" for m in cmp.movers)


def test_changes_for_run_equals_compare_of_the_files(runs: dict[str, Any]) -> None:
    """The in-memory newer side (this run) gives the comparison `custinv compare` computes from disk."""
    from custinv.analytics.compare import compare
    from custinv.snapshots import read_snapshot

    snaps = runs["snaps"]
    new_path = snaps / runs["second"]["json"]["as_of"]
    on_disk = compare(read_snapshot(snaps / "2023-12-31"), read_snapshot(new_path))
    assert on_disk.to_json_dict()["migrations"] == runs["compare"]["migrations"]

    class _Run:  # what changes_for_run reads of an AuditResult
        stocktake = None
        customers = None

    from custinv.models import Stocktake

    fake = _Run()
    fake.stocktake = Stocktake.model_validate(json.loads((new_path / "stocktake.json").read_text()))
    fake.customers = read_snapshot(new_path).customers
    got = changes_for_run(fake, snapshot_root=snaps)  # type: ignore[arg-type]
    assert got is not None
    want = on_disk.to_json_dict()
    assert got.to_json_dict() == want
