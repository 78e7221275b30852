"""A database table or query as a source: the same RawTable a file gives, read as Arrow batches.

The plan of one read (:class:`QueryPlan`) is decided before any row moves:

1. the base SELECT: ``SELECT * FROM <table>`` for ``?table=``, or the user's ``--query`` /
   ``--query-file`` (one SELECT or WITH statement, nothing after it);
2. the columns and their types, from a ``LIMIT 0`` probe of that SELECT;
3. the mapping on names and types (:mod:`.sqltypes`), which names the order-date column;
4. filters pushed down to the server: ``--where`` as written, and — on a typed date or
   timestamp column — ``--since`` and ``--as-of`` (so only orders up to as-of are fetched).

Then one SELECT streams its Arrow batches; each batch is turned into the shared text form
(:func:`custinv.ingest.readers.to_text`: ISO dates, exact decimal digits, integers without
``.0``) and the same mapping, parsing, rules and accounting as a file follow. A text date
column cannot be filtered on the server (its format is only known after parsing), so
``--as-of`` is then applied after reading, and ``--since`` needs ``--where``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from custinv.errors import UsageError
from custinv.ingest import fields as F
from custinv.ingest.readers import LINE, RAGGED, ColumnType, RawTable, drop_blank_rows, to_text
from custinv.ingest.sources import sqltypes
from custinv.ingest.sources.drivers import Connection, connect
from custinv.ingest.sources.uri import DatabaseUri

if TYPE_CHECKING:
    import pyarrow as pa

    from custinv.config import Settings

_ALIAS = "custinv_source"


@dataclass(frozen=True)
class DatabaseSource:
    """A database input: where it is (no password) — the query comes from the settings."""

    uri: DatabaseUri

    def __str__(self) -> str:
        return self.uri.display()

    @property
    def name(self) -> str:
        return self.uri.display()


@dataclass
class QueryPlan:
    """Everything decided before rows are fetched (see the module docstring)."""

    base: str  # the user's SELECT or SELECT * FROM table
    sql: str  # the statement sent: base + pushed-down filters (+ SQLite's text casts)
    columns: list[str]
    types: dict[str, ColumnType]
    date_column: str | None
    notes: list[str] = field(default_factory=list)


# --- SQL text -----------------------------------------------------------------------------


def quote_identifier(name: str, backend: str) -> str:
    """An identifier quoted for the backend (MySQL backticks, everyone else double quotes)."""
    q = "`" if backend == "mysql" else '"'
    return q + name.replace(q, q + q) + q


def quote_table(table: str, backend: str) -> str:
    """``sales.orders`` → ``"sales"."orders"``: every dotted part quoted, so no SQL rides in."""
    return ".".join(quote_identifier(part, backend) for part in table.split("."))


def _strip_sql(sql: str) -> tuple[str, list[str]]:
    """The statement without trailing semicolons, and the code outside strings and comments
    (to find a second statement)."""
    text = sql.strip().rstrip(";").strip()
    code: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            end = text.find(ch, i + 1)
            while end != -1 and end + 1 < n and text[end + 1] == ch:  # doubled quote inside
                end = text.find(ch, end + 2)
            i = n if end == -1 else end + 1
            code.append(" ")
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
            code.append(" ")
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            code.append(" ")
        else:
            code.append(ch)
            i += 1
    return text, code


def check_select(sql: str, what: str = "--query") -> str:
    """One SELECT (or WITH ... SELECT) statement, trailing semicolons removed; anything else is
    refused before it reaches the server (the session is read-only too)."""
    text, code = _strip_sql(sql)
    joined = "".join(code)
    if ";" in joined:
        raise UsageError(f"{what} holds more than one statement", hint="give one SELECT; custinv sends nothing else")
    first = joined.split(None, 1)[0].lower() if joined.split() else ""
    if first not in ("select", "with", "("):
        raise UsageError(f"{what} must be a SELECT (or WITH ... SELECT) statement, not {first.upper() or 'empty'}",
                         hint="custinv only reads: e.g. --query \"select * from orders where status <> 'test'\"")
    return text


def check_where(where: str) -> str:
    """A --where condition: one expression, no statement separator."""
    text, code = _strip_sql(where)
    if ";" in "".join(code) or not text:
        raise UsageError("--where must be one SQL condition", hint="e.g. --where \"region = 'EU'\"")
    return text


def base_query(source: DatabaseSource, settings: Settings, *, main: bool) -> str:
    """The SELECT to read: the user's --query (main input only) or the URI's table."""
    query = settings.query if main else None
    if query and source.uri.table:
        raise UsageError(f"{source}: both ?table= and --query name what to read",
                         hint="drop one of them")
    if query:
        return check_select(query)
    if source.uri.table:
        return f"SELECT * FROM {quote_table(source.uri.table, source.uri.backend)}"
    raise UsageError(f"{source}: name the table (?table=orders) or give --query / --query-file" if main
                     else f"{source}: name the table (?table=customers)",
                     hint=f"e.g. {source.uri.scheme}://…/shop?table=sales.orders")


# --- the plan -------------------------------------------------------------------------------


def _sqlite_declared(conn: Connection, table: str | None) -> dict[str, str]:
    """SQLite's declared column types of a table (a SELECT on pragma_table_info)."""
    if table is None:
        return {}
    schema, _, name = table.rpartition(".")
    sql = (f"SELECT name, type FROM pragma_table_info('{name.replace(chr(39), chr(39) * 2)}'"
           + (f", '{schema.replace(chr(39), chr(39) * 2)}')" if schema else ")"))
    frames = [pl.from_arrow(b) for b in conn.batches(sql)]
    rows = pl.concat([f for f in frames if isinstance(f, pl.DataFrame)]) if frames else pl.DataFrame()
    return {str(r[0]): str(r[1] or "") for r in rows.iter_rows()} if rows.height else {}


