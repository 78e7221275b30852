"""What runs inside Spark's executors: raw rows → custinv's own Polars rules → decided rows.

Each partition arrives as Arrow batches (``mapInArrow``). A batch becomes the same text frame
custinv's streaming reader builds on one machine (:class:`custinv.ingest.readers.CsvScan`'s
columns: every cell as text, ``__line__``, ``__ragged__``), and that frame goes through the very
query the streaming path runs (:func:`custinv.ingest.streaming.decide_query`: canonical columns,
parse expressions, status rule, row decision, order-level gaps). No rule is written twice.

* **CSV** is read by Spark as *lines* (``spark.read.text``) and each batch of lines is parsed
  by Polars' CSV reader with the delimiter, quote and columns the driver sniffed — so cells
  arrive exactly as custinv's reader gives them (Spark's own CSV reader differs: empty → null,
  quotes, BOM, header de-duplication). A line whose quotes do not balance (a quoted cell that
  holds a line break), a batch Polars cannot read as UTF-8, or a batch whose rows are not its
  lines is *broken*: the batch yields one row naming why, and the driver refuses the native
  read (or reads the file on the driver when it can).
* **Parquet and catalog tables** arrive typed; each batch is turned into text with
  :func:`custinv.ingest.readers.to_text`, as the one-machine Parquet reader does.

Line numbers: the driver counts the rows of every input partition first (``offsets``); a
task knows its partition, so each row's position in the input is its partition's offset
plus its place in the partition's stream of batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from custinv.config import Settings
from custinv.ingest import fields as F
from custinv.ingest import rules as R
from custinv.ingest import sniff
from custinv.ingest import streaming as ST
from custinv.ingest.readers import LINE, RAGGED, to_text

CELLS = "__cells__"
"""A candidate row's raw cells, as JSON text (null on every other row)."""

BROKEN = "__broken__"
"""A row that stands for a batch the executor could not read as custinv would (its reason)."""

FLOATS = {"line_amount", "quantity", "unit_price", "cost", "margin"}
"""The decided columns that are numbers (Float64); the other used columns are text, but ``order_date``."""


@dataclass(frozen=True)
class Layout:
    """How the executors turn an input batch into the text frame of the one-machine reader."""

    kind: str  # "lines" (a CSV read as lines) or "records" (Parquet, a table)
    names: list[str]  # data columns
    cells: list[str]  # names plus the spare columns a ragged row spills into (CSV)
    offsets: dict[int, int]  # input partition → position of its first row in the input
    delimiter: str = ","
    skip: int = 0  # lines above the first data row (title rows, the header)
    zones: dict[str, str] = field(default_factory=dict)  # records: timestamp column → its file's time zone

    def text_frame(self, batch: pa.RecordBatch, first: int) -> pl.DataFrame | str:
        """The batch as the streaming reader's frame, or the reason it cannot be one."""
        if self.kind == "records":
            return self._records(batch, first)
        return self._lines(batch, first)

    def _records(self, batch: pa.RecordBatch, first: int) -> pl.DataFrame:
        frame = in_zones(pl.DataFrame(pl.from_arrow(batch)), self.zones)
        text, _ = to_text(frame)
        return text.select(*self.names).with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + (first + 1)).alias(LINE), pl.lit(False).alias(RAGGED))

    def _lines(self, batch: pa.RecordBatch, first: int) -> pl.DataFrame | str:
        start = max(0, self.skip - first)  # the header and title lines are not data
        values = batch.column(0).slice(start)
        schema = {c: pl.String for c in self.cells}
        if len(values) == 0:
            return pl.DataFrame(schema={**schema, LINE: pl.Int64, RAGGED: pl.Boolean})
        quotes = pc.count_substring(values, '"')
        if pc.any(pc.equal(pc.bit_wise_and(quotes, 1), 1)).as_py():
            return "a quoted cell holds a line break (Spark splits the file at line ends)"
        whole = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
        text = pc.binary_join(whole, b"\n")[0].as_py() + b"\n"
        try:
            frame = pl.read_csv(text, has_header=False, separator=self.delimiter, quote_char='"', encoding="utf8",
                                schema=schema, infer_schema=False, missing_columns="insert",
                                truncate_ragged_lines=True, raise_if_empty=False)
        except pl.exceptions.PolarsError as exc:
            return f"Polars cannot read these lines as UTF-8 CSV ({str(exc).splitlines()[0]})"
        if frame.height != len(values):
            return "a quoted cell holds a line break (rows are not lines)"
        extras = self.cells[len(self.names):]
        filled = [pl.col(c).is_not_null() & pl.col(c).str.contains(r"\S") for c in extras]
        return frame.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + (first + start + 1)).alias(LINE),
            (pl.any_horizontal(filled) if filled else pl.lit(False)).alias(RAGGED),
        )


