"""The order-level reductions on one machine, in Polars, from the ledger's order sequence.

Every reduction reads :func:`~custinv.analytics.periods.order_sequence` (the orders sorted by
customer and date, ties in ledger order, with each order's neighbours' dates), sorted once per
audit: a customer is a run of rows that starts where ``prev_date`` is null, so per-customer
totals are sums over runs and "the previous order" is the row above. Per-customer money is a
left fold (``np.bincount`` adds its weights one by one in row order), money over many customers
an exact integer sum of micro-units (see :mod:`custinv.engine.base`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from custinv.analytics.money import check_exact_total, units
from custinv.analytics.periods import order_sequence, period_index_lookup
from custinv.engine.base import (
    CHURNED_REVENUE_DAYS,
    COHORT_CELL_SCHEMA,
    GAP_SCHEMA,
    NO_PERIOD,
    PERIOD_CHURNS_SCHEMA,
    PERIOD_MAIN_SCHEMA,
    PERIOD_STARTS_SCHEMA,
    PURCHASE_SCHEMA,
    SAMPLE_SCHEMA,
    TOTALS_SCHEMA,
    OrderEngine,
    PeriodCells,
    PeriodWindow,
)


def run_folds(starts: pl.Series, values: pl.Series) -> np.ndarray:
    """Per run (a run starts where ``starts`` is true), the left fold of ``values`` from 0.0 in
    row order, nulls skipped: ``np.bincount`` adds its weights one at a time, in order. A
    boolean ``values`` counts the rows where it is true per run."""
    run = np.cumsum(starts.to_numpy()) - 1
    weights = values.cast(pl.Float64).fill_null(0.0).to_numpy()
    return np.bincount(run, weights=weights, minlength=int(run[-1]) + 1 if run.size else 0)


class PolarsEngine(OrderEngine):
    """The reductions of a Polars ledger (``orders``: the columns of ``Ledger.orders``)."""

    name = "polars"

    def __init__(self, orders: pl.DataFrame, as_of: dt.date | None, *, sequence: pl.DataFrame | None = None) -> None:
        super().__init__(as_of)
        self.orders = orders
        self._sequence = sequence
        self._rows_index_orders = True  # the sequence's ``row`` numbers rows of ``orders``
        self._checked = False
        self._id_order: pl.Series | None = None  # the whole sequence's customers in id order (_in_id_order)

    @classmethod
    def from_sequence(cls, sequence: pl.DataFrame, as_of: dt.date | None) -> PolarsEngine:
        """An engine over an existing order sequence (reductions that need other columns of
        the orders than the sequence's then fail with a ``KeyError``)."""
        engine = cls(sequence.select([c for c in ("customer_id", "order_date", "amount") if c in sequence.columns]),
                     as_of, sequence=sequence)
        engine._rows_index_orders = False
        return engine

    @property
    def sequence(self) -> pl.DataFrame:
        """The order sequence up to ``as_of`` (sorted once, on first use)."""
        if self._sequence is None:
            self._sequence = order_sequence(self.orders, self.as_of)
        return self._sequence

    def release_ids(self) -> None:
        """Drop the sequence's customer ids once nothing needs them (an audit's memory peak)."""
        if self._sequence is not None and "customer_id" in self._sequence.columns:
            self._sequence = self._sequence.drop("customer_id")

    def _exact_sums(self) -> None:
        """Refuse amounts too large to add up exactly in Int64 micro-units (they would wrap)."""
        if not self._checked:
            check_exact_total(float(self.sequence["amount"].abs().sum()))
            self._checked = True

    @property
    def columns(self) -> list[str]:
        return list(self.orders.columns)

    def has_values(self, column: str) -> bool:
        return column in self.orders.columns and self.orders[column].null_count() < self.orders.height

    def first_order_date(self) -> dt.date | None:
        first = self.sequence["order_date"].min()
        return first if isinstance(first, dt.date) else None

    # ------------------------------------------------------------------ per customer

    def customer_totals(self) -> pl.DataFrame:
        # a customer is a run of the sorted sequence: its ends are its first and last order,
        # read by a gather at the run starts instead of grouping every order
        seq = self.sequence
        starts = seq["prev_date"].is_null()
        first_rows = np.flatnonzero(starts.to_numpy())
        bounds = np.r_[first_rows, seq.height]
        return self._in_id_order(pl.DataFrame({
            "customer_id": seq["customer_id"].gather(first_rows),
            "first_order": seq["order_date"].gather(first_rows),
            "last_order": seq["order_date"].gather(bounds[1:] - 1),
            "orders": pl.Series(np.diff(bounds), dtype=pl.Int64),
            "revenue": pl.Series(run_folds(starts, seq["amount"]), dtype=pl.Float64),
        }, schema=TOTALS_SCHEMA), whole=True)

    def _in_id_order(self, totals: pl.DataFrame, *, whole: bool) -> pl.DataFrame:
        """Per-customer rows (one per run of the sequence, in its order) sorted by customer id
        and flagged sorted, so that their consumers' sort by id (the summary, the CLV inputs)
        finds nothing to do. The order of the whole sequence's customers (``whole``: the runs
        of every order up to ``as_of``) is found once and reused — a string sort of the ids
        was made twice per audit (0.1 s for 500k customers, each time)."""
        if whole:
            if self._id_order is None or self._id_order.len() != totals.height:
                self._id_order = totals["customer_id"].arg_sort()
            order = self._id_order
        else:
            order = totals["customer_id"].arg_sort()
        return totals[order].with_columns(pl.col("customer_id").set_sorted())

    def purchase_totals(self, calibration_end: dt.date, *, cost: bool = False) -> pl.DataFrame:
        seq = self.sequence
        whole = not (seq.height and seq["order_date"].max() > calibration_end)  # type: ignore[operator]
        if not whole:
            seq = seq.filter(pl.col("order_date") <= pl.lit(calibration_end, dtype=pl.Date))
        date, prev = pl.col("order_date"), pl.col("prev_date")
        start = prev.is_null()
        first_date = pl.when(start).then(date).forward_fill()
        rows = seq.lazy().select(
            "customer_id", date, start.alias("start"),
            (start | (date != prev)).alias("new_day"),
            pl.when(date == first_date).then(pl.col("amount")).otherwise(0.0).alias("first_day"),
            "amount", "row",
        ).collect()
        starts = rows["start"]
        first_rows = np.flatnonzero(starts.to_numpy())
        last_rows = np.r_[first_rows[1:], rows.height] - 1 if first_rows.size else np.array([], dtype=np.int64)
        out = pl.DataFrame({
            "customer_id": rows["customer_id"].gather(first_rows),
            "first_day": rows["order_date"].gather(first_rows),
            "last_day": rows["order_date"].gather(last_rows),
            "days": pl.Series(run_folds(starts, rows["new_day"]), dtype=pl.Int64),
            "revenue": pl.Series(run_folds(starts, rows["amount"]), dtype=pl.Float64),
            "first_day_amount": pl.Series(run_folds(starts, rows["first_day"]), dtype=pl.Float64),
        }, schema=PURCHASE_SCHEMA)
        if cost:
            costs = self.orders["cost"].gather(rows["row"])
            out = out.with_columns(pl.Series("cost", run_folds(starts, costs), dtype=pl.Float64))
        return self._in_id_order(out, whole=whole)

    def holdout_purchases(self, calibration_end: dt.date) -> pl.DataFrame:
        seq = self.sequence
        date, prev = pl.col("order_date"), pl.col("prev_date")
        after = seq.filter(date > pl.lit(calibration_end, dtype=pl.Date))
        if after.height == 0:
            return pl.DataFrame(schema={"customer_id": pl.String, "actual": pl.Int64, "revenue": pl.Float64})
        # the first holdout order of each customer starts a run (the rows stay in customer order)
        starts = after.select(pl.col("customer_id") != pl.col("customer_id").shift(1)).to_series().fill_null(True)
        days = after.select(prev.is_null() | (prev != date)).to_series()
        return pl.DataFrame({
            "customer_id": after["customer_id"].filter(starts),
            "actual": pl.Series(run_folds(starts, days), dtype=pl.Int64),
            "revenue": pl.Series(run_folds(starts, after["amount"]), dtype=pl.Float64),
        })

    def profit(self) -> pl.DataFrame:
        seq = self.sequence
        starts = seq["prev_date"].is_null()
        margin = (self.orders["amount"] - self.orders["cost"]).gather(seq["row"])
        known = self.orders["cost"].is_not_null().gather(seq["row"])
        return pl.DataFrame({
            "customer_id": seq["customer_id"].filter(starts),
            "profit": pl.Series(run_folds(starts, margin), dtype=pl.Float64),
            "_known": run_folds(starts, known),
        }).select("customer_id", pl.when(pl.col("_known") > 0).then(pl.col("profit")).alias("profit"))

    def latest_values(self, dims: Sequence[str]) -> list[pl.DataFrame]:
        dims = list(dims)
        has_order_id = "order_id" in self.orders.columns
        # Dimensions without nulls share "the latest order that has a value" (it is the latest
        # order), so they are picked in one pass; each nullable one needs its own.
        null_counts = self.orders.select([pl.col(d).null_count() for d in dims]).row(0)
        full = [d for d, n in zip(dims, null_counts, strict=True) if n == 0]
        nullable = [[d] for d, n in zip(dims, null_counts, strict=True) if n > 0]
        # the sequence's tails when the orders are already sorted; else (a lone call) no sort for it
        read_tails = self._sequence is not None and self._rows_index_orders
        picks = ([_last_values_from_sequence(self.sequence, self.orders, full, has_order_id) if read_tails
                  else _latest_values(self.orders.lazy(), full, has_order_id)] if full else [])
        picks += [_latest_values(self.orders.lazy(), group, has_order_id) for group in nullable]
        return pl.collect_all(picks)

    def sample_orders(self, customer_ids: pl.Series | None) -> pl.DataFrame:
        seq = self.sequence
        if customer_ids is not None:
            seq = seq.filter(pl.col("customer_id").is_in(customer_ids.implode()))
        return seq.select(list(SAMPLE_SCHEMA)).sort("customer_id", maintain_order=True)

    # ------------------------------------------------------------------ gaps and churn

    def gap_counts(self) -> pl.DataFrame:
        gap = pl.col("order_date").cast(pl.Int32) - pl.col("prev_date").cast(pl.Int32)
        return positive_counts(self.sequence, gap).cast(GAP_SCHEMA)  # type: ignore[arg-type]

    def churned_revenue_units(self, churn_days: int) -> int:
        self._exact_sums()
        last = pl.when(pl.col("next_date").is_null()).then(pl.col("order_date")).backward_fill()
        cutoff = pl.lit(self._as_of(), dtype=pl.Date) - pl.duration(days=churn_days)
        total = (
            self.sequence.lazy()
            .select(pl.col("order_date"), pl.col("amount"), last.alias("_last"))
            .filter(
                (pl.col("_last") < cutoff)
                & ((pl.col("_last") - pl.col("order_date")).dt.total_days() < CHURNED_REVENUE_DAYS)
            )
            .select(units(pl.col("amount")).sum())
            .collect()
            .item()
        )
        return int(total or 0)

    # ------------------------------------------------------------------ cohorts and periods

    def cohort_cells(self, period: str, fiscal_year_start: int) -> pl.DataFrame:
        self._exact_sums()
        seq = self.sequence
        if seq.height == 0:
            return pl.DataFrame(schema=COHORT_CELL_SCHEMA)
        lo, hi = seq.select(pl.col("order_date").min().alias("lo"), pl.col("order_date").max().alias("hi")).row(0)
        first = pl.col("prev_date").is_null()
        idx = pl.col("idx")
        return (
            seq.lazy()
            .select(pl.col("amount"), first.alias("first"),
                    period_index_lookup(pl.col("order_date"), period, fiscal_year_start, lo, hi).alias("idx"))
            .select(  # rows are sorted by customer and date: the previous row is the previous order
                pl.col("amount"),
                idx,
                (pl.col("first") | (idx.shift(1) < idx)).alias("first_in_period"),
                pl.when(pl.col("first")).then(idx).forward_fill().alias("cohort_index"),
            )
            .group_by("cohort_index", (pl.col("idx") - pl.col("cohort_index")).alias("k"))
            .agg(
                pl.col("first_in_period").sum().cast(pl.Int64).alias("customers"),
                units(pl.col("amount")).sum().alias("revenue_units"),
            )
            .collect()
            .cast(COHORT_CELL_SCHEMA)  # type: ignore[arg-type]
        )

    def period_cells(self, window: PeriodWindow) -> PeriodCells:
        self._exact_sums()
        rows = _sequence_columns(self.sequence, window.churn_days, window.period, window.fiscal_year_start,
                                 self._as_of(), window.lo)
        return period_cells_from_rows(rows, window)


def positive_counts(frame: pl.DataFrame | pl.LazyFrame, gap: pl.Expr) -> pl.DataFrame:
    """``gap``, ``count``: how often each positive value of ``gap`` occurs, ascending."""
    return (
        frame.lazy()
        .select(gap.alias("gap"))
        .filter(pl.col("gap") > 0)
        .group_by("gap")
        .agg(pl.len().alias("count"))
        .sort("gap")
        .collect()
        .cast({"count": pl.Int64})
    )


def _pick(dims: list[str], has_order_id: bool) -> list[pl.Expr]:
    """The tie-break among one customer's orders on their latest date (one rule for both paths)."""
    return [pl.col(d).sort_by(["order_id", d]).last() if has_order_id else pl.col(d).max() for d in dims]


def _latest_values(ledger: pl.LazyFrame, dims: list[str], has_order_id: bool) -> pl.LazyFrame:
    """customer_id → each dimension's value on the latest order that has one (``dims`` are
    one nullable dimension, or several without nulls, which share that order).

    Keeps only each customer's rows on their latest dated non-null order first (a max and a
    semi-join), so the tie-break sort runs on a handful of rows instead of whole histories —
    sorting every customer's history was four times slower on 10M rows.
    """
    rows = ledger.select("customer_id", "order_date", *(["order_id"] if has_order_id else []), *dims).filter(
        pl.all_horizontal([pl.col(d).is_not_null() for d in dims])
    )
    latest = rows.group_by("customer_id").agg(pl.col("order_date").max())
    on_latest = rows.join(latest, on=["customer_id", "order_date"], how="semi")
    return on_latest.group_by("customer_id").agg(_pick(dims, has_order_id))


def _last_values_from_sequence(
    sequence: pl.DataFrame, ledger: pl.DataFrame, dims: list[str], has_order_id: bool
) -> pl.LazyFrame:
    """customer_id → each dimension's value on their latest order, for dimensions without nulls.

    A customer's rows on their latest date are the tail of their run in the sequence; most
    customers have one, which is their pick. Only the few with several orders on that day go
    through the tie-break (a sort per customer), so no step groups every order.
    """
    date, prev, nxt = pl.col("order_date"), pl.col("prev_date"), pl.col("next_date")
    last_date = pl.when(nxt.is_null()).then(date).backward_fill()
    tails = (
        sequence.lazy()
        .filter(date == last_date)
        .select("row", (nxt.is_null() & (prev.is_null() | (prev < date))).alias("_alone"))
        .sort("row")  # a gather in row order walks a ledger of many chunks once
        .collect()
    )
    columns = ["customer_id", *(["order_id"] if has_order_id else []), *dims]
    rows = pl.concat([tails, ledger.select(columns)[tails["row"]]], how="horizontal").lazy()
    alone = rows.filter(pl.col("_alone")).select("customer_id", *dims)
    tied = rows.filter(~pl.col("_alone")).group_by("customer_id").agg(_pick(dims, has_order_id))
    return pl.concat([alone, tied], how="vertical")


def _sequence_columns(
    seq: pl.DataFrame,
    churn_days: int,
    period: str,
    fiscal_year_start: int,
    as_of: dt.date,
    lo: dt.date,
) -> pl.DataFrame:
    """Row-level flags on the order sequence; see :mod:`custinv.analytics.kpis` for their meaning.

    Only orders from ``lo`` on are used (everything the window's periods depend on). Period
    indices are computed twice per row (the order's and its churn day's); the neighbours'
    indices are the same columns shifted by one row, since the sequence is sorted by customer
    and date — except where the previous order is before ``lo`` (not in the frame): it then
    gets a period far in the past, which is all the flags need to know about it.
    """
    date, prev, nxt = pl.col("order_date"), pl.col("prev_date"), pl.col("next_date")
    has_prev, has_next = prev.is_not_null(), nxt.is_not_null()
    as_of_day = pl.lit(as_of, dtype=pl.Date).cast(pl.Int32)
    day = date.cast(pl.Int32)
    # the churn day of this order if nothing follows it in time (capped after as_of: unused)
    churn_day = pl.min_horizontal(day + (churn_days + 1), as_of_day + 1).cast(pl.Date)
    lo_lit = pl.lit(lo, dtype=pl.Date)
    day_after = as_of + dt.timedelta(days=1)  # the latest churn day (orders and churn days lie in lo..day_after)
    base = seq.lazy().filter(date >= lo_lit).select(
        pl.col("amount"),
        has_prev.alias("has_prev"),
        (prev >= lo_lit).fill_null(False).alias("prev_in_frame"),
        has_next.alias("has_next"),
        day.alias("day"),
        prev.cast(pl.Int32).alias("prev_day"),
        nxt.cast(pl.Int32).alias("next_day"),
        period_index_lookup(date, period, fiscal_year_start, lo, day_after).alias("idx"),
        period_index_lookup(churn_day, period, fiscal_year_start, lo, day_after).alias("cidx"),
        churn_day.cast(pl.Int32).alias("churn_day"),
    )
    idx, cidx = pl.col("idx"), pl.col("cidx")
    long_ago = pl.lit(NO_PERIOD + 1, dtype=pl.Int64)
    in_frame, has_prev_c = pl.col("prev_in_frame"), pl.col("has_prev")
    prev_idx = pl.when(in_frame).then(idx.shift(1)).when(has_prev_c).then(long_ago)
    prev_cidx = pl.when(in_frame).then(cidx.shift(1)).when(has_prev_c).then(long_ago)
    next_idx = pl.when(pl.col("has_next")).then(idx.shift(-1))
    first_in_period = (~pl.col("has_prev")) | (prev_idx < idx)
    has_churn = (
        (~pl.col("has_next")) | (pl.col("next_day") > pl.col("churn_day"))
    ) & (pl.col("churn_day") <= as_of_day)
    return base.select(
        units(pl.col("amount")).alias("units"),
        idx,
        first_in_period.alias("first_in_period"),
        (~pl.col("has_prev")).alias("new"),
        (pl.col("has_prev") & (prev_cidx < idx)).alias("reactivated"),
        (pl.col("has_prev") | (next_idx == idx).fill_null(False)).alias("repeat"),
        ((~pl.col("has_prev")) | (pl.col("day") - pl.col("prev_day") > churn_days + 1)).alias(
            "spell_start"
        ),
        pl.when(has_churn).then(cidx).alias("churn_idx"),
        ((~pl.col("has_next")) | (next_idx > cidx)).alias("churn_final"),
        # period of the customer's last order before this row's period (for NRR)
        pl.when(first_in_period)
        .then(prev_idx.fill_null(NO_PERIOD))
        .forward_fill()
        .alias("last_period_before"),
        pl.col("day"),
        pl.col("next_day"),
    ).collect()


def _day(date: dt.date) -> pl.Expr:
    return pl.lit(date, dtype=pl.Date).cast(pl.Int32)


def period_cells_from_rows(rows: pl.DataFrame | pl.LazyFrame, window: PeriodWindow) -> PeriodCells:
    """The period KPI counts from the row-level flags (:func:`_sequence_columns`' columns)."""
    idx = pl.col("idx")
    fip = pl.col("first_in_period")
    day = pl.col("day")
    first, before = window.first, window.before
    lazy = rows.lazy()
    # customers counted at the end of the day before the window: their last order before the
    # window is within churn_days of that day
    counted = lazy.select(
        (
            (day <= _day(before))
            & (day >= _day(before) - window.churn_days)
            & (pl.col("next_day").is_null() | (pl.col("next_day") > _day(before)))
        ).sum()
    )
    main = (
        lazy.filter(idx >= first - 1)
        .group_by("idx")
        .agg(
            pl.len().alias("orders"),
            pl.col("units").sum().alias("revenue_units"),
            fip.sum().alias("active_customers"),
            pl.col("new").sum().alias("new_customers"),
            (pl.col("reactivated") & fip).sum().alias("reactivated_customers"),
            (pl.col("repeat") & fip).sum().alias("repeaters"),
            pl.when(pl.col("last_period_before") == idx - 1)
            .then(pl.col("units"))
            .otherwise(0)
            .sum()
            .alias("retained_units"),
        )
    )
    starts = lazy.filter(pl.col("spell_start") & (idx >= first)).group_by("idx").agg(pl.len().alias("starts"))
    churns = (
        lazy.filter(pl.col("churn_idx") >= first)
        .group_by(pl.col("churn_idx").alias("idx"))
        .agg(pl.len().alias("churn_events"), pl.col("churn_final").sum().alias("churned_customers"))
    )
    counted_frame, main_frame, starts_frame, churns_frame = pl.collect_all([counted, main, starts, churns])
    return PeriodCells(
        counted_before=int(counted_frame.item() or 0),
        main=main_frame.cast(PERIOD_MAIN_SCHEMA),  # type: ignore[arg-type]
        starts=starts_frame.cast(PERIOD_STARTS_SCHEMA),  # type: ignore[arg-type]
        churns=churns_frame.cast(PERIOD_CHURNS_SCHEMA),  # type: ignore[arg-type]
    )


__all__ = ["PolarsEngine", "period_cells_from_rows", "positive_counts", "run_folds"]
