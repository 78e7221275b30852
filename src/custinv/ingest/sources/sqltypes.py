"""Column types from a database, and the mapping rule that uses them next to the names.

A file's header is all we know about a CSV column; a table also says what the column holds.
The names still decide (``--map`` above all), and the type adds two rules:

* a type that cannot hold the field is refused: a date column is never the amount, a
  boolean never the order date (the field stays unmapped, and the run says why);
* when no column's name says "order date" but exactly one column is a date or timestamp,
  that column is the order date — a guess, so it is a warning in ``source.warnings``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from custinv.ingest import fields as F
from custinv.ingest.readers import ColumnType

if TYPE_CHECKING:
    import pyarrow as pa

_ACCEPTS: dict[str, frozenset[str]] = {
    "order_date": frozenset({"date", "text", "number"}),  # a number: epoch seconds, Excel serials
    **{name: frozenset({"number", "text"}) for name in ("amount", "quantity", "unit_price", "cost", "margin")},
    **{name: frozenset({"number", "text"}) for name in ("customer_id", "order_id")},
}
"""Kinds of column each field may take (fields not named here take any kind)."""


_EXACT_NUMERIC = frozenset({"numeric", "decimal"})
"""SQL types the driver hands over as text of exact digits (PostgreSQL numeric)."""


def kind_of(dtype: pl.DataType) -> str:
    """date / number / text / boolean / other, from the Polars type a column arrives as."""
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "date"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, pl.Enum):
        return "text"
    if dtype == pl.Boolean:
        return "boolean"
    return "other"


def sql_type(field: pa.Field) -> str:
    """The database's own name for a column's type where the driver says it, else Arrow's."""
    metadata = field.metadata or {}
    for key in (b"POSTGRESQL:type", b"ADBC:postgresql:typname", b"DUCKDB:type"):
        if key in metadata:
            return metadata[key].decode()
    return str(field.type)


def column_types(schema: pa.Schema, frame_schema: pl.Schema, declared: dict[str, str] | None = None) -> dict[str, ColumnType]:
    """Each column's SQL type and kind; ``declared`` overrides the SQL name (SQLite's declared
    types, where every value is read as text)."""
    out: dict[str, ColumnType] = {}
    for field in schema:
        dtype: pl.DataType = frame_schema.get(field.name) or pl.String()
        sql = (declared or {}).get(field.name) or sql_type(field)
        kind = "number" if sql in _EXACT_NUMERIC else kind_of(dtype)  # numeric arrives as its exact digits
        out[field.name] = ColumnType(sql, kind)
    return out


def refine_mapping(mapping: F.Mapping, types: dict[str, ColumnType]) -> tuple[F.Mapping, list[str]]:
    """Apply the type rules (module docstring) to a name-based mapping; returns it and notes."""
    if not types:
        return mapping, []
    notes: list[str] = []
    choices: dict[str, F.FieldChoice] = {}
    for name, choice in mapping.choices.items():
        found = types.get(choice.column)
        accepts = _ACCEPTS.get(name)
        if found is not None and accepts is not None and found.kind not in accepts:
            if choice.reason.startswith("set by --map"):
                choices[name] = choice  # the user's word stands; the parser will reject what it cannot read
                continue
            notes.append(f"{choice.column!r} is a {found.sql} column: not taken as {name}")
            continue
        typed = f" (SQL type {found.sql})" if found is not None else ""
        choices[name] = F.FieldChoice(name, choice.column, choice.reason + typed)
    if "order_date" not in choices:
        taken = {c.column for c in choices.values()}
        dated = [c for c, t in types.items() if t.kind == "date" and c not in taken]
        if len(dated) == 1:
            column = dated[0]
            choices["order_date"] = F.FieldChoice(
                "order_date", column, f"the only date/timestamp column (SQL type {types[column].sql})")
            notes.append(f"order date guessed from the type: {column!r} is the only date/timestamp column "
                         "(--map order_date=COLUMN to choose another)")
    ordered = {name: choices[name] for name in [*mapping.choices, "order_date"] if name in choices}
    return F.Mapping(ordered), notes
