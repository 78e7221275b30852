"""Rich tables for people at a terminal. Reads only the Stocktake (and, for inspect, the Ledger).

Each section has one function taking ``(stocktake, lang, console)``; ``render_stocktake`` shows
them all, the focused commands (``rfm``, ``cohorts``, ``churn``, ``clv``) show theirs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from custinv.analytics.actions import AXIS_OF_FIELD
from custinv.render import explain
from custinv.render.fit import ALWAYS, Column, FitTable, fitted_table
from custinv.render.formatting import fmt_count, fmt_kpi, fmt_money, fmt_number, fmt_rate, kpi_kind, sparkline
from custinv.render.i18n import Lang, label
from custinv.render.pii import PiiMode, protect
from custinv.terminal import SafeConsole

if TYPE_CHECKING:
    from custinv.ingest.ledger import Ledger
    from custinv.models import Stocktake


def stdout_console() -> Console:
    return SafeConsole(highlight=False, no_color="NO_COLOR" in os.environ, soft_wrap=False)


def _table(title: str, *columns: tuple[str, str], lang: str = "en", keep: dict[int, int] | None = None) -> Table:
    """A titled table that fits the terminal: least important columns dropped, figures never cut."""
    table = FitTable(title=title, title_justify="left", title_style="bold", header_style="bold", lang=lang, keep=keep)
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
        lines.append(f"  {label('report:excluded_reasons', lang)}: "
                     + ", ".join(f"{label('excluded:' + k, lang)} {fmt_count(v)}" for k, v in src.rows_excluded.items()))
    if src.reject_reasons:
        lines.append(f"  {label('report:reject_reasons', lang)}: "
                     + ", ".join(f"{label('excluded:' + k, lang)} {fmt_count(v)}" for k, v in src.reject_reasons.items()))
    if src.anonymous_revenue:
        lines.append(f"  {label('anonymous_revenue', lang)}: {fmt_money(src.anonymous_revenue, st.currency)}")
    for f in src.files:
        where = ", ".join(
            x for x in (
                f.format, f.encoding, f"{label('report:delimiter', lang)} {f.delimiter!r}" if f.delimiter else None,
                f"{label('report:sheet', lang)} {f.sheet}" if f.sheet else None,
                label("report:header_line", lang, line=f.header_row) if f.header_row else None,
            ) if x
        )
        lines.append(f"[dim]{escape(f.path)}[/] ({escape(where)}): {label('report:n_rows', lang, n=fmt_count(f.rows_read))}")
    lines.append(f"{label('as_of', lang)}: [bold]{st.as_of}[/]   {label('currency', lang)}: {st.currency or '—'}")
    if src.profile:
        lines.append(f"{label('export_profile', lang)}: [bold]{escape(src.profile)}[/] [dim]({label('report:profile_hint', lang)})[/]")
    if src.mapping:
        lines.append(f"{label('mapping', lang)}: "
                     + escape(", ".join(f"{label('field:' + k, lang)} ← {v}" for k, v in src.mapping.items())))
    for warning in src.warnings:
        lines.append(f"[yellow]! {escape(warning)}[/]")
    return Panel("\n".join(lines), title=label("source", lang), title_align="left")


_HIDDEN_KPIS = {"new_customer_window_days", "active_window_days"}


def format_kpi(key: str, value: Any, currency: str | None) -> str:
    return fmt_kpi(key, value, currency)


def kpi_table(st: Stocktake, lang: Lang) -> Table:
    """Key figures with the window each covers (blank = all time) and, as the caption, the
    definitions of the rates: the terminal's footnote, from the same glossary as the reports."""
    from custinv.render.glossary import DEFINITIONS, definition, window_text

    assert st.kpis is not None
    rates = [key for key, value in st.kpis.model_dump().items() if value is not None and kpi_kind(key) == "rate"]
    notes = [f"{label(key, lang)}: {definition(key, st, lang)}" for key in rates if key in DEFINITIONS]
    table = Table(title=label("kpis", lang) + f" [dim]({window_text('customers', st, lang)})[/]",
                  title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 2),
                  caption="\n".join(notes) or None, caption_justify="left", caption_style="dim")
    table.add_column(style="bold")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(style="dim")
    for key, value in st.kpis.model_dump().items():
        if value is None or key in _HIDDEN_KPIS:
            continue
        entry = DEFINITIONS.get(key)
        window = window_text(key, st, lang) if entry is not None and entry.window != "all_time" else ""
        table.add_row(label(key, lang), format_kpi(key, value, st.currency), window)
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
    table = _table("", *cols, lang=lang)
    for row in rows:
        cells = [label(getattr(row, key), lang, AXIS_OF_FIELD.get(key)), fmt_count(row.customers), fmt_rate(row.share),
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
            t.caption = label("report:high_frequency_bar", lang, bar=f"{bar:.2f}")
        console.print(t)
    if st.value_tiers:
        t = _share_rows(label("value_tiers", lang), st.value_tiers, "tier", st, lang,
                        (label("threshold", lang), lambda r: fmt_money(r.threshold, st.currency)))
        t.title = label("value_tiers", lang)
        method = (st.settings or {}).get("value_method", "abc")
        t.caption = label("report:tier_method", lang, method=method)
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
        f"{label('rfm', lang)} ({label('report:scheme_' + st.rfm.scheme, lang)}, {label('report:method_' + st.rfm.method, lang)})",
        (label("segment", lang), "left"), (label("customers", lang), "right"), (label("share", lang), "right"),
        (label("revenue", lang), "right"), (label("revenue_share", lang), "right"),
        (label("avg_recency_days", lang), "right"), (label("avg_frequency", lang), "right"),
        (label("avg_monetary", lang), "right"), lang=lang,
    )
    for row in st.rfm.segments:
        table.add_row(
            label(row.segment, lang, "rfm"), fmt_count(row.customers), fmt_rate(row.share),
            fmt_money(row.revenue, st.currency), fmt_rate(row.revenue_share),
            fmt_number(row.avg_recency_days, 0), fmt_number(row.avg_frequency, 1),
            fmt_money(row.avg_monetary, st.currency),
        )
    cuts = "; ".join(
        f"{name[0].upper()}: " + ", ".join("—" if v is None else f"{v:g}" for v in values)
        for name, values in st.rfm.thresholds.items()
    )
    table.caption = label("report:cut_points", lang, cuts=cuts) if cuts else None
    console.print(table)
    if actions:
        todo = Table(title=label("action", lang), title_justify="left", title_style="bold", show_header=False,
                     box=None, padding=(0, 2))
        todo.add_column(style="bold", no_wrap=True)
        todo.add_column()
        for row in st.rfm.segments:
            if row.customers:
                todo.add_row(label(row.segment, lang, "rfm"), escape(action(row.segment, lang) or row.action or ""))
        console.print(todo)


