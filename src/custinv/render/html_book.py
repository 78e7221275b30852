"""Display rows of the Changes, Customer book and Service sections of the HTML report.

Like :mod:`custinv.render.html`, these functions turn the models into plain strings (the
template autoescapes them); the only markup is the SVG of :mod:`custinv.render.charts`.
"""

from __future__ import annotations

from typing import Any

from custinv.models import Comparison, ServiceKpis, Stocktake
from custinv.render import charts, digest
from custinv.render.book_views import class_text, grids, kpi_kind, reason_text, shown_deltas
from custinv.render.i18n import Lang, label
from custinv.render.pii import PiiMode, protect


def _value(kind: str, v: float | None, currency: str | None, lang: Lang) -> str:
    if v is None:
        return "—"
    if kind == "money":
        return digest.money(v, currency, lang)
    if kind == "rate":
        return digest.rate(v)
    if kind == "number":
        return digest.number(v)
    return digest.count(v)


def _delta(key: str, kind: str, d: float | None, currency: str | None, lang: Lang) -> tuple[str, str]:
    """(text, tone): rates in percentage points, the rest in their own unit; tone by meaning
    (:func:`custinv.render.digest.tone`: churn going up is red)."""
    if d is None:
        return "—", "flat"
    tone = digest.tone(key, d)
    if kind == "rate":
        return f"{d * 100:+.1f} pp", tone
    sign = "+" if d > 0 else "−" if d < 0 else "±"
    return sign + _value(kind, abs(d), currency, lang), tone


def changes(cmp: Comparison | None, currency: str | None, lang: Lang, pii: PiiMode) -> dict[str, Any] | None:
    """KPI deltas, migration grids (customers over revenue in each cell), gained / lost / movers."""
    if cmp is None:
        return None
    deltas = []
    for key, d in shown_deltas(cmp):
        kind = kpi_kind(key)
        text, tone = _delta(key, kind, d.delta, currency, lang)
        deltas.append({"key": key, "label": label("book:" + key, lang), "old": _value(kind, d.old, currency, lang),
                       "new": _value(kind, d.new, currency, lang), "delta": text, "tone": tone})
    matrices = []
    for g in grids(cmp):
        rows = []
        for f in g.froms:
            cells = []
            for to in g.tos:
                c = g.cells.get((f, to))
                cells.append(None if c is None else {"customers": digest.count(c.customers),
                                                     "revenue": digest.compact_money(c.revenue, currency, lang),
                                                     "same": f == to})
            rows.append({"label": class_text(f, lang), "cells": cells})
        matrices.append({"axis": g.axis, "title": f"{label('book:migration', lang)}: {label('book:' + g.axis, lang)}",
                         "tos": [class_text(to, lang) for to in g.tos], "rows": rows})

    def people(rows: list[Any]) -> list[dict[str, str]]:
        return [{"id": protect(p.customer_id, pii) or "", "reason": reason_text(p.reason, lang),
                 "value": digest.money(p.value, currency, lang), "revenue": digest.money(p.revenue, currency, lang),
                 "tier": class_text(p.value_tier, lang), "segment": class_text(p.rfm_segment, lang),
                 "stage": class_text(p.lifecycle_stage, lang)} for p in rows]

    movers = [{"id": protect(m.customer_id, pii) or "", "value": digest.money(m.value, currency, lang),
               "before": digest.money(m.revenue_old, currency, lang), "after": digest.money(m.revenue_new, currency, lang),
               "changes": "; ".join(f"{label('book:' + a, lang)}: {class_text(o, lang)} → {class_text(n, lang)}"
                                    for a, (o, n) in m.changes.items())} for m in cmp.movers]
    return {"title": label("book:changes_since", lang).format(date=cmp.old.as_of),
            "old": str(cmp.old.as_of), "new": str(cmp.new.as_of),
            "gained": digest.count(cmp.customers_gained), "lost": digest.count(cmp.customers_lost),
            "deltas": deltas, "matrices": matrices, "gained_rows": people(cmp.gained_customers),
            "lost_rows": people(cmp.lost_customers), "movers": movers}


