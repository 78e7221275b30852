"""Service quality (投诉处理, 满意度, 服务绩效) from a ticket export, joined to the orders.

One aggregation, :func:`service_table`, computes every KPI per group (all tickets, a
period, a segment), so the overall, per-period and per-segment numbers share one rule:

- ``tickets``; ``complaints`` (tickets of kind complaint); ``customers_with_complaints``
  (distinct known customers with a complaint);
- ``active_customers``: distinct customers who placed an order *or* filed a ticket in the
  group's window — a customer in touch with us — so ``complaint_rate`` =
  customers_with_complaints / active_customers stays a share in [0, 1];
- ``tickets_per_100_orders`` = 100 × tickets / orders in the same window;
- ``median_resolution_hours``: median of resolved − created over tickets with a resolved time;
- SLA: a ticket meets it when resolved within ``sla_hours`` of creation. ``sla_tickets`` are
  the tickets whose outcome is known at the end of the as-of day: resolved with a time, or
  still open past the deadline (a breach). Open tickets still inside the SLA, and tickets
  closed by status without a time, are not counted. ``sla_rate`` = met / sla_tickets;
- ``csat``: share of satisfaction answers that are 4–5 (or a "satisfied" word);
- ``nps`` = 100 × (promoters 9–10 − detractors 0–6) / NPS answers, in points.

The overall window is [first ticket date, as-of]; a period's window is the period.
Churn by complaint compares buyers who complained with those who did not, and buyers with
an unresolved complaint with those whose complaints were all resolved; churned means no
order for more than the churn window (recency_days > churn_days), the stocktake's rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from custinv.analytics.lifecycle import within_days
from custinv.analytics.periods import index_end_expr, period_index_expr, period_label_expr
from custinv.models import (
    ChurnByComplaint,
    InputFileReport,
    ServiceKpis,
    ServicePeriodRow,
    ServiceSection,
    ServiceSegmentRow,
)

GROUP = "__group__"
KIND_ORDER = ("complaint", "inquiry", "return", "other")
SEGMENT_AXES = ("rfm_segment", "value_tier")


def _day_end(as_of: dt.date) -> dt.datetime:
    """The end of the as-of day: the moment SLA outcomes are judged at."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def service_table(tickets: pl.DataFrame, orders: pl.DataFrame, *, end: dt.datetime, sla_hours: float) -> pl.DataFrame:
    """Every service KPI per value of the ``__group__`` column present on both frames.

    ``tickets``: customer_id, created, resolved, kind, is_resolved, satisfied, nps, __group__.
    ``orders``: customer_id, __group__ (one row per order in the group's window).
    """
    hours = (pl.col("resolved") - pl.col("created")).dt.total_microseconds() / 3.6e9
    deadline = pl.col("created") + pl.duration(microseconds=int(round(sla_hours * 3.6e9)))
    has_time = pl.col("resolved").is_not_null()
    known = has_time | (~pl.col("is_resolved") & (deadline <= end))
    met = has_time & (pl.col("resolved") <= deadline)
    complaint = pl.col("kind") == "complaint"
    per_ticket = tickets.group_by(GROUP).agg(
        pl.len().alias("tickets"),
        complaint.sum().alias("complaints"),
        pl.col("customer_id").filter(complaint).drop_nulls().n_unique().alias("customers_with_complaints"),
        pl.col("is_resolved").sum().alias("resolved_tickets"),
        hours.filter(has_time).median().alias("median_resolution_hours"),
        known.sum().alias("sla_tickets"),
        met.sum().alias("sla_met"),
        pl.col("satisfied").is_not_null().sum().alias("csat_responses"),
        pl.col("satisfied").sum().alias("csat_yes"),
        pl.col("nps").is_not_null().sum().alias("nps_responses"),
        ((pl.col("nps") >= 9).cast(pl.Int64).sum() - (pl.col("nps") <= 6).cast(pl.Int64).sum()).alias("nps_net"),
    )
    per_order = orders.group_by(GROUP).agg(pl.len().alias("orders"))
    in_touch = (
        pl.concat([orders.select(GROUP, "customer_id"), tickets.select(GROUP, "customer_id")])
        .drop_nulls("customer_id")
        .group_by(GROUP)
        .agg(pl.col("customer_id").n_unique().alias("active_customers"))
    )
    table = (
        per_ticket.join(per_order, on=GROUP, how="full", coalesce=True)
        .join(in_touch, on=GROUP, how="left")
        .with_columns(pl.col(c).fill_null(0) for c in ("tickets", "complaints", "customers_with_complaints",
                                                        "resolved_tickets", "sla_tickets", "sla_met", "csat_responses",
                                                        "csat_yes", "nps_responses", "nps_net", "orders",
                                                        "active_customers"))
    )

    def share(num: str, den: str, scale: float = 1.0) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(scale * pl.col(num) / pl.col(den))

    return table.with_columns(
        share("customers_with_complaints", "active_customers").alias("complaint_rate"),
        share("tickets", "orders", 100.0).alias("tickets_per_100_orders"),
        share("sla_met", "sla_tickets").alias("sla_rate"),
        share("csat_yes", "csat_responses").alias("csat"),
        share("nps_net", "nps_responses", 100.0).alias("nps"),
    )