def plan_query(conn: Connection, source: DatabaseSource, settings: Settings, *, main: bool) -> QueryPlan:
    """Decide the statement to send (module docstring, steps 1–4)."""
    base = base_query(source, settings, main=main)
    schema = conn.schema(base)
    columns = list(schema.names)
    backend = source.uri.backend
    if backend == "sqlite":  # values carry their own types: read every column as text
        declared = _sqlite_declared(conn, source.uri.table) if not (main and settings.query) else {}
        types = {c: ColumnType(declared.get(c) or "(untyped)", "text") for c in columns}
    else:
        frame_schema = _frame(schema.empty_table()).schema
        types = sqltypes.column_types(schema, frame_schema)
    notes: list[str] = []
    date_column: str | None = None
    if main:
        mapping, _ = sqltypes.refine_mapping(F.map_columns(columns, settings.mapping), types)  # warned by the ledger
        date_column = mapping.column("order_date")
    conditions: list[str] = []
    where = settings.where if main else None
    if where:
        conditions.append(f"({check_where(where)})")
        notes.append(f"filtered in the database: {check_where(where)}")
    typed_date = date_column is not None and types[date_column].kind == "date"
    since = _since(settings) if main else None
    as_of = settings.as_of_date() if main else None
    if since is not None:
        if not typed_date:
            raise UsageError(
                f"--since needs a date or timestamp column to filter in the database; "
                f"{date_column!r} is {types[date_column].sql if date_column else 'not found'}",
                hint="filter with --where in the column's own format, e.g. --where \"order_date >= '2024-01-01'\"")
        assert date_column is not None
        conditions.append(f"{quote_identifier(date_column, backend)} >= DATE '{since.isoformat()}'")
        notes.append(f"only orders from {since.isoformat()} fetched (--since)")
    if as_of is not None and typed_date:
        assert date_column is not None
        after = (as_of + dt.timedelta(days=1)).isoformat()
        conditions.append(f"{quote_identifier(date_column, backend)} < DATE '{after}'")
        notes.append(f"only orders up to {as_of.isoformat()} fetched (--as-of)")
    select = "*"
    if backend == "sqlite":
        select = ", ".join(f"CAST({quote_identifier(c, backend)} AS TEXT) AS {quote_identifier(c, backend)}"
                           for c in columns) or "*"
    sql = f"SELECT {select} FROM ({base}) AS {_ALIAS}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    return QueryPlan(base, sql, columns, types, date_column, notes)


def _since(settings: Settings) -> dt.date | None:
    if not settings.since:
        return None
    try:
        return dt.date.fromisoformat(settings.since.strip())
    except ValueError as exc:
        raise UsageError(f"--since {settings.since!r} is not a date", hint="use YYYY-MM-DD") from exc


# --- reading --------------------------------------------------------------------------------


def _plain_arrow(data: pa.RecordBatch | pa.Table) -> Any:
    """Extension columns (PostgreSQL numeric arrives as an opaque string extension) replaced
    by their storage, which Polars reads: numeric's exact decimal text."""
    import pyarrow as pa

    columns = []
    for column in data.columns:
        if isinstance(column.type, pa.ExtensionType) or column.type.__class__.__name__ == "OpaqueType":
            storage = column.storage if hasattr(column, "storage") else pa.chunked_array(
                [c.storage for c in column.chunks], type=column.type.storage_type)
            columns.append(storage)
        else:
            columns.append(column)
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(columns, names=data.schema.names)
    return pa.Table.from_arrays(columns, names=data.schema.names)


