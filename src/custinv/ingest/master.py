"""The customer master (CRM account list, ``--customers-file``): read, map, parse, account.

Same readers, same synonym machinery (:data:`custinv.ingest.fields.MASTER_TABLE`) and the
same accounting rule as the order files: every data row ends in exactly one bucket,
``rows_read == rows_used + sum(rows_excluded) + rows_rejected``.

- excluded: ``footer`` / ``repeated_header`` (report furniture), ``anonymous`` (no customer
  id), ``duplicate`` (an id already listed on an earlier row: the first row wins);
- rejected: ``bad_date`` (a signup/created date that is written but cannot be read);
- used: one row per account. A blank signup date is fine (the account is still in the book).

:func:`read_side_table` is shared with the ticket reader: both are "a file of records keyed
by customer" with their own field table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError
from custinv.ingest import fields as F
from custinv.ingest import parse
from custinv.ingest.readers import RawTable
from custinv.ingest.sources import Source, read_source
from custinv.models import InputFileReport

USED = "used"
MASTER_DIMENSIONS = F.DIMENSIONS
MASTER_COLUMNS = ("customer_id", "customer_name", "signup_date", "status", *MASTER_DIMENSIONS)


@dataclass
class SideTable:
    """A side file as read and mapped: ``raw_<field>`` text columns (blank → null), the
    line number and the structural-row code of every row."""

    raw: RawTable
    mapping: F.Mapping
    frame: pl.DataFrame


@dataclass
class Master:
    """One row per account (``MASTER_COLUMNS``) plus how the file was read."""

    accounts: pl.DataFrame
    report: InputFileReport


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def read_side_table(path: Source, settings: Settings, table: F.FieldTable, what: str) -> SideTable:
    """Read any supported file, map its header with ``table`` and keep the mapped fields as text.

    ``--map`` overrides apply when they name a field of this table and a column of this
    file (so ``--map customer_id='Buyer'`` also keys the master when it has that column).
    ``--date-format`` applies to the master's signup dates too (same d/m vs m/d question).
    """

    def score(cells: Sequence[str | None]) -> float:
        return float(sum(1 for c in cells if c and table.matches(c)))

    # encoding, delimiter and header row are sniffed per file: --encoding etc. describe the order files
    raw = read_source(path, settings, main=False, header_score=score)
    frame = raw.frame.collect() if isinstance(raw.frame, pl.LazyFrame) else raw.frame
    columns = [c for c in frame.columns if not c.startswith("__")]
    norm = {F.normalise_header(c) for c in columns}
    overrides = {
        f: c for f, c in settings.mapping.items()
        if f in table.synonyms and (c in columns or F.normalise_header(c) in norm)
    }
    mapping = F.map_columns(columns, overrides, table=table)
    if mapping.column("customer_id") is None:
        raise DataError(
            f"{path}: cannot find the customer id column of the {what}",
            hint=(f"columns found: {', '.join(repr(c) for c in columns)}; rename the id column to a recognised "
                  "header such as 'Customer ID' or '客户编号'"),
        )
    exprs = [pl.col("__line__").cast(pl.Int64), raw.structural_rows().alias("__struct__")]
    for name in table.synonyms:
        column = mapping.column(name)
        value = pl.lit(None, dtype=pl.String) if column is None else _blank_to_null(pl.col(column).cast(pl.String))
        exprs.append(value.alias(f"raw_{name}"))
    return SideTable(raw, mapping, frame.select(exprs))


def customer_id_expr(mapping: F.Mapping, raw: str = "raw_customer_id") -> pl.Expr:
    """Customer ids normalised exactly as the order ledger does (emails case-folded)."""
    parser = parse.email_expr if mapping.customer_id_is_email else parse.id_expr
    return parser(raw)


def file_report(side: SideTable, decisions: pl.Series, excluded_order: tuple[str, ...],
                rejected_order: tuple[str, ...], warnings: list[str] | None = None) -> InputFileReport:
    """The accounting of a side file from one decision per row."""
    counts = dict(decisions.value_counts().iter_rows())
    unknown = set(counts) - {USED, *excluded_order, *rejected_order}
    if unknown:  # a decision code without a bucket would break the accounting identity
        raise AssertionError(f"unaccounted decision codes: {sorted(unknown)}")
    rejected = {r: counts[r] for r in rejected_order if counts.get(r)}
    return InputFileReport(
        path=str(side.raw.path),
        format=side.raw.format,
        encoding=side.raw.encoding,
        mapping=side.mapping.as_dict(),
        rows_read=decisions.len(),
        rows_used=counts.get(USED, 0),
        rows_excluded={r: counts[r] for r in excluded_order if counts.get(r)},
        rows_rejected=sum(rejected.values()),
        reject_reasons=rejected,
        warnings=list(side.raw.notes) + list(warnings or []),
    )


MASTER_EXCLUDED = ("footer", "repeated_header", "anonymous", "duplicate")
MASTER_REJECTED = ("bad_id", "bad_date")


def read_master(path: Source, settings: Settings) -> Master:
    """Read a customer master into one row per account (first row wins for a repeated id)."""
    side = read_side_table(path, settings, F.MASTER_TABLE, "customer master")
    frame = side.frame
    data = frame.filter(pl.col("__struct__").is_null())
    try:
        date_fmt = parse.detect_date_format(data["raw_signup_date"].drop_nulls(), settings.date_format)
    except parse.AmbiguousDateFormat as exc:
        raise DataError(f"{path}: {exc}", hint="say which with --date-format, e.g. --date-format '%d/%m/%Y'") from exc
    parsed = frame.with_columns(
        customer_id_expr(side.mapping).alias("customer_id"),
        parse.date_expr("raw_signup_date", date_fmt).alias("signup_date"),
        *[pl.col(f"raw_{n}").alias(n) for n in ("customer_name", "status", *MASTER_DIMENSIONS)],
    )
    rules: list[tuple[pl.Expr, str | pl.Expr]] = [
        (pl.col("__struct__").is_not_null(), pl.col("__struct__")),
        (pl.col("customer_id").is_null() & pl.col("raw_customer_id").is_not_null(), "bad_id"),
        (pl.col("customer_id").is_null(), "anonymous"),
        (pl.col("raw_signup_date").is_not_null() & ~parse.missing_token_expr("raw_signup_date")
         & pl.col("signup_date").is_null(), "bad_date"),
    ]
    decision: pl.Expr = pl.lit(USED)
    for condition, reason in reversed(rules):
        value = pl.lit(reason) if isinstance(reason, str) else reason
        decision = pl.when(condition.fill_null(False)).then(value).otherwise(decision)
    parsed = parsed.with_columns(decision.alias("__decision__"))
    # a repeated id among usable rows is a duplicate: the first row of an id is the account
    repeat = (pl.col("__decision__") == USED) & (pl.int_range(pl.len()).over(["customer_id", "__decision__"]) > 0)
    parsed = parsed.with_columns(
        pl.when(repeat).then(pl.lit("duplicate")).otherwise(pl.col("__decision__")).alias("__decision__")
    )
    report = file_report(side, parsed["__decision__"], MASTER_EXCLUDED, MASTER_REJECTED)
    accounts = parsed.filter(pl.col("__decision__") == USED).select(MASTER_COLUMNS)
    return Master(accounts=accounts, report=report)
