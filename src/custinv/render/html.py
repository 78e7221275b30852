"""The stocktake as one self-contained HTML file (Jinja2): inline CSS, inline SVG charts, no
JavaScript, a Content-Security-Policy that forbids loading anything, and A4 print styles.

Safety: the environment autoescapes every template, whatever its name (``.html.j2`` included),
so a customer called ``<script>`` or ``{{7*7}}`` is shown as text; the only raw markup that
reaches the page is the SVG built by :mod:`custinv.render.charts`, which escapes its own text.
The machine-readable summary block goes through ``|tojson``.

This module turns the Stocktake into plain rows of display strings (``_context``); the
template only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custinv.analytics import actions
from custinv.models import Comparison, Stocktake
from custinv.render import charts, digest, explain, key_message
from custinv.render.i18n import Lang, label
from custinv.render.pii import PiiMode, protect

if TYPE_CHECKING:
    import jinja2

    from custinv.stocktake import AuditResult

TEMPLATE = "report.html.j2"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
       "base-uri 'none'; form-action 'none'")
COHORT_ROWS = 24
REJECTS_SHOWN = 50
FONT_STACK = {
    "en": '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Noto Sans CJK SC", '
          '"PingFang SC", "Microsoft YaHei", sans-serif',
    "zh": '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", '
          '"Source Han Sans SC", "WenQuanYi Micro Hei", -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
}


def environment() -> jinja2.Environment:
    """The Jinja2 environment: autoescape for every template name, strict undefined variables."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("custinv.render", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml", "j2", "html.j2"),
                                            default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class _Fmt:
    lang: Lang
    currency: str | None

    def money(self, v: float | None) -> str:
        return digest.money(v, self.currency, self.lang)

    def short(self, v: float | None) -> str:
        return digest.compact_money(v, self.currency, self.lang)


def render_html(result: AuditResult, *, lang: Lang = "en", pii: PiiMode = "mask",
                comparison: Comparison | None = None) -> str:
    """The report as a string (see :func:`write_html` for the file); ``comparison`` adds the Changes section."""
    from custinv.render import html_book

    env = environment()
    ctx = _context(result.stocktake, result, lang, pii)
    ctx.update(B=lambda key: label("book:" + key, lang),
               key_message=key_message.sentences(result.stocktake, lang, comparison),
               changes=html_book.changes(comparison, result.stocktake.currency, lang, pii),
               book=html_book.book(result.stocktake, lang, pii), service=html_book.service(result.stocktake, lang))
    ctx["toc"] = _contents(ctx, lang)
    return env.get_template(TEMPLATE).render(**ctx)


def _contents(ctx: dict[str, Any], lang: Lang) -> list[tuple[str, str]]:
    """(anchor, title) of every section this report has, in page order (the table of contents)."""
    sections = [("kpis", label("report:kpis", lang), True), ("changes", label("book:comparison", lang), bool(ctx.get("changes"))),
                ("base", label("report:customer_base", lang), True), ("rfm", label("report:rfm_map", lang), bool(ctx.get("rfm"))),
                ("frequency", label("report:frequency_classes", lang), bool(ctx.get("frequency"))),
                ("cohorts", label("report:cohorts", lang), bool(ctx.get("cohorts"))),
                ("trends", label("report:trend", lang), bool(ctx.get("trends"))), ("clv", label("report:clv", lang), bool(ctx.get("clv"))),
                ("churn", label("report:churn", lang), bool(ctx.get("churn"))),
                ("breakdowns", label("report:breakdowns", lang), bool(ctx.get("breakdowns"))),
                ("book", label("book:customer_book", lang), bool(ctx.get("book"))),
                ("service", label("book:service", lang), bool(ctx.get("service"))),
                ("quality", label("report:data_quality", lang), True)]
    return [(anchor, title) for anchor, title, present in sections if present]


def write_html(result: AuditResult, path: Path, *, lang: Lang = "en", pii: PiiMode = "mask",
               comparison: Comparison | None = None) -> Path:
    """Write the report atomically; private (0600) when personal data is shown in full."""
    from custinv.outputs import write_text

    write_text(path, render_html(result, lang=lang, pii=pii, comparison=comparison), private=pii == "show")
    return path


# ----------------------------------------------------------------------------- the context


