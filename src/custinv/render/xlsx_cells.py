"""The workbook's cells: formats, styles and the writer every small sheet goes through.

Shared by the workbook's sheets (:mod:`custinv.render.excel`, :mod:`custinv.render.excel_book`)
and its streamed sheets (:mod:`custinv.render.xlsx_stream`), so that none of them imports
another: the rules of a cell — typed values, text Excel would run stored as text, control
characters replaced and counted — live here once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from custinv.outputs import FORMULA_PREFIXES
from custinv.render.i18n import Lang, label
from custinv.render.pii import PiiMode

if TYPE_CHECKING:
    from custinv.models import Comparison, Stocktake

EXCEL_MAX_ROWS = 1_048_576
CELL_MAX_CHARS = 32_767
STREAM_CHUNK = 50_000
ZIP_LEVEL = 4  # a fast deflate; the repetitive sheet XML still shrinks ~7x (100k customers: 127 MB → 17 MB)

CHART_ROWS = 17
"""Rows a 7.5 cm chart covers at the default row height (15 pt ≈ 0.53 cm), plus a gap."""

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


# ----------------------------------------------------------------------------- small cells


@dataclass
class _Writer:
    """Cell-by-cell writing for the small sheets, with the text rules and width tracking."""

    lang: Lang
    currency: str | None
    pii: PiiMode
    comparison: Comparison | None = None
    control_chars: int = 0
    widths: dict[tuple[str, int], float] = field(default_factory=dict)
    tables: int = 0

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
              formats: Sequence[str | None], col: int = 1, *, listing: bool = False) -> int:
        """A header plus typed rows; returns the next free row (after a blank one).

        A ``listing`` (customers, cohorts, periods, breakdown rows — anything a reader filters)
        becomes an Excel Table: autofilter, banded rows, a header Excel repeats when printing."""
        headers = _unique([str(h) for h in headers])
        self.header(ws, row, col, headers)
        for r, values in enumerate(rows, start=row + 1):
            for i, (value, fmt) in enumerate(zip(values, formats, strict=True)):
                self.put(ws, r, col + i, value, fmt).border = THIN
        if listing and rows:
            self.tables += 1
            ref = f"{get_column_letter(col)}{row}:{get_column_letter(col + len(headers) - 1)}{row + len(rows)}"
            table = Table(displayName=f"List{self.tables}", ref=ref)
            table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
            table._initialise_columns()
            for column, name in zip(table.tableColumns, headers, strict=True):
                column.name = name
            ws.add_table(table)
            if ws.freeze_panes is None:  # the sheet's first list keeps its header (and key column) in view
                ws.freeze_panes = ws.cell(row=row + 1, column=col + 1)
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


def _title(w: _Writer, ws: Worksheet, st: Stocktake, heading: str) -> int:
    c = ws.cell(row=1, column=1, value=w.text(heading))
    c.font = TITLE_FONT
    sub = f"{label('report:as_of', w.lang)} {st.as_of} · {label('report:currency', w.lang)} {st.currency or '—'}"
    ws.cell(row=2, column=1, value=w.text(sub)).font = NOTE_FONT
    return 4


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        n = seen.get(lab, 0)
        seen[lab] = n + 1
        out.append(lab if n == 0 else f"{lab} ({n + 1})")
    return out
