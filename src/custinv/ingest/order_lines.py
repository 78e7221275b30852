"""The rules about the lines of one order, shared by both readers.

A line-item export writes an order as several rows sharing its order id. Three rules look
across those rows, and each is decided here once for the eager reader (whole file in
memory, :mod:`custinv.ingest.ledger`) and the streaming reader (batches that always hold an
order's lines together, :mod:`custinv.ingest.streaming`):

* **the amount mode** — does the amount column hold line amounts (summed per order) or the
  order's total (counted once)? Evidence is every multi-line order (:class:`AmountVotes`);
* **order-level fields written on the first line only** (Shopify's Financial Status, Total,
  Cancelled at…) are copied to the order's other lines (:func:`fill_order_level`);
* **a bad or missing order total rejects every line of its order** (:func:`order_level_decisions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from custinv.ingest import fields as F
from custinv.ingest.rules import ORDER_LEVEL_FIELDS, RAW_FIELDS, USED

__all__ = ["AmountVotes", "fill_order_level", "filled_fields", "order_level_decisions"]


@dataclass
class AmountVotes:
    """What the multi-line orders seen so far say about the amount column.

    When in all of them the amount is written only on the first line (and some later line is
    blank), or repeated identically on every line, the column is an order total; otherwise it
    is a line amount. Votes add up, so a reader that sees the orders in parts (the streaming
    batches) decides exactly as one that groups the whole file."""

    orders: int = 0  # multi-line orders seen
    first_only: bool = True  # each writes an amount on its first line and on no other
    blank_later: bool = False  # some leaves a line blank
    repeated: bool = True  # each writes one amount on every line

    def add(self, rows: pl.DataFrame) -> None:
        """Count the multi-line orders among ``rows`` (``raw_order_id``, ``raw_amount``, data rows
        in file order; every order's lines all among them)."""
        per_order = (
            rows.filter(pl.col("raw_order_id").is_not_null())
            .group_by("raw_order_id")
            .agg(
                pl.len().alias("lines"),
                pl.col("raw_amount").is_not_null().sum().alias("filled"),
                pl.col("raw_amount").first().is_not_null().alias("first_filled"),
                pl.col("raw_amount").drop_nulls().n_unique().alias("distinct"),
            )
            .filter(pl.col("lines") > 1)
        )
        if per_order.height == 0:
            return
        first_only, blank_later, repeated = per_order.select(
            ((pl.col("filled") <= 1) & pl.col("first_filled")).all().alias("first_only"),
            (pl.col("filled") < pl.col("lines")).any().alias("blank_later"),
            ((pl.col("filled") == pl.col("lines")) & (pl.col("distinct") == 1)).all().alias("repeated"),
        ).row(0)
        self.orders += per_order.height
        self.first_only = self.first_only and first_only
        self.blank_later = self.blank_later or blank_later
        self.repeated = self.repeated and repeated

    @property
    def mode(self) -> str:
        """``order_total`` or ``line`` (no multi-line order: line amounts)."""
        if self.orders and ((self.first_only and self.blank_later) or self.repeated):
            return "order_total"
        return "line"


def filled_fields(mapping: F.Mapping, amount_mode: str) -> list[str]:
    """The raw columns an order's blank lines take from its first written value."""
    names = [f"raw_{n}" for n in ORDER_LEVEL_FIELDS if n in RAW_FIELDS and mapping.column(n) is not None]
    if amount_mode == "order_total":
        names.append("raw_amount")
    return names


def fill_order_level(frame: pl.DataFrame, mapping: F.Mapping, amount_mode: str,
                     companions: dict[str, list[str]] | None = None) -> pl.DataFrame:
    """Copy first-line-only order fields (status, total, email...) to every line of the order.

    A data row (``__struct__`` null) with an order id and a blank field takes the order's first
    written value of it (file order; structural rows count as writers, never take).

    ``companions``: raw column → columns already parsed from it (the streaming reader parses
    before it fills). They are copied from the same line as their raw value, so they hold what
    parsing the filled raw value gives (the parse rules are row-local)."""
    if mapping.column("order_id") is None:
        return frame
    names = filled_fields(mapping, amount_mode)
    if not names:
        return frame
    key = ["__file__", "raw_order_id"]
    in_order = pl.col("raw_order_id").is_not_null() & pl.col("__struct__").is_null()
    # Only the rows of an id that several rows share can take a value from another row: on a
    # line-item export a third of the rows; one hash group_by over them (the group keeps the rows
    # in file order) and a join back (a window per field over every row cost 2 s on a 1M-line
    # Shopify export).
    shared = frame.select(pl.col("raw_order_id").is_not_null() & pl.struct(key).is_duplicated()).to_series()
    if not shared.any():
        return frame
    companions = companions or {}
    rows = frame.select(*key, "__struct__", *names).with_row_index("__row__").filter(shared)
    names = [n for n in names if rows[n].null_count()]  # written on every line: nothing to copy
    if not names:
        return frame
    # per order, the line of each field's first written value; per line, the line it takes
    # each field from (its own unless it takes the order's) — then each column, and the
    # columns parsed from it, gathered from those lines and written at the lines that take
    source = rows.lazy().group_by(key).agg(
        pl.col("__row__").filter(pl.col(n).is_not_null()).first().alias(f"__from_{n}") for n in names)
    takes = (
        rows.lazy().join(source, on=key, how="left", maintain_order="left")
        .select("__row__", *(pl.when(in_order & pl.col(n).is_null() & pl.col(f"__from_{n}").is_not_null())
                             .then(pl.col(f"__from_{n}")).otherwise(pl.col("__row__")).alias(n) for n in names))
        .collect()
    )
    at = takes["__row__"]
    written: list[pl.Series] = []
    for n in names:
        moved = takes[n] != at
        if not moved.any():
            continue
        to, source_rows = at.filter(moved), takes[n].filter(moved)
        written.extend(frame[c].clone().scatter(to, frame[c].gather(source_rows)) for c in (n, *companions.get(n, ())))
    return frame.with_columns(written) if written else frame


_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)


def order_level_decisions(part: _Frame, amount_mode: str) -> _Frame:
    """In order-total mode a bad or missing total rejects every line of its order."""
    if amount_mode != "order_total":
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