def _context(st: Stocktake, result: AuditResult, lang: Lang, pii: PiiMode) -> dict[str, Any]:
    f = _Fmt(lang, st.currency)
    ctx: dict[str, Any] = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "csp": CSP,
        "font_stack": FONT_STACK[lang],
        "L": lambda key, **kw: label("report:" + key, lang, **kw),
        "title": label("report:title", lang),
        "as_of": digest.date_text(st.as_of, lang),
        "currency": st.currency or "—",
        "version": st.tool.version,
        "pii_note": label("report:pii_note", lang, mode=label("report:pii_" + pii, lang)),
        "files": ", ".join(Path(x.path).name for x in st.source.files),
        "cards": _cards(st, lang),
        "comparison": None,
        "machine": {"schema_version": st.schema_version, "as_of": str(st.as_of), "currency": st.currency,
                    "kpis": st.kpis.model_dump(mode="json") if st.kpis else None},
    }
    pair = digest.comparison_periods(st)
    if pair:
        ctx["comparison"] = f"{pair[0].period} {label('report:vs', lang)} {pair[1].period}"
    ctx.update(_base(st, f))
    ctx["rfm"] = _rfm(st, f)
    ctx["frequency"] = _frequency(st, f)
    ctx["cohorts"] = _cohorts(st, f)
    ctx["trends"] = _trends(st, f)
    ctx["clv"] = _clv(st, f, pii)
    ctx["churn"] = _churn(st, f, pii)
    ctx["breakdowns"] = _breakdowns(st, f)
    ctx["quality"] = _quality(st, result, f, pii)
    return ctx


def _cards(st: Stocktake, lang: Lang) -> list[dict[str, Any]]:
    out = []
    for card in digest.headline_cards(st, lang):
        ch = card.change
        out.append({
            "key": card.key,
            "label": card.label,
            "value": card.text,
            "window": card.window,
            "definition": card.definition,
            "change": card.change_line(st.currency, lang),
            "tone": "flat" if ch is None or ch.good is None else ("good" if ch.good else "bad"),
        })
    return out


def _share_rows(rows: list[Any], key: str, f: _Fmt) -> list[dict[str, Any]]:
    axis = actions.AXIS_OF_FIELD.get(key)
    return [{"key": getattr(r, key), "label": actions.label(getattr(r, key), f.lang, axis),
             "customers": digest.count(r.customers),
             "share": digest.rate(r.share), "revenue": f.money(r.revenue),
             "revenue_share": digest.rate(getattr(r, "revenue_share", None)),
             "action": actions.action(getattr(r, key), f.lang), "colour": charts.colour(getattr(r, key), i, axis)}
            for i, r in enumerate(rows)]


def _base(st: Stocktake, f: _Fmt) -> dict[str, Any]:
    lifecycle = st.lifecycle or []
    total = sum(r.revenue for r in lifecycle) or 0
    life_rows = _share_rows(lifecycle, "stage", f)
    for row, r in zip(life_rows, lifecycle, strict=True):
        row["revenue_share"] = digest.rate(r.revenue / total) if total else "—"
    tiers = st.value_tiers or []
    tier_rows = _share_rows(tiers, "tier", f)
    for row, tier in zip(tier_rows, tiers, strict=True):
        row["threshold"] = f.money(tier.threshold)
    return {
        "lifecycle": {"rows": life_rows, "chart": charts.stacked_bar(
            [(actions.label(r.stage, f.lang, "lifecycle"), r.customers, charts.colour(r.stage, i, "lifecycle"))
             for i, r in enumerate(lifecycle)],
            title=label("report:lifecycle", f.lang))},
        "tiers": {"rows": tier_rows, "chart": charts.stacked_bar(
            [(actions.label(r.tier, f.lang), r.revenue, charts.colour(r.tier, i)) for i, r in enumerate(tiers)],
            title=label("report:value_tiers", f.lang))},
    }


def _rfm(st: Stocktake, f: _Fmt) -> dict[str, Any] | None:
    if st.rfm is None:
        return None
    rows = _share_rows(st.rfm.segments, "segment", f)
    for row, r in zip(rows, st.rfm.segments, strict=True):
        row.update(recency=digest.number(r.avg_recency_days, 0), frequency=digest.number(r.avg_frequency),
                   monetary=f.money(r.avg_monetary))
    items = [(actions.label(r.segment, f.lang, "rfm"), r.customers,
              f"{digest.count(r.customers)} · {digest.rate(r.revenue_share)} {label('report:revenue', f.lang)}",
              charts.colour(r.segment, i)) for i, r in enumerate(st.rfm.segments)]
    return {"rows": rows, "chart": charts.treemap(items, title=label("report:rfm_map", f.lang)), "scheme": st.rfm.scheme}


