"""Which rows are sales: the statuses that decide, beyond the one order-status column.

A row is a sale when every column that can say otherwise agrees:

* the order status (``status``), from the ONE vocabulary (:mod:`custinv.ingest.status`);
* a second status column (``after_sale_status``: 售后状态 退款成功, 作废状态 已作废, a refund
  status) — an exclusion there excludes the order whatever the order status says;
* a cancellation date (``cancelled_at``: Shopify's ``Cancelled at``) — written means cancelled;
* a transaction-type column (``transaction_type``: PayPal ``Type``, Square ``Event Type``,
  Stripe's balance ``Type``) — refunds are returns (reported beside the revenue, never orders),
  fees / payouts / transfers are ``non_sale``.

Values no vocabulary knows are *used* (design.md) and each is a warning with its rows and
revenue (:func:`unknown_value_warnings`). Refunded money is reported as returns: refund
rows, negative lines, and a ``refunded_amount`` column counted once per order
(:func:`refunded_total`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

from custinv.ingest import fields as F
from custinv.ingest import parse, status
from custinv.ingest.status import NON_SALE, REFUND, SALE

__all__ = [
    "DECIDING_FIELDS",
    "NON_SALE",
    "REFUND",
    "SALE",
    "hint_columns",
    "hint_expr",
    "hint_warning",
    "hint_warnings",
    "refund_match_note",
    "refunded_in_full",
    "refunded_total",
    "refunds_per_order",
    "status_decision",
    "status_words",
    "transaction_decision",
    "unknown_status_warnings",
    "unknown_value_warnings",
]

DECIDING_FIELDS = ("after_sale_status", "transaction_type", "refunded_amount", "cancelled_at", "refund_reference",
                   "approved_by", "paid_at")
"""Canonical fields that decide whether a row is a sale, or how much was refunded."""

_EXCLUSIONS = list(status.EXCLUSION_REASONS)


def status_decision(
    mapped: set[str] | frozenset[str], deal_export: bool, overrides: dict[str, str] | None = None,
    distinct: Mapping[str, pl.Series] | None = None,
) -> pl.Expr:
    """``status_decision`` per row: the first exclusion among the second status column, the order
    status and a cancellation date; otherwise the order status's decision (null = no information).

    ``distinct``: a status column's distinct values (raw column → values), when the caller holds
    the rows: each value is then decided once and looked up per row — the same decisions
    (:func:`custinv.ingest.status.status_decision_expr`), without the normaliser's regular
    expressions on every row (2.3 s of a 1M-line Shopify export's 12 s ingest)."""
    distinct = distinct or {}
    parts: list[pl.Expr] = []
    primary = (status.status_decision_expr("raw_status", deal_export=deal_export, overrides=overrides,
                                           known=distinct.get("raw_status"))
               if "status" in mapped else None)
    if "after_sale_status" in mapped:  # 退款成功 names the reason better than the order's 交易关闭
        after = status.status_decision_expr("raw_after_sale_status", overrides=overrides,
                                            known=distinct.get("raw_after_sale_status"))
        parts.append(pl.when(after.is_in(_EXCLUSIONS)).then(after))
    dated = mapped & {"approved_by", "paid_at", "cancelled_at"}
    if primary is not None and dated:  # the order status's own exclusion beats a cancellation date
        # (only then: with nothing between, it is the order status itself, evaluated twice —
        # Polars evaluates an expression once per reference)
        parts.append(pl.when(primary.is_in(_EXCLUSIONS)).then(primary))
    if "approved_by" in mapped:  # nobody approved (audited) the document: a draft
        parts.append(pl.when(pl.col("raw_approved_by").is_null()).then(pl.lit("draft")))
    if "paid_at" in mapped:  # never paid (eBay: a committed sale without Paid On Date)
        parts.append(pl.when(pl.col("raw_paid_at").is_null()).then(pl.lit("unpaid")))
    if "cancelled_at" in mapped:
        parts.append(pl.when(pl.col("raw_cancelled_at").is_not_null()).then(pl.lit("cancelled")))
    if primary is not None:
        parts.append(primary)
    if not parts:
        return pl.lit(None, dtype=pl.String).alias("status_decision")
    return pl.coalesce(parts).alias("status_decision") if len(parts) > 1 else parts[0].alias("status_decision")


def transaction_decision(mapped: set[str] | frozenset[str]) -> pl.Expr:
    """``txn_decision`` per row: ``sale`` / ``refund`` / ``non_sale``, null when unmapped or unknown."""
    if "transaction_type" not in mapped:
        return pl.lit(None, dtype=pl.String).alias("txn_decision")
    return status.transaction_decision_expr("raw_transaction_type").alias("txn_decision")


def _money(value: float) -> str:
    return f"{value:,.2f}"


def unknown_value_warnings(
    frame: pl.DataFrame, *, overrides: dict[str, str] | None = None, deal_export: bool = False
) -> list[str]:
    """A warning per status / after-sale status / transaction-type value that no vocabulary knows,
    with the rows and revenue it decided, and the flag that settles it.

    ``frame``: the decided rows (``__decision__``, ``line_amount``, the raw status columns)."""
    known = {**status.STATUS_VOCABULARY, **(overrides or {})}
    warnings: list[str] = []
    data = frame.filter(pl.col("__struct__").is_null())
    checks = (
        ("raw_status", *status_words("raw_status", deal_export), known),
        ("raw_after_sale_status", *status_words("raw_after_sale_status", deal_export), known),
        ("raw_transaction_type", "transaction type", "used as a sale", status.TRANSACTION_TYPES),
    )
    for column, what, treated, vocabulary in checks:
        if column not in data.columns or data[column].null_count() == data.height:
            continue
        # the rule on the column's distinct values (a handful), then the rows holding an unknown one
        key = pl.col("__key__")
        values = data.select(pl.col(column).unique()).with_columns(status.normalise_status_expr(column).alias("__key__"))
        unknown_values = values.filter(key.is_not_null() & ~key.is_in(list(vocabulary))
                                       & ~parse.missing_token_expr(column))[column]
        if unknown_values.len() == 0:
            continue
        unknown = data.filter(pl.col(column).is_in(unknown_values.implode()))
        summary = (
            unknown.group_by(pl.col(column).str.strip_chars().alias("value"))
            .agg(
                pl.len().alias("rows"),
                pl.col("line_amount").filter(pl.col("__decision__") == "used").sum().alias("revenue"),
            )
        )
        warnings.extend(_format_unknown(summary, what, treated, column != "raw_transaction_type"))
    return warnings


def status_words(column: str, deal_export: bool) -> tuple[str, str]:
    """What an unknown value of a status column is called in its warning, and what it was
    treated as: ``raw_status`` or ``raw_after_sale_status`` (the words of both readers)."""
    if column == "raw_after_sale_status":
        return "after-sale status", "no effect (the order status decides)"
    return "status", "open (not a sale)" if deal_export else "used"


def _format_unknown(summary: pl.DataFrame, what: str, treated: str, status_like: bool) -> list[str]:
    """One warning per unknown value; ``summary``: value, rows, revenue (most rows first)."""
    out = []
    for value, rows, revenue in summary.sort(["rows", "value"], descending=[True, False]).iter_rows():
        out.append(
            f"{what} {value!r} is in no vocabulary: {rows} row(s), revenue {_money(revenue or 0.0)}, "
            f"{treated}; settle it with --status-used {value!r} or --status-excluded {value!r}"
            + (" (or [status] in custinv.toml)" if status_like else "")
        )
    return out


def unknown_status_warnings(
    counts: pl.DataFrame, revenue: pl.DataFrame, *, deal_export: bool, overrides: dict[str, str] | None = None,
    column: str = "raw_status",
) -> list[str]:
    """:func:`unknown_value_warnings` for a status column, from what the streaming path keeps:
    rows per status (``raw_status``, ``n``) and the used revenue per status (``raw_status``, ``revenue``).
    ``column``: the status column they are of (its words: :func:`status_words`)."""
    known = list({**status.STATUS_VOCABULARY, **(overrides or {})})
    keyed = counts.with_columns(status.normalise_status_expr("raw_status").alias("__key__"))
    unknown = keyed.filter(pl.col("__key__").is_not_null() & ~pl.col("__key__").is_in(known)
                           & ~parse.missing_token_expr("raw_status"))
    if unknown.height == 0:
        return []
    summary = (
        unknown.join(revenue, on="raw_status", how="left")
        .group_by(pl.col("raw_status").str.strip_chars().alias("value"))
        .agg(pl.col("n").sum().alias("rows"), pl.col("revenue").sum().alias("revenue"))
    )
    return _format_unknown(summary, *status_words(column, deal_export), True)


def refunded_total(frame: pl.DataFrame, by_status_files: frozenset[int] = frozenset()) -> float:
    """Money refunded per the ``refunded_amount`` column: once per order (the export writes the
    order's refunded total, on its first line or on every line), over orders that were sales
    or were excluded by a status (a fully refunded order's refund is still a return).

    In ``by_status_files`` (exports whose only record of a refund is the status: 拼多多 and
    抖店 售后状态 退款成功) the amount of every row excluded as ``refunded`` is the return.

    Summed exactly rounded (:func:`math.fsum`): the same orders give the same total in any
    order — the streaming reader sums the orders of its batches (:func:`refunds_per_order`)."""
    return math.fsum(refunds_per_order(frame, by_status_files).to_list())


def refunds_per_order(frame: pl.DataFrame, by_status_files: frozenset[int] = frozenset()) -> pl.Series:
    """The refund of each order that has one (see :func:`refunded_total`), in no set order."""
    parts: list[pl.Series] = []
    if by_status_files:
        rows = frame.filter(pl.col("__file__").is_in(list(by_status_files)) & (pl.col("__decision__") == "refunded"))
        if rows.height:
            key = pl.coalesce(pl.col("raw_order_id"), pl.col("__line__").cast(pl.String))
            once = pl.when(pl.col("__amount_mode__") == "order_total").then(pl.col("line_amount").first()) \
                .otherwise(pl.col("line_amount").sum())
            parts.append(rows.group_by("__file__", key.alias("__order__")).agg(once.first().abs().alias("r"))["r"])
    if "refunded_amount" in frame.columns:
        # a zero refund adds nothing whichever way its order is counted (with a zero among them an
        # order's amounts are summed; without it the rest are summed or taken once alike): Shopify
        # writes 0.00 on the first line of every order, and grouping those cost half a second a million
        counted = frame.filter(
            pl.col("refunded_amount").is_not_null() & (pl.col("refunded_amount") != 0)
            & pl.col("__decision__").is_in(["used", *status.EXCLUSION_REASONS])
        )
        if counted.height:
            key = pl.coalesce(pl.col("raw_order_id"), pl.col("__line__").cast(pl.String))
            lines = frame.filter(pl.col("__struct__").is_null()).group_by("__file__", key.alias("__order__")).agg(
                pl.len().alias("__lines__"))
            # an order's refunded total written on its first line only, or repeated on every line, is
            # counted once; refund amounts that differ between lines are per line and summed
            parts.append(
                counted.group_by("__file__", key.alias("__order__"))
                .agg(pl.col("refunded_amount").abs().alias("r"), pl.len().alias("n"))
                .join(lines, on=["__file__", "__order__"], how="left")
                .select(pl.when((pl.col("r").list.n_unique() == 1)
                                & ((pl.col("n") == 1) | (pl.col("n") == pl.col("__lines__"))))
                        .then(pl.col("r").list.first())
                        .otherwise(pl.col("r").list.sum()).alias("r"))["r"]
            )
    return pl.concat(parts) if parts else pl.Series("r", [], dtype=pl.Float64)


def refunded_in_full(part: pl.DataFrame, mapped: set[str] | frozenset[str]) -> pl.DataFrame:
    """Sales whose refund rows add up to the whole sale are ``refunded`` (not orders).

    Refund rows (a transaction type ``refund``) are matched to the sale they reverse by
    reference: ``refund_reference`` (PayPal's Reference Txn ID) when the export has it,
    else the order id they share with the sale (Square's Transaction ID). A partial refund
    leaves the sale standing; the refund rows themselves stay returns either way."""
    if "transaction_type" not in mapped or "order_id" not in mapped:
        return part
    reference = (pl.coalesce(pl.col("raw_refund_reference"), pl.col("raw_order_id"))
                 if "refund_reference" in mapped else pl.col("raw_order_id"))
    refunds = (
        part.filter((pl.col("txn_decision") == REFUND) & (pl.col("__decision__") == "return"))
        .group_by(reference.alias("__ref__"))
        .agg(pl.col("line_amount").abs().sum().alias("__refunded__"))
        .filter(pl.col("__ref__").is_not_null())
    )
    if refunds.height == 0:
        return part
    sold = pl.col("line_amount").filter(pl.col("__decision__") == "used").sum().over("raw_order_id")
    joined = part.join(refunds, left_on="raw_order_id", right_on="__ref__", how="left", maintain_order="left")
    in_full = (
        (pl.col("__decision__") == "used") & pl.col("__refunded__").is_not_null()
        & (pl.col("__refunded__") >= sold - 0.005)
    )
    return joined.with_columns(
        pl.when(in_full).then(pl.lit("refunded")).otherwise(pl.col("__decision__")).alias("__decision__")
    ).drop("__refunded__")


#: Deciding fields only a profile (or --map) names: a column that could hold one is a hint.
HINT_FIELDS = ("paid_at", "approved_by")
_HINT_MEANING = {
    "paid_at": ("no payment date", "never paid"),
    "approved_by": ("no approver", "unapproved drafts"),
}


def hint_columns(mapping: F.Mapping, columns: list[str]) -> dict[str, str]:
    """field → the file's column that could decide it but is not mapped (a payment date, an
    approver): its blanks may be non-sales the generic reading cannot see."""
    if any(mapping.column(f) is not None for f in ("status", *HINT_FIELDS)):
        return {}
    taken = set(mapping.as_dict().values())
    out: dict[str, str] = {}
    for field in HINT_FIELDS:
        for column in columns:
            if column not in taken and any(f == field for f, _ in F.matches(column)):
                out[field] = column
                break
    return out


def hint_expr(field: str, column: str | None) -> pl.Expr:
    """``__hint_<field>``: the hint column's text (null when blank), or a null column."""
    if column is None:
        return pl.lit(None, dtype=pl.String).alias(f"__hint_{field}")
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text).alias(f"__hint_{field}")