def book(st: Stocktake, lang: Lang, pii: PiiMode) -> dict[str, Any] | None:
    """Accounts, prospects, conversion (with its per-period chart), buyers missing from the master."""
    b = st.customer_book
    if b is None:
        return None
    money = lambda v: digest.money(v, st.currency, lang)  # noqa: E731
    cards = [(label("book:accounts", lang), digest.count(b.accounts), None),
             (label("book:buyers", lang), digest.count(b.buyers), None),
             (label("book:prospects", lang), digest.count(b.prospects), digest.rate(b.prospect_share)),
             (label("book:customers_missing_from_master", lang), digest.count(b.customers_missing_from_master),
              f"{digest.count(b.missing_orders)} {label('report:orders', lang)} · {money(b.missing_revenue)}")]
    conv = b.conversion
    conversion = None
    if conv is not None:
        cards.append((f"{label('book:conversion_rate', lang)} (≤ {conv.within_days} d)", digest.rate(conv.conversion_rate),
                      f"{digest.count(conv.converted)} / {digest.count(conv.accounts_eligible)}"))
        cards.append((label("book:median_days_to_first_order", lang), digest.number(conv.median_days_to_first_order),
                      None))
        periods = [{"period": p.period, "accounts": digest.count(p.accounts), "converted": digest.count(p.converted),
                    "rate": digest.rate(p.conversion_rate), "complete": p.complete} for p in conv.periods]
        chart = charts.line_chart([p.period + ("" if p.complete else "*") for p in conv.periods],
                                  [(label("book:conversion_rate", lang), [p.conversion_rate for p in conv.periods],
                                    "#2a9d8f")], title=label("book:conversion", lang), percent=True) \
            if len(conv.periods) > 1 else None
        conversion = {"period": conv.period, "rows": periods, "chart": chart}
    return {"cards": [{"label": a, "value": v, "basis": s} for a, v, s in cards], "conversion": conversion,
            "missing": [{"id": protect(m.customer_id, pii) or "", "orders": digest.count(m.orders),
                         "revenue": money(m.revenue)} for m in b.missing_customers],
            "dimensions": ", ".join(label("report:" + d, lang) for d in b.dimensions_from_master)}


SERVICE_CARDS = ("tickets", "complaints", "complaint_rate", "tickets_per_100_orders", "median_resolution_hours",
                 "sla_rate", "csat", "nps")


def _service_row(k: ServiceKpis) -> dict[str, str]:
    return {"tickets": digest.count(k.tickets), "complaints": digest.count(k.complaints),
            "complaint_rate": digest.rate(k.complaint_rate), "per_100": digest.number(k.tickets_per_100_orders),
            "resolution": digest.number(k.median_resolution_hours), "sla": digest.rate(k.sla_rate),
            "csat": digest.rate(k.csat), "nps": digest.number(k.nps, 0)}


def service(st: Stocktake, lang: Lang) -> dict[str, Any] | None:
    """KPI cards, tickets by type, the period trend (table and chart), segments, churn by complaint."""
    svc = st.service
    if svc is None:
        return None
    k = svc.kpis
    basis = {"sla_rate": f"≤ {digest.number(svc.sla_hours, 0)} h · n={digest.count(k.sla_tickets)}",
             "csat": f"n={digest.count(k.csat_responses)}", "nps": f"n={digest.count(k.nps_responses)}",
             "complaint_rate": f"{digest.count(k.customers_with_complaints)} / {digest.count(k.active_customers)}"}
    cards = [{"key": key, "label": label("book:" + key, lang), "value": _value(kpi_kind(key), getattr(k, key), None, lang),
              "basis": basis.get(key)} for key in SERVICE_CARDS]
    total = sum(svc.by_type.values()) or 1
    types = charts.hbars([(label(f"book:kind.{kind}", lang), n, f"{digest.count(n)} ({digest.rate(n / total)})",
                           charts.colour(kind, i)) for i, (kind, n) in enumerate(svc.by_type.items())],
                         title=label("book:by_type", lang)) if svc.by_type else None
    periods = svc.by_period
    trend = charts.line_chart([p.period + ("*" if p.partial else "") for p in periods], [
        (label("book:complaint_rate", lang), [p.complaint_rate for p in periods], "#d1495b"),
        (label("book:sla_rate", lang), [p.sla_rate for p in periods], "#1f4e79"),
        (label("book:csat", lang), [p.csat for p in periods], "#2a9d8f"),
    ], title=label("book:by_period", lang), percent=True) if len(periods) > 1 else None
    return {
        "cards": cards, "types": types, "trend": trend,
        "periods": [{"period": p.period, "partial": p.partial, **_service_row(p)} for p in periods],
        "segments": [{"axis": label("book:" + s.axis, lang), "segment": class_text(s.segment, lang), "partial": False,
                      **_service_row(s)}
                     for s in svc.by_segment],
        "churn": [{"group": label("book:" + g.group, lang), "customers": digest.count(g.customers),
                   "churned": digest.count(g.churned), "rate": digest.rate(g.churn_rate)} for g in svc.churn_by_complaint],
        "unattributed": (f"{label('book:anonymous_tickets', lang)}: {digest.count(svc.anonymous_tickets)} · "
                         f"{label('book:unknown_customer_tickets', lang)}: {digest.count(svc.unknown_customer_tickets)}"),
    }
