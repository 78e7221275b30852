"""The stocktake as an Excel workbook (openpyxl): Summary, Customers, Segments, Cohorts,
Trends, CLV, Breakdowns, Churn, Rejects and Definitions (the sheets; the cell rules are in
:mod:`custinv.render.xlsx_cells`, the streaming of the big sheets in
:mod:`custinv.render.xlsx_stream`).

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from custinv.analytics import actions
from custinv.models import Comparison, Stocktake
from custinv.render import digest, excel_book, explain, glossary, key_message
from custinv.render.formatting import excel_money_format, kpi_kind
from custinv.render.i18n import Lang, label
from custinv.render.pii import PiiMode, protect
from custinv.render.xlsx_cells import (
    ACCENT,
    BAD_FONT,
    CHART_ROWS,
    EXCEL_MAX_ROWS,
    FMT_CHANGE,
    FMT_COUNT,
    FMT_DATE,
    FMT_MONEY,
    FMT_NUMBER,
    FMT_POINTS,
    FMT_PROB,
    FMT_RATE,
    GOOD_FONT,
    NOTE_FONT,
    THIN,
    _title,
    _unique,
    _Writer,
)
from custinv.render.xlsx_stream import _count_illegal, _prepare_streamed, _splice, _Streamed

if TYPE_CHECKING:
    from custinv.stocktake import AuditResult

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


# ----------------------------------------------------------------------------- sheets


def _summary(w: _Writer, ws: Worksheet, result: AuditResult) -> None:
    st, lang = result.stocktake, w.lang
    row = _title(w, ws, st, label("report:title", lang))
    ws.cell(row=2, column=1).value = w.text(
        f"{label('report:as_of', lang)} {st.as_of} · {label('report:currency', lang)} {st.currency or '—'} · "
        f"{label('report:generated', lang, version=st.tool.version)} · {label('report:pii_note', lang, mode=label('report:pii_' + w.pii, lang))}")
    row = w.section(ws, row, label("report:key_message", lang))
    for sentence in key_message.sentences(st, lang, w.comparison):
        w.put(ws, row, 1, "• " + sentence)
        row += 1
    row = w.section(ws, row + 1, label("report:kpis", lang))
    pair = digest.comparison_periods(st)
    headers = [label("report:metric", lang), label("report:value", lang), label("report:window", lang)]
    if pair:
        headers += [label("report:period_metric", lang), f"{label('report:latest', lang)} {pair[0].period}",
                    f"{label('report:previous', lang)} {pair[1].period}", label("report:change", lang)]
    w.header(ws, row, 1, headers)
    period_keys = dict(digest.CARD_KPIS)
    for key, value in digest.kpi_rows(st):
        row += 1
        fmt = _kpi_format(key, value)
        w.put(ws, row, 1, label("report:" + key, lang))
        w.put(ws, row, 2, value, fmt).border = THIN
        w.put(ws, row, 3, glossary.window_text(key, st, lang))
        pk = period_keys.get(key)
        change = digest.period_change(st, key, pk) if pk and pair else None
        if change is not None:
            pfmt = _kpi_format(pk or key, change.latest)
            w.put(ws, row, 4, label("period:" + change.period_key, lang))
            w.put(ws, row, 5, change.latest, pfmt)
            w.put(ws, row, 6, change.previous, pfmt)
            delta = change.delta
            if delta is not None:
                font = None if change.good is None else (GOOD_FONT if change.good else BAD_FONT)
                w.put(ws, row, 7, delta * 100 if change.is_rate else delta,
                      FMT_POINTS if change.is_rate else FMT_CHANGE, font=font)
    row += 2
    src = st.source
    row = w.section(ws, row, label("report:source", lang))
    acc: list[tuple[str, Any, str | None]] = [
        (label("report:rows_read", lang), src.rows_read, FMT_COUNT),
        (label("report:rows_used", lang), src.rows_used, FMT_COUNT),
        (label("report:rows_excluded", lang), sum(src.rows_excluded.values()), FMT_COUNT),
        *[("   " + label("excluded:" + k, lang), v, FMT_COUNT) for k, v in src.rows_excluded.items()],
        (label("report:rows_rejected", lang), src.rows_rejected, FMT_COUNT),
        *[("   " + label("excluded:" + k, lang), v, FMT_COUNT) for k, v in src.reject_reasons.items()],
        (label("report:anonymous_revenue", lang), src.anonymous_revenue, FMT_MONEY),
        (label("report:returns", lang), src.returns, FMT_MONEY),
    ]
    row = w.table(ws, row, [label("report:metric", lang), label("report:value", lang)], [(a, b) for a, b, _ in acc], [None, None])
    for i, (_, value, number_format) in enumerate(acc):
        if value is not None:
            ws.cell(row=row - len(acc) - 1 + i, column=2).number_format = number_format or "General"
    row = w.section(ws, row, label("report:files", lang))
    row = w.table(ws, row, [label("report:file", lang), label("report:format", lang), label("report:encoding", lang), label("report:delimiter", lang),
                            label("report:sheet", lang), label("report:header_row", lang), label("report:rows_read", lang)],
                  [(Path(f.path).name, f.format, f.encoding, _visible(f.delimiter), f.sheet, f.header_row, f.rows_read)
                   for f in src.files], [None, None, None, None, None, FMT_COUNT, FMT_COUNT])
    row = w.section(ws, row, label("report:mapping", lang))
    row = w.table(ws, row, [label("report:field", lang), label("report:column", lang)],
                  [(label("field:" + k, lang), v) for k, v in src.mapping.items()], [None, None])
    if st.alerts:
        row = w.section(ws, row, label("report:alerts", lang))
        row = w.table(ws, row, [label("report:rule", lang), label("report:kpi", lang), label("report:value", lang), label("report:breached", lang)],
                      [(a.rule, a.kpi, a.value, label("report:" + ("breached" if a.breached else "ok"), lang)) for a in st.alerts],
                      [None, None, "General", None])
    if src.warnings:
        row = w.section(ws, row, label("report:warnings", lang))
        for message in src.warnings:
            w.put(ws, row, 1, message)
            row += 1
    ws.sheet_view.showGridLines = False


def _visible(delimiter: str | None) -> str | None:
    return {"\t": "tab", " ": "space"}.get(delimiter or "", delimiter)


def _kpi_format(key: str, value: Any) -> str:
    kind = kpi_kind(key)
    if kind == "money":
        return FMT_MONEY
    if kind == "rate":
        return FMT_RATE
    return FMT_NUMBER if isinstance(value, float) else FMT_COUNT


SHARE_FORMATS = [None, FMT_COUNT, FMT_RATE, FMT_MONEY, FMT_RATE]


def _segments(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang = w.lang
    row = _title(w, ws, st, label("report:segments", lang))
    share_head = [label("report:segment", lang), label("report:customers", lang), label("report:share", lang), label("report:revenue", lang), label("report:revenue_share", lang)]
    charts: list[tuple[Any, int]] = []

    def block(title: str, rows: list[tuple[Any, ...]], extra_head: list[str], extra_fmt: list[str | None],
              chart: str) -> None:
        nonlocal row
        row = w.section(ws, row, title)
        top = row
        row = w.table(ws, row, share_head + extra_head, rows, SHARE_FORMATS + extra_fmt, listing=True)
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
            ch.y_axis.title = label("report:customers", lang)
            ch.legend = None
        ch.set_categories(cats)
        ch.title = title
        ch.height, ch.width = 7.5, 13
        charts.append((ch, top))

    if st.frequency_classes:
        block(label("report:frequency_classes", lang),
              [(actions.label(r.frequency_class, lang), r.customers, r.share, r.revenue, r.revenue_share, r.threshold)
               for r in st.frequency_classes], [label("report:threshold", lang)], [FMT_NUMBER], "bar")
    if st.value_tiers:
        block(label("report:value_tiers", lang),
              [(actions.label(r.tier, lang), r.customers, r.share, r.revenue, r.revenue_share, r.threshold)
               for r in st.value_tiers], [label("report:threshold", lang)], [FMT_MONEY], "pie")
    if st.rfm:
        block(label("report:rfm", lang),
              [(actions.label(r.segment, lang, "rfm"), r.customers, r.share, r.revenue, r.revenue_share, r.avg_recency_days,
                r.avg_frequency, r.avg_monetary, actions.action(r.segment, lang)) for r in st.rfm.segments],
              [label("report:avg_recency_days", lang), label("report:avg_frequency", lang), label("report:avg_monetary", lang), label("report:action", lang)],
              [FMT_NUMBER, FMT_NUMBER, FMT_MONEY, None], "bar")
    if st.lifecycle:
        total = sum(r.revenue for r in st.lifecycle) or None
        block(label("report:lifecycle", lang),
              [(actions.label(r.stage, lang, "lifecycle"), r.customers, r.share, r.revenue, r.revenue / total if total else None,
                actions.action(r.stage, lang)) for r in st.lifecycle],
              [label("report:action", lang)], [None], "pie")
    w.fit(ws, maximum=28)
    # charts to the right of the tables, each below the previous one: a chart is 7.5 cm high,
    # about 15 default rows, so anchoring it at its table's row made the four overlap
    free = 0
    for ch, top in charts:
        at = max(top, free)
        ws.add_chart(ch, f"{get_column_letter(11)}{at}")
        free = at + CHART_ROWS
    ws.sheet_view.showGridLines = False


def _cohorts(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang = w.lang
    row = _title(w, ws, st, label("report:cohorts", lang))
    if st.retention is None or not st.retention.cohorts:
        return
    cohorts = st.retention.cohorts
    width = max(len(c.customers) for c in cohorts)
    w.put(ws, row, 3, f"{label('report:periods_after', lang)} ({st.retention.period})", font=NOTE_FONT)
    row += 1
    head = [label("report:cohort", lang), label("report:size", lang), *[str(k) for k in range(width)]]
    rows = []
    for c in cohorts:
        shares = c.retention or [None if n is None or not c.size else n / c.size for n in c.customers]
        rows.append([c.cohort, c.size, *shares, *[None] * (width - len(shares))])
    top = row
    end = w.table(ws, row, head, rows, [None, FMT_COUNT, *[FMT_RATE] * width], listing=True)
    if width > 1:
        rng = f"D{top + 1}:{get_column_letter(2 + width)}{top + len(rows)}"
        ws.conditional_formatting.add(rng, ColorScaleRule(start_type="num", start_value=0, start_color="F7FBFC",
                                                          mid_type="percentile", mid_value=50, mid_color="7FC4C4",
                                                          end_type="max", end_color="12676E"))
    ws.freeze_panes = ws.cell(row=top + 1, column=3)
    row = w.section(ws, end, label("report:customers", lang))
    w.table(ws, row, head, [[c.cohort, c.size, *c.customers, *[None] * (width - len(c.customers))] for c in cohorts],
            [None, FMT_COUNT, *[FMT_COUNT] * width], listing=True)
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
    row = _title(w, ws, st, label("report:trend", lang))
    periods = st.kpis_by_period or []
    head = [label("report:period", lang), label("report:period_start", lang), label("report:period_end", lang), label("report:partial", lang),
            *[label("report:" + k, lang) for k, _ in TREND_COLUMNS]]
    rows = [[p.period, p.start, p.end, label("report:partial", lang) if p.partial else None, *[getattr(p, k) for k, _ in TREND_COLUMNS]]
            for p in periods]
    top = row
    w.table(ws, row, head, rows, [None, FMT_DATE, FMT_DATE, None, *[f for _, f in TREND_COLUMNS]], listing=True)
    ws.freeze_panes = ws.cell(row=top + 1, column=2)
    w.fit(ws, maximum=18)
    if not periods:
        return
    idx = {k: 5 + i for i, (k, _) in enumerate(TREND_COLUMNS)}
    cats = Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(periods))
    counts = LineChart()
    counts.title = label("report:customers", lang)
    for key in ("customers_end", "active_customers", "new_customers"):
        counts.add_data(Reference(ws, min_col=idx[key], min_row=top, max_row=top + len(periods)), titles_from_data=True)
    counts.set_categories(cats)
    money = LineChart()
    money.title = label("report:revenue", lang)
    money.add_data(Reference(ws, min_col=idx["revenue"], min_row=top, max_row=top + len(periods)), titles_from_data=True)
    money.set_categories(cats)
    rates = LineChart()
    rates.title = f"{label('report:retention_rate', lang)} / {label('report:churn_rate', lang)}"
    for key in ("retention_rate", "churn_rate"):
        rates.add_data(Reference(ws, min_col=idx[key], min_row=top, max_row=top + len(periods)), titles_from_data=True)
    rates.set_categories(cats)
    rates.y_axis.number_format = "0%"
    below = top + len(periods) + 3
    for i, ch in enumerate((counts, money, rates)):
        ch.height, ch.width = 7.5, 16
        ws.add_chart(ch, f"A{below + i * CHART_ROWS}")


def _clv(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang, clv = w.lang, st.clv
    row = _title(w, ws, st, label("report:clv", lang))
    if clv is None:
        return
    params: list[tuple[str, Any, str | None]] = [
        (label("report:model", lang), explain.model_name(clv.model, lang), None),
        (label("report:reason", lang), explain.sentence(clv.reason, lang), None),
        (label("report:time_unit", lang), label("report:period_" + clv.time_unit, lang) if clv.time_unit else None, None),
        (label("report:horizon_months", lang), clv.horizon, FMT_COUNT), (label("report:discount_rate", lang), clv.discount_rate, FMT_RATE),
        (label("report:margin", lang), clv.margin, FMT_RATE if isinstance(clv.margin, float) else None),
        (label("report:total", lang), clv.total, FMT_MONEY), (label("report:customers", lang), clv.customers, FMT_COUNT),
        *[(k, v, "0.0000") for k, v in clv.params.items()],
        (label("report:log_likelihood", lang), clv.log_likelihood, "#,##0.00"), (label("report:converged", lang), clv.converged, None),
    ]
    row = w.section(ws, row, label("report:parameter", lang))
    row = w.table(ws, row, [label("report:parameter", lang), label("report:value", lang)], [(a, b) for a, b, _ in params],
                  [None, None])
    for i, (_, value, fmt) in enumerate(params):
        if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.cell(row=row - len(params) - 1 + i, column=2).number_format = fmt
    if clv.by_segment:
        row = w.section(ws, row, label("report:clv_distribution", lang))
        keys = ("customers", "clv", "clv_share", "clv_per_customer", "mean_p_alive", "expected_purchases",
                "historical_revenue")
        fmts = [FMT_COUNT, FMT_MONEY, FMT_RATE, FMT_MONEY, FMT_PROB, FMT_NUMBER, FMT_MONEY]
        row = w.table(ws, row, [label("report:axis", lang), label("report:segment", lang), *[label("report:" + (k if k != "clv" else "clv_value"), lang) for k in keys]],
                      [(label("report:" + s["axis"], lang), actions.label(str(s["segment"]), lang), *[s.get(k) for k in keys])
                       for s in clv.by_segment], [None, None, *fmts], listing=True)
    if clv.top_customers:
        row = w.section(ws, row, label("report:top_customers", lang))
        top_keys = ("clv", "p_alive", "expected_purchases", "orders", "revenue", "last_order")
        fmts = [FMT_MONEY, FMT_PROB, FMT_NUMBER, FMT_COUNT, FMT_MONEY, FMT_DATE]
        row = w.table(ws, row, [label("report:customer_id", lang), *[label("report:" + (k if k != "clv" else "clv_value"), lang) for k in top_keys],
                                label("report:value_tier", lang), label("report:rfm_segment", lang)],
                      [(protect(str(c["customer_id"]), w.pii), *[_date_or(c.get(k)) for k in top_keys],
                        actions.label(str(c.get("value_tier")), lang) if c.get("value_tier") else None,
                        actions.label(str(c.get("rfm_segment")), lang, "rfm") if c.get("rfm_segment") else None)
                       for c in clv.top_customers], [None, *fmts, None, None], listing=True)
    v = clv.validation
    if v:
        row = w.section(ws, row, label("report:holdout", lang))
        scalars = [(k, val) for k, val in v.items() if not isinstance(val, (list, dict))]
        row = w.table(ws, row, [label("report:parameter", lang), label("report:value", lang)],
                      [(k, _date_or(val)) for k, val in scalars], [None, "#,##0.00##"])
        buckets = v.get("by_frequency") or []
        if buckets:
            bucket_keys = list(buckets[0].keys())
            row = w.table(ws, row, bucket_keys, [[b.get(k) for k in bucket_keys] for b in buckets],
                          [None if k == "frequency" else "#,##0.00" for k in bucket_keys])
        spend = v.get("spend")
        if isinstance(spend, dict):
            row = w.table(ws, row, ["spend", label("report:value", lang)], list(spend.items()), [None, "#,##0.00"])
    _clv_evidence(w, ws, st, row)
    w.fit(ws, maximum=40)


def _clv_evidence(w: _Writer, ws: Worksheet, st: Stocktake, row: int) -> int:
    """Warnings, model choice, parameter and total intervals, and the three diagnostics tables."""
    lang, clv = w.lang, st.clv
    assert clv is not None
    if clv.warnings:
        row = w.section(ws, row, label("report:warnings", lang))
        row = w.table(ws, row, [label("report:warnings", lang)], [(explain.sentence(message, lang),) for message in clv.warnings], [None])
    sel = clv.selection
    if sel:
        row = w.section(ws, row, f"{label('report:clv_choice', lang)}: {sel['holdout_start']} – {sel['holdout_end']}")
        row = w.table(ws, row, [label("report:clv_candidate", lang), label("report:clv_rmse", lang), label("report:clv_mae", lang), label("report:predicted", lang),
                                label("report:clv_note", lang)],
                      [(c["model"] + (" ✓" if c["model"] == sel.get("chosen") else ""), c.get("rmse"), c.get("mae"),
                        c.get("predicted_purchases"), c.get("note")) for c in sel.get("candidates", [])],
                      [None, "0.0000", "0.0000", "#,##0.0", None])
    if clv.param_intervals:
        row = w.section(ws, row, f"{label('report:clv_parameters', lang)} ({label('report:clv_interval_80', lang)}, {label('report:clv_interval_95', lang)})")
        columns = ("estimate", "se", "low_80", "high_80", "low_95", "high_95")
        row = w.table(ws, row, [label("report:parameter", lang), *columns],
                      [(name, *[v.get(k) for k in columns]) for name, v in clv.param_intervals.items()],
                      [None, *["0.0000"] * len(columns)])
    if clv.total_intervals:
        bounds = ("value", "low_80", "high_80", "low_95", "high_95")
        row = w.table(ws, row, [label("report:total", lang), *bounds],
                      [(label("report:" + ("clv_value" if name == "clv" else name), lang), *[v.get(k) for k in bounds])
                       for name, v in clv.total_intervals.items()],
                      [None, *["#,##0.00"] * len(bounds)])
    diag = clv.diagnostics or {}
    for key, title in (("by_frequency", "clv_by_frequency"), ("p_alive_histogram", "clv_p_alive_hist"),
                       ("tracking", "clv_tracking")):
        rows = diag.get(key) or []
        if rows:
            row = w.section(ws, row, label("report:" + title, lang))
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
    row = _title(w, ws, st, label("report:breakdowns", lang))
    tiers = [k for k in actions.VALUE_TIERS]
    for b in st.breakdowns or []:
        row = w.section(ws, row, f"{label('report:breakdown', lang)} {label('report:' + _dim_key(b.dimension), lang)}")
        row = w.table(
            ws, row,
            [label("report:" + _dim_key(b.dimension), lang), label("report:customers", lang), label("report:share", lang), label("report:revenue", lang),
             label("report:revenue_share", lang), label("report:average_order_value", lang), label("report:repeat_purchase_rate", lang),
             *[actions.label(k, lang) for k in tiers]],
            [(explain.dimension_value(r.value, lang), r.customers, r.share, r.revenue, r.revenue_share, r.average_order_value, r.repeat_purchase_rate,
              *[r.tiers.get(k) for k in tiers]) for r in b.rows],
            [None, FMT_COUNT, FMT_RATE, FMT_MONEY, FMT_RATE, FMT_MONEY, FMT_RATE, FMT_COUNT, FMT_COUNT, FMT_COUNT],
            listing=True,
        )
    w.fit(ws, maximum=30)


def _dim_key(dimension: str) -> str:
    return "segment_dim" if dimension == "segment" else dimension


def _at_risk(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    lang, churn = w.lang, st.churn
    row = _title(w, ws, st, label("report:churn", lang))
    if churn is None:
        return
    facts = [
        (label("report:churn_window", lang), churn.definition.get("inactive_days"), FMT_COUNT),
        (label("report:basis", lang), explain.sentence(churn.definition.get("basis"), lang), None),
        (label("report:churn_rate", lang), churn.churn_rate, FMT_RATE),
        (label("report:churned_customers", lang), churn.churned_customers, FMT_COUNT),
        (label("report:churned_revenue", lang), churn.churned_revenue, FMT_MONEY),
        (label("report:at_risk_customers", lang), churn.at_risk_customers, FMT_COUNT),
    ]
    row = w.table(ws, row, [label("report:metric", lang), label("report:value", lang)], [(a, b) for a, b, _ in facts], [None, None])
    for i, (_, value, fmt) in enumerate(facts):
        if fmt and isinstance(value, (int, float)):
            ws.cell(row=row - len(facts) - 1 + i, column=2).number_format = fmt
    head = [label("report:customer_id", lang), label("report:customer_name", lang), label("report:owner", lang), label("report:region", lang),
            label("report:last_order", lang), label("report:recency_days", lang), label("report:usual_interval_days", lang),
            label("report:orders", lang), label("report:revenue", lang), label("report:value_at_risk", lang), label("report:value_tier", lang)]
    fmts = [None, None, None, None, FMT_DATE, FMT_COUNT, FMT_NUMBER, FMT_COUNT, FMT_MONEY, FMT_MONEY, None]
    for title, rows in ((label("report:at_risk_list", lang), churn.at_risk), (label("report:win_back_list", lang), churn.win_back)):
        row = w.section(ws, row, title)
        row = w.table(ws, row, head,
                      [(protect(r.customer_id, w.pii), protect(r.customer_name, w.pii), r.owner, r.region,
                        r.last_order, r.recency_days, r.usual_interval_days, r.orders,
                        r.revenue, r.value_at_risk, actions.label(r.value_tier, lang) if r.value_tier else None)
                       for r in rows], fmts, listing=True)
    w.fit(ws, maximum=60)
    ws.column_dimensions["B"].width = max(ws.column_dimensions["B"].width or 0, 14)


def _sheet_names(lang: Lang) -> dict[str, str]:
    keys = ("summary", "customers_sheet", "segments", "cohorts", "trends", "clv", "breakdowns", "at_risk", "rejects")
    if lang == "en":
        return {k: v for k, v in zip(keys, ("Summary", "Customers", "Segments", "Cohorts", "Trends", "CLV",
                                              "Breakdowns", "Churn", "Rejects"), strict=True)}
    return {k: v for k, v in zip(keys, ("概览", "客户明细", "客户分群", "同期群", "趋势", "终身价值", "维度分析",
                                        "客户流失", "拒绝行"), strict=True)}


def build_workbook(result: AuditResult, *, lang: Lang = "en", pii: PiiMode = "mask",
                   max_rows: int = EXCEL_MAX_ROWS,
                   comparison: Comparison | None = None) -> tuple[bytes, list[_Streamed], ExcelReport]:
    """The workbook without the streamed rows (as bytes), the streamed sheets, and the report.

    With a ``comparison`` (the previous stocktake), a Changes sheet follows the Summary."""
    st = result.stocktake
    w = _Writer(lang, st.currency, pii, comparison)
    names = _sheet_names(lang)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = names["summary"]

    changes_ws = wb.create_sheet(label("book:changes_sheet", lang)) if comparison is not None else None
    customers_ws = wb.create_sheet(names["customers_sheet"])
    table = digest.customer_table(result.customers, pii, lang)
    total = table.height
    capacity = max_rows - 2  # note row + header row
    shown = table.head(capacity)
    note = (label("report:capped_note", lang, shown=shown.height, total=total) if shown.height < total
            else label("report:all_customers_note", lang, total=total))
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
        excel_book.book_sheet(w, wb.create_sheet(label("book:book_sheet", lang)), st)
    if st.service is not None:
        excel_book.service_sheet(w, wb.create_sheet(label("book:service_sheet", lang)), st)

    rejects = result.ledger.rejects
    if rejects.height:
        ws = wb.create_sheet(names["rejects"])
        frame = rejects.head(capacity)
        if "file" in frame.columns:  # the file's name, never the folder it was read from
            frame = frame.with_columns(pl.col("file").cast(pl.String).str.replace(r"^.*[/\\]", ""))
        if "reason" in frame.columns:
            codes = frame["reason"].unique().drop_nulls().to_list()
            frame = frame.with_columns(pl.col("reason").replace(codes, [label("excluded:" + c, lang) for c in codes]))
        heads = _unique([label("report:" + c, lang) if c != "value" else label("report:value", lang) for c in frame.columns])
        streamed.append(_prepare_streamed(w, ws, len(wb.worksheets), frame, heads,
                                          f"{label('report:rows_rejected', lang)}: {rejects.height:,}", "Rejects"))

    w.control_chars += sum(_count_illegal(s.frame) for s in streamed)
    _summary(w, summary, result)
    if w.control_chars:
        last = summary.max_row + 2
        w.put(summary, last, 1, label("report:control_chars", lang))
        w.put(summary, last, 2, w.control_chars, FMT_COUNT)
    w.fit(summary, maximum=45)
    summary.column_dimensions["A"].width = 32  # the key message's sentences run on across the row
    _definitions(w, wb.create_sheet(label("report:definitions", lang)), st)
    _finish(wb, excel_money_format(st.currency))
    summary.sheet_properties.tabColor = ACCENT
    wb.properties.title = label("report:title", lang)
    wb.properties.creator = f"custinv {st.tool.version}"
    buf = io.BytesIO()
    wb.save(buf)
    report = ExcelReport(Path(), [ws.title for ws in wb.worksheets], total, shown.height, w.control_chars)
    return buf.getvalue(), streamed, report


def _definitions(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    """Every headline number's one-line definition and window (the glossary), as a Table."""
    lang = w.lang
    row = _title(w, ws, st, label("report:definitions", lang))
    keys = [key for key, _ in digest.kpi_rows(st)] + (["clv"] if st.clv is not None else [])
    rows = [(label("report:" + key, lang) if key != "clv" else label("report:clv_value", lang), glossary.window_text(key, st, lang), text)
            for key, text in glossary.definition_rows(st, lang, keys)]
    rows += [(f"{label('period:' + key.removeprefix('period.'), lang)} ({label('report:period', lang)})",
              label("report:period", lang), text)
             for key, text in glossary.definition_rows(st, lang, [k for k in glossary.DEFINITIONS if k.startswith("period.")])]
    w.table(ws, row, [label("report:metric", lang), label("report:window", lang), label("report:definition", lang)], rows, [None, None, None],
            listing=True)
    w.fit(ws, maximum=90)
    ws.freeze_panes = ws.cell(row=row + 1, column=2)


def _finish(wb: Workbook, money_format: str) -> None:
    """What every sheet gets: money formats that name the currency, and print setup — landscape,
    fit to one page wide, the header row repeated on every page (the row above the frozen pane)."""
    for ws in wb.worksheets:
        if money_format != FMT_MONEY:
            for line in ws.iter_rows():
                for cell in line:
                    if cell.number_format == FMT_MONEY:
                        cell.number_format = money_format
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = False
        frozen = ws.freeze_panes
        if frozen and len(ws.tables) == 1:  # with several lists, one header repeated would mislabel the others
            header = ws[frozen].row - 1
            if header >= 1:
                ws.print_title_rows = f"{header}:{header}"


def write_excel(result: AuditResult, path: Path, *, lang: Lang = "en", pii: PiiMode = "mask",
                max_rows: int = EXCEL_MAX_ROWS, comparison: Comparison | None = None) -> ExcelReport:
    """Write the workbook atomically (mode 0600: it lists customers and rejected raw values)."""
    from custinv.outputs import atomic_path

    raw, streamed, report = build_workbook(result, lang=lang, pii=pii, max_rows=max_rows, comparison=comparison)
    with atomic_path(path, private=True) as tmp:
        _splice(raw, tmp, streamed)
    report.path = path
    return report
