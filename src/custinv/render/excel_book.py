"""The Changes, Customer book and Service sheets of the workbook.

They follow the workbook's cell rules (typed cells, text that Excel would run stored as text,
control characters replaced) by writing only through :class:`custinv.render.xlsx_cells._Writer`;
they import the cells module, never the workbook module, so the two do not import each other.
Rates are stored as fractions with a percent format; a rate's change is stored in
percentage points (as on the Summary sheet), any other change in the KPI's own unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openpyxl.styles import PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from custinv.models import Comparison, ServiceKpis, Stocktake
from custinv.render import digest
from custinv.render.book_views import class_text, grids, kpi_kind, reason_text, shown_deltas
from custinv.render.i18n import label
from custinv.render.pii import protect

if TYPE_CHECKING:
    from custinv.render.xlsx_cells import _Writer

SAME_FILL = PatternFill("solid", fgColor="EEF1F5")


def _formats() -> dict[str, str]:
    from custinv.render import xlsx_cells as x

    return {"money": x.FMT_MONEY, "rate": x.FMT_RATE, "count": x.FMT_COUNT, "number": x.FMT_NUMBER}


def changes_sheet(w: _Writer, ws: Worksheet, st: Stocktake, cmp: Comparison) -> None:
    """KPI deltas, one migration grid per axis (customers, then revenue), gained / lost / movers."""
    from custinv.render import xlsx_cells as x

    lang, fmts = w.lang, _formats()
    row = x._title(w, ws, st, f"{label('book:comparison', lang)}: {cmp.old.as_of} → {cmp.new.as_of}")
    ws.cell(row=2, column=1).value = w.text(f"{label('book:before', lang)} {cmp.old.as_of} ({cmp.old.path}) · "
                                            f"{label('book:after', lang)} {cmp.new.as_of}")
    row = w.table(ws, row, [label("report:metric", lang), label("report:value", lang)],
                  [(label("book:customers_gained", lang), cmp.customers_gained),
                   (label("book:customers_lost", lang), cmp.customers_lost)], [None, x.FMT_COUNT])

    row = w.section(ws, row, label("book:kpi_deltas", lang))
    rows = []
    formats = []
    for key, d in shown_deltas(cmp):
        kind = kpi_kind(key)
        delta = None if d.delta is None else (d.delta * 100 if kind == "rate" else d.delta)
        rows.append((label("book:" + key, lang), d.old, d.new, delta))
        formats.append((fmts[kind], x.FMT_POINTS if kind == "rate" else _signed(fmts[kind])))
    top = row
    row = w.table(ws, row, [label("report:metric", lang), label("book:before", lang), label("book:after", lang),
                            label("book:change", lang)], rows, [None, None, None, None])
    keys = [key for key, _ in shown_deltas(cmp)]
    for i, ((fmt, dfmt), values, key) in enumerate(zip(formats, rows, keys, strict=True)):
        r = top + 1 + i
        for col in (2, 3):
            if isinstance(values[col - 1], (int, float)):
                ws.cell(row=r, column=col).number_format = fmt
        if values[3] is not None:
            cell = ws.cell(row=r, column=4)
            cell.number_format = dfmt
            mood = digest.tone(key, values[3])
            if mood != "flat":
                cell.font = x.GOOD_FONT if mood == "good" else x.BAD_FONT

    if cmp.migrations:
        w.put(ws, row, 1, label("book:migration_note", lang), font=x.NOTE_FONT)
        row += 2
    for grid in grids(cmp):
        axis_name = label("book:" + grid.axis, lang)
        for measure, fmt in (("customers", x.FMT_COUNT), ("revenue", x.FMT_MONEY)):
            row = w.section(ws, row, f"{label('book:migration', lang)}: {axis_name} — "
                                     f"{label('book:migration_' + measure, lang)}")
            head = [f"{axis_name} ↓ / →", *[class_text(v, lang) for v in grid.tos]]
            body = [[class_text(f, lang),
                     *[getattr(grid.cells[(f, to)], measure) if (f, to) in grid.cells else None for to in grid.tos]]
                    for f in grid.froms]
            top = row
            row = w.table(ws, row, head, body, [None, *[fmt] * len(grid.tos)])
            for i, f in enumerate(grid.froms):
                if f in grid.tos:
                    ws.cell(row=top + 1 + i, column=2 + grid.tos.index(f)).fill = SAME_FILL

    head = [label("book:customer", lang), label("book:reason", lang), label("report:value", lang), label("report:revenue", lang),
            label("book:value_tier", lang), label("book:rfm_segment", lang), label("book:lifecycle_stage", lang)]
    for key, people in (("gained_customers", cmp.gained_customers), ("lost_customers", cmp.lost_customers)):
        row = w.section(ws, row, f"{label('book:' + key, lang)} ({len(people)} / "
                                 f"{cmp.customers_gained if key == 'gained_customers' else cmp.customers_lost})")
        row = w.table(ws, row, head,
                      [(protect(p.customer_id, w.pii), reason_text(p.reason, lang), p.value, p.revenue,
                        _klass(p.value_tier, lang), _klass(p.rfm_segment, lang), _klass(p.lifecycle_stage, lang))
                       for p in people],
                      [None, None, x.FMT_MONEY, x.FMT_MONEY, None, None, None], listing=True)
    if cmp.movers:
        axes = list(dict.fromkeys(a for m in cmp.movers for a in m.changes))
        row = w.section(ws, row, label("book:movers", lang))
        w.table(ws, row, [label("book:customer", lang), label("report:value", lang),
                          f"{label('report:revenue', lang)} ({label('book:before', lang)})",
                          f"{label('report:revenue', lang)} ({label('book:after', lang)})", *[label("book:" + a, lang) for a in axes]],
                [(protect(m.customer_id, w.pii), m.value, m.revenue_old, m.revenue_new,
                  *[_move(m.changes.get(a), lang) for a in axes]) for m in cmp.movers],
                [None, x.FMT_MONEY, x.FMT_MONEY, x.FMT_MONEY, *[None] * len(axes)], listing=True)
    w.fit(ws, maximum=32)
    ws.sheet_view.showGridLines = False


def _signed(fmt: str) -> str:
    return f"+{fmt};-{fmt};{fmt}"


def _klass(value: str | None, lang: Any) -> str | None:
    return None if not value else class_text(value, lang)


def _move(change: list[str | None] | None, lang: Any) -> str | None:
    if not change:
        return None
    old, new = (change + [None, None])[:2]
    return f"{class_text(old, lang)} → {class_text(new, lang)}"


def book_sheet(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    """Accounts, prospects, conversion (overall and per period), buyers missing from the master."""
    from custinv.render import xlsx_cells as x

    lang, book = w.lang, st.customer_book
    row = x._title(w, ws, st, label("book:customer_book", lang))
    if book is None:
        return
    facts: list[tuple[str, Any, str]] = [
        ("accounts", book.accounts, x.FMT_COUNT), ("buyers", book.buyers, x.FMT_COUNT),
        ("prospects", book.prospects, x.FMT_COUNT), ("prospect_share", book.prospect_share, x.FMT_RATE),
        ("customers_missing_from_master", book.customers_missing_from_master, x.FMT_COUNT),
        ("missing_orders", book.missing_orders, x.FMT_COUNT), ("missing_revenue", book.missing_revenue, x.FMT_MONEY),
    ]
    conv = book.conversion
    if conv is not None:
        facts += [("within_days", conv.within_days, x.FMT_COUNT), ("accounts_eligible", conv.accounts_eligible, x.FMT_COUNT),
                  ("converted", conv.converted, x.FMT_COUNT), ("conversion_rate", conv.conversion_rate, x.FMT_RATE),
                  ("median_days_to_first_order", conv.median_days_to_first_order, x.FMT_NUMBER),
                  ("mean_days_to_first_order", conv.mean_days_to_first_order, x.FMT_NUMBER),
                  ("ordered_before_signup", conv.ordered_before_signup, x.FMT_COUNT)]
    row = _facts(w, ws, row, facts)
    if book.dimensions_from_master:
        w.put(ws, row - 1, 1, f"{label('book:dimensions_from_master', lang)}: "
                              f"{', '.join(label('report:' + d, lang) for d in book.dimensions_from_master)}", font=x.NOTE_FONT)
        row += 1
    if conv is not None and conv.periods:
        row = w.section(ws, row, f"{label('book:conversion', lang)} ({label('report:period', lang)}: {conv.period})")
        row = w.table(ws, row, [label("report:period", lang), label("book:accounts", lang), label("book:converted", lang),
                                label("book:conversion_rate", lang), label("book:complete", lang)],
                      [(p.period, p.accounts, p.converted, p.conversion_rate, label("report:ok", lang) if p.complete else label("report:partial", lang))
                       for p in conv.periods], [None, x.FMT_COUNT, x.FMT_COUNT, x.FMT_RATE, None], listing=True)
    row = w.section(ws, row, label("book:missing_customers", lang))
    w.table(ws, row, [label("book:customer", lang), label("report:orders", lang), label("report:revenue", lang)],
            [(protect(m.customer_id, w.pii), m.orders, m.revenue) for m in book.missing_customers],
            [None, x.FMT_COUNT, x.FMT_MONEY], listing=True)
    w.fit(ws, maximum=40)
    ws.sheet_view.showGridLines = False


def _facts(w: _Writer, ws: Worksheet, row: int, facts: list[tuple[str, Any, str]]) -> int:
    """A two-column metric/value table with each value in its own number format."""
    lang = w.lang
    top = row
    row = w.table(ws, row, [label("report:metric", lang), label("report:value", lang)], [(label("book:" + k, lang), v) for k, v, _ in facts],
                  [None, None])
    for i, (_, value, fmt) in enumerate(facts):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.cell(row=top + 1 + i, column=2).number_format = fmt
    return row


SERVICE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("tickets", "count"), ("complaints", "count"), ("customers_with_complaints", "count"),
    ("active_customers", "count"), ("complaint_rate", "rate"), ("orders", "count"),
    ("tickets_per_100_orders", "number"), ("resolved_tickets", "count"), ("median_resolution_hours", "number"),
    ("sla_tickets", "count"), ("sla_rate", "rate"), ("csat_responses", "count"), ("csat", "rate"),
    ("nps_responses", "count"), ("nps", "number"),
)
"""Every ServiceKpis field in the order of the model, with how it reads."""


def _service_values(k: ServiceKpis) -> list[Any]:
    return [getattr(k, key) for key, _ in SERVICE_COLUMNS]


def service_sheet(w: _Writer, ws: Worksheet, st: Stocktake) -> None:
    """Service KPIs, tickets by type, by period, by segment, churn of complainers vs the rest."""
    from custinv.render import xlsx_cells as x

    lang, svc, fmts = w.lang, st.service, _formats()
    row = x._title(w, ws, st, label("book:service", lang))
    if svc is None:
        return
    facts = [(key, getattr(svc.kpis, key), fmts[kind]) for key, kind in SERVICE_COLUMNS]
    facts += [("sla_hours", svc.sla_hours, x.FMT_NUMBER), ("anonymous_tickets", svc.anonymous_tickets, x.FMT_COUNT),
              ("unknown_customer_tickets", svc.unknown_customer_tickets, x.FMT_COUNT)]
    row = _facts(w, ws, row, facts)
    col_fmts = [fmts[kind] for _, kind in SERVICE_COLUMNS]
    col_heads = [label("book:" + key, lang) for key, _ in SERVICE_COLUMNS]
    if svc.by_type:
        row = w.section(ws, row, label("book:by_type", lang))
        row = w.table(ws, row, [label("book:ticket_type", lang), label("book:tickets", lang)],
                      [(label(f"book:kind.{k}", lang) if f"kind.{k}" in _kinds() else k, n) for k, n in svc.by_type.items()],
                      [None, x.FMT_COUNT])
    if svc.by_period:
        row = w.section(ws, row, label("book:by_period", lang))
        row = w.table(ws, row, [label("report:period", lang), label("report:partial", lang), *col_heads],
                      [(p.period, label("report:partial", lang) if p.partial else None, *_service_values(p)) for p in svc.by_period],
                      [None, None, *col_fmts], listing=True)
    if svc.by_segment:
        row = w.section(ws, row, label("book:by_segment", lang))
        row = w.table(ws, row, [label("report:axis", lang), label("report:segment", lang), *col_heads],
                      [(label("book:" + s.axis, lang), class_text(s.segment, lang), *_service_values(s)) for s in svc.by_segment],
                      [None, None, *col_fmts], listing=True)
    if svc.churn_by_complaint:
        row = w.section(ws, row, label("book:churn_by_complaint", lang))
        w.table(ws, row, [label("book:churn_by_complaint", lang), label("report:customers", lang), label("report:churned_customers", lang),
                          label("report:churn_rate", lang)],
                [(label("book:" + g.group, lang), g.customers, g.churned, g.churn_rate) for g in svc.churn_by_complaint],
                [None, x.FMT_COUNT, x.FMT_COUNT, x.FMT_RATE])
    w.fit(ws, maximum=30)
    ws.sheet_view.showGridLines = False


def _kinds() -> set[str]:
    from custinv.render.i18n import LABELS

    return {k.removeprefix("book:") for k in LABELS if k.startswith("book:kind.")}