def render_breakdowns(st: Stocktake, lang: Lang, console: Console) -> None:
    for b in st.breakdowns or []:
        table = _table(
            f"{label('breakdown', lang)} {label(b.dimension, lang)}",
            (label(b.dimension, lang), "left"), (label("customers", lang), "right"),
            (label("revenue", lang), "right"), (label("revenue_share", lang), "right"),
            (label("average_order_value", lang), "right"), (label("repeat_purchase_rate", lang), "right"),
            (label("high", lang), "right"), lang=lang,
        )
        for r in b.rows:
            table.add_row(
                escape(explain.dimension_value(r.value, lang)), fmt_count(r.customers), fmt_money(r.revenue, st.currency),
                fmt_rate(r.revenue_share), fmt_money(r.average_order_value, st.currency),
                fmt_rate(r.repeat_purchase_rate), fmt_count(r.tiers.get("high", 0)),
            )
        console.print(table)


# ----------------------------------------------------------------------------- churn, trends, cohorts


def _customer_list(title: str, rows: Sequence[Any], st: Stocktake, lang: Lang, pii: PiiMode, width: int) -> Table:
    """Whom to call: key, name, owner, region and last order first; figures never truncated."""
    cols = [Column(label("customer_id", lang), keep=ALWAYS), Column(label("customer_name", lang), keep=90),
            Column(label("owner", lang), keep=60), Column(label("region", lang), keep=40),
            Column(label("last_order", lang), keep=80, figure=True),
            Column(label("recency_days", lang), "right", 30, True),
            Column(label("usual_interval_days", lang), "right", 20, True),
            Column(label("orders", lang), "right", 25, True),
            Column(label("revenue", lang), "right", 70, True),
            Column(label("value_at_risk", lang), "right", ALWAYS, True)]
    present = [True, any(r.customer_name for r in rows), any(r.owner for r in rows), any(r.region for r in rows),
               *[True] * 6]
    cells = [[escape(protect(r.customer_id, pii) or ""), escape(protect(r.customer_name, pii) or "—"),
              escape(r.owner or "—"), escape(r.region or "—"), str(r.last_order), fmt_count(r.recency_days),
              fmt_number(r.usual_interval_days, 0), fmt_count(r.orders), fmt_money(r.revenue, st.currency),
              fmt_money(r.value_at_risk, st.currency)] for r in rows]
    keep = [i for i, p in enumerate(present) if p]
    return fitted_table(title, [cols[i] for i in keep], [[row[i] for i in keep] for row in cells], width,
                        hidden_note=label("report:hidden_columns", lang))


