"""The cohort triangle as people read it, decided once for HTML, Excel and the terminal.

The Stocktake's retention section holds every first-purchase cohort. A report cannot show a
hundred rows, and it must not hide the big early cohorts either (dropping them once hid 84 %
of Superstore's customers), so:

* the newest ``rows - 1`` cohorts are shown one per row, and all older ones are **grouped** into
  one row ("≤ 2021-Q4, 9 cohorts") whose retention is their size-weighted average — every
  customer stays in the triangle;
* a **weighted-average** row (all cohorts, weighted by size) closes the table;
* the cell of the period containing the as-of date is **partial** when that period has not
  ended: it is marked, and left out of both averages, so a half month never reads as a fall;
* **revenue per customer** accumulated k periods after the first order (the cohort's LTV
  curve) comes with every row; pooled rows chain the weighted per-period increments.

Nothing is recomputed from orders: sums of the section's counts and revenue only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from custinv.analytics.periods import period_index
from custinv.models import Cohort, Stocktake

RowKind = Literal["cohort", "grouped", "average"]


@dataclass(frozen=True)
class CohortRow:
    label: str
    kind: RowKind
    size: int
    cohorts: int
    retention: list[float | None]
    """customers[k] / size; None where the period is not reached."""
    partial: list[bool]
    """True for a cell whose period is still running (shown, marked, not averaged)."""
    ltv: list[float | None] = field(default_factory=list)
    """Revenue per customer accumulated up to k periods after the first order."""


@dataclass(frozen=True)
class CohortView:
    period: str
    rows: list[CohortRow]
    width: int
    total_cohorts: int
    total_customers: int

    @property
    def average(self) -> CohortRow | None:
        return next((r for r in self.rows if r.kind == "average"), None)


def current_period_running(st: Stocktake, period: str) -> bool:
    """Is the period containing the as-of date still running (as-of is not its last day)?"""
    if st.as_of is None:
        return False
    fiscal = int((st.settings or {}).get("fiscal_year_start") or 1)
    return period_index(st.as_of, period, fiscal) == period_index(st.as_of + dt.timedelta(days=1), period, fiscal)


def _partial_flags(c: Cohort, running: bool) -> list[bool]:
    reached = [n is not None for n in c.customers]
    last = max((k for k, r in enumerate(reached) if r), default=-1)
    return [running and k == last for k in range(len(c.customers))]


def _cumulative_per_customer(c: Cohort) -> list[float | None]:
    out: list[float | None] = []
    total = 0.0
    for value in c.revenue:
        if value is None:
            out.append(None)
            continue
        total += value
        out.append(total / c.size if c.size else None)
    return out


def _pooled(label: str, kind: RowKind, members: list[Cohort], width: int, running: bool) -> CohortRow:
    """Size-weighted retention of several cohorts, complete cells only; their LTV curve chains
    the weighted *increments* (revenue per customer in period k over the cohorts that reached
    k), so old cohorts dropping out at long k never bend the cumulative curve down."""
    retention: list[float | None] = []
    ltv: list[float | None] = []
    running_total = 0.0
    for k in range(width):
        size = customers = 0
        revenue = 0.0
        for c in members:
            n = c.customers[k] if k < len(c.customers) else None
            if n is None or _partial_flags(c, running)[k]:
                continue
            size += c.size
            customers += n
            revenue += c.revenue[k] or 0.0
        retention.append(customers / size if size else None)
        if size:
            running_total += revenue / size
            ltv.append(running_total)
        else:
            ltv.append(None)
    return CohortRow(label, kind, sum(c.size for c in members), len(members), retention, [False] * width, ltv)


def cohort_view(st: Stocktake, *, rows: int = 24, first_label: str = "≤ {cohort}",
                average_label: str = "Weighted average") -> CohortView | None:
    """At most ``rows`` cohort rows (the oldest grouped into the first) plus the average row."""
    ret = st.retention
    if ret is None or not ret.cohorts:
        return None
    cohorts = ret.cohorts
    width = max(len(c.customers) for c in cohorts)
    running = current_period_running(st, ret.period)
    out: list[CohortRow] = []
    if len(cohorts) > rows:
        old, cohorts = cohorts[: len(cohorts) - rows + 1], cohorts[len(cohorts) - rows + 1:]
        out.append(_pooled(first_label.format(cohort=old[-1].cohort, n=len(old)), "grouped", old, width, running))
    for c in cohorts:
        shares = [None if n is None or not c.size else n / c.size for n in c.customers]
        out.append(CohortRow(c.cohort, "cohort", c.size, 1, shares + [None] * (width - len(shares)),
                             _partial_flags(c, running) + [False] * (width - len(shares)),
                             _cumulative_per_customer(c) + [None] * (width - len(shares))))
    out.append(_pooled(average_label, "average", ret.cohorts, width, running))
    return CohortView(ret.period, out, width, len(ret.cohorts), sum(c.size for c in ret.cohorts))