_KPI_FIELDS = tuple(ServiceKpis.model_fields)
_RATE_FIELDS = frozenset({"complaint_rate", "tickets_per_100_orders", "median_resolution_hours", "sla_rate", "csat",
                          "nps"})


def _kpis(row: dict[str, object]) -> dict[str, object]:
    return {k: row[k] for k in _KPI_FIELDS}


def overall_kpis(tickets: pl.DataFrame, orders: pl.DataFrame, as_of: dt.date, sla_hours: float) -> ServiceKpis:
    """KPIs over every ticket, against the orders from the first ticket's date to as-of."""
    start = tickets["created"].min().date() if tickets.height else as_of  # type: ignore[union-attr]
    window = orders.filter(pl.col("order_date").is_between(start, as_of))
    table = service_table(tickets.with_columns(pl.lit("all").alias(GROUP)),
                          window.with_columns(pl.lit("all").alias(GROUP)),
                          end=_day_end(as_of), sla_hours=sla_hours)
    if table.height == 0:  # no tickets and no orders in the window
        return ServiceKpis.model_validate({k: None if k in _RATE_FIELDS else 0 for k in _KPI_FIELDS})
    return ServiceKpis.model_validate(_kpis(table.row(0, named=True)))


def period_rows(
    tickets: pl.DataFrame, orders: pl.DataFrame, as_of: dt.date, sla_hours: float, *,
    period: str = "month", fiscal_year_start: int = 1, periods: int = 12,
) -> list[ServicePeriodRow]:
    """KPIs per period of the ticket's created date (the last ``periods`` periods with tickets)."""
    label = period_label_expr(pl.col("created").dt.date(), period, fiscal_year_start)
    t = tickets.with_columns(label.alias(GROUP))
    o = orders.with_columns(period_label_expr(pl.col("order_date"), period, fiscal_year_start).alias(GROUP))
    table = service_table(t, o, end=_day_end(as_of), sla_hours=sla_hours)
    wanted = t.select(GROUP).unique().sort(GROUP).tail(periods)
    table = table.join(wanted, on=GROUP, how="semi").sort(GROUP)
    as_of_index = period_index_expr(pl.lit(as_of, dtype=pl.Date), period, fiscal_year_start)
    last_day = pl.select(index_end_expr(as_of_index, period, fiscal_year_start)).item()
    current = pl.select(period_label_expr(pl.lit(as_of, dtype=pl.Date), period, fiscal_year_start)).item()
    return [
        ServicePeriodRow.model_validate(
            {"period": r[GROUP], "partial": r[GROUP] == current and as_of < last_day, **_kpis(r)})
        for r in table.iter_rows(named=True)
    ]


