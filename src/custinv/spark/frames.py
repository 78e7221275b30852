"""Moving a ledger's orders between Polars and Spark without changing a value.

The Spark engine's orders frame has the columns of :attr:`custinv.ingest.rules.Ledger.orders`
plus ``row``, each order's position in ledger order (file order): Spark keeps no row order
across a shuffle, and the Polars engine breaks ties (two orders of a customer on one day) by
that order, so the Spark reductions sort by it. Types map one to one: ``Date`` ↔ ``DateType``,
``Float64`` ↔ ``DoubleType``, ``String``/``Categorical``/``Enum`` ↔ ``StringType`` (dimensions
are categoricals only to save memory in Polars), unsigned integers ↔ ``LongType`` (Spark has
no unsigned types).
"""

from __future__ import annotations

from typing import Any

import polars as pl

ROW = "row"
"""The column holding each order's position in ledger order."""


def spark_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with types Spark has, and the ``row`` column when it has none."""
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, (pl.Categorical, pl.Enum)):
            casts.append(pl.col(name).cast(pl.String))
        elif dtype in (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
            casts.append(pl.col(name).cast(pl.Int64))
    ready = frame.with_columns(casts) if casts else frame
    if ROW not in ready.columns:
        ready = ready.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    return ready


def to_spark(session: Any, frame: pl.DataFrame) -> Any:
    """A Spark DataFrame holding ``frame`` (through Arrow; the driver holds it once)."""
    return session.createDataFrame(spark_ready(frame).to_arrow())


def to_polars(frame: Any, schema: pl.Schema | dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Collect a (small) Spark DataFrame into Polars through Arrow; ``schema`` casts its columns
    back to the Polars types they had (e.g. a ledger's categoricals and ``lines: UInt32``)."""
    out = pl.DataFrame(pl.from_arrow(frame.toArrow()))
    if schema:
        out = out.with_columns(pl.col(n).cast(t) for n, t in schema.items() if n in out.columns)
    return out
