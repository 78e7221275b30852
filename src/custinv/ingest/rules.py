"""The row rules of ingest, shared by the eager path (:mod:`custinv.ingest.ledger`) and the
streaming path (:mod:`custinv.ingest.streaming`): one place for each rule.

Canonical ``raw_<field>`` columns, the parse expressions, the bucket of each row
(:func:`line_decision`, first rule wins), the currency, the row accounting, the grouping of
lines into orders and the rejects table. Both paths decide the per-column formats (date
order, decimal mark, amount mode, status vote) from their evidence, then apply these
expressions; neither owns a private copy.

Every physical data row ends in exactly one bucket: structural rows (report footers,
repeated headers) and duplicates are *excluded*; rows that cannot be parsed are *rejected*
with line, column, value and reason; parsed rows left out by a business rule are
*excluded* with the rule's code; the rest are *used*. Hence, always,
``rows_read == rows_used + sum(rows_excluded) + rows_rejected``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError
from custinv.ingest import fields as F
from custinv.ingest import parse, status
from custinv.ingest import sales as S
from custinv.ingest.layout import GROUP_HEADER
from custinv.ingest.readers import RawTable
from custinv.models import FileReport, SourceReport

EXCLUDED_REASONS = (
    "footer", GROUP_HEADER, "repeated_header", "duplicate", "anonymous", "cancelled", "refunded", "voided", "closed",
    "lost", "unpaid", "open", "draft", status.USER_EXCLUDED, "non_sale", "other_currency", "return", "void_line",
    "after_as_of",
)
REJECTED_REASONS = (
    "ragged_row", "missing_date", "bad_date", "bad_id", "missing_amount", "bad_amount", "bad_quantity",
    "bad_price",
)
STATUS_REASONS = status.EXCLUSION_REASONS
USED = "used"

# after_sale_status and refunded_amount are per line where an export has lines (微信小店 refunds one
# product of an order), so they are not copied from the first line.
ORDER_LEVEL_FIELDS = ("customer_id", "order_date", "status", "currency", "customer_name", "email", "phone",
                      *F.DIMENSIONS, "signup_date", "cancelled_at", "paid_at")
"""Fields an export may write only on the first line of an order; filled from it within the order."""

RAW_FIELDS = ("customer_id", "order_id", "order_date", "amount", "quantity", "unit_price", "status",
               "currency", "cost", "margin", "customer_name", "email", "phone", *F.DIMENSIONS,
               *S.DECIDING_FIELDS)
AMOUNT_NOTES = {
    "line": "amount column holds line amounts (summed per order)",
    "order_total": "amount column holds order totals (counted once per order)",
    "price": "amount = quantity × unit price",
}
MONEY_FIELDS = ("amount", "quantity", "unit_price", "cost", "margin", "refunded_amount")
"""Fields parsed as numbers by the money rules (parse.money_expr / plain_money_expr)."""


@dataclass
class Ledger:
    """The clean result of ingest: orders, the accounting, rejects and how each file was read."""

    orders: pl.DataFrame
    as_of: dt.date | None
    currency: str | None
    source: SourceReport
    rejects: pl.DataFrame
    statuses: pl.DataFrame
    mappings: list[F.Mapping] = field(default_factory=list)
    raw_tables: list[RawTable] = field(default_factory=list)
    samples: pl.DataFrame | None = None


@dataclass
class FilePlan:
    raw: RawTable
    mapping: F.Mapping
    amount_mode: str  # "line" | "order_total" | "price"
    plain: frozenset[str] = frozenset()  # raw columns of plain shape (see _plain_columns)
    unique_ids: bool = False  # no two data rows share a raw order id


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)


def canonical_columns(
    frame: _Frame,
    mapping: F.Mapping,
    file_index: int,
    structural: pl.Expr,
    unpadded: set[str] | frozenset[str] = frozenset(),
    keep: Sequence[str] = (),
    typed: set[str] | frozenset[str] = frozenset(),
) -> _Frame:
    """Rename mapped columns to ``raw_<field>`` (text, blanks → null); keep line, ragged flag
    and the columns named in ``keep``.

    Fields in ``unpadded`` are known to hold no value with outer spaces and no empty value,
    so they are taken as they are (trim and blank→null would be the identity). Fields in
    ``typed`` come typed (a Parquet Date or number column, see parse_exprs) and stay so."""
    exprs = [pl.lit(file_index, dtype=pl.Int32).alias("__file__"), pl.col("__line__").cast(pl.Int64),
             *(pl.col(k) for k in keep)]
    exprs.append(pl.col("__ragged__") if "__ragged__" in frame.collect_schema().names() else pl.lit(False).alias("__ragged__"))
    for name in RAW_FIELDS:
        column = mapping.column(name)
        if column is None:
            exprs.append(pl.lit(None, dtype=pl.String).alias(f"raw_{name}"))
        elif name in typed:
            exprs.append(pl.col(column).alias(f"raw_{name}"))
        elif name in unpadded:
            exprs.append(pl.col(column).cast(pl.String).alias(f"raw_{name}"))
        else:
            exprs.append(blank_to_null(pl.col(column).cast(pl.String)).alias(f"raw_{name}"))
    exprs.append(structural.alias("__struct__"))
    return frame.select(exprs)


def parse_exprs(
    mapping: F.Mapping,
    plain: set[str] | frozenset[str],
    date_fmt: parse.DateFormat | None,
    money_formats: dict[str, parse.MoneyFormat],
    typed: set[str] | frozenset[str] = frozenset(),
) -> list[pl.Expr]:
    """One expression per parsed field (plain columns take the short form); shared by both paths.
    The money fields need :func:`money_sanity` next, in a second step.

    ``date_fmt`` may be None only when the date column is plain, and ``money_formats`` need
    only name the money columns that are not. ``typed``: plain raw columns that come typed (a
    Parquet Date, Float64 or integer column whose text form is plain): a date is taken as it is
    (the plain parse of its ISO text gives it back), a number by the same cast and overflow rule."""
    id_parser = parse.email_expr if mapping.customer_id_is_email else parse.id_expr
    exprs: list[pl.Expr] = [
        _id("raw_customer_id", plain, id_parser).alias("customer_id"),
        _id("raw_order_id", plain, parse.id_expr).alias("order_id"),
        (pl.col("raw_order_date") if "raw_order_date" in typed
         else parse.plain_date_expr("raw_order_date") if "raw_order_date" in plain or date_fmt is None
         else parse.date_expr("raw_order_date", date_fmt)).alias("order_date"),
    ]
    for name in MONEY_FIELDS:  # their last step is money_sanity(), applied to the columns these make
        if f"raw_{name}" in plain:
            exprs.append(parse.plain_money_value_expr(f"raw_{name}").alias(name))
        elif name in money_formats:
            exprs.append(parse.money_value_expr(f"raw_{name}", money_formats[name]).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=pl.Float64).alias(name))
    if mapping.column("currency") is not None:
        exprs.append(parse.currency_code_expr("raw_currency").alias("currency"))
    elif mapping.column("amount") is not None and "raw_amount" not in plain:
        exprs.append(parse.money_currency_expr("raw_amount").alias("currency"))
    elif mapping.column("amount") is None and mapping.column("unit_price") is not None and "raw_unit_price" not in plain:
        exprs.append(parse.money_currency_expr("raw_unit_price").alias("currency"))
    else:  # no currency column and plain numbers (no symbol, no code): no currency written
        exprs.append(pl.lit(None, dtype=pl.String).alias("currency"))
    for name in F.DIMENSIONS:
        exprs.append(pl.col(f"raw_{name}").alias(name))
    return exprs


def by_distinct_values(frame: pl.DataFrame, exprs: list[pl.Expr]) -> list[pl.Expr | pl.Series]:
    """``exprs``, each one that reads a single raw column holding few distinct values (at most
    half its rows: emails, order numbers of line items, timestamps, statuses) evaluated once per
    distinct value and looked up per row.

    The parse rules are row-local (one value in, one value out), so the result is the same value
    for value; a dozen string rewrites per row cost more than a hash lookup (a 1M-line Shopify
    export's emails 1.6 s → 0.2 s). The eager reader uses it on the whole file, the streaming
    reader's fill mode on each batch."""
    out: list[pl.Expr | pl.Series] = []
    for expr in exprs:
        roots = set(expr.meta.root_names())
        raw = roots.pop() if len(roots) == 1 else None
        if (raw is None or not raw.startswith("raw_") or frame.schema[raw] != pl.String or frame.height < 1000
                or expr.meta.undo_aliases().meta.is_column()):  # a column taken as it is: nothing to evaluate
            out.append(expr)
            continue
        values = frame.select(pl.col(raw).unique())
        if values.height * 2 > frame.height:
            out.append(expr)
            continue
        name = expr.meta.output_name()
        table = values.with_columns(expr.alias(f"__{name}__"))
        looked_up = frame.select(raw).join(table, on=raw, how="left", maintain_order="left", nulls_equal=True)
        out.append(looked_up[f"__{name}__"].alias(name))
    return out


def money_sanity() -> list[pl.Expr]:
    """The money fields' last parse step, on the columns :func:`parse_exprs` made (a second
    ``with_columns``): out-of-range, NaN and ±inf amounts → null, ``-0.0`` → ``0.0``. Separate
    because it names its value three times and Polars evaluates an expression per reference
    (see :func:`custinv.ingest.parse.money_expr`)."""
    return [parse.sane_money_expr(pl.col(name)).alias(name) for name in MONEY_FIELDS]


def _id(raw: str, plain: set[str] | frozenset[str], parser: Callable[[str], pl.Expr]) -> pl.Expr:
    return pl.col(raw) if raw in plain else parser(raw)


def line_decision(
    amount_mode: str,
    plain: frozenset[str] = frozenset(),
    credit_notes: str | None = None,
    with_transactions: bool = False,
) -> pl.Expr:
    """The bucket of each row, first rule wins (see module docstring).

    ``credit_notes`` (``--credit-note-ids``, off by default) is a pattern of order ids that
    are credit notes, e.g. ``^C\\d+$`` for the UCI Online Retail / CDNOW-style invoices: a
    shape that means "refund" in one system is an ordinary order number in another."""
    def missing(raw: str) -> pl.Expr:  # blank, or a placeholder such as N/A, -, null
        if raw in plain:  # a plain value is never a placeholder
            return pl.col(raw).is_null()
        return pl.col(raw).is_null() | parse.missing_token_expr(raw)

    def bad(raw: str, parsed: str) -> pl.Expr:
        return pl.col(raw).is_not_null() & pl.col(parsed).is_null()

    if amount_mode == "price":
        amount_rules = [
            (missing("raw_quantity"), "missing_amount"),
            (bad("raw_quantity", "quantity"), "bad_quantity"),
            (missing("raw_unit_price"), "missing_amount"),
            (bad("raw_unit_price", "unit_price"), "bad_price"),
        ]
    else:
        amount_rules = [
            (missing("raw_amount"), "missing_amount"),
            (bad("raw_amount", "amount"), "bad_amount"),
            (bad("raw_quantity", "quantity") & ~missing("raw_quantity"), "bad_quantity"),
        ]
    status_reason = pl.col("status_decision")
    no_amount = (missing("raw_quantity") | missing("raw_unit_price")) if amount_mode == "price" else missing("raw_amount")
    is_return = (
        (pl.col("line_amount") < 0)
        | (pl.col("quantity") < 0)
        | (pl.col("order_id").str.contains(credit_notes).fill_null(False) if credit_notes else pl.lit(False))
    )
    txn = pl.col("txn_decision") if with_transactions else pl.lit(None, dtype=pl.String)
    rules: list[tuple[pl.Expr, str | pl.Expr]] = [
        (pl.col("__struct__").is_not_null(), pl.col("__struct__")),
        (pl.col("__duplicate__"), "duplicate"),
        (pl.col("__ragged__"), "ragged_row"),
        (txn == S.NON_SALE, "non_sale"),
        (missing("raw_order_date"), "missing_date"),
        (pl.col("order_date").is_null(), "bad_date"),
        # no amount is written for what never was a sale (an open deal, a cancelled order): the
        # status excludes it, it is not a row that failed to parse
        (no_amount & status_reason.is_in(list(STATUS_REASONS)).fill_null(False), status_reason),
        *amount_rules,
        (txn == S.REFUND, "return"),
        (pl.col("customer_id").is_null() & pl.col("raw_customer_id").is_not_null(), "bad_id"),
        (pl.col("customer_id").is_null(), "anonymous"),
        # a refund row carries its parent order's status (WooCommerce: 'refunded'): still a return
        (is_return & status_reason.is_in(["refunded", "closed"]).fill_null(False), "return"),
        (status_reason.is_in(list(STATUS_REASONS)).fill_null(False), status_reason),
        (pl.col("__other_currency__"), "other_currency"),
        (is_return, "return"),
        ((pl.col("line_amount") == 0) & (pl.col("quantity") == 0).fill_null(False), "void_line"),
    ]
    expr: pl.Expr = pl.lit(USED)
    for condition, reason in reversed(rules):
        value = pl.lit(reason) if isinstance(reason, str) else reason
        expr = pl.when(condition.fill_null(False)).then(value).otherwise(expr)
    return expr


def other_currency(wanted: str | None) -> pl.Expr:
    """``__other_currency__``: the row names a currency other than the report's (with --currency)."""
    if not wanted:
        return pl.lit(False).alias("__other_currency__")
    return (pl.col("currency").is_not_null() & (pl.col("currency") != wanted)).alias("__other_currency__")


def after_as_of(as_of: dt.date) -> pl.Expr:
    """``__decision__`` with used rows *and returns* dated after an explicit as-of date excluded
    as ``after_as_of``: a refund booked after the stocktake date is not one of its returns."""
    return (
        pl.when(pl.col("__decision__").is_in([USED, "return"]) & (pl.col("order_date") > as_of))
        .then(pl.lit("after_as_of"))
        .otherwise(pl.col("__decision__"))
        .alias("__decision__")
    )


def line_amount(amount_mode: str) -> pl.Expr:
    if amount_mode == "price":
        return (pl.col("quantity") * pl.col("unit_price")).alias("line_amount")
    return pl.col("amount").alias("line_amount")


def decide_currency(counts: pl.DataFrame, wanted: str | None) -> str | None:
    seen = counts.sort("rows", descending=True)
    codes = seen["currency"].to_list()
    if wanted:
        return wanted.upper()
    if len(codes) > 1:
        listing = ", ".join(f"{c} ({n} rows)" for c, n in seen.iter_rows())
        raise DataError(
            f"the data holds several currencies: {listing}",
            hint=f"keep one with --currency {codes[0]} (rows in other currencies are excluded and counted)",
        )
    return codes[0] if codes else None


AMOUNT_COLUMNS = ("__decision__", "__file__", "raw_order_id", "line_amount", "__amount_mode__")


def accounting(
    counts: pl.DataFrame, reported: pl.DataFrame, plans: list[FilePlan], currency: str | None
) -> SourceReport:
    """The source report from rows per (file, decision) and the anonymous and return lines
    (``reported``: their AMOUNT_COLUMNS), whose amounts are reported beside the revenue."""
    files: list[FileReport] = []
    totals_ex: dict[str, int] = {}
    totals_rej: dict[str, int] = {}
    used_total = 0
    for index, plan in enumerate(plans):
        mine = {d: n for f, d, n in counts.iter_rows() if f == index}
        excluded = {r: mine[r] for r in EXCLUDED_REASONS if mine.get(r)}
        rejected = {r: mine[r] for r in REJECTED_REASONS if mine.get(r)}
        for r, n in excluded.items():
            totals_ex[r] = totals_ex.get(r, 0) + n
        for r, n in rejected.items():
            totals_rej[r] = totals_rej.get(r, 0) + n
        used_total += mine.get(USED, 0)
        raw = plan.raw
        rows_in_frame = sum(mine.values())
        notes = list(raw.notes)
        if rows_in_frame != raw.rows_read:  # defensive: the reader and the frame must agree
            notes.append(f"reader counted {raw.rows_read} rows, ledger saw {rows_in_frame}")
        files.append(
            FileReport(
                path=str(raw.path),
                format=raw.format,
                encoding=raw.encoding,
                delimiter=raw.delimiter,
                sheet=raw.sheet,
                header_row=raw.header_row,
                rows_read=rows_in_frame,
                rows_used=mine.get(USED, 0),
                rows_excluded=excluded,
                rows_rejected=sum(rejected.values()),
                notes=notes + [AMOUNT_NOTES[plan.amount_mode]],
            )
        )
    anonymous = reported.filter(pl.col("__decision__") == "anonymous")
    # refunds are written as -30, as +15 with quantity -1, or as a credit note: the returned
    # money is the sum of their absolute amounts, never a signed sum that lets them cancel
    returns = reported.filter(pl.col("__decision__") == "return").with_columns(pl.col("line_amount").abs())
    mapping: dict[str, str] = {}
    for plan in plans:
        for f, c in plan.mapping.as_dict().items():
            mapping.setdefault(f, c)
    return SourceReport(
        files=files,
        mapping=mapping,
        rows_read=sum(f.rows_read for f in files),
        rows_used=used_total,
        rows_excluded=dict(sorted(totals_ex.items(), key=lambda kv: EXCLUDED_REASONS.index(kv[0]))),
        rows_rejected=sum(totals_rej.values()),
        reject_reasons=dict(sorted(totals_rej.items(), key=lambda kv: REJECTED_REASONS.index(kv[0]))),
        anonymous_revenue=_order_amount_total(anonymous),
        returns=_order_amount_total(returns),
        returns_rows=returns.height,
    )


def _order_amount_total(lines: pl.DataFrame) -> float:
    """Sum amounts of lines, counting an order-total column once per order."""
    if lines.height == 0:
        return 0.0
    lines = lines.rechunk()  # a float sum depends on the chunking: the same rows, the same total
    per_line = lines.filter(pl.col("__amount_mode__") != "order_total")["line_amount"].sum()
    totals = (
        lines.filter(pl.col("__amount_mode__") == "order_total")
        .group_by("__file__", "raw_order_id", maintain_order=True)  # file order: the same float sum every run
        .agg(pl.col("line_amount").first())["line_amount"]
        .sum()
    )
    return float(per_line or 0.0) + float(totals or 0.0)


def check_usable(source: SourceReport, settings: Settings) -> None:
    if source.rows_used == 0:
        detail = ", ".join(f"{k} {v}" for k, v in {**source.rows_excluded, **source.reject_reasons}.items())
        raise DataError(
            f"no usable orders: {source.rows_read} rows read" + (f" ({detail})" if detail else ""),
            hint="check the mapping with `custinv inspect FILE`; --rejects rejects.csv lists unparsed rows",
        )
    rate = source.rows_rejected / source.rows_read if source.rows_read else 0.0
    if rate > settings.max_reject_rate:
        reasons = ", ".join(f"{k} {v}" for k, v in source.reject_reasons.items())
        raise DataError(
            f"{source.rows_rejected} of {source.rows_read} rows ({rate:.1%}) could not be parsed ({reasons}), "
            f"over --max-reject-rate {settings.max_reject_rate:.0%}",
            hint="see them with --rejects rejects.csv or `custinv inspect FILE`; raise --max-reject-rate to accept",
        )


def orders_from_lines(used: pl.DataFrame, plans: list[FilePlan], *, one_line: bool | None = None,
                      adjacent_ids: bool = False) -> pl.DataFrame:
    """Group used lines into orders: rows sharing an order id (or a customer's calendar day) are one order.

    ``one_line``: the caller knows whether every line is its own order (None: find out).
    ``adjacent_ids``: the caller proved that equal order ids are neighbours (the streaming path
    follows the ids' order), so the lines that share an id are found by comparing neighbours
    instead of hashing every id. Only those lines are grouped; the one-line orders take their
    one-value form, and both are merged back in the order of each order's first line — the
    group_by's order, with each group's values summed in the same row order."""
    aggs, one, dims = _order_aggregations(plans)
    modes = {p.amount_mode for p in plans}
    order_key = pl.coalesce(
        pl.col("order_id"),
        pl.concat_str([pl.col("customer_id"), pl.col("order_date").cast(pl.String)], separator="|"),
    )
    if one_line if one_line is not None else _one_line_orders(used, plans):
        grouped = used.select(one)
    else:
        if "__amount_mode__" not in used.columns and len(modes) > 1:  # (the streaming path: one file, one mode)
            used = used.with_columns(pl.lit(plans[0].amount_mode).alias("__amount_mode__"))
        if used["order_id"].null_count():  # customer-days for the lines without an id
            grouped = (
                used.with_columns(order_key.alias("order_id"))
                .group_by("customer_id", "order_id", maintain_order=True)
                .agg(aggs)
            )
        else:
            grouped = _group_shared_ids(used, aggs, one, adjacent_ids)
    # Kept in the order of each order's first line: every consumer that needs an order sorts
    # (the summary by customer, the order sequence by customer and date) — sorting the whole
    # ledger here as well cost 3-4 s on 10M rows (the gather of its string columns).
    return _categorical_dimensions(grouped, dims)


def orders_from_runs(lines: pl.DataFrame, plans: list[FilePlan]) -> pl.DataFrame | None:
    """:func:`orders_from_lines` of lines whose order ids are never null and whose equal order
    ids are neighbours, cut after an order's last line — the streaming reader's batches of a
    line-item export, grouped as they come (its memory then holds orders, not lines). The same
    orders, in the same order, with the same sums as orders_from_lines gives the whole file;
    None when a customer changes inside a run of one order id (orders_from_lines then groups by
    customer and order id, lines that are not neighbours)."""
    aggs, one, dims = _order_aggregations(plans)
    grouped = _group_runs(lines, aggs, one)
    return None if grouped is None else _categorical_dimensions(grouped, dims)


def _categorical_dimensions(orders: pl.DataFrame, dims: list[str]) -> pl.DataFrame:
    """Dimensions hold a few distinct values on millions of rows: as categoricals they take 4
    bytes a row instead of 16 (240 MB less on 10M orders with two dimensions)."""
    return orders.with_columns(pl.col(d).cast(pl.Categorical) for d in dims) if dims else orders


def _order_aggregations(plans: list[FilePlan]) -> tuple[list[pl.Expr], list[pl.Expr], list[str]]:
    """(an order's aggregations over its lines, a one-line order's values, the dimensions)."""
    modes = {p.amount_mode for p in plans}
    if modes == {"order_total"}:  # one mode for every line: no per-order choice (a when/then per group is slow)
        order_amount = pl.col("line_amount").first()
    elif "order_total" not in modes:
        order_amount = pl.col("line_amount").sum()
    else:
        order_amount = (
            pl.when(pl.col("__amount_mode__") == "order_total")
            .then(pl.col("line_amount").first())
            .otherwise(pl.col("line_amount").sum())
        ).first()
    dims = [d for d in F.DIMENSIONS if any(p.mapping.column(d) for p in plans)]
    has_cost = any(p.mapping.column("cost") or p.mapping.column("margin") for p in plans)
    aggs = [
        pl.col("order_date").min(),
        order_amount.alias("amount"),
        pl.col("quantity").sum().alias("quantity"),
        pl.len().alias("lines"),
        *[pl.col(d).first(ignore_nulls=True).alias(d) for d in dims],
    ]
    cost = pl.coalesce(pl.col("cost"), pl.col("line_amount") - pl.col("margin"))
    if has_cost:
        aggs.append(cost.sum().alias("cost"))
    # A line that is its own order: each aggregate in its one-value form (a sum over one null
    # is 0, as in the group_by).
    one = [
        pl.col("customer_id"), pl.col("order_id"), pl.col("order_date"),
        pl.col("line_amount").alias("amount"),
        pl.col("quantity").fill_null(0.0).alias("quantity"),
        pl.lit(1, dtype=pl.UInt32).alias("lines"),
        *[pl.col(d) for d in dims],
    ]
    if has_cost:
        one.append(cost.fill_null(0.0).alias("cost"))
    return aggs, one, dims


def _group_shared_ids(used: pl.DataFrame, aggs: list[pl.Expr], one: list[pl.Expr], adjacent_ids: bool) -> pl.DataFrame:
    """The group_by of orders_from_lines run only on the lines whose order id other lines share
    (on a line-item export a third of the lines), merged with the one-line orders by first line."""
    ids = pl.col("order_id")
    if adjacent_ids:
        runs = _group_runs(used, aggs, one)
        if runs is not None:
            return runs
        shared = (ids == ids.shift(1)).fill_null(False) | (ids == ids.shift(-1)).fill_null(False)
    else:
        shared = ids.is_duplicated()
    flagged = used.with_row_index("__pos__").with_columns(shared.alias("__shared__"))
    single = flagged.filter(~pl.col("__shared__")).select(pl.col("__pos__"), *one)
    multi = (
        flagged.filter(pl.col("__shared__"))
        .group_by("customer_id", "order_id", maintain_order=True)
        .agg(pl.col("__pos__").first(), *aggs)
        .select(single.columns)
    )
    return single.merge_sorted(multi.cast(single.schema), key="__pos__").drop("__pos__")


def _group_runs(used: pl.DataFrame, aggs: list[pl.Expr], one: list[pl.Expr]) -> pl.DataFrame | None:
    """_group_shared_ids when equal order ids are neighbours: an order is a run of lines with the
    same order id and customer, so its key is the run's number (an integer, not two strings to
    hash), its customer and order id are its first line's, and the order stands where its first
    line stands — no merge. Only multi-line runs are grouped, on their numbers, with the same
    aggregations over the same lines in the same order (the same sums, bit for bit). None when a
    customer changes inside a run of one order id (the group_by by customer and order id then
    joins lines that are not neighbours: the caller takes its general path).

    The lines are taken in slices of about RUN_SLICE_ROWS cut between orders, so the temporary
    copies (the first lines, the multi-line lines) stay a slice's size, not the file's."""
    oid, cid = pl.col("order_id"), pl.col("customer_id")
    same_order = (oid == oid.shift(1)).fill_null(False)
    same_customer = cid.eq_missing(cid.shift(1))
    starts = used.select(same_order.alias("__same__"), (same_order & ~same_customer).alias("__split__"))
    if starts["__split__"].any():
        return None
    first = ~starts["__same__"]
    cuts = [0]
    while cuts[-1] + RUN_SLICE_ROWS < used.height:  # the next order's first line after each step
        ahead = first.slice(cuts[-1] + RUN_SLICE_ROWS).arg_true()
        if ahead.len() == 0:
            break
        cuts.append(cuts[-1] + RUN_SLICE_ROWS + int(ahead[0]))
    cuts.append(used.height)
    flagged = used.with_columns(first.alias("__first__"))
    parts = [_group_run_slice(flagged.slice(a, b - a), aggs, one) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    return pl.concat(parts, rechunk=False) if parts else used.select(one)


RUN_SLICE_ROWS = 1_000_000
"""Lines per slice of _group_runs (cut at the next order's first line)."""


def _group_run_slice(lines: pl.DataFrame, aggs: list[pl.Expr], one: list[pl.Expr]) -> pl.DataFrame:
    """_group_runs on a slice that starts at an order's first line and ends after an order's last."""
    flagged = lines.with_columns((pl.col("__first__") & pl.col("__first__").shift(-1).fill_null(True)).alias("__alone__"))
    multi_lines = flagged.filter(~pl.col("__alone__"))
    if multi_lines.height == 0:
        return lines.select(one)
    multi = (
        multi_lines.with_columns(pl.col("__first__").cum_sum().alias("__run__"))
        .group_by("__run__", maintain_order=True).agg(*aggs).drop("__run__")
    )
    firsts = flagged.filter(pl.col("__first__"))
    single = firsts.select(*one)
    grouped = ~firsts["__alone__"]
    at = firsts.select((pl.col("__alone__").not_().cum_sum().cast(pl.Int64) - 1).clip(0)).to_series()
    return single.with_columns(
        pl.when(grouped).then(multi[name].cast(single.schema[name]).gather(at)).otherwise(pl.col(name)).alias(name)
        for name in multi.columns
    )


def _one_line_orders(used: pl.DataFrame, plans: list[FilePlan]) -> bool:
    """True when every used line has an order id and no two share one (nothing to group).

    With one file whose raw order ids were already found unique and plain (parsed id = raw
    id), the used ids are a subset of them: only the null check is left to do."""
    ids = used["order_id"]
    if ids.null_count():
        return False
    if len(plans) == 1 and plans[0].unique_ids and "raw_order_id" in plans[0].plain:
        return True
    return ids.n_unique() == ids.len()


def rejects_table(frame: pl.DataFrame, plans: list[FilePlan]) -> pl.DataFrame:
    """Every rejected row with its file, line, the column at fault, its raw value and the reason."""
    reason_field = {
        "missing_date": "order_date", "bad_date": "order_date", "missing_amount": "amount", "bad_amount": "amount",
        "bad_quantity": "quantity", "bad_price": "unit_price", "bad_id": "customer_id", "ragged_row": None,
    }
    rejected = frame.filter(pl.col("__decision__").is_in(list(REJECTED_REASONS)))
    if rejected.height == 0:
        return pl.DataFrame(schema={"file": pl.String, "line": pl.Int64, "column": pl.String,
                                    "value": pl.String, "reason": pl.String})
    paths = pl.Series([str(p.raw.path) for p in plans], dtype=pl.String)
    field_of = pl.col("__decision__").replace_strict(
        {k: v for k, v in reason_field.items()}, default=None, return_dtype=pl.String
    )
    value = pl.lit(None, dtype=pl.String)
    for reason, fld in reason_field.items():
        if fld is None:
            continue
        raw = pl.col(f"raw_{fld}")
        if fld == "amount":
            raw = pl.coalesce(pl.col("raw_amount"), pl.col("raw_quantity"))
        value = pl.when(pl.col("__decision__") == reason).then(raw).otherwise(value)
    mapping_of_file = [p.mapping.as_dict() for p in plans]
    column_expr = pl.lit(None, dtype=pl.String)
    for index, m in enumerate(mapping_of_file):
        per_field = pl.lit(None, dtype=pl.String)
        for fld in {v for v in reason_field.values() if v}:
            col = m.get(fld) or (m.get("quantity") if fld == "amount" else None)
            if col:
                per_field = pl.when(field_of == fld).then(pl.lit(col)).otherwise(per_field)
        column_expr = pl.when(pl.col("__file__") == index).then(per_field).otherwise(column_expr)
    return rejected.select(
        pl.col("__file__").replace_strict(list(range(len(paths))), paths.to_list(), return_dtype=pl.String)
        .alias("file"),
        pl.col("__line__").alias("line"),
        column_expr.alias("column"),
        value.alias("value"),
        pl.col("__decision__").alias("reason"),
    ).sort("file", "line")


def status_report_from_counts(counts: pl.DataFrame, deal_export: bool) -> pl.DataFrame:
    """status.status_report of the data rows, from their counts per (trimmed, blank→null) status:
    the report of the distinct values, with each value's row count and the report's order."""
    report = status.status_report(counts["raw_status"], deal_export=deal_export).drop("rows")
    rows = counts.select(pl.col("raw_status").alias("status"), pl.col("n").alias("rows"))
    return report.join(rows, on="status", how="left", nulls_equal=True).sort(
        ["rows", "status"], descending=[True, False], nulls_last=True
    )