def render_churn(st: Stocktake, lang: Lang, console: Console, *, limit: int | None = None,
                 pii: PiiMode = "mask") -> None:
    if st.churn is None:
        return
    c = st.churn
    console.print(Panel(
        f"{label('churn_rate', lang)}: [bold]{fmt_rate(c.churn_rate)}[/]   "
        f"{label('churned_customers', lang)}: {fmt_count(c.churned_customers)}   "
        f"{label('report:churned_revenue', lang)}: {fmt_money(c.churned_revenue, st.currency)}   "
        f"{label('report:at_risk_customers', lang)}: {fmt_count(c.at_risk_customers)}\n"
        f"[dim]{escape(label('report:churn_rule', lang, days=c.definition.get('inactive_days')))} "
        f"({escape(explain.sentence(str(c.definition.get('basis', '')), lang))})[/]",
        title=label("churn", lang), title_align="left",
    ))
    if c.at_risk:
        console.print(_customer_list(label("at_risk_list", lang), c.at_risk[:limit], st, lang, pii, console.width))
    if c.win_back:
        console.print(_customer_list(label("win_back_list", lang), c.win_back[:limit], st, lang, pii, console.width))


_TREND_KPIS = ("customers_end", "new_customers", "churned_customers", "retention_rate", "churn_rate",
               "repeat_purchase_rate", "revenue", "average_order_value", "net_revenue_retention")


def render_trend(st: Stocktake, lang: Lang, console: Console) -> None:
    rows = st.kpis_by_period or []
    if not rows:
        return
    table = _table(
        f"{label('trend', lang)} ({label('report:' + ('period_' + str((st.settings or {}).get('period', 'month'))), lang)})",
        (label("period", lang), "left"), (label("customers_start", lang), "right"),
        (label("new_customers", lang), "right"), (label("reactivated_customers", lang), "right"),
        (label("churned_customers", lang), "right"), (label("customers_end", lang), "right"),
        (label("retention_rate", lang), "right"), (label("churn_rate", lang), "right"),
        (label("revenue", lang), "right"), lang=lang, keep={8: 45, 7: 40, 6: 44, 3: 20, 2: 30, 1: 25, 4: 35, 5: 38},
    )
    for r in rows:
        table.add_row(
            r.period + (" *" if r.partial else ""), fmt_count(r.customers_start), fmt_count(r.new_customers),
            fmt_count(r.reactivated_customers), fmt_count(r.churned_customers), fmt_count(r.customers_end),
            fmt_rate(r.retention_rate), fmt_rate(r.churn_rate), fmt_money(r.revenue, st.currency),
        )
    table.caption = label("report:partial_period_note", lang)
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
    """The triangle at the terminal's width: at most ``last`` rows (the oldest cohorts grouped
    into the first, a weighted average last), as many periods as fit, whole numbers in cells."""
    from custinv.render.cohort_view import cohort_view

    view = cohort_view(st, rows=last, first_label=label("report:cohorts_grouped", lang),
                       average_label=label("report:weighted_average", lang))
    if view is None or st.retention is None:
        return
    by_label = {c.cohort: c for c in st.retention.cohorts}
    rows = view.rows
    label_w = max(cell_len(r.label) for r in rows)
    size_w = max([cell_len(label("size", lang))] + [len(fmt_count(r.size)) for r in rows])

    def cell(r: Any, k: int) -> tuple[str, float | None]:
        share = r.retention[k]
        if share is None:
            return "", None
        if measure == "retention" or r.kind != "cohort":
            text = f"{share * 100:.0f}"
        else:
            values = getattr(by_label[r.label], measure)
            value = values[k] if k < len(values) else None
            text = "" if value is None else (fmt_count(value) if measure == "customers" else f"{value:,.0f}")
        return text + ("*" if r.partial[k] else ""), share

    cells = [[cell(r, k) for k in range(view.width)] for r in rows]
    col_w = [max([len(str(k))] + [len(row[k][0]) for row in cells]) for k in range(view.width)]
    room = console.width - (label_w + 1) - (size_w + 1)
    shown = 0
    for w in col_w:
        if room < w + 1:
            break
        room -= w + 1
        shown += 1
    unit = label("report:period_" + view.period, lang)
    title = f"{label('cohorts', lang)} ({unit}, {label('report:measure_' + measure, lang)})"
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold", box=None,
                  padding=(0, 0, 0, 1), pad_edge=False)
    table.add_column(label("report:cohort", lang), no_wrap=True)
    table.add_column(label("size", lang), justify="right", no_wrap=True)
    for k in range(shown):
        table.add_column(str(k), justify="right", no_wrap=True, min_width=col_w[k])
    for r, row in zip(rows, cells, strict=True):
        style = "bold" if r.kind != "cohort" else ""
        table.add_row(Text(r.label, style=style), fmt_count(r.size),
                      *[Text(text, style=_heat(share)) if text else "" for text, share in row[:shown]])
    notes = [label("report:cohort_caption", lang, period=unit)]
    if shown < view.width:
        notes.append(label("report:cohort_more", lang, shown=shown - 1, total=view.width - 1))
    table.caption = "\n".join(notes)
    table.caption_justify = "left"
    console.print(table)