def hint_warnings(frame: pl.DataFrame, hints: list[dict[str, str]], paths: list[str]) -> list[str]:
    """A warning per hint column whose blanks sit on rows counted as sales, with rows and revenue
    and the --map that would exclude them (eBay's unpaid sales, 用友's unaudited 发货单)."""
    out: list[str] = []
    for index, file_hints in enumerate(hints):
        for field, column in file_hints.items():
            mine = frame.filter((pl.col("__file__") == index) & pl.col("__struct__").is_null())
            blank = mine.filter(pl.col(f"__hint_{field}").is_null() & (pl.col("__decision__") == "used"))
            warning = hint_warning(paths[index], field, column, blank["line_amount"], mine.height)
            if warning is not None:
                out.append(warning)
    return out


def hint_warning(path: str, field: str, column: str, amounts: pl.Series, data_rows: int) -> str | None:
    """The warning for rows counted as sales whose hint column is blank (``amounts``: their line
    amounts, summed exactly rounded — the same total however the rows were batched), or None
    when no row or every one of the file's ``data_rows`` is blank (the column says nothing)."""
    if amounts.len() in (0, data_rows):
        return None
    what, meaning = _HINT_MEANING[field]
    revenue = math.fsum(amounts.drop_nulls().to_list())
    return (f"{path}: {amounts.len()} row(s) counted as sales have {what} in {column!r} "
            f"(line revenue {_money(revenue)}); if they are {meaning}, exclude them with "
            f"--map {field}='{column}'")


def refund_match_note(part: pl.DataFrame, mapped: set[str] | frozenset[str]) -> str | None:
    """"N refund rows, M matched to their sale by reference" for the file's notes."""
    if "transaction_type" not in mapped:
        return None
    refunds = part.filter((pl.col("txn_decision") == REFUND) & (pl.col("__decision__") == "return"))
    if refunds.height == 0:
        return None
    reference = (pl.coalesce(pl.col("raw_refund_reference"), pl.col("raw_order_id"))
                 if "refund_reference" in mapped else pl.col("raw_order_id"))
    sales = part.filter(pl.col("txn_decision").fill_null(SALE) == SALE)["raw_order_id"].drop_nulls()
    matched = refunds.select(reference.is_in(sales.implode()).fill_null(False).sum()).item()
    return f"{refunds.height} refund row(s) reported as returns, {matched} matched to their sale by reference"
