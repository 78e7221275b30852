"""Shared read-outs of a :class:`Comparison` for the Excel and HTML reports.

The console (:mod:`custinv.render.compare`), the workbook and the HTML page must show the
same rows in the same order; this module decides *which* KPI deltas are shown, how a KPI's
number is to be read (money, rate, count…) and the order of a migration grid's classes, so
that each renderer only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from custinv.models import Comparison, KpiDelta, MigrationCell
from custinv.render.formatting import Kind, kpi_kind
from custinv.render.i18n import Lang, label

__all__ = ["Kind", "kpi_kind"]  # re-exported: the renderers of the comparison read kinds here


def shown_deltas(cmp: Comparison) -> list[tuple[str, KpiDelta]]:
    """The KPI deltas people read: known on some side, window settings left out (as on the console)."""
    from custinv.render.console import _HIDDEN_KPIS

    return [(k, d) for k, d in cmp.kpi_deltas.items()
            if not (d.old is None and d.new is None) and k not in _HIDDEN_KPIS]


@dataclass(frozen=True)
class Grid:
    """One migration matrix laid out: older classes down the side, newer ones across."""

    axis: str
    froms: list[str]
    tos: list[str]
    cells: dict[tuple[str, str], MigrationCell]


def grids(cmp: Comparison) -> list[Grid]:
    """Every non-empty migration matrix, classes in their usual order (best first, (new)/(lost) last)."""
    from custinv.render.compare import _class_order

    out = []
    for axis, cells in cmp.migrations.items():
        if not cells:
            continue
        froms = sorted({c.from_ for c in cells}, key=lambda v: _class_order(axis, v))
        tos = sorted({c.to for c in cells}, key=lambda v: _class_order(axis, v))
        out.append(Grid(axis, froms, tos, {(c.from_, c.to): c for c in cells}))
    return out


def reason_text(code: str, lang: Lang) -> str:
    """new / reactivated / churned / missing as words."""
    return label(f"book:reason.{code}", lang) if f"reason.{code}" in _reason_keys() else code


def _reason_keys() -> set[str]:
    from custinv.render.i18n import LABELS

    return {k.removeprefix("book:") for k in LABELS if k.startswith("book:reason.")}


def class_text(value: str | None, lang: Lang) -> str:
    """A class key (or ``(new)`` / ``(lost)``) as a label; an em dash when there is none."""
    return "—" if not value else label("book:" + value, lang)


def changes_hint(cmp: Comparison, lang: Lang = "en") -> str:
    """One line for the console after ``audit``: what changed since the older stocktake."""
    parts = [f"{label('book:customers_gained', lang)} +{cmp.customers_gained:,}",
             f"{label('book:customers_lost', lang)} −{cmp.customers_lost:,}"]
    rev = cmp.kpi_deltas.get("revenue")
    if rev is not None and rev.delta is not None:
        parts.append(f"{label('book:revenue', lang)} {'+' if rev.delta >= 0 else '−'}{abs(rev.delta):,.2f}")
    return f"{label('book:changes_since', lang).format(date=cmp.old.as_of)}: " + " · ".join(parts)