# ----------------------------------------------------------------------------- CLV


def render_clv(st: Stocktake, lang: Lang, console: Console, *, pii: PiiMode = "mask") -> None:
    """The CLV panel: the model (and why), the horizon and whether the value is revenue or
    margin, the total; P(alive) only when the model has one; negative values explained."""
    from custinv.render import explain

    c = st.clv
    if c is None:
        return
    params = ", ".join(f"{k} {v:.4g}" for k, v in c.params.items() if v is not None)
    spend = c.spend_model or {}
    spend_params = ", ".join(f"{k} {v:.4g}" for k, v in (spend.get("params") or {}).items() if v is not None)
    basis = (label("report:clv_margin_basis", lang, margin=f"{c.margin:.0%}") if isinstance(c.margin, float)
             else label("report:clv_revenue_basis", lang) if c.margin in (None, "", "none") else
             label("report:clv_margin_column", lang, margin=str(c.margin)))
    lines = [
        f"{label('report:model', lang)}: [bold]{escape(explain.model_name(c.model, lang))}[/]"
        + (f" [dim]({escape(explain.sentence(c.reason, lang))})[/]" if c.reason else ""),
        f"{label('report:parameter', lang)}: {params or '—'}"
        + (f"   {label('report:log_likelihood', lang)} {c.log_likelihood:.2f}" if c.log_likelihood else "")
        + ("" if c.converged else f"   [yellow]{label('report:not_converged', lang)}[/]"),
        f"{label('report:spend_model', lang)}: {escape(explain.model_name(spend.get('model'), lang))} {spend_params}"
        + (f" [dim]({escape(explain.sentence(spend['reason'], lang))})[/]" if spend.get("reason") else ""),
        label("report:clv_horizon_line", lang, horizon=c.horizon, discount=f"{c.discount_rate:.0%}", basis=basis),
        label("report:clv_total_line", lang, total=f"[bold]{fmt_money(c.total, st.currency)}[/]",
           customers=fmt_count(c.customers)),
    ]
    if any((r.get("clv") or 0) < 0 for r in c.top_customers) or (c.total or 0) < 0 or any(
            (r.get("clv") or 0) < 0 for r in c.by_segment):
        lines.append(f"[yellow]{label('report:clv_negative', lang)}[/]")
    if spend.get("correlation_warning"):
        correlation = float(spend.get("correlation") or 0.0)
        lines.append(f"[yellow]! {label('report:clv_correlation', lang, r=f'{correlation:.2f}')}[/]")
    total = (c.total_intervals or {}).get("clv")
    if total:
        lines.append(f"  {label('report:clv_interval_80', lang)} {fmt_money(total.get('low_80'), st.currency)} – "
                     f"{fmt_money(total.get('high_80'), st.currency)}, {label('report:clv_interval_95', lang)} "
                     f"{fmt_money(total.get('low_95'), st.currency)} – {fmt_money(total.get('high_95'), st.currency)}"
                     f" [dim]({label('report:parameter_uncertainty', lang)})[/]")
    if c.penalizer:
        lines.append(f"{label('report:clv_penalizer', lang)} {c.penalizer:g} [dim]({label('report:penalizer_note', lang)})[/]")
    for message in c.warnings:
        lines.append(f"[yellow]! {escape(explain.sentence(message, lang))}[/]")
    console.print(Panel("\n".join(lines), title=label("clv", lang), title_align="left"))
    if c.selection and c.selection.get("candidates"):
        render_model_choice(c.selection, console)
    has_alive = any(r.get("mean_p_alive") is not None for r in c.by_segment) or any(
        r.get("p_alive") is not None for r in c.top_customers)
    for axis in ("value_tier", "rfm_segment"):
        rows = [r for r in c.by_segment if r["axis"] == axis]
        if not rows:
            continue
        heads = [(label("segment", lang), "left"), (label("customers", lang), "right"), ("CLV", "right"),
                 (label("report:clv_share", lang), "right"), (label("report:clv_per_customer", lang), "right")]
        if has_alive:
            heads.append((label("p_alive", lang), "right"))
        table = _table(f"{label('report:clv_by', lang)} {label('report:' + axis, lang)}", *heads, lang=lang)
        for r in rows:
            cells = [label(str(r["segment"]), lang, AXIS_OF_FIELD.get(axis)), fmt_count(r["customers"]),
                     fmt_money(r["clv"], st.currency), fmt_rate(r["clv_share"]),
                     fmt_money(r["clv_per_customer"], st.currency)]
            if has_alive:
                cells.append(fmt_rate(r["mean_p_alive"]))
            table.add_row(*cells)
        console.print(table)
    if c.top_customers:
        heads = [(label("customer_id", lang), "left"), ("CLV", "right")]
        if has_alive:
            heads.append((label("p_alive", lang), "right"))
        heads += [(label("expected_purchases", lang), "right"), (label("orders", lang), "right"),
                  (label("revenue", lang), "right")]
        table = _table(label("report:top_customers", lang), *heads, lang=lang)
        for r in c.top_customers[:10]:
            cells = [escape(protect(str(r["customer_id"]), pii) or ""), fmt_money(r["clv"], st.currency)]
            if has_alive:
                cells.append(fmt_rate(r.get("p_alive")))
            cells += [fmt_number(r.get("expected_purchases")), fmt_count(r.get("orders")),
                      fmt_money(r.get("revenue"), st.currency)]
            table.add_row(*cells)
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


