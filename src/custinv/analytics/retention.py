"""First-purchase cohorts: who came back k periods after their first order.

A customer's cohort is the period of their first order. For cohort c and k = 0, 1, …:
``customers[k]`` is how many of its members ordered in period c + k and ``revenue[k]`` what
those orders brought; ``customers[0] == size`` (everyone ordered in their first period).
``retention[k] = customers[k] / size``.

0 and null mean different things: 0 is "period c + k has been reached (fully or, for the
period containing ``as_of``, partly) and nobody came back"; null is "c + k is after the
period containing ``as_of``". Every cohort's lists run to the longest horizon (that of the
oldest cohort), so the matrix is a triangle padded with nulls. Every period since the first
order that won at least one customer is a cohort (periods without first orders have none).

The counts per (cohort, k) are an engine's reduction (:meth:`~custinv.engine.base.OrderEngine.cohort_cells`,
revenue an exact sum); this module pads them into the triangle.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from custinv.analytics.money import money_columns
from custinv.analytics.periods import index_label_expr, period_index
from custinv.engine import OrderEngine, as_engine
from custinv.models import Cohort, RetentionSection

Measure = Literal["customers", "retention", "revenue"]


def cohort_counts(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    as_of: dt.date,
    *,
    period: str = "month",
    fiscal_year_start: int = 1,
) -> pl.DataFrame:
    """The cohort matrix in long form: one row per (cohort, k) that has been reached.

    Columns: ``cohort_index``, ``cohort`` (label), ``k``, ``size``, ``customers``,
    ``revenue``, ``retention``. Unreached cells (after ``as_of``) are absent; reached cells
    without orders are 0. ``ledger`` is the ledger, its order sequence or an order engine,
    whose :meth:`~custinv.engine.base.OrderEngine.cohort_cells` are the reduction.
    """
    engine = as_engine(ledger, as_of)
    return cohort_matrix_long(engine.cohort_cells(period, fiscal_year_start), as_of,
                              period=period, fiscal_year_start=fiscal_year_start)


def cohort_matrix_long(cells: pl.DataFrame, as_of: dt.date, *, period: str, fiscal_year_start: int) -> pl.DataFrame:
    """:func:`cohort_counts` from the engine's cells (cohort_index, k, customers, revenue_units):
    every reached cell of every cohort, zeros where nobody ordered."""
    last = period_index(as_of, period, fiscal_year_start)
    if cells.height == 0:
        return pl.DataFrame(schema={"cohort_index": pl.Int64, "cohort": pl.String, "k": pl.Int64, "size": pl.Int64,
                                    "customers": pl.Int64, "revenue": pl.Float64, "retention": pl.Float64})
    cells = money_columns(cells, {"revenue_units": "revenue"})
    cohorts = cells.filter(pl.col("k") == 0).select(
        "cohort_index", pl.col("customers").alias("size")
    )
    oldest = cohorts["cohort_index"].min()
    horizon = last - int(oldest) + 1 if oldest is not None else 0  # type: ignore[arg-type]
    ks = pl.DataFrame({"k": pl.int_range(0, horizon, eager=True).cast(pl.Int64)})
    grid = cohorts.join(ks, how="cross").filter(pl.col("cohort_index") + pl.col("k") <= last)
    return (
        grid.join(cells, on=["cohort_index", "k"], how="left")
        .with_columns(
            index_label_expr(pl.col("cohort_index"), period, fiscal_year_start).alias("cohort"),
            pl.col("customers").fill_null(0),
            pl.col("revenue").fill_null(0.0),
        )
        .with_columns((pl.col("customers") / pl.col("size")).alias("retention"))
        .select("cohort_index", "cohort", "k", "size", "customers", "revenue", "retention")
        .sort("cohort_index", "k")
    )


MONTHS_FOR_MONTHLY_COHORTS = 18
"""Beyond this span a monthly triangle no longer fits a page or a terminal: quarters instead."""
MONTHS_FOR_QUARTERLY_COHORTS = 72
"""Beyond six years even quarters make a 24-column triangle: years instead."""


def auto_cohort_period(first_order: dt.date, as_of: dt.date) -> str:
    """The cohort period when the user did not choose one: the finest of month, quarter, year
    whose triangle stays readable (at most ~18 monthly or ~24 quarterly columns)."""
    months = (as_of.year - first_order.year) * 12 + as_of.month - first_order.month + 1
    if months <= MONTHS_FOR_MONTHLY_COHORTS:
        return "month"
    if months <= MONTHS_FOR_QUARTERLY_COHORTS:
        return "quarter"
    return "year"


def retention_section(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    as_of: dt.date,
    *,
    period: str = "month",
    fiscal_year_start: int = 1,
) -> RetentionSection:
    """Every cohort since the first order, oldest first, lists padded with nulls (unreached)."""
    long = cohort_counts(ledger, as_of, period=period, fiscal_year_start=fiscal_year_start)
    if long.height == 0:
        return RetentionSection(period=period, cohorts=[])
    width = int(long["k"].max()) + 1  # type: ignore[arg-type]
    wide = long.group_by("cohort_index", "cohort", "size", maintain_order=True).agg(
        pl.col("customers"), pl.col("revenue"), pl.col("retention")
    )
    cohorts: list[Cohort] = []
    for row in wide.iter_rows(named=True):  # one row per cohort, not per order
        pad = [None] * (width - len(row["customers"]))
        cohorts.append(
            Cohort(
                cohort=row["cohort"],
                size=row["size"],
                customers=row["customers"] + pad,
                revenue=row["revenue"] + pad,
                retention=row["retention"] + pad,
            )
        )
    return RetentionSection(period=period, cohorts=cohorts)


def cohort_matrix_frame(
    section: RetentionSection, measure: Measure = "customers"
) -> pl.DataFrame:
    """The triangle for spreadsheets (``custinv cohorts --format csv``).

    Columns ``cohort``, ``size``, ``p0``, ``p1``, … holding ``measure`` (customer counts,
    retention fractions or revenue) per period since the first purchase; unreached cells are
    null (an empty CSV cell), reached cells without returns are 0.
    """
    if measure not in ("customers", "retention", "revenue"):
        raise ValueError(f"unknown cohort measure {measure!r}")
    width = max((len(c.customers) for c in section.cohorts), default=0)
    dtype = pl.Int64 if measure == "customers" else pl.Float64
    data: dict[str, pl.Series] = {
        "cohort": pl.Series("cohort", [c.cohort for c in section.cohorts], dtype=pl.String),
        "size": pl.Series("size", [c.size for c in section.cohorts], dtype=pl.Int64),
    }
    for k in range(width):
        data[f"p{k}"] = pl.Series(
            f"p{k}", [getattr(c, measure)[k] for c in section.cohorts], dtype=dtype
        )
    return pl.DataFrame(data)
