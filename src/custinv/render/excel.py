"""The stocktake as an Excel workbook (openpyxl): Summary, Customers, Segments, Cohorts,
Trends, CLV, Breakdowns, At risk and Rejects.

Two rules shape this module:

* **Cells are typed and never formulas built from data.** Numbers are numbers with a number
  format, dates are dates; text that Excel would run (``=``, ``+``, ``-``, ``@``, tab, CR at the
  start) is stored as a string with the quote-prefix style, so Excel shows it and never
  evaluates it. Control characters XML cannot hold are replaced with U+FFFD and counted (the
  count is on the Summary sheet), never a crash.
* **Big sheets are streamed.** openpyxl spends ~15 µs per cell, which is 40 s for 100k
  customers × 26 columns. The Customers and Rejects sheets are therefore written by
  openpyxl with their title, header, styles, table and frozen panes only, and their rows are
  generated afterwards as SpreadsheetML by Polars string expressions (inline strings, the
  style ids openpyxl registered) and streamed into the saved zip. Everything else is small
  and goes through openpyxl cell by cell. The Customers sheet is capped at Excel's row limit,
  keeping the customers with the most revenue, with a note pointing to ``--customers-out``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from custinv.analytics import actions
from custinv.models import Comparison, Stocktake
from custinv.outputs import FORMULA_PREFIXES
from custinv.render import digest
from custinv.render.i18n import Lang, t
from custinv.render.i18n import reason_label
from custinv.render.pii import PiiMode, protect

if TYPE_CHECKING:
    from custinv.stocktake import AuditResult

EXCEL_MAX_ROWS = 1_048_576
CELL_MAX_CHARS = 32_767
STREAM_CHUNK = 50_000
ZIP_LEVEL = 4  # a fast deflate; the repetitive sheet XML still shrinks ~7x (100k customers: 127 MB → 17 MB)

FMT_MONEY = "#,##0.00"
FMT_COUNT = "#,##0"
FMT_NUMBER = "#,##0.0"
FMT_RATE = "0.0%"
FMT_PROB = "0.000"
FMT_DATE = "yyyy-mm-dd"
FMT_CHANGE = '+0.0%;-0.0%;0.0%'
FMT_POINTS = '+0.0" pp";-0.0" pp";0.0" pp"'

INK = "1D2733"
ACCENT = "1F4E79"
HEADER_FILL = PatternFill("solid", fgColor=ACCENT)
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=16, color=ACCENT)
SECTION_FONT = Font(bold=True, size=12, color=ACCENT)
NOTE_FONT = Font(italic=True, color="6B7785")
GOOD_FONT = Font(color="1B7F5B", bold=True)
BAD_FONT = Font(color="C0392B", bold=True)
THIN = Border(bottom=Side(style="thin", color="D5DCE4"))

# Illegal in XML 1.0 (and so in xlsx): C0 controls other than tab, LF and CR, and the
# non-characters U+FFFE / U+FFFF (openpyxl's own ILLEGAL_CHARACTERS_RE misses those two, and
# one of them makes Excel refuse the whole workbook). Valid for Python's re and Polars' regex.
XML_ILLEGAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F" + "\ufffe\uffff" + "]"
_XML_ILLEGAL_RE = re.compile(XML_ILLEGAL)


@dataclass
class ExcelReport:
    """What was written: the caller reports the cap and the replaced characters on stderr."""

    path: Path
    sheets: list[str]
    customers_total: int
    customers_written: int
    control_chars_replaced: int = 0

    @property
    def capped(self) -> bool:
        return self.customers_written < self.customers_total


# ----------------------------------------------------------------------------- small cells


@dataclass
class _Writer:
    """Cell-by-cell writing for the small sheets, with the text rules and width tracking."""

    lang: Lang
    currency: str | None
    pii: PiiMode
    control_chars: int = 0
    widths: dict[tuple[str, int], float] = field(default_factory=dict)

    def text(self, value: str) -> str:
        clean, n = _XML_ILLEGAL_RE.subn("\ufffd", value)
        self.control_chars += n
        return clean[:CELL_MAX_CHARS]

    def put(self, ws: Worksheet, row: int, col: int, value: Any, fmt: str | None = None, *, font: Font | None = None) -> Any:
        cell = ws.cell(row=row, column=col)
        if value is None:
            pass
        elif isinstance(value, str):
            text = self.text(value)
            cell.value = text
            if text.startswith(FORMULA_PREFIXES):
                cell.data_type = "s"
                cell.quotePrefix = True
        elif isinstance(value, bool):
            cell.value = value
        elif isinstance(value, (int, float, dt.date)):
            cell.value = value
            cell.number_format = fmt or (FMT_DATE if isinstance(value, dt.date) else
                                         FMT_COUNT if isinstance(value, int) else "#,##0.00")
        else:
            cell.value = self.text(str(value))
        if font is not None:
            cell.font = font
        shown = value if isinstance(value, str) else _display_width_hint(value, fmt)
        key = (ws.title, col)
        self.widths[key] = max(self.widths.get(key, 0), _text_width(str(shown)))
        return cell

    def header(self, ws: Worksheet, row: int, col: int, labels: Sequence[str]) -> None:
        for i, lab in enumerate(labels):
            c = self.put(ws, row, col + i, lab)
            c.fill, c.font = HEADER_FILL, HEADER_FONT
            c.alignment = Alignment(vertical="center", wrap_text=False)

    def section(self, ws: Worksheet, row: int, title: str, col: int = 1) -> int:
        c = ws.cell(row=row, column=col, value=self.text(title))
        c.font = SECTION_FONT
        return row + 1

    def table(self, ws: Worksheet, row: int, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              formats: Sequence[str | None], col: int = 1) -> int:
        """A header plus typed rows; returns the next free row (after a blank one)."""
        self.header(ws, row, col, headers)
        for r, values in enumerate(rows, start=row + 1):
            for i, (value, fmt) in enumerate(zip(values, formats, strict=True)):
                self.put(ws, r, col + i, value, fmt).border = THIN
        return row + len(rows) + 2

    def fit(self, ws: Worksheet, minimum: float = 8, maximum: float = 60) -> None:
        for (title, col), width in self.widths.items():
            if title == ws.title:
                ws.column_dimensions[get_column_letter(col)].width = min(maximum, max(minimum, width + 2))


def _text_width(text: str) -> float:
    """Column width in Excel units: CJK glyphs take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _display_width_hint(value: Any, fmt: str | None) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if fmt not in (FMT_RATE, FMT_CHANGE) else "100.0%"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ----------------------------------------------------------------------------- streamed sheets