# ----------------------------------------------------------------------------- customers preview

PREVIEW_ROWS = 20
PREVIEW_COLUMNS: tuple[tuple[str, str, int, bool], ...] = (
    # (column, justify, keep, figure): key and money stay, details go first on a narrow terminal
    ("customer_id", "left", ALWAYS, False), ("customer_name", "left", 90, False), ("owner", "left", 40, False),
    ("region", "left", 35, False), ("last_order", "left", 80, True), ("orders", "right", 60, True),
    ("revenue", "right", ALWAYS, True), ("value_tier", "left", 50, False), ("rfm_segment", "left", 70, False),
    ("lifecycle_stage", "left", 75, False), ("clv", "right", 55, True),
)


def customer_preview(customers: Any, lang: Lang, pii: PiiMode, width: int) -> Table:
    """``custinv customers`` on a terminal: the top customers by revenue as a table (labels,
    masked contacts), with how to get every row and column in a file."""
    from custinv.render.digest import column_label, customer_table

    frame = customer_table(customers, pii, lang)
    cols = [c for c in PREVIEW_COLUMNS if c[0] in frame.columns]
    rows = []
    for rec in frame.head(PREVIEW_ROWS).iter_rows(named=True):
        cells = []
        for name, _, _, _ in cols:
            value = rec.get(name)
            if name in ("revenue", "clv"):
                cells.append(fmt_money(value, None))
            elif name == "orders":
                cells.append(fmt_count(value))
            else:
                cells.append(escape("—" if value is None else str(value)))
        rows.append(cells)
    columns = [Column(column_label(name, lang), justify, keep, figure) for name, justify, keep, figure in cols]
    note = label("report:preview_note", lang, shown=min(PREVIEW_ROWS, frame.height), total=f"{frame.height:,}")
    return fitted_table(label("report:customers_sheet", lang), columns, rows, width, caption=note,
                        hidden_note=label("report:hidden_columns", lang))


