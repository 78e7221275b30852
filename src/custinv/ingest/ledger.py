"""From raw text tables to the Ledger: one clean row per used order, plus the row accounting.

Every physical data row ends in exactly one bucket, decided by the first rule that applies
(:data:`DECISION_ORDER`): structural rows (report footers, repeated headers) and duplicates
are *excluded*; rows that cannot be parsed are *rejected* with line, column, value and
reason; parsed rows left out by a business rule are *excluded* with the rule's code; the
rest are *used*. Hence, always, ``rows_read == rows_used + sum(rows_excluded) + rows_rejected``.

All row work is Polars expressions over the whole table; per-column decisions (date
format, decimal comma, whether an amount column holds order totals) are made once from
the evidence of the whole column and then applied as one expression.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError
from custinv.ingest import fields as F
from custinv.ingest import parse, status
from custinv.ingest import sales as S
from custinv.ingest.layout import GROUP_HEADER, apply_layout
from custinv.ingest.mapping_plan import check_strict as _check_strict
from custinv.ingest.mapping_plan import plan_mapping, profile_currency, recognise, require_fields, status_overrides_of
from custinv.ingest.mapping_plan import profile_label as _profile_label
from custinv.ingest.profiles import get_profile
from custinv.ingest.readers import RawTable, read_table
from custinv.models import FileReport, SourceReport

# Excluded reasons (parsed, left out by a rule) and rejected reasons (could not be parsed).
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

_RAW_FIELDS = ("customer_id", "order_id", "order_date", "amount", "quantity", "unit_price", "status",
               "currency", "cost", "margin", "customer_name", "email", "phone", *F.DIMENSIONS,
               *S.DECIDING_FIELDS)
_AMOUNT_NOTES = {
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
class _FilePlan:
    raw: RawTable
    mapping: F.Mapping
    amount_mode: str  # "line" | "order_total" | "price"
    plain: frozenset[str] = frozenset()  # raw columns of plain shape (see _plain_columns)
    unique_ids: bool = False  # no two data rows share a raw order id


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def _canonical_columns(
    frame: pl.DataFrame | pl.LazyFrame,
    mapping: F.Mapping,
    file_index: int,
    structural: pl.Expr,
    unpadded: set[str] | frozenset[str] = frozenset(),
    keep: Sequence[str] = (),
) -> pl.DataFrame | pl.LazyFrame:
    """Rename mapped columns to ``raw_<field>`` (text, blanks → null); keep line, ragged flag
    and the columns named in ``keep``.

    Fields in ``unpadded`` are known to hold no value with outer spaces and no empty value,
    so they are taken as they are (trim and blank→null would be the identity)."""
    exprs = [pl.lit(file_index, dtype=pl.Int32).alias("__file__"), pl.col("__line__").cast(pl.Int64),
             *(pl.col(k) for k in keep)]
    exprs.append(pl.col("__ragged__") if "__ragged__" in frame.collect_schema().names() else pl.lit(False).alias("__ragged__"))
    for name in _RAW_FIELDS:
        column = mapping.column(name)
        if column is None:
            exprs.append(pl.lit(None, dtype=pl.String).alias(f"raw_{name}"))
        elif name in unpadded:
            exprs.append(pl.col(column).cast(pl.String).alias(f"raw_{name}"))
        else:
            exprs.append(_blank_to_null(pl.col(column).cast(pl.String)).alias(f"raw_{name}"))
    exprs.append(structural.alias("__struct__"))
    return frame.select(exprs)


def _order_ids_unique(frame: pl.DataFrame, mapping: F.Mapping) -> bool:
    """No two data rows share a raw order id: there are no multi-line orders to look at.

    One hash pass (n_unique); it lets the amount-mode evidence, the order-level fill and
    the order grouping all be skipped on the common one-line-per-order export."""
    if mapping.column("order_id") is None:
        return False
    ids = frame.filter(pl.col("__struct__").is_null())["raw_order_id"].drop_nulls()
    return ids.n_unique() == ids.len()


def _amount_mode(frame: pl.DataFrame, mapping: F.Mapping, unique_ids: bool = False) -> str:
    """Does the amount column hold line amounts or an order total? Decided once per column.

    Evidence is every multi-line order: when in all of them the amount is written only on the
    first line, or repeated identically on every line, the column is an order total (counted
    once per order); otherwise it is a line amount (summed).
    """
    if mapping.column("amount") is None:
        return "price"
    if mapping.column("order_id") is None or unique_ids:
        return "line"
    data = frame.filter(pl.col("__struct__").is_null() & pl.col("raw_order_id").is_not_null())
    per_order = (
        data.group_by("raw_order_id")
        .agg(
            pl.len().alias("lines"),
            pl.col("raw_amount").is_not_null().sum().alias("filled"),
            pl.col("raw_amount").first().is_not_null().alias("first_filled"),
            pl.col("raw_amount").drop_nulls().n_unique().alias("distinct"),
        )
        .filter(pl.col("lines") > 1)
    )
    if per_order.height == 0:
        return "line"
    first_only = per_order.select(((pl.col("filled") <= 1) & pl.col("first_filled")).all()).item()
    has_blank_later = per_order.select((pl.col("filled") < pl.col("lines")).any()).item()
    repeated = per_order.select(((pl.col("filled") == pl.col("lines")) & (pl.col("distinct") == 1)).all()).item()
    if (first_only and has_blank_later) or repeated:
        return "order_total"
    return "line"


def _fill_order_level(frame: pl.DataFrame, mapping: F.Mapping, amount_mode: str) -> pl.DataFrame:
    """Copy first-line-only order fields (status, total, email...) to every line of the order."""
    if mapping.column("order_id") is None:
        return frame
    names = [f"raw_{n}" for n in ORDER_LEVEL_FIELDS if n in _RAW_FIELDS and mapping.column(n) is not None]
    if amount_mode == "order_total":
        names.append("raw_amount")
    if not names:
        return frame
    key = ["__file__", "raw_order_id"]
    in_order = pl.col("raw_order_id").is_not_null() & pl.col("__struct__").is_null()
    return frame.with_columns(
        [
            pl.when(in_order & pl.col(n).is_null())
            .then(pl.col(n).drop_nulls().first().over(key))
            .otherwise(pl.col(n))
            .alias(n)
            for n in names
        ]
    )


def _sample_values(series: pl.Series, limit: int = 200_000) -> pl.Series:
    values = series.drop_nulls()
    if values.len() > limit:
        values = values.unique()
        if values.len() > limit:
            values = values.sample(limit, seed=0)
    return values


def _parse_file(
    frame: pl.DataFrame, mapping: F.Mapping, settings: Settings, path: Path, date_format: str | None = None
) -> tuple[pl.DataFrame, frozenset[str]]:
    """Parse every raw field with the per-column formats decided from this file's evidence.

    Returns the frame and the raw columns that took the plain fast path."""
    data_rows = frame.filter(pl.col("__struct__").is_null())
    try:
        date_fmt = parse.detect_date_format(_sample_values(data_rows["raw_order_date"]),
                                            date_format or settings.date_format)
    except parse.AmbiguousDateFormat as exc:
        raise DataError(f"{path}: {exc}", hint="say which with --date-format, e.g. --date-format '%d/%m/%Y'") from exc
    money_formats = {
        name: parse.detect_money_format(_sample_values(data_rows[f"raw_{name}"]))
        for name in MONEY_FIELDS
        if mapping.column(name) is not None
    }
    plain = _plain_columns(data_rows, mapping, money_formats)
    exprs = _parse_exprs(mapping, plain, date_fmt, money_formats)
    return frame.with_columns(exprs), frozenset(plain)


def _parse_exprs(
    mapping: F.Mapping,
    plain: set[str] | frozenset[str],
    date_fmt: parse.DateFormat | None,
    money_formats: dict[str, parse.MoneyFormat],
) -> list[pl.Expr]:
    """One expression per parsed field (plain columns take the short form); shared by both paths.

    ``date_fmt`` may be None only when the date column is plain, and ``money_formats`` need
    only name the money columns that are not."""
    id_parser = parse.email_expr if mapping.customer_id_is_email else parse.id_expr
    exprs: list[pl.Expr] = [
        _id("raw_customer_id", plain, id_parser).alias("customer_id"),
        _id("raw_order_id", plain, parse.id_expr).alias("order_id"),
        (parse.plain_date_expr("raw_order_date") if "raw_order_date" in plain or date_fmt is None
         else parse.date_expr("raw_order_date", date_fmt)).alias("order_date"),
    ]
    for name in MONEY_FIELDS:
        if f"raw_{name}" in plain:
            exprs.append(parse.plain_money_expr(f"raw_{name}").alias(name))
        elif name in money_formats:
            exprs.append(parse.money_expr(f"raw_{name}", money_formats[name]).alias(name))
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


def _plain_columns(data_rows: pl.DataFrame, mapping: F.Mapping, money_formats: dict[str, parse.MoneyFormat]) -> set[str]:
    """Raw columns whose every value has the plain machine-written shape (parse.*_are_plain):
    they take the short parse expression, and a plain value is never a blank-like token."""
    plain: set[str] = set()
    if mapping.column("customer_id") is not None and not mapping.customer_id_is_email:
        if parse.ids_are_plain(data_rows["raw_customer_id"]):
            plain.add("raw_customer_id")
    if mapping.column("order_id") is not None and parse.ids_are_plain(data_rows["raw_order_id"]):
        plain.add("raw_order_id")
    if parse.dates_are_plain(data_rows["raw_order_date"]):
        plain.add("raw_order_date")
    for name, fmt in money_formats.items():
        if parse.money_is_plain(data_rows[f"raw_{name}"], fmt):
            plain.add(f"raw_{name}")
    return plain


def _id(raw: str, plain: set[str], parser: Callable[[str], pl.Expr]) -> pl.Expr:
    return pl.col(raw) if raw in plain else parser(raw)


def _line_decision(
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


def _status_decision(mapping: F.Mapping | None, deal_export: bool) -> pl.Expr:
    """The status rule's reason per row; without a status column every row is null (as the
    rule gives on a null column), without running the normaliser over it."""
    if mapping is not None and mapping.column("status") is None:
        return pl.lit(None, dtype=pl.String).alias("status_decision")
    return status.status_decision_expr("raw_status", deal_export=deal_export).alias("status_decision")


def _line_amount(amount_mode: str) -> pl.Expr:
    if amount_mode == "price":
        return (pl.col("quantity") * pl.col("unit_price")).alias("line_amount")
    return pl.col("amount").alias("line_amount")


def _duplicate_flags(frame: pl.DataFrame, n_files: int) -> pl.Expr:
    """A line already read from an earlier file (overlapping exports) is a duplicate.

    Lines are compared on their mapped raw values; the k-th copy of a line in a file is a
    duplicate when an earlier file holds at least k copies, so repeated identical lines
    inside one file (two equal line items) are kept.
    """
    if n_files < 2:
        return pl.lit(False).alias("__duplicate__")
    raw = [c for c in frame.columns if c.startswith("raw_")]
    key = pl.concat_str([pl.col(c).fill_null("\x00") for c in raw], separator="\x1f").hash(seed=7)
    occurrence = pl.int_range(pl.len()).over(["__file__", key])
    first_file = pl.col("__file__").min().over([key, occurrence])
    return ((pl.col("__file__") > first_file) & pl.col("__struct__").is_null()).alias("__duplicate__")


def build_ledger(
    paths: Sequence[Path],
    settings: Settings,
    *,
    on_file: Callable[[Path], None] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
) -> Ledger:
    """Read, map, parse and account for every row of every file; return the order ledger.

    One big plain CSV takes the streaming path (same results, one read); ``on_rows`` then
    hears (rows read, estimated rows) after each batch."""
    from custinv.ingest import streaming  # it builds on this module's rules

    if len(paths) == 1 and streaming.big_file(Path(paths[0])):
        streamed = streaming.build_ledger_streaming(Path(paths[0]), settings, on_file=on_file, on_rows=on_rows)
        if streamed is not None:
            return streamed
    parsed_frames: list[pl.DataFrame] = []
    plans: list[_FilePlan] = []
    warnings: list[str] = []
    profiles_used: list[str | None] = []
    file_hints: list[dict[str, str]] = []
    overrides = status_overrides_of(settings)
    for index, path in enumerate(paths):
        if on_file is not None:
            on_file(path)
        raw = read_table(
            path,
            encoding=settings.encoding,
            delimiter=settings.delimiter,
            sheet=_sheet_arg(settings.sheet),
            header_row=settings.header_row,
            header_score=F.header_score,
        )
        frame = raw.frame.collect() if isinstance(raw.frame, pl.LazyFrame) else raw.frame
        columns = [c for c in frame.columns if not c.startswith("__")]
        profile, file_warnings = recognise(columns, settings, str(path))
        frame, structural, layout_pins, layout_warnings = apply_layout(frame, raw.structural_rows(), profile, str(path))
        columns = [c for c in frame.columns if not c.startswith("__")]
        mapping, mapping_warnings = plan_mapping(frame, columns, settings, str(path), profile, layout_pins)
        warnings.extend([*raw.warnings, *file_warnings, *layout_warnings, *mapping_warnings])
        profiles_used.append(profile.name if profile is not None else None)
        require_fields(mapping, columns, str(path), profile)
        hints = S.hint_columns(mapping, columns)
        file_hints.append(hints)
        frame = frame.with_columns(S.hint_expr(f, hints.get(f)) for f in S.HINT_FIELDS)
        canonical = _canonical_columns(frame, mapping, index, structural,
                                       keep=[f"__hint_{f}" for f in S.HINT_FIELDS])
        unique_ids = _order_ids_unique(canonical, mapping)
        amount_mode = _amount_mode(canonical, mapping, unique_ids)
        if not unique_ids:  # with one line per order there is nothing to copy
            canonical = _fill_order_level(canonical, mapping, amount_mode)
        date_format = settings.date_format or (profile.date_format if profile is not None else None)
        parsed, plain = _parse_file(canonical, mapping, settings, path, date_format)
        parsed_frames.append(parsed.with_columns(pl.lit(amount_mode).alias("__amount_mode__")))
        plans.append(_FilePlan(raw, mapping, amount_mode, plain, unique_ids))

    combined = pl.concat(parsed_frames, how="vertical")
    deal_export = status.is_deal_export(combined.filter(pl.col("__struct__").is_null())["raw_status"].drop_nulls())
    mapped = frozenset(f for p in plans for f in p.mapping.as_dict())
    combined = combined.with_columns(
        S.status_decision(mapped, deal_export, overrides),
        S.transaction_decision(mapped),
        _duplicate_flags(combined, len(paths)),
    )

    # currency: one per report
    combined = combined.with_columns(pl.lit(False).alias("__other_currency__"))
    currency = _decide_currency(_currency_counts(combined), settings.currency)  # type: ignore[arg-type]
    currency = currency or profile_currency(profiles_used)
    if settings.currency:
        combined = combined.with_columns(other_currency(currency))

    decided = []
    for index, plan in enumerate(plans):
        part = combined.filter(pl.col("__file__") == index).with_columns(_line_amount(plan.amount_mode))
        part = part.with_columns(_line_decision(plan.amount_mode, plan.plain, settings.credit_note_ids, with_transactions=True).alias("__decision__"))
        part = S.refunded_in_full(part, frozenset(plan.mapping.as_dict()))
        note = S.refund_match_note(part, frozenset(plan.mapping.as_dict()))
        if note is not None:
            plan.raw.notes.append(note)
        part = _order_level_decisions(part, plan)
        decided.append(part)
    combined = pl.concat(decided, how="vertical")

    # as-of: explicit dates cut off later orders; the default is the latest used order date
    as_of = settings.as_of_date()
    if as_of is not None:
        combined = combined.with_columns(after_as_of(as_of))
    used = combined.filter(pl.col("__decision__") == USED)
    if as_of is None and used.height:
        as_of = used["order_date"].max()

    source = _accounting(
        combined.group_by("__file__", "__decision__").agg(pl.len().alias("n")),
        combined.filter(pl.col("__decision__").is_in(["anonymous", "return"])).select(_AMOUNT_COLUMNS),
        plans, currency,
    )
    by_status = frozenset(i for i, name in enumerate(profiles_used) if name and get_profile(name).refund_by_status)
    refunded = S.refunded_total(combined, by_status)
    if refunded:
        source.returns = (source.returns or 0.0) + refunded
    source.profile = _profile_label(profiles_used)
    warnings.extend(S.unknown_value_warnings(combined, overrides=overrides, deal_export=deal_export))
    warnings.extend(S.hint_warnings(combined, file_hints, [str(p) for p in paths]))
    source.warnings = [*source.warnings, *warnings]
    _check_usable(source, settings)
    _check_strict(source, settings)
    orders = _orders(used, plans)
    return Ledger(
        orders=orders,
        as_of=as_of,
        currency=currency,
        source=source,
        rejects=_rejects(combined, plans),
        statuses=status.status_report(
            combined.filter(pl.col("__struct__").is_null())["raw_status"], deal_export=deal_export
        ),
        mappings=[p.mapping for p in plans],
        raw_tables=[p.raw for p in plans],
        samples=used.head(5).select("customer_id", "order_id", "order_date", "line_amount", "quantity",
                                    "raw_status", "currency"),
    )


def _sheet_arg(sheet: str | None) -> str | int | None:
    if sheet is None:
        return None
    return int(sheet) if sheet.isdigit() else sheet


def _order_level_decisions(part: pl.DataFrame, plan: _FilePlan) -> pl.DataFrame:
    """In order-total mode a bad or missing total rejects every line of its order."""
    if plan.amount_mode != "order_total":
        return part
    key = ["raw_order_id"]
    reason = pl.col("__decision__")
    order_reject = (
        pl.when(reason.is_in(["bad_amount", "missing_amount"])).then(reason).otherwise(None)
        .drop_nulls().first().over(key)
    )
    return part.with_columns(
        pl.when(pl.col("raw_order_id").is_not_null() & (reason == USED) & order_reject.is_not_null())
        .then(order_reject)
        .otherwise(reason)
        .alias("__decision__")
    )


def _currency_counts(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Rows per written currency (data rows only)."""
    return (
        frame.filter(pl.col("__struct__").is_null() & pl.col("currency").is_not_null())
        .group_by("currency")
        .agg(pl.len().alias("rows"))
    )