@dataclass
class _Streamed:
    """A sheet whose rows are generated by Polars and spliced into the saved file."""

    index: int  # 1-based worksheet number (openpyxl names parts sheet{n}.xml)
    frame: pl.DataFrame
    first_row: int
    styles: dict[str, int]  # column -> cell style id
    text_style: int
    quoted_style: int


def _column_format(dtype: pl.DataType, name: str) -> str | None:
    if dtype == pl.Date:
        return FMT_DATE
    if name in ("revenue", "average_order_value", "clv", "value", "value_at_risk", "monetary"):
        return FMT_MONEY
    if name == "p_alive":
        return FMT_PROB
    if dtype.is_integer():
        return FMT_COUNT
    if dtype.is_float():
        return "#,##0.00"
    return None


def _cell_expr(name: str, dtype: pl.DataType, letter: str, row: pl.Expr, style: int, text_style: int,
               quoted_style: int) -> pl.Expr:
    """One column's SpreadsheetML cell for every row ('' for a missing value)."""
    col = pl.col(name)
    ref = [pl.lit(f'<c r="{letter}'), row]
    if dtype == pl.Date:
        serial = (col.cast(pl.Int32) + 25569).cast(pl.String)  # 1899-12-30 epoch
        cell = pl.concat_str([*ref, pl.lit(f'" s="{style}"><v>'), serial, pl.lit("</v></c>")])
        return pl.when(col.is_not_null()).then(cell).otherwise(pl.lit(""))
    if dtype == pl.Boolean:
        cell = pl.concat_str([*ref, pl.lit('" t="b"><v>'), col.cast(pl.Int8).cast(pl.String), pl.lit("</v></c>")])
        return pl.when(col.is_not_null()).then(cell).otherwise(pl.lit(""))
    if dtype.is_numeric():
        ok = col.is_not_null() & (col.is_finite() if dtype.is_float() else pl.lit(True))
        cell = pl.concat_str([*ref, pl.lit(f'" s="{style}"><v>'), col.cast(pl.String), pl.lit("</v></c>")])
        return pl.when(ok).then(cell).otherwise(pl.lit(""))
    text = col.cast(pl.String)
    escaped = (
        text.str.slice(0, CELL_MAX_CHARS)
        .str.replace_all(XML_ILLEGAL, "\ufffd")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
    )
    quoted = text.str.contains(r"^[=+\-@\t\r]")
    style_attr = pl.when(quoted).then(pl.lit(str(quoted_style))).otherwise(pl.lit(str(text_style)))
    cell = pl.concat_str([*ref, pl.lit('" s="'), style_attr, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'),
                          escaped, pl.lit("</t></is></c>")])
    return pl.when(text.is_not_null() & (text != "")).then(cell).otherwise(pl.lit(""))


def _rows_xml(spec: _Streamed, start: int, stop: int) -> str:
    part = spec.frame.slice(start, stop - start)
    row = pl.int_range(spec.first_row + start, spec.first_row + start + part.height, dtype=pl.Int64).cast(pl.String)
    cells = [
        _cell_expr(name, dtype, get_column_letter(i), row, spec.styles[name], spec.text_style, spec.quoted_style)
        for i, (name, dtype) in enumerate(part.schema.items(), start=1)
    ]
    xml = pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")])
    return part.lazy().select(xml.str.join("")).collect().item() or ""