# ----------------------------------------------------------------------------- the whole stocktake


def key_message_panel(st: Stocktake, lang: Lang) -> Panel:
    """The 3–5 sentences every report opens with (:mod:`custinv.render.key_message`)."""
    from custinv.render.key_message import sentences

    body = "\n".join(f"• {escape(s)}" for s in sentences(st, lang))
    return Panel(body, title=label("report:key_message", lang), title_align="left", border_style="blue")


def render_stocktake(st: Stocktake, *, lang: Lang = "en", console: Console | None = None,
                     pii: PiiMode = "mask") -> None:
    """Every section; emails and phone numbers shown as ``pii`` says (masked by default)."""
    console = console or stdout_console()
    console.print(key_message_panel(st, lang))
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
    book = st.customer_book
    if book is None:
        return
    table = Table(title=label("book:customer_book", lang), title_justify="left", title_style="bold",
                  show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row(label("book:accounts", lang), fmt_count(book.accounts))
    table.add_row(label("book:buyers", lang), fmt_count(book.buyers))
    table.add_row(label("book:prospects", lang), f"{fmt_count(book.prospects)} ({fmt_rate(book.prospect_share)})")
    table.add_row(label("book:customers_missing_from_master", lang),
                  f"{fmt_count(book.customers_missing_from_master)} · {fmt_money(book.missing_revenue, st.currency)}")
    conv = book.conversion
    if conv is not None:
        table.add_row(f"{label('book:conversion_rate', lang)} (≤ {conv.within_days} d)",
                      f"{fmt_rate(conv.conversion_rate)} ({fmt_count(conv.converted)}/{fmt_count(conv.accounts_eligible)})")
        table.add_row(label("book:median_days_to_first_order", lang), fmt_number(conv.median_days_to_first_order, 1))
    console.print(table)


def render_service(st: Stocktake, lang: Lang, console: Console) -> None:
    """Service KPIs, the period trend and churn of complainers vs the rest."""
    svc = st.service
    if svc is None:
        return
    k = svc.kpis
    table = Table(title=label("book:service", lang), title_justify="left", title_style="bold", show_header=False,
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
        table.add_row(label("book:" + key, lang), text)
    console.print(table)
    if svc.by_period:
        trend = _table("", (label("period", lang), "left"), (label("book:tickets", lang), "right"),
                       (label("book:complaints", lang), "right"), (label("book:complaint_rate", lang), "right"),
                       (label("book:sla_rate", lang), "right"), (label("book:csat", lang), "right"),
                       (label("book:nps", lang), "right"))
        for r in svc.by_period:
            trend.add_row(r.period + (" *" if r.partial else ""), fmt_count(r.tickets), fmt_count(r.complaints),
                          fmt_rate(r.complaint_rate), fmt_rate(r.sla_rate), fmt_rate(r.csat), fmt_number(r.nps, 0))
        console.print(trend)
    if svc.churn_by_complaint:
        churn = _table(label("book:churn_by_complaint", lang), ("", "left"), (label("customers", lang), "right"),
                       (label("churned_customers", lang), "right"), (label("churn_rate", lang), "right"))
        for g in svc.churn_by_complaint:
            churn.add_row(label("book:" + g.group, lang), fmt_count(g.customers), fmt_count(g.churned), fmt_rate(g.churn_rate))
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
        for status in ledger.statuses.iter_rows(named=True):
            if status["status"] is None:
                name, known = "(blank)", ""
            else:
                name = str(status["status"])
                known = "" if status["recognised"] else " [dim](not in the vocabulary)[/]"
            table.add_row(escape(name), fmt_count(status["rows"]), escape(str(status["decision"])) + known)
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
