"""Rich tables for people at a terminal. Reads only the Stocktake (and, for inspect, the Ledger).

Each section has one function taking ``(stocktake, lang, console)``; ``render_stocktake`` shows
them all, the focused commands (``rfm``, ``cohorts``, ``churn``, ``clv``) show theirs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from custinv.terminal import SafeConsole

from custinv.render.formatting import fmt_count, fmt_money, fmt_number, fmt_rate, sparkline
from custinv.render.i18n import Lang, label, reason_label
from custinv.render.pii import PiiMode, protect

if TYPE_CHECKING:
    from custinv.ingest.ledger import Ledger
    from custinv.models import Stocktake


def stdout_console() -> Console:
    return SafeConsole(highlight=False, no_color="NO_COLOR" in os.environ, soft_wrap=False)


def _table(title: str, *columns: tuple[str, str]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table


# ----------------------------------------------------------------------------- source and KPIs


def source_panel(st: Stocktake, lang: Lang) -> Panel:
    src = st.source
    lines = [
        f"{label('rows_read', lang)}: [bold]{fmt_count(src.rows_read)}[/]  =  "
        f"{label('rows_used', lang)} {fmt_count(src.rows_used)}  +  "
        f"{label('rows_excluded', lang)} {fmt_count(sum(src.rows_excluded.values()))}  +  "
        f"{label('rows_rejected', lang)} {fmt_count(src.rows_rejected)}",
    ]
    if src.rows_excluded:
        lines.append(
            "  excluded: " + ", ".join(f"{reason_label(k, lang)} {fmt_count(v)}" for k, v in src.rows_excluded.items())
        )
    if src.reject_reasons:
        lines.append(
            "  rejected: " + ", ".join(f"{reason_label(k, lang)} {fmt_count(v)}" for k, v in src.reject_reasons.items())
        )
    if src.anonymous_revenue:
        lines.append(f"  {label('anonymous_revenue', lang)}: {fmt_money(src.anonymous_revenue, st.currency)}")
    for f in src.files:
        where = ", ".join(
            x for x in (
                f.format, f.encoding, f"delimiter {f.delimiter!r}" if f.delimiter else None,
                f"sheet {f.sheet}" if f.sheet else None, f"header line {f.header_row}" if f.header_row else None,
            ) if x
        )
        lines.append(f"[dim]{escape(f.path)}[/] ({escape(where)}): {fmt_count(f.rows_read)} rows")
    lines.append(f"{label('as_of', lang)}: [bold]{st.as_of}[/]   {label('currency', lang)}: {st.currency or '—'}")
    if src.profile:
        lines.append(f"{label('export_profile', lang)}: [bold]{escape(src.profile)}[/] [dim](--profile NAME forces one)[/]")
    if src.mapping:
        lines.append(f"{label('mapping', lang)}: " + escape(", ".join(f"{k} ← {v}" for k, v in src.mapping.items())))
    for warning in src.warnings:
        lines.append(f"[yellow]! {escape(warning)}[/]")
    return Panel("\n".join(lines), title=label("source", lang), title_align="left")


MONEY_KPIS = frozenset({"revenue", "returns", "average_order_value", "revenue_per_customer"})
RATE_KPIS = frozenset({
    "repeat_purchase_rate", "churn_rate", "retention_rate", "customer_growth_rate", "top20_revenue_share",
    "net_revenue_retention",
})
_HIDDEN_KPIS = {"new_customer_window_days", "active_window_days"}


def format_kpi(key: str, value: Any, currency: str | None) -> str:
    if key in MONEY_KPIS:
        return fmt_money(value, currency)
    if key in RATE_KPIS:
        return fmt_rate(value)
    if isinstance(value, int):
        return fmt_count(value)
    return fmt_number(value)


def kpi_table(st: Stocktake, lang: Lang) -> Table:
    table = Table(title=label("kpis", lang), title_justify="left", title_style="bold", show_header=False,
                  box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    assert st.kpis is not None
    for key, value in st.kpis.model_dump().items():
        if value is None or key in _HIDDEN_KPIS:
            continue
        table.add_row(label(key, lang), format_kpi(key, value, st.currency))
    return table


# ----------------------------------------------------------------------------- classification


def _share_rows(title: str, rows: Sequence[Any], key: str, st: Stocktake, lang: Lang,
                extra: tuple[str, Any] | None = None) -> Table:
    has_share = bool(rows) and hasattr(rows[0], "revenue_share")
    cols = [(title, "left"), (label("customers", lang), "right"), (label("share", lang), "right"),
            (label("revenue", lang), "right")]
    if has_share:
        cols.append((label("revenue_share", lang), "right"))
    if extra:
        cols.append((extra[0], "right"))
    table = _table("", *cols)
    for row in rows:
        cells = [label(getattr(row, key), lang), fmt_count(row.customers), fmt_rate(row.share),
                 fmt_money(row.revenue, st.currency)]
        if has_share:
            cells.append(fmt_rate(row.revenue_share))
        if extra:
            cells.append(extra[1](row))
        table.add_row(*cells)
    return table


def render_classes(st: Stocktake, lang: Lang, console: Console) -> None:
    if st.frequency_classes:
        bar = next((r.threshold for r in st.frequency_classes if r.threshold is not None), None)
        t = _share_rows(label("frequency_classes", lang), st.frequency_classes, "frequency_class", st, lang)
        t.title = f"{label('frequency_classes', lang)}"
        if bar is not None:
            t.caption = f"high frequency: ≥ {bar:.2f} orders per year"
        console.print(t)
    if st.value_tiers:
        t = _share_rows(label("value_tiers", lang), st.value_tiers, "tier", st, lang,
                        (label("threshold", lang), lambda r: fmt_money(r.threshold, st.currency)))
        t.title = label("value_tiers", lang)
        method = (st.settings or {}).get("value_method", "abc")
        t.caption = f"method: {method}; threshold = smallest customer value in the tier"
        console.print(t)
    if st.lifecycle:
        t = _share_rows(label("lifecycle", lang), st.lifecycle, "stage", st, lang)
        t.title = label("lifecycle", lang)
        console.print(t)


def render_rfm(st: Stocktake, lang: Lang, console: Console, *, actions: bool = True) -> None:
    """The segment table; with ``actions`` the recommended action of each populated segment below it."""
    if st.rfm is None:
        return
    from custinv.analytics.actions import action

    table = _table(
        f"{label('rfm', lang)} ({st.rfm.scheme}, {st.rfm.method})",
        (label("segment", lang), "left"), (label("customers", lang), "right"), (label("share", lang), "right"),
        (label("revenue", lang), "right"), (label("revenue_share", lang), "right"),
        (label("avg_recency_days", lang), "right"), (label("avg_frequency", lang), "right"),
        (label("avg_monetary", lang), "right"),
    )
    for row in st.rfm.segments:
        table.add_row(
            label(row.segment, lang), fmt_count(row.customers), fmt_rate(row.share),
            fmt_money(row.revenue, st.currency), fmt_rate(row.revenue_share),
            fmt_number(row.avg_recency_days, 0), fmt_number(row.avg_frequency, 1),
            fmt_money(row.avg_monetary, st.currency),
        )
    cuts = "; ".join(
        f"{name[0].upper()}: " + ", ".join("—" if v is None else f"{v:g}" for v in values)
        for name, values in st.rfm.thresholds.items()
    )
    table.caption = f"cut points for scores 1..5 — {cuts}" if cuts else None
    console.print(table)
    if actions:
        todo = Table(title=label("action", lang), title_justify="left", title_style="bold", show_header=False,
                     box=None, padding=(0, 2))
        todo.add_column(style="bold", no_wrap=True)
        todo.add_column()
        for row in st.rfm.segments:
            if row.customers:
                todo.add_row(label(row.segment, lang), escape(action(row.segment, lang) or row.action or ""))
        console.print(todo)


def render_breakdowns(st: Stocktake, lang: Lang, console: Console) -> None:
    for b in st.breakdowns or []:
        table = _table(
            f"{label('breakdown', lang)} {label(b.dimension, lang)}",
            (label(b.dimension, lang), "left"), (label("customers", lang), "right"),
            (label("revenue", lang), "right"), (label("revenue_share", lang), "right"),
            (label("average_order_value", lang), "right"), (label("repeat_purchase_rate", lang), "right"),
            (label("high", lang), "right"),
        )
        for r in b.rows:
            table.add_row(
                escape(r.value), fmt_count(r.customers), fmt_money(r.revenue, st.currency),
                fmt_rate(r.revenue_share), fmt_money(r.average_order_value, st.currency),
                fmt_rate(r.repeat_purchase_rate), fmt_count(r.tiers.get("high", 0)),
            )
        console.print(table)


# ----------------------------------------------------------------------------- churn, trends, cohorts


def _customer_list(title: str, rows: Sequence[Any], st: Stocktake, lang: Lang, pii: PiiMode) -> Table:
    table = _table(
        title, (label("customer_id", lang), "left"), (label("last_order", lang), "left"),
        (label("recency_days", lang), "right"), (label("usual_interval_days", lang), "right"),
        (label("orders", lang), "right"), (label("revenue", lang), "right"), (label("value_at_risk", lang), "right"),
    )
    for r in rows:
        table.add_row(escape(protect(r.customer_id, pii) or ""), str(r.last_order), fmt_count(r.recency_days),
                      fmt_number(r.usual_interval_days, 0), fmt_count(r.orders), fmt_money(r.revenue, st.currency),
                      fmt_money(r.value_at_risk, st.currency))
    return table


def render_churn(st: Stocktake, lang: Lang, console: Console, *, limit: int | None = None,
                 pii: PiiMode = "mask") -> None:
    if st.churn is None:
        return
    c = st.churn
    console.print(Panel(
        f"{label('churn_rate', lang)}: [bold]{fmt_rate(c.churn_rate)}[/]   "
        f"{label('churned_customers', lang)}: {fmt_count(c.churned_customers)}   "
        f"churned revenue (last 12 months of each): {fmt_money(c.churned_revenue, st.currency)}   "
        f"at risk: {fmt_count(c.at_risk_customers)}\n"
        f"[dim]churned = no order for more than {c.definition.get('inactive_days')} days "
        f"({escape(str(c.definition.get('basis', '')))})[/]",
        title=label("churn", lang), title_align="left",
    ))
    if c.at_risk:
        console.print(_customer_list(label("at_risk_list", lang), c.at_risk[:limit], st, lang, pii))
    if c.win_back:
        console.print(_customer_list(label("win_back_list", lang), c.win_back[:limit], st, lang, pii))


_TREND_KPIS = ("customers_end", "new_customers", "churned_customers", "retention_rate", "churn_rate",
               "repeat_purchase_rate", "revenue", "average_order_value", "net_revenue_retention")


def render_trend(st: Stocktake, lang: Lang, console: Console) -> None:
    rows = st.kpis_by_period or []
    if not rows:
        return
    table = _table(
        f"{label('trend', lang)} ({(st.settings or {}).get('period', 'month')})",
        (label("period", lang), "left"), (label("customers_start", lang), "right"),
        (label("new_customers", lang), "right"), (label("reactivated_customers", lang), "right"),
        (label("churned_customers", lang), "right"), (label("customers_end", lang), "right"),
        (label("retention_rate", lang), "right"), (label("churn_rate", lang), "right"),
        (label("revenue", lang), "right"),
    )
    for r in rows:
        table.add_row(
            r.period + (" *" if r.partial else ""), fmt_count(r.customers_start), fmt_count(r.new_customers),
            fmt_count(r.reactivated_customers), fmt_count(r.churned_customers), fmt_count(r.customers_end),
            fmt_rate(r.retention_rate), fmt_rate(r.churn_rate), fmt_money(r.revenue, st.currency),
        )
    table.caption = "* partial period (as-of falls inside it)"
    console.print(table)
    spark = Table(show_header=False, box=None, padding=(0, 2))
    spark.add_column(style="bold")
    spark.add_column()
    spark.add_column(justify="right")
    for key in _TREND_KPIS:
        values = [getattr(r, key) for r in rows]
        last = values[-1]
        spark.add_row(label(key, lang), sparkline(values), format_kpi(key, last, st.currency))
    console.print(spark)


def _heat(value: float | None) -> str:
    """A background colour from pale to strong for a retention share."""
    if value is None:
        return ""
    steps = ["grey23", "dark_green", "green4", "green3", "green1"]
    index = min(len(steps) - 1, int(value * len(steps) / 0.6)) if value < 1 else len(steps) - 1
    return f"on {steps[index]}"


def render_cohorts(st: Stocktake, lang: Lang, console: Console, *, measure: str = "retention",
                   last: int = 24) -> None:
    if st.retention is None or not st.retention.cohorts:
        return
    cohorts = st.retention.cohorts[-last:]
    width = max(len(c.customers) for c in cohorts)
    table = _table(
        f"{label('cohorts', lang)} ({st.retention.period}, {measure})",
        ("cohort", "left"), (label("size", lang), "right"), *[(str(k), "right") for k in range(width)],
    )
    for c in cohorts:
        cells: list[Text | str] = []
        for k in range(width):
            share = c.retention[k] if k < len(c.retention) else None
            value = getattr(c, measure)[k] if k < len(getattr(c, measure)) else None
            if value is None:
                cells.append("")
                continue
            text = (fmt_rate(value, 0) if measure == "retention"
                    else fmt_money(value, st.currency) if measure == "revenue" else fmt_count(value))
            cells.append(Text(text, style=_heat(share)))
        table.add_row(c.cohort, fmt_count(c.size), *cells)
    shown = f"last {len(cohorts)} of {len(st.retention.cohorts)} cohorts" if len(cohorts) < len(st.retention.cohorts) else None
    table.caption = "blank = period not reached yet" + (f"; {shown}" if shown else "")
    console.print(table)


# ----------------------------------------------------------------------------- CLV


def render_clv(st: Stocktake, lang: Lang, console: Console, *, pii: PiiMode = "mask") -> None:
    c = st.clv
    if c is None:
        return
    params = ", ".join(f"{k} {v:.4g}" for k, v in c.params.items() if v is not None)
    spend = c.spend_model or {}
    spend_params = ", ".join(f"{k} {v:.4g}" for k, v in (spend.get("params") or {}).items() if v is not None)
    lines = [
        f"model: [bold]{c.model}[/]" + (f" [dim]({escape(c.reason)})[/]" if c.reason else ""),
        f"parameters: {params or '—'}" + (f"   log-likelihood {c.log_likelihood:.2f}" if c.log_likelihood else "")
        + ("" if c.converged else "   [yellow]not converged[/]"),
        f"spend: {spend.get('model', '—')} {spend_params}" + (f" [dim]({escape(spend['reason'])})[/]" if spend.get("reason") else ""),
        f"horizon {c.horizon} months, discount {c.discount_rate:.0%} a year, margin "
        + (f"{c.margin:.0%}" if isinstance(c.margin, float) else str(c.margin)),
        f"total CLV: [bold]{fmt_money(c.total, st.currency)}[/] over {fmt_count(c.customers)} customers",
    ]
    total = (c.total_intervals or {}).get("clv")
    if total:
        lines.append(f"  80% interval {fmt_money(total.get('low_80'), st.currency)} – {fmt_money(total.get('high_80'), st.currency)}"
                     f", 95% {fmt_money(total.get('low_95'), st.currency)} – {fmt_money(total.get('high_95'), st.currency)}"
                     " [dim](parameter uncertainty)[/]")
    if c.penalizer:
        lines.append(f"penalizer {c.penalizer:g} (L2 on the parameters, as lifetimes)")
    for message in c.warnings:
        lines.append(f"[yellow]! {escape(message)}[/]")
    console.print(Panel("\n".join(lines), title=label("clv", lang), title_align="left"))
    if c.selection and c.selection.get("candidates"):
        render_model_choice(c.selection, console)
    for axis in ("value_tier", "rfm_segment"):
        rows = [r for r in c.by_segment if r["axis"] == axis]
        if not rows:
            continue
        table = _table(f"CLV by {axis.replace('_', ' ')}", (label("segment", lang), "left"),
                       (label("customers", lang), "right"), ("CLV", "right"), ("CLV share", "right"),
                       ("CLV per customer", "right"), (label("p_alive", lang), "right"))
        for r in rows:
            table.add_row(label(str(r["segment"]), lang), fmt_count(r["customers"]), fmt_money(r["clv"], st.currency),
                          fmt_rate(r["clv_share"]), fmt_money(r["clv_per_customer"], st.currency),
                          fmt_rate(r["mean_p_alive"]))
        console.print(table)
    if c.top_customers:
        table = _table("Top customers by CLV", (label("customer_id", lang), "left"), ("CLV", "right"),
                       (label("p_alive", lang), "right"), (label("expected_purchases", lang), "right"),
                       (label("orders", lang), "right"), (label("revenue", lang), "right"))
        for r in c.top_customers[:10]:
            table.add_row(escape(protect(str(r["customer_id"]), pii) or ""), fmt_money(r["clv"], st.currency),
                          fmt_rate(r.get("p_alive")), fmt_number(r.get("expected_purchases")),
                          fmt_count(r.get("orders")), fmt_money(r.get("revenue"), st.currency))
        console.print(table)
    if c.validation:
        render_holdout(c.validation, console)


def render_model_choice(sel: dict[str, Any], console: Console) -> None:
    """``--model auto``'s evidence: every candidate's holdout score, the chosen one marked."""
    table = _table(
        f"Model choice: fitted up to {sel['calibration_end']}, scored on {sel['holdout_start']} … {sel['holdout_end']}",
        ("candidate", "left"), ("RMSE / customer", "right"), ("MAE / customer", "right"),
        ("predicted", "right"), ("note", "left"),
    )
    for cand in sel["candidates"]:
        name = cand["model"] + (" ✓" if cand["model"] == sel.get("chosen") else "")
        table.add_row(f"[bold]{name}[/]" if cand["model"] == sel.get("chosen") else name,
                      fmt_number(cand.get("rmse"), 4), fmt_number(cand.get("mae"), 4),
                      fmt_number(cand.get("predicted_purchases"), 1), escape(cand.get("note") or ""))
    table.caption = (f"actual holdout repeat purchases {fmt_number(sel.get('actual_purchases'), 0)} by "
                     f"{fmt_count(sel.get('customers'))} customers" + (" (a fixed sample)" if sel.get("sampled") else ""))
    console.print(table)


def render_holdout(v: dict[str, Any], console: Console) -> None:
    table = _table(
        f"Holdout {v['holdout_start']} … {v['holdout_end']} ({v.get('model')}): predicted vs actual repeat purchases",
        ("purchases in calibration", "left"), ("customers", "right"), ("actual", "right"), ("predicted", "right"),
        ("actual / customer", "right"), ("predicted / customer", "right"),
    )
    for row in v.get("by_frequency", []):
        table.add_row(str(row["frequency"]), fmt_count(row.get("customers")),
                      fmt_number(row.get("actual_total"), 0), fmt_number(row.get("predicted_total"), 1),
                      fmt_number(row.get("actual_mean"), 3), fmt_number(row.get("predicted_mean"), 3))
    table.add_row("[bold]total[/]", fmt_count(v.get("customers")), f"[bold]{fmt_number(v.get('actual_purchases'), 0)}[/]",
                  f"[bold]{fmt_number(v.get('predicted_purchases'), 1)}[/]", "", "")
    corr = v.get("correlation")
    table.caption = (f"MAE per customer {fmt_number(v.get('mae'), 3)}; across buckets {fmt_number(v.get('bucket_mae'), 3)}; "
                     f"correlation predicted/actual {'—' if corr is None else fmt_number(corr, 3)}")
    console.print(table)


# ----------------------------------------------------------------------------- the whole stocktake


def render_stocktake(st: Stocktake, *, lang: Lang = "en", console: Console | None = None,
                     pii: PiiMode = "mask") -> None:
    """Every section; emails and phone numbers shown as ``pii`` says (masked by default)."""
    console = console or stdout_console()
    console.print(source_panel(st, lang))
    if st.kpis is not None:
        console.print(kpi_table(st, lang))
    render_classes(st, lang, console)
    render_rfm(st, lang, console, actions=False)
    render_breakdowns(st, lang, console)
    render_churn(st, lang, console, limit=10, pii=pii)
    render_trend(st, lang, console)
    render_cohorts(st, lang, console, last=12)
    render_clv(st, lang, console, pii=pii)
    render_book(st, lang, console)
    render_service(st, lang, console)


# ----------------------------------------------------------------------------- customer book and service


def render_book(st: Stocktake, lang: Lang, console: Console) -> None:
    """The customer master joined to the orders: prospects, conversion, buyers missing from it."""
    from custinv.render.i18n import book_label

    book = st.customer_book
    if book is None:
        return
    table = Table(title=book_label("customer_book", lang), title_justify="left", title_style="bold",
                  show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row(book_label("accounts", lang), fmt_count(book.accounts))
    table.add_row(book_label("buyers", lang), fmt_count(book.buyers))
    table.add_row(book_label("prospects", lang), f"{fmt_count(book.prospects)} ({fmt_rate(book.prospect_share)})")
    table.add_row(book_label("customers_missing_from_master", lang),
                  f"{fmt_count(book.customers_missing_from_master)} · {fmt_money(book.missing_revenue, st.currency)}")
    conv = book.conversion
    if conv is not None:
        table.add_row(f"{book_label('conversion_rate', lang)} (≤ {conv.within_days} d)",
                      f"{fmt_rate(conv.conversion_rate)} ({fmt_count(conv.converted)}/{fmt_count(conv.accounts_eligible)})")
        table.add_row(book_label("median_days_to_first_order", lang), fmt_number(conv.median_days_to_first_order, 1))
    console.print(table)


def render_service(st: Stocktake, lang: Lang, console: Console) -> None:
    """Service KPIs, the period trend and churn of complainers vs the rest."""
    from custinv.render.i18n import book_label

    svc = st.service
    if svc is None:
        return
    k = svc.kpis
    table = Table(title=book_label("service", lang), title_justify="left", title_style="bold", show_header=False,
                  box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("tickets", fmt_count(k.tickets)), ("complaints", fmt_count(k.complaints)),
        ("customers_with_complaints", fmt_count(k.customers_with_complaints)),
        ("complaint_rate", fmt_rate(k.complaint_rate)), ("tickets_per_100_orders", fmt_number(k.tickets_per_100_orders, 1)),
        ("median_resolution_hours", fmt_number(k.median_resolution_hours, 1)),
        ("sla_rate", f"{fmt_rate(k.sla_rate)} (≤ {fmt_number(svc.sla_hours, 0)} h)"),
        ("csat", f"{fmt_rate(k.csat)} (n={fmt_count(k.csat_responses)})"),
        ("nps", f"{fmt_number(k.nps, 0)} (n={fmt_count(k.nps_responses)})"),
    ]
    for key, text in rows:
        table.add_row(book_label(key, lang), text)
    console.print(table)
    if svc.by_period:
        trend = _table("", (label("period", lang), "left"), (book_label("tickets", lang), "right"),
                       (book_label("complaints", lang), "right"), (book_label("complaint_rate", lang), "right"),
                       (book_label("sla_rate", lang), "right"), (book_label("csat", lang), "right"),
                       (book_label("nps", lang), "right"))
        for r in svc.by_period:
            trend.add_row(r.period + (" *" if r.partial else ""), fmt_count(r.tickets), fmt_count(r.complaints),
                          fmt_rate(r.complaint_rate), fmt_rate(r.sla_rate), fmt_rate(r.csat), fmt_number(r.nps, 0))
        console.print(trend)
    if svc.churn_by_complaint:
        churn = _table(book_label("churn_by_complaint", lang), ("", "left"), (label("customers", lang), "right"),
                       (label("churned_customers", lang), "right"), (label("churn_rate", lang), "right"))
        for g in svc.churn_by_complaint:
            churn.add_row(book_label(g.group, lang), fmt_count(g.customers), fmt_count(g.churned), fmt_rate(g.churn_rate))
        console.print(churn)


def render_timings(stages: dict[str, float], console: Console) -> None:
    table = Table(title="timings", title_justify="left", box=None)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, seconds in stages.items():
        table.add_row(name, f"{seconds:.3f}")
    table.add_row("[bold]total[/]", f"[bold]{sum(stages.values()):.3f}[/]")
    console.print(table)


# ----------------------------------------------------------------------------- inspect


def render_inspection(ledger: Ledger, console: Console | None = None) -> None:
    console = console or stdout_console()
    for raw, mapping, report in zip(ledger.raw_tables, ledger.mappings, ledger.source.files, strict=True):
        lines = [
            f"format: {raw.format}",
            f"encoding: {raw.encoding or '—'}",
            f"delimiter: {raw.delimiter!r}" if raw.delimiter else "delimiter: —",
            f"sheet: {raw.sheet}" if raw.sheet else None,
            f"header row: {raw.header_row}" if raw.header_row else None,
            f"rows read: {fmt_count(report.rows_read)}",
            f"export profile: {ledger.source.profile}" if ledger.source.profile else "export profile: none (generic synonyms)",
            *report.notes,
        ]
        console.print(Panel("\n".join(escape(x) for x in lines if x), title=escape(str(raw.path)), title_align="left"))
        table = _table("mapping", ("field", "left"), ("column", "left"), ("why", "left"))
        for choice in mapping.choices.values():
            table.add_row(choice.field, escape(choice.column), escape(choice.reason))
        unmapped = [c for c in raw.columns if c not in mapping.as_dict().values()]
        if unmapped:
            table.caption = "not used: " + escape(", ".join(unmapped))
        console.print(table)
        if raw.column_types:
            from custinv.render.tabular import column_decisions

            typed = _table("columns", ("column", "left"), ("SQL type", "left"), ("read as", "left"), ("field", "left"))
            for c in column_decisions(raw, mapping):
                typed.add_row(escape(str(c["column"])), escape(str(c["sql_type"])), str(c["kind"]), c["field"] or "—")
            console.print(typed)
    if ledger.samples is not None and ledger.samples.height:
        table = _table("parsed sample rows", *[(c, "left") for c in ledger.samples.columns])
        for row in ledger.samples.iter_rows():
            table.add_row(*(escape("" if v is None else str(v)) for v in row))
        console.print(table)
    if ledger.statuses.height:
        table = _table("status values", ("status", "left"), ("rows", "right"), ("decision", "left"))
        for row in ledger.statuses.iter_rows(named=True):
            if row["status"] is None:
                name, known = "(blank)", ""
            else:
                name = str(row["status"])
                known = "" if row["recognised"] else " [dim](not in the vocabulary)[/]"
            table.add_row(escape(name), fmt_count(row["rows"]), escape(str(row["decision"])) + known)
        console.print(table)
    from custinv.models import Stocktake, Tool

    st = Stocktake(tool=Tool(version=""), as_of=ledger.as_of, currency=ledger.currency, source=ledger.source)
    console.print(source_panel(st, "en"))
    if ledger.rejects.height:
        table = _table(f"rejects (first 10 of {fmt_count(ledger.rejects.height)})",
                       *[(c, "left") for c in ledger.rejects.columns])
        for row in ledger.rejects.head(10).iter_rows():
            table.add_row(*(escape("" if v is None else str(v)) for v in row))
        console.print(table)
