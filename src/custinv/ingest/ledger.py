"""The eager path of ingest: whole tables read, per-column rules decided from whole columns.

Reads every file (:func:`custinv.ingest.readers.read_table`), maps and lays it out, decides
each column's rules from all of its values (date format, decimal comma, plain shapes, whether
an amount column holds order totals, the status vote), copies first-line-only order fields to
the other lines, then applies the shared row rules of :mod:`custinv.ingest.rules` and builds
the :class:`Ledger`. One big CSV or Parquet file takes :mod:`custinv.ingest.streaming` instead
(the same rules, the same results, one read in batches); the eager path is what it hands a
file back to when a rule it assumed does not hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError
from custinv.ingest import fields as F
from custinv.ingest import parse, status, streaming
from custinv.ingest import sales as S
from custinv.ingest.layout import apply_layout
from custinv.ingest.mapping_plan import check_strict as _check_strict
from custinv.ingest.mapping_plan import (
    plan_mapping,
    profile_currency,
    recognise,
    require_fields,
    status_overrides_of,
)
from custinv.ingest.mapping_plan import profile_label as _profile_label
from custinv.ingest.order_lines import AmountVotes, fill_order_level, order_level_decisions
from custinv.ingest.profiles import get_profile
from custinv.ingest.rules import (
    AMOUNT_COLUMNS,
    EXCLUDED_REASONS,
    MONEY_FIELDS,
    ORDER_LEVEL_FIELDS,
    REJECTED_REASONS,
    STATUS_REASONS,
    USED,
    FilePlan,
    Ledger,
    accounting,
    after_as_of,
    by_distinct_values,
    canonical_columns,
    check_usable,
    decide_currency,
    line_amount,
    line_decision,
    money_sanity,
    orders_from_lines,
    other_currency,
    parse_exprs,
    rejects_table,
)
from custinv.ingest.sources import Source, read_source
from custinv.ingest.sources.sqltypes import refine_mapping

__all__ = ["EXCLUDED_REASONS", "MONEY_FIELDS", "ORDER_LEVEL_FIELDS", "REJECTED_REASONS", "STATUS_REASONS", "USED",
           "Ledger", "build_ledger"]


def _order_ids_unique(frame: pl.DataFrame, mapping: F.Mapping) -> bool:
    """No two data rows share a raw order id: there are no multi-line orders to look at.

    One hash pass (n_unique); it lets the amount-mode evidence, the order-level fill and
    the order grouping all be skipped on the common one-line-per-order export."""
    if mapping.column("order_id") is None:
        return False
    ids = frame.filter(pl.col("__struct__").is_null())["raw_order_id"].drop_nulls()
    return ids.n_unique() == ids.len()


def _amount_mode(frame: pl.DataFrame, mapping: F.Mapping, unique_ids: bool = False) -> str:
    """Does the amount column hold line amounts or an order total? Decided once per column
    (order_lines.AmountVotes: the evidence is every multi-line order)."""
    if mapping.column("amount") is None:
        return "price"
    if mapping.column("order_id") is None or unique_ids:
        return "line"
    votes = AmountVotes()
    votes.add(frame.filter(pl.col("__struct__").is_null()))
    return votes.mode


def _parse_file(
    frame: pl.DataFrame, mapping: F.Mapping, settings: Settings, path: Source, date_format: str | None = None
) -> tuple[pl.DataFrame, frozenset[str]]:
    """Parse every raw field with the per-column formats decided from this file's evidence.

    Returns the frame and the raw columns that took the plain fast path."""
    data_rows = frame.filter(pl.col("__struct__").is_null())
    try:
        date_fmt = parse.detect_date_format(parse.decision_sample(data_rows["raw_order_date"]),
                                            date_format or settings.date_format)
    except parse.AmbiguousDateFormat as exc:
        raise DataError(f"{path}: {exc}", hint="say which with --date-format, e.g. --date-format '%d/%m/%Y'") from exc
    money_formats = {
        name: parse.detect_money_format(parse.decision_sample(data_rows[f"raw_{name}"]))
        for name in MONEY_FIELDS
        if mapping.column(name) is not None
    }
    plain = _plain_columns(data_rows, mapping, money_formats)
    exprs = parse_exprs(mapping, plain, date_fmt, money_formats)
    return frame.with_columns(by_distinct_values(frame, exprs)).with_columns(money_sanity()), frozenset(plain)


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
    paths: Sequence[Source],
    settings: Settings,
    *,
    on_file: Callable[[Source], None] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
) -> Ledger:
    """Read, map, parse and account for every row of every file; return the order ledger.

    One big plain CSV takes the streaming path (same results, one read); ``on_rows`` then
    hears (rows read, estimated rows) after each batch."""
    first = paths[0] if len(paths) == 1 else None
    if isinstance(first, Path) and not (settings.query or settings.where or settings.since) and streaming.big_file(first):
        streamed = streaming.build_ledger_streaming(first, settings, on_file=on_file, on_rows=on_rows)
        if streamed is not None:
            return streamed
    parsed_frames: list[pl.DataFrame] = []
    plans: list[FilePlan] = []
    warnings: list[str] = []
    profiles_used: list[str | None] = []
    file_hints: list[dict[str, str]] = []
    overrides = status_overrides_of(settings)
    for index, path in enumerate(paths):
        if on_file is not None:
            on_file(path)
        raw = read_source(path, settings, sheet=_sheet_arg(settings.sheet), header_score=F.header_score)
        frame = raw.frame.collect() if isinstance(raw.frame, pl.LazyFrame) else raw.frame
        columns = [c for c in frame.columns if not c.startswith("__")]
        profile, file_warnings = recognise(columns, settings, str(path))
        frame, structural, layout_pins, layout_warnings = apply_layout(frame, raw.structural_rows(), profile, str(path))
        columns = [c for c in frame.columns if not c.startswith("__")]
        mapping, mapping_warnings = plan_mapping(frame, columns, settings, str(path), profile, layout_pins)
        mapping, type_notes = refine_mapping(mapping, raw.column_types)  # a database's column types (files: none)
        mapping_warnings = [*mapping_warnings, *(f"{path}: {note}" for note in type_notes)]
        warnings.extend([*raw.warnings, *file_warnings, *layout_warnings, *mapping_warnings])
        profiles_used.append(profile.name if profile is not None else None)
        require_fields(mapping, columns, str(path), profile)
        hints = S.hint_columns(mapping, columns)
        file_hints.append(hints)
        frame = frame.with_columns(S.hint_expr(f, hints.get(f)) for f in S.HINT_FIELDS)
        canonical = canonical_columns(frame, mapping, index, structural,
                                       keep=[f"__hint_{f}" for f in S.HINT_FIELDS])
        unique_ids = _order_ids_unique(canonical, mapping)
        amount_mode = _amount_mode(canonical, mapping, unique_ids)
        if not unique_ids:  # with one line per order there is nothing to copy
            canonical = fill_order_level(canonical, mapping, amount_mode)
        date_format = settings.date_format or (profile.date_format if profile is not None else None)
        parsed, plain = _parse_file(canonical, mapping, settings, path, date_format)
        parsed_frames.append(parsed.with_columns(pl.lit(amount_mode).alias("__amount_mode__")))
        plans.append(FilePlan(raw, mapping, amount_mode, plain, unique_ids))

    combined = pl.concat(parsed_frames, how="vertical")
    votes = combined.filter(pl.col("__struct__").is_null())["raw_status"].drop_nulls().value_counts()
    deal_export = status.is_deal_export(votes["raw_status"], votes["count"])  # one row per value, weighted
    mapped = frozenset(f for p in plans for f in p.mapping.as_dict())
    distinct: dict[str, pl.Series] = {c: combined[c].unique() for c in ("raw_status", "raw_after_sale_status")
                                      if c in combined.columns}
    combined = combined.with_columns(
        S.status_decision(mapped, deal_export, overrides, distinct),
        S.transaction_decision(mapped),
        _duplicate_flags(combined, len(paths)),
    )

    # currency: one per report
    combined = combined.with_columns(pl.lit(False).alias("__other_currency__"))
    currency = decide_currency(_currency_counts(combined), settings.currency)  # type: ignore[arg-type]
    currency = currency or profile_currency(profiles_used)
    if settings.currency:
        combined = combined.with_columns(other_currency(currency))

    decided = []
    for index, plan in enumerate(plans):
        part = combined.filter(pl.col("__file__") == index).with_columns(line_amount(plan.amount_mode))
        part = part.with_columns(line_decision(plan.amount_mode, plan.plain, settings.credit_note_ids, with_transactions=True).alias("__decision__"))
        part = S.refunded_in_full(part, frozenset(plan.mapping.as_dict()))
        note = S.refund_match_note(part, frozenset(plan.mapping.as_dict()))
        if note is not None:
            plan.raw.notes.append(note)
        part = order_level_decisions(part, plan.amount_mode)
        decided.append(part)
    combined = pl.concat(decided, how="vertical")

    # as-of: explicit dates cut off later orders; the default is the latest used order date
    as_of = settings.as_of_date()
    if as_of is not None:
        combined = combined.with_columns(after_as_of(as_of))
    used = combined.filter(pl.col("__decision__") == USED)
    if as_of is None and used.height:
        latest = used["order_date"].max()
        as_of = latest if isinstance(latest, dt.date) else None

    source = accounting(
        combined.group_by("__file__", "__decision__").agg(pl.len().alias("n")),
        combined.filter(pl.col("__decision__").is_in(["anonymous", "return"])).select(AMOUNT_COLUMNS),
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
    check_usable(source, settings)
    _check_strict(source, settings)
    orders = orders_from_lines(used, plans)
    return Ledger(
        orders=orders,
        as_of=as_of,
        currency=currency,
        source=source,
        rejects=rejects_table(combined, plans),
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


def _currency_counts(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Rows per written currency (data rows only)."""
    return (
        frame.filter(pl.col("__struct__").is_null() & pl.col("currency").is_not_null())
        .group_by("currency")
        .agg(pl.len().alias("rows"))
    )
