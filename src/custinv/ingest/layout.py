"""Report layouts a profile knows, turned into a plain table before the columns are mapped.

* **Grouped reports** (QuickBooks *Sales by Customer Detail*): the customer is written once,
  alone on a group header row, the detail rows below it leave that column blank, and each
  group ends with a ``Total for <customer>`` row. The group value is carried down onto the
  detail rows (a column the profile names, e.g. ``Customer``); header rows are excluded as
  ``group_header`` and subtotal rows as ``footer`` — every row still accounted for.
* **Composite customer keys** (拼多多, 抖店): the export has no buyer id, only the receiver's
  (masked) name and phone; the profile names the columns whose values together tell customers
  apart. Always a warning: masked values can merge two buyers or split one.
* **Marker columns** (QuickBooks writes ``Voided`` into Memo/Description): a free-text column
  in which only a value that the ONE status vocabulary knows as an exclusion means something;
  it becomes a second status column holding just those values.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from custinv.ingest import status
from custinv.ingest.profiles import Profile

__all__ = ["GROUP_HEADER", "Composite", "apply_layout", "composite_customer", "footer_pattern_hit"]

GROUP_HEADER = "group_header"
_SUBTOTAL = r"(?i)^\s*total\s+(?:for\s+)?\S"
_EXCLUDING = sorted(k for k, v in status.STATUS_VOCABULARY.items() if v != status.USED)


def _filled(c: str) -> pl.Expr:
    return pl.col(c).is_not_null() & pl.col(c).str.contains(r"\S")


def apply_layout(
    frame: pl.DataFrame, structural: pl.Expr, profile: Profile | None, path: str
) -> tuple[pl.DataFrame, pl.Expr, dict[str, tuple[str, str]], list[str]]:
    """(frame, structural codes, extra profile pins, warnings) after the profile's layout rules."""
    if profile is None:
        return frame, structural, {}, []
    pins: dict[str, tuple[str, str]] = {}
    warnings: list[str] = []
    if profile.footer_patterns:
        structural = _footers(frame, structural, profile.footer_patterns)
    if profile.continuation_key is not None and profile.continuation_key in frame.columns:
        frame = _fill_down(frame, structural, profile.continuation_key, profile.child_prefix)
    if profile.group_column is not None:
        frame, structural = _ungroup(frame, structural, profile.group_column)
        if profile.anonymous:  # "Not Specified": sales with no customer
            nobody = [v.casefold() for v in profile.anonymous]
            group = pl.col(profile.group_column)
            frame = frame.with_columns(
                pl.when(group.str.strip_chars().str.to_lowercase().is_in(nobody)).then(None).otherwise(group)
                .alias(profile.group_column))
        why = f"export profile {profile.name!r}: the customer is the group header row above the detail rows"
        pins["customer_id"] = (profile.group_column, why)
    composite = composite_customer(profile, list(frame.columns), path)
    if composite is not None:
        frame = frame.with_columns(composite.expr)
        pins["customer_id"] = composite.pin
        warnings.append(composite.warning)
    for column in profile.marker_columns:
        if column not in frame.columns:
            continue
        marker = f"{column} (status words)"
        word = status.normalise_status_expr(column)
        frame = frame.with_columns(pl.when(word.is_in(_EXCLUDING)).then(pl.col(column)).alias(marker))
        why = f"export profile {profile.name!r}: {column!r} marks voided transactions with a status word"
        pins["after_sale_status"] = (marker, why)
    return frame, structural, pins, warnings


class Composite(NamedTuple):
    """A customer key made of several columns (see composite_customer)."""

    name: str
    expr: pl.Expr  # the key's column, named ``name``
    pin: tuple[str, str]  # the customer_id pin: (column, why)
    warning: str