def _count_illegal(frame: pl.DataFrame) -> int:
    strings = [c for c, d in frame.schema.items() if d == pl.String]
    if not strings or frame.height == 0:
        return 0
    return int(frame.select(pl.sum_horizontal(pl.col(c).str.count_matches(XML_ILLEGAL).sum() for c in strings)).item())


def _prepare_streamed(w: _Writer, ws: Worksheet, index: int, frame: pl.DataFrame, headers: list[str],
                      note: str, table_name: str) -> _Streamed:
    """Title note, header, styles, widths, table and frozen panes; the rows come later."""
    note_cell = ws.cell(row=1, column=1, value=w.text(note))
    note_cell.font = NOTE_FONT
    w.header(ws, 2, 1, headers)
    wb = ws.parent
    styles: dict[str, int] = {}

    def style_id(number_format: str, quote: bool = False) -> int:
        # a fresh cell per style: openpyxl keeps the cell's style array by reference
        probe = ws.cell(row=3, column=1)
        probe.number_format = number_format
        probe.quotePrefix = quote
        sid = probe.style_id
        del ws._cells[(3, 1)]  # the style stays registered in the workbook
        return sid

    for name, dtype in frame.schema.items():
        styles[name] = style_id(_column_format(dtype, name) or "General")
    text_style = style_id("General")
    quoted_style = style_id("General", quote=True)
    assert wb is not None
    # widths from the data (CJK counts double), headers included
    for i, (name, dtype) in enumerate(frame.schema.items(), start=1):
        width = _text_width(headers[i - 1])
        if frame.height:
            if dtype == pl.String:
                longest = frame.select(
                    (pl.col(name).str.len_chars() + pl.col(name).str.count_matches(r"[\u2e80-\uffff]")).max()
                ).item()
                width = max(width, longest or 0)
            elif dtype == pl.Date:
                width = max(width, 10)
            elif dtype.is_numeric():
                top = frame.select(pl.col(name).abs().max()).item()
                if top is not None and top == top and abs(top) != float("inf"):
                    width = max(width, len(f"{top:,.2f}") + 1)
        ws.column_dimensions[get_column_letter(i)].width = min(50, max(8, width + 2))
    ws.freeze_panes = "B3"
    if frame.height:
        ref = f"A2:{get_column_letter(frame.width)}{2 + frame.height}"
        table = Table(displayName=table_name, ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        table._initialise_columns()
        for column, name in zip(table.tableColumns, headers, strict=True):
            column.name = name
        ws.add_table(table)
    return _Streamed(index, frame, 3, styles, text_style, quoted_style)


def _splice(raw: bytes, target: Path, streamed: list[_Streamed]) -> None:
    """Copy openpyxl's zip into ``target``, streaming the generated rows into their sheets."""
    by_part = {f"xl/worksheets/sheet{s.index}.xml": s for s in streamed}
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True,
                                                                     compresslevel=ZIP_LEVEL) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            spec = by_part.get(info.filename)
            if spec is None:
                dst.writestr(info, data)
                continue
            xml = data.decode("utf-8")
            end = xml.index("</sheetData>")
            last = spec.first_row + spec.frame.height - 1
            head = re.sub(r'<dimension ref="[^"]*"\s*/>',
                          f'<dimension ref="A1:{get_column_letter(max(spec.frame.width, 1))}{max(last, 2)}"/>',
                          xml[:end], count=1)
            with dst.open(info.filename, "w", force_zip64=True) as out:  # deflated, like the rest
                out.write(head.encode("utf-8"))
                for start in range(0, spec.frame.height, STREAM_CHUNK):
                    out.write(_rows_xml(spec, start, min(start + STREAM_CHUNK, spec.frame.height)).encode("utf-8"))
                out.write(xml[end:].encode("utf-8"))


# ----------------------------------------------------------------------------- sheets


def _title(w: _Writer, ws: Worksheet, st: Stocktake, heading: str) -> int:
    c = ws.cell(row=1, column=1, value=w.text(heading))
    c.font = TITLE_FONT
    sub = f"{t('as_of', w.lang)} {st.as_of} · {t('currency', w.lang)} {st.currency or '—'}"
    ws.cell(row=2, column=1, value=w.text(sub)).font = NOTE_FONT
    return 4


