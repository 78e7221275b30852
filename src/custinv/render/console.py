"""Rich tables for people at a terminal. Reads only the Stocktake (and, for inspect, the Ledger)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from custinv.render.formatting import fmt_count, fmt_money, fmt_number, fmt_rate
from custinv.render.i18n import Lang, label

if TYPE_CHECKING:
    from custinv.ingest.ledger import Ledger
    from custinv.models import Stocktake


def stdout_console() -> Console:
    return Console(highlight=False, no_color="NO_COLOR" in os.environ, soft_wrap=False)


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
            "  excluded: " + ", ".join(f"{label(k, lang)} {fmt_count(v)}" for k, v in src.rows_excluded.items())
        )
    if src.reject_reasons:
        lines.append(
            "  rejected: " + ", ".join(f"{label(k, lang)} {fmt_count(v)}" for k, v in src.reject_reasons.items())
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
    lines.append(
        f"{label('as_of', lang)}: [bold]{st.as_of}[/]   {label('currency', lang)}: {st.currency or '—'}"
    )
    for warning in src.warnings:
        lines.append(f"[yellow]! {escape(warning)}[/]")
    return Panel("\n".join(lines), title=label("source", lang), title_align="left")


_MONEY_KPIS = {"revenue", "returns", "average_order_value", "revenue_per_customer"}
_RATE_KPIS = {"repeat_purchase_rate", "churn_rate", "retention_rate", "customer_growth_rate", "top20_revenue_share"}
_HIDDEN_KPIS = {"new_customer_window_days", "active_window_days"}


def kpi_table(st: Stocktake, lang: Lang) -> Table:
    table = Table(title=label("kpis", lang), title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    assert st.kpis is not None
    for key, value in st.kpis.model_dump().items():
        if value is None or key in _HIDDEN_KPIS:
            continue
        table.add_row(label(key, lang), format_kpi(key, value, st.currency))
    return table


def format_kpi(key: str, value: Any, currency: str | None) -> str:
    if key in _MONEY_KPIS:
        return fmt_money(value, currency)
    if key in _RATE_KPIS:
        return fmt_rate(value)
    if isinstance(value, int):
        return fmt_count(value)
    return fmt_number(value)


def render_stocktake(st: Stocktake, *, lang: Lang = "en", console: Console | None = None) -> None:
    console = console or stdout_console()
    console.print(source_panel(st, lang))
    if st.kpis is not None:
        console.print(kpi_table(st, lang))
    for section in _SECTION_RENDERERS:
        section(st, lang, console)


_SECTION_RENDERERS: list[Any] = []


def render_timings(stages: dict[str, float], console: Console) -> None:
    table = Table(title="timings", title_justify="left", box=None)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, seconds in stages.items():
        table.add_row(name, f"{seconds:.3f}")
    table.add_row("[bold]total[/]", f"[bold]{sum(stages.values()):.3f}[/]")
    console.print(table)


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
            *[f"[dim]{escape(n)}[/]" for n in report.notes],
        ]
        console.print(Panel("\n".join(escape(x) if not x.startswith("[dim]") else x for x in lines if x),
                            title=escape(str(raw.path)), title_align="left"))
        table = Table(title="mapping", title_justify="left")
        table.add_column("field")
        table.add_column("column")
        table.add_column("why")
        for choice in mapping.choices.values():
            table.add_row(choice.field, escape(choice.column), escape(choice.reason))
        unmapped = [c for c in raw.frame.columns if not c.startswith("__") and c not in mapping.as_dict().values()]
        if unmapped:
            table.caption = "not used: " + escape(", ".join(unmapped))
        console.print(table)
    if ledger.samples is not None and ledger.samples.height:
        table = Table(title="parsed sample rows", title_justify="left")
        for col in ledger.samples.columns:
            table.add_column(col)
        for row in ledger.samples.iter_rows():
            table.add_row(*(escape("" if v is None else str(v)) for v in row))
        console.print(table)
    if ledger.statuses.height:
        table = Table(title="status values", title_justify="left")
        table.add_column("status")
        table.add_column("rows", justify="right")
        table.add_column("decision")
        for row in ledger.statuses.iter_rows(named=True):
            if row["status"] is None:
                name, known = "(blank)", ""
            else:
                name = str(row["status"])
                known = "" if row["recognised"] else " [dim](not in the vocabulary)[/]"
            table.add_row(escape(name), fmt_count(row["rows"]), escape(str(row["decision"])) + known)
        console.print(table)
    console.print(source_panel_for_inspect(ledger))
    if ledger.rejects.height:
        table = Table(title=f"rejects (first 10 of {fmt_count(ledger.rejects.height)})", title_justify="left")
        for col in ledger.rejects.columns:
            table.add_column(col)
        for row in ledger.rejects.head(10).iter_rows():
            table.add_row(*(escape("" if v is None else str(v)) for v in row))
        console.print(table)


def source_panel_for_inspect(ledger: Ledger) -> Panel:
    from custinv.models import Stocktake, Tool

    st = Stocktake(tool=Tool(version=""), as_of=ledger.as_of, currency=ledger.currency, source=ledger.source)
    return source_panel(st, "en")


def is_tty() -> bool:
    return sys.stdout.isatty()