def _decide_currency(counts: pl.DataFrame, wanted: str | None) -> str | None:
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


_AMOUNT_COLUMNS = ("__decision__", "__file__", "raw_order_id", "line_amount", "__amount_mode__")


def _accounting(
    counts: pl.DataFrame, reported: pl.DataFrame, plans: list[_FilePlan], currency: str | None
) -> SourceReport:
    """The source report from rows per (file, decision) and the anonymous and return lines
    (``reported``: their _AMOUNT_COLUMNS), whose amounts are reported beside the revenue."""
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
                notes=notes + [_AMOUNT_NOTES[plan.amount_mode]],
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
    return float((per_line or 0.0) + (totals or 0.0))


def _check_usable(source: SourceReport, settings: Settings) -> None:
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


def _orders(used: pl.DataFrame, plans: list[_FilePlan]) -> pl.DataFrame:
    """Group used lines into orders: rows sharing an order id (or a customer's calendar day) are one order."""
    order_key = pl.coalesce(
        pl.col("order_id"),
        pl.concat_str([pl.col("customer_id"), pl.col("order_date").cast(pl.String)], separator="|"),
    )
    order_total_amount = (
        pl.when(pl.col("__amount_mode__") == "order_total")
        .then(pl.col("line_amount").first())
        .otherwise(pl.col("line_amount").sum())
    )
    dims = [d for d in F.DIMENSIONS if any(p.mapping.column(d) for p in plans)]
    has_cost = any(p.mapping.column("cost") or p.mapping.column("margin") for p in plans)
    aggs = [
        pl.col("order_date").min(),
        order_total_amount.first().alias("amount"),
        pl.col("quantity").sum().alias("quantity"),
        pl.len().alias("lines"),
        *[pl.col(d).drop_nulls().first().alias(d) for d in dims],
    ]
    cost = pl.coalesce(pl.col("cost"), pl.col("line_amount") - pl.col("margin"))
    if has_cost:
        aggs.append(cost.sum().alias("cost"))
    if _one_line_orders(used, plans):
        # Every line is its own order: the group_by would be the identity, so each aggregate
        # is its one-value form (a sum over one null is 0, as in the group_by).
        one = [
            pl.col("customer_id"), pl.col("order_id"), pl.col("order_date"),
            pl.col("line_amount").alias("amount"),
            pl.col("quantity").fill_null(0.0).alias("quantity"),
            pl.lit(1, dtype=pl.UInt32).alias("lines"),
            *[pl.col(d) for d in dims],
        ]
        if has_cost:
            one.append(cost.fill_null(0.0).alias("cost"))
        grouped = used.select(one)
    else:
        if "__amount_mode__" not in used.columns:  # the lazy path: one file, one mode
            used = used.with_columns(pl.lit(plans[0].amount_mode).alias("__amount_mode__"))
        grouped = (
            used.with_columns(order_key.alias("order_id"))
            .group_by("customer_id", "order_id", maintain_order=True)
            .agg(aggs)
        )
    # Kept in the order of each order's first line: every consumer that needs an order sorts
    # (the summary by customer, the order sequence by customer and date) — sorting the whole
    # ledger here as well cost 3-4 s on 10M rows (the gather of its string columns).
    # Dimensions hold a few distinct values on millions of rows: as categoricals they take 4 bytes
    # a row instead of 16 (240 MB less on 10M orders with two dimensions).
    return grouped.with_columns(pl.col(d).cast(pl.Categorical) for d in dims) if dims else grouped