def _summary(w: _Writer, ws: Worksheet, result: AuditResult) -> None:
    st, lang = result.stocktake, w.lang
    row = _title(w, ws, st, t("title", lang))
    ws.cell(row=2, column=1).value = w.text(
        f"{t('as_of', lang)} {st.as_of} · {t('currency', lang)} {st.currency or '—'} · "
        f"{t('generated', lang, version=st.tool.version)} · {t('pii_note', lang, mode=t('pii_' + w.pii, lang))}")
    row = w.section(ws, row, t("kpis", lang))
    pair = digest.comparison_periods(st)
    headers = [t("metric", lang), t("value", lang)]
    if pair:
        headers += [f"{t('latest', lang)} {pair[0].period}", f"{t('previous', lang)} {pair[1].period}", t("change", lang)]
    w.header(ws, row, 1, headers)
    period_keys = dict(digest.CARD_KPIS)
    for key, value in digest.kpi_rows(st):
        row += 1
        fmt = _kpi_format(key, value)
        w.put(ws, row, 1, t(key, lang))
        w.put(ws, row, 2, value, fmt).border = THIN
        pk = period_keys.get(key)
        change = digest.period_change(st, key, pk) if pk and pair else None
        if change is not None:
            pfmt = _kpi_format(pk or key, change.latest)
            w.put(ws, row, 3, change.latest, pfmt)
            w.put(ws, row, 4, change.previous, pfmt)
            delta = change.delta
            if delta is not None:
                font = None if change.good is None else (GOOD_FONT if change.good else BAD_FONT)
                w.put(ws, row, 5, delta * 100 if change.is_rate else delta,
                      FMT_POINTS if change.is_rate else FMT_CHANGE, font=font)
    row += 2
    src = st.source
    row = w.section(ws, row, t("source", lang))
    acc: list[tuple[str, Any, str | None]] = [
        (t("rows_read", lang), src.rows_read, FMT_COUNT),
        (t("rows_used", lang), src.rows_used, FMT_COUNT),
        (t("rows_excluded", lang), sum(src.rows_excluded.values()), FMT_COUNT),
        *[("   " + reason_label(k, lang), v, FMT_COUNT) for k, v in src.rows_excluded.items()],
        (t("rows_rejected", lang), src.rows_rejected, FMT_COUNT),
        *[("   " + reason_label(k, lang), v, FMT_COUNT) for k, v in src.reject_reasons.items()],
        (t("anonymous_revenue", lang), src.anonymous_revenue, FMT_MONEY),
        (t("returns", lang), src.returns, FMT_MONEY),
    ]
    row = w.table(ws, row, [t("metric", lang), t("value", lang)], [(a, b) for a, b, _ in acc], [None, None])
    for i, (_, value, fmt) in enumerate(acc):
        if value is not None:
            ws.cell(row=row - len(acc) - 1 + i, column=2).number_format = fmt or "General"
    row = w.section(ws, row, t("files", lang))
    row = w.table(ws, row, [t("file", lang), t("format", lang), t("encoding", lang), "delimiter", "sheet", "header_row",
                            t("rows_read", lang)],
                  [(f.path, f.format, f.encoding, _visible(f.delimiter), f.sheet, f.header_row, f.rows_read)
                   for f in src.files], [None, None, None, None, None, FMT_COUNT, FMT_COUNT])
    row = w.section(ws, row, t("mapping", lang))
    row = w.table(ws, row, [t("field", lang), t("column", lang)], list(src.mapping.items()), [None, None])
    if st.alerts:
        row = w.section(ws, row, t("alerts", lang))
        row = w.table(ws, row, ["rule", "kpi", t("value", lang), t("breached", lang)],
                      [(a.rule, a.kpi, a.value, t("breached" if a.breached else "ok", lang)) for a in st.alerts],
                      [None, None, "General", None])
    if src.warnings:
        row = w.section(ws, row, t("warnings", lang))
        for message in src.warnings:
            w.put(ws, row, 1, message)
            row += 1
    ws.sheet_view.showGridLines = False


def _visible(delimiter: str | None) -> str | None:
    return {"\t": "tab", " ": "space"}.get(delimiter or "", delimiter)


def _kpi_format(key: str, value: Any) -> str:
    if key in digest.MONEY_KPIS:
        return FMT_MONEY
    if key in digest.RATE_KPIS:
        return FMT_RATE
    return FMT_NUMBER if isinstance(value, float) else FMT_COUNT


SHARE_FORMATS = [None, FMT_COUNT, FMT_RATE, FMT_MONEY, FMT_RATE]