def _frequency(st: Stocktake, f: _Fmt) -> dict[str, Any] | None:
    if not st.frequency_classes:
        return None
    rows = _share_rows(st.frequency_classes, "frequency_class", f)
    threshold = next((r.threshold for r in st.frequency_classes if r.threshold is not None), None)
    chart = charts.hbars([(actions.label(r.frequency_class, f.lang), r.customers,
                           f"{digest.count(r.customers)} ({digest.rate(r.share)})", charts.colour(r.frequency_class, i))
                          for i, r in enumerate(st.frequency_classes)], title=label("report:frequency_classes", f.lang))
    return {"rows": rows, "chart": chart, "threshold": digest.number(threshold)}


def _cohorts(st: Stocktake, f: _Fmt) -> dict[str, Any] | None:
    from custinv.render.cohort_view import cohort_view

    lang = f.lang
    view = cohort_view(st, rows=COHORT_ROWS, first_label=label("report:cohorts_grouped", lang),
                       average_label=label("report:weighted_average", lang))
    if view is None:
        return None
    rows = view.rows
    chart = charts.heatmap([r.label for r in rows], [r.size for r in rows], [r.retention for r in rows],
                           title=label("report:cohorts", lang), partial=[r.partial for r in rows],
                           emphasis=[r.kind != "cohort" for r in rows])
    # LTV curves: the average, the grouped oldest cohorts and up to five cohorts spread over time
    singles = [r for r in rows if r.kind == "cohort" and sum(v is not None for v in r.ltv) > 1]
    step = max(1, len(singles) // 5)
    picked = [r for r in rows if r.kind == "grouped"] + singles[::step][:5]
    series = [(r.label, [None if p else v for v, p in zip(r.ltv, r.partial, strict=True)], charts.PALETTE[1 + i % 9])
              for i, r in enumerate(picked)]
    average = view.average
    if average is not None:
        series.insert(0, (average.label, average.ltv, "#1d2733"))
    ltv = charts.line_chart([str(k) for k in range(view.width)], series, title=label("report:ltv_curves", lang),
                            width=1000, height=260)
    return {"chart": chart, "ltv": ltv, "period": label("report:period_" + view.period, lang), "cohorts": view.total_cohorts,
            "customers": digest.count(view.total_customers), "grouped": any(r.kind == "grouped" for r in rows)}


def _trends(st: Stocktake, f: _Fmt) -> dict[str, Any] | None:
    periods = st.kpis_by_period or []
    if not periods:
        return None
    labels = [p.period for p in periods]
    running = periods[-1].partial
    lang = f.lang
    customers = charts.line_chart(labels, [
        (label("report:customers_end", lang), [p.customers_end for p in periods], "#1f4e79"),
        (label("report:active_customers", lang), [p.active_customers for p in periods], "#2a9d8f"),
        (label("report:new_customers", lang), [p.new_customers for p in periods], "#e9a03b"),
    ], title=label("report:customers", lang), partial_last=running)
    revenue = charts.line_chart(labels, [(label("report:revenue", lang), [p.revenue for p in periods], "#1f4e79")],
                                title=label("report:revenue", lang), partial_last=running)
    rates = charts.line_chart(labels, [
        (label("report:retention_rate", lang), [p.retention_rate for p in periods], "#2a9d8f"),
        (label("report:churn_rate", lang), [p.churn_rate for p in periods], "#d1495b"),
        (label("report:repeat_purchase_rate", lang), [p.repeat_purchase_rate for p in periods], "#8e6bbf"),
    ], title=label("report:retention_rate", lang), percent=True, partial_last=running, width=1000,
        counts=[p.customers_start for p in periods])
    rows = [{"period": p.period, "partial": p.partial, "start": digest.count(p.customers_start),
             "new": digest.count(p.new_customers), "back": digest.count(p.reactivated_customers),
             "churned": digest.count(p.churned_customers), "end": digest.count(p.customers_end),
             "orders": digest.count(p.orders), "revenue": f.money(p.revenue),
             "retention": digest.rate(p.retention_rate), "churn": digest.rate(p.churn_rate)} for p in periods]
    return {"customers": customers, "revenue": revenue, "rates": rates, "rows": rows}


def _clv(st: Stocktake, f: _Fmt, pii: PiiMode) -> dict[str, Any] | None:
    clv = st.clv
    if clv is None:
        return None
    lang = f.lang
    segs = [s for s in clv.by_segment if s.get("axis") == "rfm_segment"] or \
           [s for s in clv.by_segment if s.get("axis") == "value_tier"]
    segs = sorted(segs, key=lambda s: -(s.get("clv") or 0))
    chart = charts.hbars([(actions.label(str(s["segment"]), lang), float(s.get("clv") or 0),
                           f"{f.short(s.get('clv'))} · {f.short(s.get('clv_per_customer'))}/{label('report:customer_id', lang)}",
                           charts.colour(str(s["segment"]), i)) for i, s in enumerate(segs)],
                         title=label("report:clv_distribution", lang))
    params = ", ".join(f"{k} = {v:.4g}" for k, v in clv.params.items() if v is not None)
    top = [{"id": protect(str(c["customer_id"]), pii), "clv": f.money(c.get("clv")),
            "p_alive": "—" if c.get("p_alive") is None else f"{c['p_alive']:.2f}",
            "orders": digest.count(c.get("orders")), "revenue": f.money(c.get("revenue")),
            "last_order": c.get("last_order") or "—",
            "segment": actions.label(str(c.get("rfm_segment")), lang, "rfm") if c.get("rfm_segment") else "—"}
           for c in clv.top_customers]
    v = clv.validation or {}
    holdout = None
    if v:
        holdout = {"period": f"{v.get('holdout_start', '')} – {v.get('holdout_end', '')}",
                   "actual": digest.number(v.get("actual_purchases"), 0),
                   "predicted": digest.number(v.get("predicted_purchases"), 0),
                   "mae": digest.number(v.get("mae"), 3)}
    margin = clv.margin if isinstance(clv.margin, str) else digest.rate(clv.margin)
    return {"model": explain.model_name(clv.model, lang), "reason": explain.sentence(clv.reason, lang),
            "params": params, "total": f.money(clv.total),
            "horizon": clv.horizon, "discount": digest.rate(clv.discount_rate), "margin": margin,
            "chart": chart, "top": top, "holdout": holdout, **_clv_evidence(clv, f)}


def _clv_evidence(clv: Any, f: _Fmt) -> dict[str, Any]:
    """Model choice, intervals and the three BTYD diagnostics (inline SVG) for the CLV section."""
    lang = f.lang
    sel = clv.selection or {}
    candidates = [{"model": c["model"], "rmse": digest.number(c.get("rmse"), 4), "mae": digest.number(c.get("mae"), 4),
                   "predicted": digest.number(c.get("predicted_purchases"), 0), "note": c.get("note") or "",
                   "chosen": c["model"] == sel.get("chosen")} for c in sel.get("candidates", [])]
    total = (clv.total_intervals or {}).get("clv") or {}
    interval = None
    if total:
        interval = {"low_80": f.money(total.get("low_80")), "high_80": f.money(total.get("high_80")),
                    "low_95": f.money(total.get("low_95")), "high_95": f.money(total.get("high_95"))}
    diag = clv.diagnostics or {}
    rows = diag.get("by_frequency") or []
    by_freq = charts.columns([r["frequency"] for r in rows],
                             [(label("report:actual", lang), [r["actual_mean"] for r in rows], charts.PALETTE[0]),
                              (label("report:predicted", lang), [r["predicted_mean"] for r in rows], charts.PALETTE[2])],
                             title=label("report:clv_by_frequency", lang)) if rows else None
    hist = diag.get("p_alive_histogram") or []
    p_alive = charts.columns([f"{h['from']:.1f}" for h in hist], [(label("report:customers", lang), [h["customers"] for h in hist],
                                                                   charts.PALETTE[1])],
                             title=label("report:clv_p_alive_hist", lang)) if hist else None
    track = diag.get("tracking") or []
    tracking = charts.line_chart([r["period_end"] for r in track],
                                 [(label("report:actual", lang), [r["actual_cumulative"] for r in track], charts.PALETTE[0]),
                                  (label("report:predicted", lang), [r["expected_cumulative"] for r in track], charts.PALETTE[2])],
                                 title=label("report:clv_tracking", lang)) if track else None
    return {"selection": sel or None, "candidates": candidates, "interval": interval, "by_frequency": by_freq,
            "p_alive_chart": p_alive, "tracking": tracking, "warnings": [explain.sentence(m, lang) for m in clv.warnings or []]}


def _churn(st: Stocktake, f: _Fmt, pii: PiiMode) -> dict[str, Any] | None:
    churn = st.churn
    if churn is None:
        return None

    def people(rows: list[Any]) -> list[dict[str, Any]]:
        return [{"id": protect(r.customer_id, pii), "name": protect(r.customer_name, pii) or "—", "owner": r.owner or "—",
                 "region": r.region or "—", "last_order": str(r.last_order), "recency": digest.count(r.recency_days),
                 "interval": digest.number(r.usual_interval_days, 0), "orders": digest.count(r.orders),
                 "revenue": f.money(r.revenue), "at_risk": f.money(r.value_at_risk),
                 "tier": actions.label(r.value_tier, f.lang) if r.value_tier else "—"} for r in rows]

    return {"window": churn.definition.get("inactive_days"),
            "basis": explain.sentence(churn.definition.get("basis"), f.lang),
            "rate": digest.rate(churn.churn_rate), "churned": digest.count(churn.churned_customers),
            "churned_revenue": f.money(churn.churned_revenue), "at_risk_count": digest.count(churn.at_risk_customers),
            "at_risk": people(churn.at_risk), "win_back": people(churn.win_back),
            "has_name": any(r.customer_name for r in churn.at_risk + churn.win_back),
            "has_owner": any(r.owner for r in churn.at_risk + churn.win_back),
            "has_region": any(r.region for r in churn.at_risk + churn.win_back)}


def _breakdowns(st: Stocktake, f: _Fmt) -> list[dict[str, Any]]:
    out = []
    for b in st.breakdowns or []:
        key = "segment_dim" if b.dimension == "segment" else b.dimension
        top = max((r.revenue_share or 0 for r in b.rows), default=0) or 1
        out.append({"title": label("report:" + key, f.lang), "rows": [
            {"value": explain.dimension_value(r.value, f.lang), "customers": digest.count(r.customers), "share": digest.rate(r.share),
             "revenue": f.money(r.revenue), "revenue_share": digest.rate(r.revenue_share),
             "bar": round((r.revenue_share or 0) / top * 100, 1), "aov": f.money(r.average_order_value),
             "repeat": digest.rate(r.repeat_purchase_rate),
             "high": digest.count(r.tiers.get("high"))} for r in b.rows]})
    return out


def _quality(st: Stocktake, result: AuditResult, f: _Fmt, pii: PiiMode) -> dict[str, Any]:
    src, lang = st.source, f.lang
    rows = [(label("report:rows_read", lang), digest.count(src.rows_read), False),
            (label("report:rows_used", lang), digest.count(src.rows_used), False),
            (label("report:rows_excluded", lang), digest.count(sum(src.rows_excluded.values())), False),
            *[(label("excluded:" + k, lang), digest.count(v), True) for k, v in src.rows_excluded.items()],
            (label("report:rows_rejected", lang), digest.count(src.rows_rejected), False),
            *[(label("excluded:" + k, lang), digest.count(v), True) for k, v in src.reject_reasons.items()]]
    if src.anonymous_revenue:
        rows.append((label("report:anonymous_revenue", lang), f.money(src.anonymous_revenue), False))
    if src.returns:
        rows.append((label("report:returns", lang), f.money(src.returns), False))
    rejects = result.ledger.rejects.head(REJECTS_SHOWN)
    sample = [{"file": Path(str(r.get("file") or "")).name, "line": r.get("line"), "column": r.get("column"),
               "value": protect(None if r.get("value") is None else str(r.get("value")), pii),
               "reason": label("excluded:" + str(r.get("reason")), lang)} for r in rejects.iter_rows(named=True)]
    balanced = src.rows_read == src.rows_used + sum(src.rows_excluded.values()) + src.rows_rejected
    return {"rows": [{"label": a, "value": b, "sub": c} for a, b, c in rows], "rejects": sample,
            "rejects_total": result.ledger.rejects.height, "balanced": balanced,
            "files": [{"name": Path(x.path).name, "format": x.format, "encoding": x.encoding or "—",
                       "rows": digest.count(x.rows_read)} for x in src.files],
            "mapping": [(label("field:" + k, lang), v) for k, v in src.mapping.items()], "warnings": list(src.warnings)}
