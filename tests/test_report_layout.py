"""The reports as a reader meets them: the HTML laid out by headless Chromium (nothing wider
than the page, every section present, no text below 9 px), the workbook opened by openpyxl
(charts never overlap, every list is an Excel Table with frozen header and print setup).

The book is a four-year synthetic shop (examples/generate.py, 4,000 orders), so cohorts are
many (48 monthly ones with ``--period month``: the oldest are grouped) and every section has
content. The Chromium test skips only when Chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest

from custinv.config import Settings
from custinv.render.excel import write_excel
from custinv.render.html import render_html
from custinv.stocktake import AuditResult, audit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ("summary", "kpis", "base", "rfm", "frequency", "cohorts", "trends", "clv", "churn", "breakdowns", "quality")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layout") / "orders.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), "4000", str(out), "--customers", "700",
                    "--seed", "5"], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def monthly(book: Path) -> AuditResult:
    return audit([book], Settings(period="month", clv=True))


@pytest.fixture(scope="module")
def default(book: Path) -> AuditResult:
    return audit([book], Settings(clv=True))


def test_long_history_gets_quarterly_cohorts_unless_asked(monthly: AuditResult, default: AuditResult) -> None:
    assert default.stocktake.retention is not None and monthly.stocktake.retention is not None
    assert default.stocktake.retention.period == "quarter"  # 48 months do not fit a triangle
    assert monthly.stocktake.retention.period == "month"  # --period month is respected
    # every customer is in some cohort, in both
    for r in (default, monthly):
        assert r.stocktake.retention is not None and r.stocktake.kpis is not None
        assert sum(c.size for c in r.stocktake.retention.cohorts) == r.stocktake.kpis.customers


MEASURE = """
(() => {
  const W = document.documentElement.clientWidth;
  const over = [];
  for (const e of document.querySelectorAll('main *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 0.5 || r.left < -0.5)) over.push(e.tagName + '#' + e.id + '.' + e.className);
  }
  const small = [];
  for (const e of document.querySelectorAll('main *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    let px = parseFloat(getComputedStyle(e).fontSize);
    const svg = e.ownerSVGElement || (e.closest && e.closest('svg'));
    if (svg && svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
      px *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    }
    if (px < 9) small.push(e.tagName + ':' + e.textContent.trim().slice(0, 20) + ':' + px.toFixed(1));
  }
  const sections = [...document.querySelectorAll('section[id]')].map(s => s.id);
  const out = document.createElement('pre');
  out.id = 'layout-facts';
  out.textContent = JSON.stringify({W, scroll: document.documentElement.scrollWidth, over: over.slice(0, 20),
                                    small: small.slice(0, 20), sections});
  document.body.appendChild(out);
})();
"""


def _layout(html: str, tmp: Path, width: int) -> dict[str, object]:
    """Lay the page out in Chromium at ``width`` px and read the facts the script measured.

    The report forbids scripts (its CSP); this copy drops the CSP and appends the measuring
    script, so what is measured is the report's own markup and CSS."""
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    page = page.replace("</body>", f"<script>{MEASURE}</script></body>")
    path = tmp / f"layout-{width}.html"
    path.write_text(page, encoding="utf-8")
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
             f"--window-size={width},1400", "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="layout-facts">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    facts: dict[str, object] = json.loads(text)
    return facts


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
@pytest.mark.parametrize(("lang", "width"), [("en", 1200), ("zh", 1200), ("en", 820)])
def test_html_layout(monthly: AuditResult, default: AuditResult, tmp_path: Path, lang: str, width: int) -> None:
    for result in (monthly, default):
        facts = _layout(render_html(result, lang=lang), tmp_path, width)  # type: ignore[arg-type]
        assert facts["scroll"] == facts["W"], facts  # no horizontal scrolling
        assert facts["over"] == [], facts
        if width >= 1024:  # desktop: every label readable at 100 % (narrow windows scale the charts down)
            assert facts["small"] == [], facts
        assert set(SECTIONS) <= set(facts["sections"]), facts  # type: ignore[arg-type]


def test_html_cohorts_keep_every_customer(monthly: AuditResult) -> None:
    html = render_html(monthly, lang="en")
    st = monthly.stocktake
    assert st.retention is not None and len(st.retention.cohorts) > 24
    # the oldest cohorts are one grouped row, the average closes the triangle
    oldest = st.retention.cohorts[: len(st.retention.cohorts) - 23]
    assert f"≤ {oldest[-1].cohort} ({len(oldest)} cohorts)" in html
    assert f"({sum(c.size for c in oldest):,})" in html
    assert f"Weighted average <tspan fill=\"#6b7785\">({sum(c.size for c in st.retention.cohorts):,})" in html


def _rect(ws: openpyxl.worksheet.worksheet.Worksheet, chart: object) -> tuple[float, float, float, float]:
    """A chart's box in points from its one-cell anchor: column widths (chars → pt) and rows."""
    anchor = chart.anchor._from  # type: ignore[attr-defined]

    def col_pt(i: int) -> float:
        letter = openpyxl.utils.get_column_letter(i + 1)
        width = ws.column_dimensions[letter].width if letter in ws.column_dimensions else None
        return (width or 8.43) * 5.6 + 3.75  # Calibri 11: ~7 px per char + padding, 0.75 pt per px

    def row_pt(i: int) -> float:
        height = ws.row_dimensions[i + 1].height if (i + 1) in ws.row_dimensions else None
        return height or 15.0

    x = sum(col_pt(i) for i in range(anchor.col))
    y = sum(row_pt(i) for i in range(anchor.row))
    cm = 72 / 2.54
    return x, y, x + chart.width * cm, y + chart.height * cm  # type: ignore[attr-defined]


def test_workbook_charts_tables_print(default: AuditResult, tmp_path: Path) -> None:
    path = tmp_path / "stocktake.xlsx"
    write_excel(default, path, lang="en")
    wb = openpyxl.load_workbook(path)
    charts = 0
    for ws in wb.worksheets:
        boxes = [_rect(ws, ch) for ch in ws._charts]
        charts += len(boxes)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                assert not overlap, (ws.title, a, b)
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        if ws.title == "Summary":
            continue
        # every list sheet holds its lists as Excel Tables (autofilter) and keeps a header in view
        assert ws.tables, ws.title
        assert ws.freeze_panes, ws.title
        for table in ws.tables.values():
            assert table.autoFilter is not None or table.headerRowCount != 0, (ws.title, table.name)
    assert charts >= 7  # four on Segments, three on Trends
    assert wb["Customers"].print_title_rows == "$2:$2"
    # the Summary names the file, never the folder it was read from
    summary = "\n".join(str(v) for row in wb["Summary"].iter_rows(values_only=True) for v in row if v)
    assert str(default.stocktake.source.files[0].path) not in summary
    assert Path(default.stocktake.source.files[0].path).name in summary
    assert "Definitions" in wb.sheetnames
    definitions = {r[0]: r[2] for r in wb["Definitions"].iter_rows(min_row=5, values_only=True) if r[0]}
    assert definitions["Churn rate"].startswith("Churned customers ÷ all customers")