def _segments(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang = w.lang
    row = _title(w, ws, st, t("segments", lang))
    share_head = [t("segment", lang), t("customers", lang), t("share", lang), t("revenue", lang), t("revenue_share", lang)]
    charts: list[tuple[Any, int]] = []

    def block(title: str, rows: list[tuple[Any, ...]], extra_head: list[str], extra_fmt: list[str | None],
              chart: str) -> None:
        nonlocal row
        row = w.section(ws, row, title)
        top = row
        row = w.table(ws, row, share_head + extra_head, rows, SHARE_FORMATS + extra_fmt)
        if not rows:
            return
        cats = Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(rows))
        if chart == "pie":
            ch: Any = PieChart()
            ch.add_data(Reference(ws, min_col=4, min_row=top, max_row=top + len(rows)), titles_from_data=True)
        else:
            ch = BarChart()
            ch.type = "bar"
            ch.style = 10
            ch.add_data(Reference(ws, min_col=2, min_row=top, max_row=top + len(rows)), titles_from_data=True)
            ch.y_axis.title = t("customers", lang)
            ch.legend = None
        ch.set_categories(cats)
        ch.title = title
        ch.height, ch.width = 7.5, 13
        charts.append((ch, top))

    if st.frequency_classes:
        block(t("frequency_classes", lang),
              [(actions.label(r.frequency_class, lang), r.customers, r.share, r.revenue, r.revenue_share, r.threshold)
               for r in st.frequency_classes], [t("threshold", lang)], [FMT_NUMBER], "bar")
    if st.value_tiers:
        block(t("value_tiers", lang),
              [(actions.label(r.tier, lang), r.customers, r.share, r.revenue, r.revenue_share, r.threshold)
               for r in st.value_tiers], [t("threshold", lang)], [FMT_MONEY], "pie")
    if st.rfm:
        block(t("rfm", lang),
              [(actions.label(r.segment, lang), r.customers, r.share, r.revenue, r.revenue_share, r.avg_recency_days,
                r.avg_frequency, r.avg_monetary, actions.action(r.segment, lang)) for r in st.rfm.segments],
              [t("avg_recency_days", lang), t("avg_frequency", lang), t("avg_monetary", lang), t("action", lang)],
              [FMT_NUMBER, FMT_NUMBER, FMT_MONEY, None], "bar")
    if st.lifecycle:
        total = sum(r.revenue for r in st.lifecycle) or None
        block(t("lifecycle", lang),
              [(actions.label(r.stage, lang), r.customers, r.share, r.revenue, r.revenue / total if total else None,
                actions.action(r.stage, lang)) for r in st.lifecycle],
              [t("action", lang)], [None], "pie")
    w.fit(ws, maximum=28)
    for ch, top in charts:
        ws.add_chart(ch, f"{get_column_letter(11)}{top}")
    ws.sheet_view.showGridLines = False


def _cohorts(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang = w.lang
    row = _title(w, ws, st, t("cohorts", lang))
    if st.retention is None or not st.retention.cohorts:
        return
    cohorts = st.retention.cohorts
    width = max(len(c.customers) for c in cohorts)
    w.put(ws, row, 3, f"{t('periods_after', lang)} ({st.retention.period})", font=NOTE_FONT)
    row += 1
    head = [t("cohort", lang), t("size", lang), *[str(k) for k in range(width)]]
    rows = []
    for c in cohorts:
        shares = c.retention or [None if n is None or not c.size else n / c.size for n in c.customers]
        rows.append([c.cohort, c.size, *shares, *[None] * (width - len(shares))])
    top = row
    end = w.table(ws, row, head, rows, [None, FMT_COUNT, *[FMT_RATE] * width])
    if width > 1:
        rng = f"D{top + 1}:{get_column_letter(2 + width)}{top + len(rows)}"
        ws.conditional_formatting.add(rng, ColorScaleRule(start_type="num", start_value=0, start_color="F7FBFC",
                                                          mid_type="percentile", mid_value=50, mid_color="7FC4C4",
                                                          end_type="max", end_color="12676E"))
    ws.freeze_panes = ws.cell(row=top + 1, column=3)
    row = w.section(ws, end, t("customers", lang))
    w.table(ws, row, head, [[c.cohort, c.size, *c.customers, *[None] * (width - len(c.customers))] for c in cohorts],
            [None, FMT_COUNT, *[FMT_COUNT] * width])
    w.fit(ws, maximum=12)
    ws.column_dimensions["A"].width = 12


TREND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customers_start", FMT_COUNT), ("new_customers", FMT_COUNT), ("reactivated_customers", FMT_COUNT),
    ("churned_customers", FMT_COUNT), ("customers_end", FMT_COUNT), ("active_customers", FMT_COUNT),
    ("orders", FMT_COUNT), ("revenue", FMT_MONEY), ("average_order_value", FMT_MONEY),
    ("customer_growth_rate", FMT_RATE), ("retention_rate", FMT_RATE), ("churn_rate", FMT_RATE),
    ("repeat_purchase_rate", FMT_RATE), ("net_revenue_retention", FMT_RATE),
)


def _trends(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang = w.lang
    row = _title(w, ws, st, t("trend", lang))
    periods = st.kpis_by_period or []
    head = [t("period", lang), "start", "end", t("partial", lang), *[t(k, lang) for k, _ in TREND_COLUMNS]]
    rows = [[p.period, p.start, p.end, t("partial", lang) if p.partial else None, *[getattr(p, k) for k, _ in TREND_COLUMNS]]
            for p in periods]
    top = row
    w.table(ws, row, head, rows, [None, FMT_DATE, FMT_DATE, None, *[f for _, f in TREND_COLUMNS]])
    ws.freeze_panes = ws.cell(row=top + 1, column=2)
    w.fit(ws, maximum=18)
    if not periods:
        return
    idx = {k: 5 + i for i, (k, _) in enumerate(TREND_COLUMNS)}
    cats = Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(periods))
    counts = LineChart()
    counts.title = t("customers", lang)
    for key in ("customers_end", "active_customers", "new_customers"):
        counts.add_data(Reference(ws, min_col=idx[key], min_row=top, max_row=top + len(periods)), titles_from_data=True)
    counts.set_categories(cats)
    money = LineChart()
    money.title = t("revenue", lang)
    money.add_data(Reference(ws, min_col=idx["revenue"], min_row=top, max_row=top + len(periods)), titles_from_data=True)
    money.set_categories(cats)
    rates = LineChart()
    rates.title = f"{t('retention_rate', lang)} / {t('churn_rate', lang)}"
    for key in ("retention_rate", "churn_rate"):
        rates.add_data(Reference(ws, min_col=idx[key], min_row=top, max_row=top + len(periods)), titles_from_data=True)
    rates.set_categories(cats)
    rates.y_axis.number_format = "0%"
    below = top + len(periods) + 3
    for i, ch in enumerate((counts, money, rates)):
        ch.height, ch.width = 7.5, 14
        ws.add_chart(ch, f"{get_column_letter(1 + i * 8)}{below}")