def _one_line_orders(used: pl.DataFrame, plans: list[_FilePlan]) -> bool:
    """True when every used line has an order id and no two share one (nothing to group).

    With one file whose raw order ids were already found unique and plain (parsed id = raw
    id), the used ids are a subset of them: only the null check is left to do."""
    ids = used["order_id"]
    if ids.null_count():
        return False
    if len(plans) == 1 and plans[0].unique_ids and "raw_order_id" in plans[0].plain:
        return True
    return ids.n_unique() == ids.len()


def _rejects(frame: pl.DataFrame, plans: list[_FilePlan]) -> pl.DataFrame:
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


# --- shared with the streaming path (custinv.ingest.streaming) ---------------------------------

def _status_series(counts: pl.DataFrame) -> pl.Series:
    """The data rows' statuses rebuilt from their counts (order does not matter to is_deal_export)."""
    return counts.select(pl.col("raw_status").repeat_by("n").explode()).to_series()


def _status_report(counts: pl.DataFrame, deal_export: bool) -> pl.DataFrame:
    """status.status_report of the data rows, from their counts per (trimmed, blank→null) status:
    the report of the distinct values, with each value's row count and the report's order."""
    report = status.status_report(counts["raw_status"], deal_export=deal_export).drop("rows")
    rows = counts.select(pl.col("raw_status").alias("status"), pl.col("n").alias("rows"))
    return report.join(rows, on="status", how="left", nulls_equal=True).sort(
        ["rows", "status"], descending=[True, False], nulls_last=True
    )
