"""Rich tables for ``custinv compare`` (a :class:`Comparison`).

Migration matrices are drawn as a grid (rows: the older class, columns: the newer class),
each cell "customers" with the revenue that moved underneath; the diagonal (no change) is dim.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from custinv.models import ChangedCustomer, Comparison, MigrationCell
from custinv.render.formatting import fmt_count, fmt_kpi, fmt_money, kpi_kind
from custinv.render.i18n import Lang, label


def _table(title: str, *columns: tuple[str, str]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table


def _who(customer_id: str) -> str:
    """Console display never shows emails or phone numbers in full."""
    from custinv.render.pii import protect

    return protect(customer_id, "mask") or ""


def _is_rate(key: str) -> bool:
    return kpi_kind(key) == "rate"


def _fmt(key: str, value: float | None, currency: str | None) -> str:
    return fmt_kpi(key, value, currency)


def _fmt_delta(key: str, value: float | None, currency: str | None) -> str:
    if value is None:
        return "—"
    if _is_rate(key):
        text = f"{value * 100:+.1f} pp"
    else:
        text = _fmt(key, abs(value), currency)
        text = ("+" if value > 0 else "−" if value < 0 else "±") + text
    from custinv.render.digest import tone

    colour = {"good": "green", "bad": "red", "flat": "dim"}[tone(key, value)]
    return f"[{colour}]{escape(text)}[/]"


def kpi_delta_table(cmp: Comparison, lang: Lang, currency: str | None = None) -> Table:
    table = _table(label("book:kpi_deltas", lang), ("", "left"), (label("book:before", lang), "right"),
                   (label("book:after", lang), "right"), (label("book:change", lang), "right"))
    from custinv.render.console import _HIDDEN_KPIS

    for key, d in cmp.kpi_deltas.items():
        if (d.old is None and d.new is None) or key in _HIDDEN_KPIS:
            continue
        table.add_row(escape(label("book:" + key, lang)), _fmt(key, d.old, currency), _fmt(key, d.new, currency),
                      _fmt_delta(key, d.delta, currency))
    return table


def _class_order(axis: str, value: str) -> tuple[int, int, str]:
    """Classes in their usual order (best first), unknown ones alphabetically, (new)/(lost) last."""
    from custinv.analytics import actions

    known: tuple[str, ...] = {
        "value_tier": actions.VALUE_TIERS,
        "rfm_segment": actions.RFM_SEGMENTS + actions.CN8_SEGMENTS,
        "lifecycle_stage": actions.LIFECYCLE_STAGES,
    }.get(axis, ())
    if value in ("(new)", "(lost)"):
        return (2, 0, value)
    return (0, known.index(value), value) if value in known else (1, 0, value)


def migration_grid(axis: str, cells: list[MigrationCell], lang: Lang, currency: str | None = None) -> Table:
    """Older class down the side, newer class across; 'customers' over 'revenue' in each cell."""
    froms = sorted({c.from_ for c in cells}, key=lambda v: _class_order(axis, v))
    tos = sorted({c.to for c in cells}, key=lambda v: _class_order(axis, v))
    grid = {(c.from_, c.to): c for c in cells}
    table = _table(f"{label('book:migration', lang)}: {label('book:' + axis, lang)}", ("→", "left"),
                   *[(escape(label("book:" + t, lang)), "right") for t in tos])
    for f in froms:
        row = [escape(label("book:" + f, lang))]
        for t in tos:
            cell = grid.get((f, t))
            if cell is None:
                row.append("")
                continue
            text = f"{fmt_count(cell.customers)}\n[dim]{fmt_money(cell.revenue, currency)}[/]"
            row.append(f"[dim]{text}[/]" if f == t else text)
        table.add_row(*row)
    return table


def changed_table(title: str, rows: list[ChangedCustomer], lang: Lang, currency: str | None = None) -> Table:
    table = _table(title, (label("book:customer", lang), "left"), (label("book:reason", lang), "left"),
                   (label("value", lang), "right"), (label("revenue", lang), "right"),
                   (label("book:value_tier", lang), "left"), (label("book:rfm_segment", lang), "left"))
    for r in rows:
        table.add_row(escape(_who(r.customer_id)), r.reason, fmt_money(r.value, currency), fmt_money(r.revenue, currency),
                      label(r.value_tier, lang) if r.value_tier else "—",
                      label(r.rfm_segment, lang) if r.rfm_segment else "—")
    return table


def render_comparison(cmp: Comparison, lang: Lang, console: Console, currency: str | None = None) -> None:
    console.print(f"[bold]{label('book:comparison', lang)}[/]: {cmp.old.as_of} → {cmp.new.as_of}   "
                  f"{label('book:customers_gained', lang)} [green]+{fmt_count(cmp.customers_gained)}[/]   "
                  f"{label('book:customers_lost', lang)} [red]−{fmt_count(cmp.customers_lost)}[/]")
    console.print(kpi_delta_table(cmp, lang, currency))
    for axis, cells in cmp.migrations.items():
        if cells:
            console.print(migration_grid(axis, cells, lang, currency))
    if cmp.gained_customers:
        console.print(changed_table(label("book:gained_customers", lang), cmp.gained_customers, lang, currency))
    if cmp.lost_customers:
        console.print(changed_table(label("book:lost_customers", lang), cmp.lost_customers, lang, currency))
    if cmp.movers:
        table = _table(label("book:movers", lang), (label("book:customer", lang), "left"), (label("value", lang), "right"),
                       (label("book:before", lang), "right"), (label("book:after", lang), "right"),
                       (label("book:change", lang), "left"))
        for m in cmp.movers:
            changes = "; ".join(f"{label('book:' + a, lang)}: {label(o, lang) if o else '—'} → {label(n, lang) if n else '—'}"
                                for a, (o, n) in m.changes.items())
            table.add_row(escape(_who(m.customer_id)), fmt_money(m.value, currency), fmt_money(m.revenue_old, currency),
                          fmt_money(m.revenue_new, currency), escape(changes))
        console.print(table)