def _clv(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang, clv = w.lang, st.clv
    row = _title(w, ws, st, t("clv", lang))
    if clv is None:
        return
    params: list[tuple[str, Any, str | None]] = [
        (t("model", lang), clv.model, None), ("reason", clv.reason, None), ("time_unit", clv.time_unit, None),
        (t("horizon_months", lang), clv.horizon, FMT_COUNT), (t("discount_rate", lang), clv.discount_rate, FMT_RATE),
        (t("margin", lang), clv.margin, FMT_RATE if isinstance(clv.margin, float) else None),
        (t("total", lang), clv.total, FMT_MONEY), (t("customers", lang), clv.customers, FMT_COUNT),
        *[(k, v, "0.0000") for k, v in clv.params.items()],
        ("log_likelihood", clv.log_likelihood, "#,##0.00"), ("converged", clv.converged, None),
    ]
    row = w.section(ws, row, t("parameter", lang))
    row = w.table(ws, row, [t("parameter", lang), t("value", lang)], [(a, b) for a, b, _ in params],
                  [None, None])
    for i, (_, value, fmt) in enumerate(params):
        if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.cell(row=row - len(params) - 1 + i, column=2).number_format = fmt
    if clv.by_segment:
        row = w.section(ws, row, t("clv_distribution", lang))
        keys = ("customers", "clv", "clv_share", "clv_per_customer", "mean_p_alive", "expected_purchases",
                "historical_revenue")
        fmts = [FMT_COUNT, FMT_MONEY, FMT_RATE, FMT_MONEY, FMT_PROB, FMT_NUMBER, FMT_MONEY]
        row = w.table(ws, row, [t("axis", lang), t("segment", lang), *[t(k if k != "clv" else "clv_value", lang) for k in keys]],
                      [(t(s["axis"], lang), actions.label(str(s["segment"]), lang), *[s.get(k) for k in keys])
                       for s in clv.by_segment], [None, None, *fmts])
    if clv.top_customers:
        row = w.section(ws, row, t("top_customers", lang))
        keys = ("clv", "p_alive", "expected_purchases", "orders", "revenue", "last_order")
        fmts = [FMT_MONEY, FMT_PROB, FMT_NUMBER, FMT_COUNT, FMT_MONEY, FMT_DATE]
        row = w.table(ws, row, [t("customer_id", lang), *[t(k if k != "clv" else "clv_value", lang) for k in keys],
                                t("value_tier", lang), t("rfm_segment", lang)],
                      [(protect(str(c["customer_id"]), w.pii), *[_date_or(c.get(k)) for k in keys],
                        actions.label(str(c.get("value_tier")), lang) if c.get("value_tier") else None,
                        actions.label(str(c.get("rfm_segment")), lang) if c.get("rfm_segment") else None)
                       for c in clv.top_customers], [None, *fmts, None, None])
    v = clv.validation
    if v:
        row = w.section(ws, row, t("holdout", lang))
        scalars = [(k, val) for k, val in v.items() if not isinstance(val, (list, dict))]
        row = w.table(ws, row, [t("parameter", lang), t("value", lang)],
                      [(k, _date_or(val)) for k, val in scalars], [None, "#,##0.00##"])
        buckets = v.get("by_frequency") or []
        if buckets:
            keys = list(buckets[0].keys())
            row = w.table(ws, row, keys, [[b.get(k) for k in keys] for b in buckets],
                          [None if k == "frequency" else "#,##0.00" for k in keys])
        spend = v.get("spend")
        if isinstance(spend, dict):
            row = w.table(ws, row, ["spend", t("value", lang)], list(spend.items()), [None, "#,##0.00"])
    _clv_evidence(w, ws, st, row)
    w.fit(ws, maximum=40)


def _clv_evidence(w: _Writer, ws: Worksheet, st: Stocktake, row: int) -> int:
    """Warnings, model choice, parameter and total intervals, and the three diagnostics tables."""
    lang, clv = w.lang, st.clv
    assert clv is not None
    if clv.warnings:
        row = w.section(ws, row, t("warnings", lang))
        row = w.table(ws, row, [t("warnings", lang)], [(message,) for message in clv.warnings], [None])
    sel = clv.selection
    if sel:
        row = w.section(ws, row, f"{t('clv_choice', lang)}: {sel['holdout_start']} – {sel['holdout_end']}")
        row = w.table(ws, row, [t("clv_candidate", lang), t("clv_rmse", lang), t("clv_mae", lang), t("predicted", lang),
                                t("clv_note", lang)],
                      [(c["model"] + (" ✓" if c["model"] == sel.get("chosen") else ""), c.get("rmse"), c.get("mae"),
                        c.get("predicted_purchases"), c.get("note")) for c in sel.get("candidates", [])],
                      [None, "0.0000", "0.0000", "#,##0.0", None])
    if clv.param_intervals:
        row = w.section(ws, row, f"{t('clv_parameters', lang)} ({t('clv_interval_80', lang)}, {t('clv_interval_95', lang)})")
        columns = ("estimate", "se", "low_80", "high_80", "low_95", "high_95")
        row = w.table(ws, row, [t("parameter", lang), *columns],
                      [(name, *[v.get(k) for k in columns]) for name, v in clv.param_intervals.items()],
                      [None, *["0.0000"] * len(columns)])
    if clv.total_intervals:
        bounds = ("value", "low_80", "high_80", "low_95", "high_95")
        row = w.table(ws, row, [t("total", lang), *bounds],
                      [(t("clv_value" if name == "clv" else name, lang), *[v.get(k) for k in bounds])
                       for name, v in clv.total_intervals.items()],
                      [None, *["#,##0.00"] * len(bounds)])
    diag = clv.diagnostics or {}
    for key, title in (("by_frequency", "clv_by_frequency"), ("p_alive_histogram", "clv_p_alive_hist"),
                       ("tracking", "clv_tracking")):
        rows = diag.get(key) or []
        if rows:
            row = w.section(ws, row, t(title, lang))
            cols = list(rows[0].keys())
            row = w.table(ws, row, cols, [[_date_or(r.get(k)) for k in cols] for r in rows],
                          [FMT_DATE if k == "period_end" else None if k in ("frequency", "holdout") else "#,##0.00"
                           for k in cols])
    return row


def _date_or(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    return value


def _breakdowns(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang = w.lang
    row = _title(w, ws, st, t("breakdowns", lang))
    tiers = [k for k in actions.VALUE_TIERS]
    for b in st.breakdowns or []:
        row = w.section(ws, row, f"{t('breakdown', lang)} {t(_dim_key(b.dimension), lang)}")
        row = w.table(
            ws, row,
            [t(_dim_key(b.dimension), lang), t("customers", lang), t("share", lang), t("revenue", lang),
             t("revenue_share", lang), t("average_order_value", lang), t("repeat_purchase_rate", lang),
             *[actions.label(k, lang) for k in tiers]],
            [(r.value, r.customers, r.share, r.revenue, r.revenue_share, r.average_order_value, r.repeat_purchase_rate,
              *[r.tiers.get(k) for k in tiers]) for r in b.rows],
            [None, FMT_COUNT, FMT_RATE, FMT_MONEY, FMT_RATE, FMT_MONEY, FMT_RATE, FMT_COUNT, FMT_COUNT, FMT_COUNT],
        )
    w.fit(ws, maximum=30)


def _dim_key(dimension: str) -> str:
    return "segment_dim" if dimension == "segment" else dimension


def _at_risk(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang, churn = w.lang, st.churn
    row = _title(w, ws, st, t("churn", lang))
    if churn is None:
        return
    facts = [
        (t("churn_window", lang), churn.definition.get("inactive_days"), FMT_COUNT),
        ("basis", churn.definition.get("basis"), None),
        (t("churn_rate", lang), churn.churn_rate, FMT_RATE),
        (t("churned_customers", lang), churn.churned_customers, FMT_COUNT),
        (t("churned_revenue", lang), churn.churned_revenue, FMT_MONEY),
        (t("at_risk_customers", lang), churn.at_risk_customers, FMT_COUNT),
    ]
    row = w.table(ws, row, [t("metric", lang), t("value", lang)], [(a, b) for a, b, _ in facts], [None, None])
    for i, (_, value, fmt) in enumerate(facts):
        if fmt and isinstance(value, (int, float)):
            ws.cell(row=row - len(facts) - 1 + i, column=2).number_format = fmt
    head = [t("customer_id", lang), t("last_order", lang), t("recency_days", lang), t("usual_interval_days", lang),
            t("orders", lang), t("revenue", lang), t("value_at_risk", lang), t("value_tier", lang)]
    fmts = [None, FMT_DATE, FMT_COUNT, FMT_NUMBER, FMT_COUNT, FMT_MONEY, FMT_MONEY, None]
    for title, rows in ((t("at_risk_list", lang), churn.at_risk), (t("win_back_list", lang), churn.win_back)):
        row = w.section(ws, row, title)
        row = w.table(ws, row, head,
                      [(protect(r.customer_id, w.pii), r.last_order, r.recency_days, r.usual_interval_days, r.orders,
                        r.revenue, r.value_at_risk, actions.label(r.value_tier, lang) if r.value_tier else None)
                       for r in rows], fmts)
    w.fit(ws, maximum=60)
    ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width or 0, 14)


def _sheet_names(lang: Lang) -> dict[str, str]:
    keys = ("summary", "customers_sheet", "segments", "cohorts", "trends", "clv", "breakdowns", "at_risk", "rejects")
    if lang == "en":
        return {k: v for k, v in zip(keys, ("Summary", "Customers", "Segments", "Cohorts", "Trends", "CLV",
                                              "Breakdowns", "At risk", "Rejects"), strict=True)}
    return {k: v for k, v in zip(keys, ("概览", "客户明细", "客户分群", "同期群", "趋势", "终身价值", "维度分析",
                                        "流失风险", "拒绝行"), strict=True)}


def build_workbook(result: AuditResult, *, lang: Lang = "en", pii: PiiMode = "mask",
                   max_rows: int = EXCEL_MAX_ROWS,
                   comparison: Comparison | None = None) -> tuple[bytes, list[_Streamed], ExcelReport]:
    """The workbook without the streamed rows (as bytes), the streamed sheets, and the report.

    With a ``comparison`` (the previous stocktake), a Changes sheet follows the Summary."""
    from custinv.render import excel_book
    from custinv.render.i18n import book_label
    st = result.stocktake
    w = _Writer(lang, st.currency, pii)
    names = _sheet_names(lang)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = names["summary"]

    changes_ws = wb.create_sheet(book_label("changes_sheet", lang)) if comparison is not None else None
    customers_ws = wb.create_sheet(names["customers_sheet"])
    table = digest.customer_table(result.customers, pii, lang)
    total = table.height
    capacity = max_rows - 2  # note row + header row
    shown = table.head(capacity)
    note = (t("capped_note", lang, shown=shown.height, total=total) if shown.height < total
            else t("all_customers_note", lang, total=total))
    headers = _unique([digest.column_label(c, lang) for c in shown.columns])
    streamed = [_prepare_streamed(w, customers_ws, wb.worksheets.index(customers_ws) + 1, shown, headers, note,
                                  "Customers")]
    if changes_ws is not None and comparison is not None:
        excel_book.changes_sheet(w, changes_ws, st, comparison)

    for key, fill in (("segments", _segments), ("cohorts", _cohorts), ("trends", _trends), ("clv", _clv),
                      ("breakdowns", _breakdowns), ("at_risk", _at_risk)):
        if key == "clv" and st.clv is None:
            continue
        if key == "breakdowns" and not st.breakdowns:
            continue
        fill(w, wb.create_sheet(names[key]), st)
    if st.customer_book is not None:
        excel_book.book_sheet(w, wb.create_sheet(book_label("book_sheet", lang)), st)
    if st.service is not None:
        excel_book.service_sheet(w, wb.create_sheet(book_label("service_sheet", lang)), st)

    rejects = result.ledger.rejects
    if rejects.height:
        ws = wb.create_sheet(names["rejects"])
        frame = rejects.head(capacity)
        if "reason" in frame.columns:
            codes = frame["reason"].unique().drop_nulls().to_list()
            frame = frame.with_columns(pl.col("reason").replace(codes, [reason_label(c, lang) for c in codes]))
        heads = _unique([t(c, lang) if c != "value" else t("value", lang) for c in frame.columns])
        streamed.append(_prepare_streamed(w, ws, len(wb.worksheets), frame, heads,
                                          f"{t('rows_rejected', lang)}: {rejects.height:,}", "Rejects"))

    w.control_chars += sum(_count_illegal(s.frame) for s in streamed)
    _summary(w, summary, result)
    if w.control_chars:
        last = summary.max_row + 2
        w.put(summary, last, 1, t("control_chars", lang))
        w.put(summary, last, 2, w.control_chars, FMT_COUNT)
    w.fit(summary, maximum=45)
    summary.sheet_properties.tabColor = ACCENT
    wb.properties.title = t("title", lang)
    wb.properties.creator = f"custinv {st.tool.version}"
    buf = io.BytesIO()
    wb.save(buf)
    report = ExcelReport(Path(), [ws.title for ws in wb.worksheets], total, shown.height, w.control_chars)
    return buf.getvalue(), streamed, report


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        n = seen.get(lab, 0)
        seen[lab] = n + 1
        out.append(lab if n == 0 else f"{lab} ({n + 1})")
    return out


def write_excel(result: AuditResult, path: Path, *, lang: Lang = "en", pii: PiiMode = "mask",
                max_rows: int = EXCEL_MAX_ROWS, comparison: Comparison | None = None) -> ExcelReport:
    """Write the workbook atomically (mode 0600: it lists customers and rejected raw values)."""
    from custinv.outputs import atomic_path

    raw, streamed, report = build_workbook(result, lang=lang, pii=pii, max_rows=max_rows, comparison=comparison)
    with atomic_path(path, private=True) as tmp:
        _splice(raw, tmp, streamed)
    report.path = path
    return report