def in_zones(frame: pl.DataFrame, zones: dict[str, str]) -> pl.DataFrame:
    """Timestamps in the time zone their Parquet file declares, as custinv's reader reads them:
    Spark hands them over in its session's zone (UTC), which moves the wall-clock time — and the
    date — of an order written in another zone."""
    zoned = {c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone}
    moved = [pl.col(c).dt.convert_time_zone(z) for c, z in zones.items() if c in zoned]
    return frame.with_columns(moved) if moved else frame


@dataclass(frozen=True)
class DecideJob:
    """The read plan and what the executors hand back for it."""

    plan: ST.ReadPlan
    settings: Settings
    layout: Layout
    header_cells: list[str]
    columns: list[tuple[str, pa.DataType]] = field(default_factory=list)

    @property
    def cell_names(self) -> list[str]:
        return [*self.layout.cells, RAGGED]

    @property
    def other_cols(self) -> list[str]:
        return [*self.plan.used_cols, "__line__", "__file__", *ST.REJECT_RAW]


def decided_columns(plan: ST.ReadPlan, layout: Layout) -> list[tuple[str, pa.DataType]]:
    """Name and Arrow type of every column an executor hands back for ``plan``."""
    out: list[tuple[str, pa.DataType]] = []
    for name in [*plan.used_cols, "__line__", "__file__", *ST.REJECT_RAW]:
        if name == "order_date":
            out.append((name, pa.date32()))
        elif name in FLOATS:
            out.append((name, pa.float64()))
        elif name == "__line__":
            out.append((name, pa.int64()))
        elif name == "__file__":
            out.append((name, pa.int32()))
        else:
            out.append((name, pa.string()))
    out += [("__cand__", pa.bool_()), ("__odd__", pa.bool_()), ("__gap__", pa.int64()), ("__decision__", pa.string())]
    out.append((CELLS, pa.string()))
    out += [(ST.evidence_column(n), pa.string()) for n in ST.decided_fields(plan)]
    out += [(ST.point_evidence_column(n), pa.int32()) for n in plan.money]
    out.append((BROKEN, pa.string()))
    return out


def spark_schema(columns: list[tuple[str, pa.DataType]]) -> str:
    """The DDL string of ``columns`` for ``mapInArrow``."""
    names = {pa.string(): "string", pa.date32(): "date", pa.float64(): "double", pa.int64(): "bigint",
             pa.int32(): "int", pa.bool_(): "boolean"}
    return ", ".join(f"`{n}` {names[t]}" for n, t in columns)


def decide(job: DecideJob, frame: pl.DataFrame) -> pl.DataFrame:
    """One text frame → decided rows (every column of :func:`decided_columns` but ``__broken__``)."""
    plan, layout = job.plan, job.layout
    flags = [sniff.structural_candidates(layout.names, job.header_cells).alias("__cand__"),
             ST.not_plain(plan.mapping, plan.keys).alias("__odd__")]
    # a row with every cell blank is dropped by the reader before the plan sees it (as a candidate)
    query = ST.decide_query(frame.lazy(), plan, job.settings, flags, job.other_cols, job.cell_names)
    decided = query.collect()
    cand = pl.col("__cand__")
    dims = [d for d in F.DIMENSIONS if d in decided.columns]
    cells = pl.struct(pl.col(ST.cell_column(i)).alias(c) for i, c in enumerate(job.cell_names))
    return decided.with_columns(
        # dimensions trimmed (blank → null) as the streaming path does once at the end
        *(R.blank_to_null(pl.col(d).cast(pl.String)).alias(d) for d in dims),
        pl.col("__decision__").cast(pl.String),
        pl.col("__gap__").cast(pl.Int64),
        # the raw cells travel only for candidate rows and rows with an odd key cell (few), as one
        # JSON text: the structural rules and the re-plan need them; the raw key cells only for
        # rejected rows (the rejects table)
        pl.when(cand | pl.col("__odd__")).then(cells.struct.json_encode()).alias(CELLS),
        *(pl.when(pl.col("__decision__").is_in(list(R.REJECTED_REASONS))).then(pl.col(c)).alias(c)
          for c in ST.REJECT_RAW),
    ).drop(*(ST.cell_column(i) for i in range(len(job.cell_names))))