def composite_customer(profile: Profile, columns: list[str], path: str) -> Composite | None:
    """The profile's composite customer key, when the file has its columns (both readers): the
    trimmed values joined by `` / ``, null when all are blank — row by row."""
    if not profile.composite_customer or not all(c in columns for c in profile.composite_customer):
        return None
    name = " + ".join(profile.composite_customer)
    parts = [pl.col(c).str.strip_chars() for c in profile.composite_customer]
    key = pl.when(pl.any_horizontal([p.str.len_chars() > 0 for p in parts]).fill_null(False)).then(
        pl.concat_str([p.fill_null("") for p in parts], separator=" / "))
    why = (f"export profile {profile.name!r}: no buyer id; customers are told apart "
           f"by {', '.join(profile.composite_customer)} together")
    warning = (f"{path}: the export has no buyer id — customers are told apart by "
               f"{' + '.join(repr(c) for c in profile.composite_customer)} (masked by the platform): "
               f"two buyers can merge and one buyer can split; customer counts are approximate")
    return Composite(name, key.alias(name), (name, why), warning)


def _ungroup(frame: pl.DataFrame, structural: pl.Expr, group_column: str) -> tuple[pl.DataFrame, pl.Expr]:
    """Carry each group header's value down onto its detail rows (see the module docstring)."""
    cols = [c for c in frame.columns if not c.startswith("__")]
    first, rest = cols[0], cols[1:]
    codes = frame.select(structural.alias("__s__"))["__s__"]
    alone = _filled(first) & ~pl.any_horizontal([_filled(c) for c in rest])
    subtotal = _filled(first) & pl.col(first).str.contains(_SUBTOTAL)
    marked = frame.with_columns(codes.alias("__s__")).with_columns(
        pl.when(pl.col("__s__").is_null() & alone & ~subtotal).then(pl.col(first).str.strip_chars()).alias("__g__"),
    )
    code = (
        pl.when(pl.col("__s__").is_not_null()).then(pl.col("__s__"))
        .when(pl.col("__g__").is_not_null()).then(pl.lit(GROUP_HEADER))
        .when(subtotal).then(pl.lit("footer"))
        .otherwise(None)
    )
    out = marked.with_columns(
        code.alias("__s__"),
        pl.when(_filled(first)).then(pl.col(first)).otherwise(pl.col("__g__").forward_fill()).alias(first),
    )
    out = out.rename({first: group_column}) if group_column not in cols else out
    new_codes = out["__s__"]
    return out.drop("__s__", "__g__"), pl.lit(new_codes)


def _footers(frame: pl.DataFrame, structural: pl.Expr, patterns: tuple[str, ...]) -> pl.Expr:
    """Rows whose cells, joined by ``,``, match a profile's footer pattern are footers
    (eBay: ``10,record(s) downloaded,from …``, ``Seller ID : …``)."""
    hit = footer_pattern_hit([c for c in frame.columns if not c.startswith("__")], patterns)
    codes = frame.select(pl.when(hit).then(pl.lit("footer")).otherwise(structural).alias("s"))["s"]
    return pl.lit(codes)


def footer_pattern_hit(cols: list[str], patterns: tuple[str, ...]) -> pl.Expr:
    """Per row: its cells, joined by ``,``, match one of a profile's footer patterns (both readers)."""
    if not patterns:
        return pl.lit(False)
    text = pl.concat_str([pl.col(c).fill_null("") for c in cols], separator=",").str.strip_chars(",")
    return pl.any_horizontal([text.str.contains(p) for p in patterns]).fill_null(False)


def _fill_down(frame: pl.DataFrame, structural: pl.Expr, key: str, child_prefix: str | None) -> pl.DataFrame:
    """Rows with a blank ``key`` continue the order above (Odoo's one2many export writes the
    parent's columns on its first row only): the parent's columns are carried down onto them."""
    cols = [c for c in frame.columns if not c.startswith("__")]
    parents = [c for c in cols if not (child_prefix and c.startswith(child_prefix))]
    codes = frame.select(structural.alias("s"))["s"]
    data = pl.col("__data__")
    continues = data & ~_filled(key)
    starts = data & _filled(key)
    marked = frame.with_columns(codes.is_null().alias("__data__")).with_columns(
        starts.cast(pl.Int64).cum_sum().alias("__order__"))  # rows of one order share the count of starts
    return marked.with_columns(
        pl.when(continues & (pl.col("__order__") > 0) & ~_filled(c))
        .then(pl.when(starts).then(pl.col(c)).forward_fill().over("__order__"))
        .otherwise(pl.col(c))
        .alias(c)
        for c in parents
    ).drop("__data__", "__order__")