def segment_rows(
    tickets: pl.DataFrame, orders: pl.DataFrame, customers: pl.DataFrame, as_of: dt.date, sla_hours: float,
    axes: Sequence[str] = SEGMENT_AXES,
) -> list[ServiceSegmentRow]:
    """KPIs per customer segment on each axis; tickets of unknown customers are left out here."""
    start = tickets["created"].min().date() if tickets.height else as_of  # type: ignore[union-attr]
    window = orders.filter(pl.col("order_date").is_between(start, as_of))
    rows: list[ServiceSegmentRow] = []
    for axis in axes:
        if axis not in customers.columns:
            continue
        key = customers.select("customer_id", pl.col(axis).alias(GROUP)).drop_nulls(GROUP)
        t = tickets.join(key, on="customer_id", how="inner")
        o = window.join(key, on="customer_id", how="inner")
        table = service_table(t, o, end=_day_end(as_of), sla_hours=sla_hours).filter(pl.col("tickets") > 0)
        table = table.sort(["tickets", GROUP], descending=[True, False])
        rows.extend(ServiceSegmentRow.model_validate({"axis": axis, "segment": r[GROUP], **_kpis(r)}) for r in table.iter_rows(named=True))
    return rows


def churn_by_complaint(tickets: pl.DataFrame, customers: pl.DataFrame, churn_days: int) -> list[ChurnByComplaint]:
    """Churn rate of buyers who complained vs not, and with an unresolved complaint vs all resolved."""
    complaints = (
        tickets.filter((pl.col("kind") == "complaint") & pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg((~pl.col("is_resolved")).any().alias("unresolved"))
    )
    buyers = (
        customers.filter(pl.col("orders") >= 1)
        .select("customer_id", (~within_days(pl.col("recency_days"), churn_days)).alias("churned"))
        .join(complaints, on="customer_id", how="left")
    )
    groups = {
        "complained": pl.col("unresolved").is_not_null(),
        "no_complaint": pl.col("unresolved").is_null(),
        "unresolved_complaint": pl.col("unresolved").fill_null(False),
        "resolved_complaint": (~pl.col("unresolved")).fill_null(False),
    }
    out = []
    for name, condition in groups.items():
        part = buyers.filter(condition)
        churned = int(part["churned"].sum())
        out.append(ChurnByComplaint(group=name, customers=part.height, churned=churned,
                                    churn_rate=churned / part.height if part.height else None))
    return out


def service_section(
    tickets: pl.DataFrame,
    report: InputFileReport,
    orders: pl.DataFrame,
    customers: pl.DataFrame,
    as_of: dt.date,
    *,
    churn_days: int,
    sla_hours: float = 48.0,
    period: str = "month",
    fiscal_year_start: int = 1,
    periods: int = 12,
) -> ServiceSection:
    """The ``service`` block of the stocktake."""
    orders = orders.select("customer_id", "order_date")
    kinds = dict(tickets["kind"].value_counts().iter_rows()) if tickets.height else {}
    buyers = customers.filter(pl.col("orders") >= 1).select("customer_id")
    known = tickets.filter(pl.col("customer_id").is_not_null())
    return ServiceSection(
        source=report,
        sla_hours=sla_hours,
        kpis=overall_kpis(tickets, orders, as_of, sla_hours),
        by_type={k: int(kinds[k]) for k in KIND_ORDER if kinds.get(k)},
        by_period=period_rows(tickets, orders, as_of, sla_hours, period=period,
                              fiscal_year_start=fiscal_year_start, periods=periods),
        by_segment=segment_rows(tickets, orders, customers, as_of, sla_hours),
        churn_by_complaint=churn_by_complaint(tickets, customers, churn_days),
        anonymous_tickets=tickets.height - known.height,
        unknown_customer_tickets=known.join(buyers, on="customer_id", how="anti").height,
    )