def candidate_cells(rows: pl.DataFrame, cell_names: list[str]) -> pl.DataFrame:
    """The candidate rows' raw cells back from their JSON text (:func:`decide`)."""
    dtype = pl.Struct({c: pl.Boolean if c == RAGGED else pl.String for c in cell_names})
    return rows.with_columns(pl.col(CELLS).str.json_decode(dtype)).unnest(CELLS)


def _arrow(frame: pl.DataFrame, columns: list[tuple[str, pa.DataType]]) -> Iterator[pa.RecordBatch]:
    schema = pa.schema(columns)
    for name, _ in columns:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(name))
    table = frame.select([n for n, _ in columns]).to_arrow()
    yield from table.cast(schema).to_batches()


def _broken(reason: str, columns: list[tuple[str, pa.DataType]]) -> pa.RecordBatch:
    arrays = [pa.array([reason if n == BROKEN else None], type=t) for n, t in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(columns))


def partition_id() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


def decide_partitions(job: DecideJob) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function of ``job``: one partition's input batches → decided rows."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        position = job.layout.offsets.get(partition_id(), 0)
        for batch in batches:
            first, position = position, position + batch.num_rows
            frame = job.layout.text_frame(batch, first)
            if isinstance(frame, str):
                yield _broken(frame, job.columns)
                continue
            if frame.height:
                yield from _arrow(decide(job, frame), job.columns)

    return run


def money_sums_partitions(name: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` over the distinct (evidence text, point flag) pairs of a decided money
    field with their rows ``n``: the evidence sums of :func:`custinv.ingest.streaming.money_sums`
    per batch (summed again on the driver)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            pairs = pl.DataFrame(pl.from_arrow(batch))
            yield from ST.money_sums(pairs, name, weight="n").to_arrow().to_batches()

    return run


def orders_partitions(plans: list[R.FilePlan], one_line: bool, columns: list[tuple[str, pa.DataType]],
                      ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` over used lines → orders by :func:`custinv.ingest.rules.orders_from_lines`
    (one definition of an order), plus ``row``: the order's first line.

    For multi-line orders the input is partitioned by customer and sorted by customer, order
    key and line: an order's lines are neighbours, and the last customer of a batch is carried
    into the next one, so no order is split between two calls."""

    def orders_of(lines: pl.DataFrame) -> pl.DataFrame:
        orders = R.orders_from_lines(lines.drop(LINE, "__key__", strict=False), plans, one_line=one_line)
        if one_line:
            return orders.with_columns(lines[LINE].alias("row"))
        first = lines.group_by("customer_id", "__key__").agg(pl.col(LINE).min().alias("row"))
        return orders.join(first, left_on=["customer_id", "order_id"], right_on=["customer_id", "__key__"],
                           how="left", nulls_equal=True)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        carry: pl.DataFrame | None = None
        for batch in batches:
            lines = pl.DataFrame(pl.from_arrow(batch))
            if one_line:
                if lines.height:
                    yield from _arrow(orders_of(lines), columns)
                continue
            if carry is not None:
                lines = pl.concat([carry, lines])
            last = lines["customer_id"][-1] if lines.height else None
            tail = pl.col("customer_id").eq_missing(pl.lit(last, dtype=pl.String))
            carry, done = lines.filter(tail), lines.filter(~tail)
            if done.height:
                yield from _arrow(orders_of(done), columns)
        if carry is not None and carry.height:
            yield from _arrow(orders_of(carry), columns)

    return run


def order_key() -> Any:
    """Spark column: the order key of rules.orders_from_lines (the order id, else the customer's day)."""
    from pyspark.sql import functions as sf

    return sf.coalesce(sf.col("order_id"),
                       sf.concat_ws("|", sf.col("customer_id"), sf.date_format("order_date", "yyyy-MM-dd")))


REJECT_COLUMNS = [("file", pa.string()), ("line", pa.int64()), ("column", pa.string()), ("value", pa.string()),
                  ("reason", pa.string())]


def rejects_partitions(plans: list[R.FilePlan]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` over rejected rows → the rejects table of :func:`custinv.ingest.rules.rejects_table`."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = pl.DataFrame(pl.from_arrow(batch))
            if rows.height:
                yield from _arrow(R.rejects_table(rows, plans), REJECT_COLUMNS)

    return run