def _frame(data: pa.RecordBatch | pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(_plain_arrow(data))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _session_time_zone(conn: Connection) -> str | None:
    """The server session's TimeZone (PostgreSQL): timestamptz values are shown in it, as the
    database's own clients show them, so a sale at 01:00 Beijing time is on its Beijing date."""
    if conn.backend != "postgresql":
        return None
    for batch in conn.batches("SELECT current_setting('TimeZone') AS tz"):
        if batch.num_rows:
            return str(batch.column(0)[0].as_py())
    return None


def _local_times(frame: pl.DataFrame, zone: str | None, notes: list[str]) -> pl.DataFrame:
    aware = [n for n, d in frame.schema.items() if isinstance(d, pl.Datetime) and d.time_zone]
    if not aware or not zone:
        return frame
    try:
        return frame.with_columns(pl.col(c).dt.convert_time_zone(zone) for c in aware)
    except pl.exceptions.PolarsError:
        message = f"time zone {zone!r} unknown here: timestamps with time zone read in UTC"
        if message not in notes:
            notes.append(message)
        return frame


def _order_day(frame: pl.DataFrame, date_column: str | None) -> pl.DataFrame:
    """A timestamp order-date column as its (wall-clock) date: the order date is a day, and an
    ISO date takes the parser's plain path (the same day the general date parser would take
    from the timestamp's text — tests/test_db_uri.py proves it)."""
    if date_column is not None and isinstance(frame.schema.get(date_column), pl.Datetime):
        return frame.with_columns(pl.col(date_column).dt.date())
    return frame


def read_database(source: DatabaseSource, settings: Settings, *, main: bool = True) -> RawTable:
    """Read a database source into the shared RawTable (text columns, rows numbered from 1)."""
    password = settings.db_password.get_secret_value() if settings.db_password else None
    conn = connect(source.uri, password)
    try:
        plan = plan_query(conn, source, settings, main=main)
        zone = _session_time_zone(conn)
        notes = list(plan.notes)
        parts: list[pl.DataFrame] = []
        dropped: list[str] = []
        for batch in conn.batches(plan.sql):
            text, lost = to_text(_order_day(_local_times(_frame(batch), zone, notes), plan.date_column))
            dropped = dropped or lost
            parts.append(text)
    finally:
        conn.close()
    if dropped:
        notes.append("columns not readable as text, left out: " + ", ".join(dropped))
    kept = [c for c in plan.columns if c not in dropped]
    frame = (pl.concat(parts, how="vertical_relaxed") if parts
             else pl.DataFrame(schema={c: pl.String for c in kept}))
    frame = frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE), pl.lit(False).alias(RAGGED))
    frame, blank = drop_blank_rows(frame, kept)
    return RawTable(frame, str(source), source.uri.backend, None, None, None, None, frame.height, blank, notes,
                    header_cells=list(kept), column_types={c: t for c, t in plan.types.items() if c in kept})


def fingerprint(source: DatabaseSource, settings: Settings) -> dict[str, Any]:
    """The cache key of a database read: the URI (no password), the exact statement, and a
    cheap freshness probe — the row count and the latest order date of what would be read."""
    password = settings.db_password.get_secret_value() if settings.db_password else None
    conn = connect(source.uri, password)
    try:
        plan = plan_query(conn, source, settings, main=True)
        latest = (f"max({quote_identifier(plan.date_column, source.uri.backend)})" if plan.date_column
                  else "NULL")
        text = _text_type(source.uri.backend)
        probe = f"SELECT count(*) AS n, CAST({latest} AS {text}) AS latest FROM ({plan.sql}) AS custinv_probe"
        frames = [_frame(b) for b in conn.batches(probe)]
    finally:
        conn.close()
    row = frames[0].row(0) if frames and frames[0].height else (None, None)
    return {"source": str(source), "sql_sha256": hashlib.sha256(plan.sql.encode()).hexdigest(),
            "rows": None if row[0] is None else int(row[0]), "latest": None if row[1] is None else str(row[1])}


def _text_type(backend: str) -> str:
    return "CHAR" if backend == "mysql" else ("VARCHAR" if backend == "duckdb" else "TEXT")
