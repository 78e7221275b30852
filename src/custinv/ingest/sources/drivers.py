"""One small connection interface over the Arrow-native drivers, and their errors mapped to ours.

* PostgreSQL: ADBC (``adbc-driver-postgresql``, libpq + COPY BINARY → Arrow record batches),
  connected with ``default_transaction_read_only=on`` so the session cannot write.
* SQLite: ADBC (``adbc-driver-sqlite``), the file opened ``mode=ro``.
* DuckDB: the ``duckdb`` package, the file opened ``read_only=True``.
* MySQL / MariaDB: connectorx's Arrow stream (no ADBC driver ships on PyPI for it); the
  session is put in read-only mode before the SELECT.

Every driver hands back Arrow record batches; no row ever passes through a Python loop. The
drivers are optional (``pip install 'custinv[db]'``): a missing one is a clear error naming
that extra. Errors are classified by SQLSTATE / server error code where the driver gives
one, else by the server's message: unreachable → 69, login refused → 77, missing database,
table or column → 66, any other query error → 65 with the server's own words.
"""

from __future__ import annotations

import importlib
import os
import re
import socket
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from custinv.errors import CustinvError, DataError, InputError, SourceAuthError, SourceUnavailable, UsageError
from custinv.ingest.sources.uri import PASSWORD_SOURCES, DatabaseUri, password_for

if TYPE_CHECKING:  # pyarrow comes with the drivers (custinv[db]); only types are needed here
    import pyarrow as pa

BATCH_ROWS = 65_536
"""Rows per Arrow batch where the driver lets us choose (DuckDB, MySQL); ADBC PostgreSQL sizes
its own batches (about 16 MB each)."""

_DRIVER_PACKAGES = {
    "postgresql": ("adbc_driver_postgresql.dbapi", "adbc-driver-postgresql"),
    "sqlite": ("adbc_driver_sqlite.dbapi", "adbc-driver-sqlite"),
    "duckdb": ("duckdb", "duckdb"),
    "mysql": ("connectorx", "connectorx"),
}


class Connection(Protocol):
    """What a source needs from a database: Arrow batches of a SELECT, and nothing else."""

    backend: str

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        """The result of one SELECT, batch by batch (the schema comes with the first)."""
        ...

    def schema(self, sql: str) -> pa.Schema:
        """The columns and Arrow types of a SELECT, without fetching its rows."""
        ...

    def close(self) -> None: ...


def _import_driver(backend: str) -> ModuleType:
    module, package = _DRIVER_PACKAGES[backend]
    if backend == "mysql":  # connectorx's connection pool logs every failed try to stderr
        os.environ.setdefault("RUST_LOG", "off")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(
            f"reading from {backend} needs the {package} driver, which is not installed",
            hint="pip install 'custinv[db]'  (the database drivers: PostgreSQL, MySQL, SQLite, DuckDB)",
        ) from exc


@dataclass
class _Scrubber:
    """Removes secrets (the password, the driver's connection string) from server messages."""

    secrets: list[str] = field(default_factory=list)
    shown: str = ""

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, self.shown if "://" in secret else "***")
        return text.strip()


def connect(uri: DatabaseUri, configured_password: str | None) -> Connection:
    """Open a read-only connection to ``uri`` (errors already mapped to exit codes)."""
    module = _import_driver(uri.backend)
    password = password_for(uri, configured_password)
    if uri.backend == "postgresql":
        return _Postgres.open(module, uri, password)
    if uri.backend == "mysql":
        return _MySql.open(module, uri, password)
    if not uri.path.is_file():
        raise InputError(f"{uri.display()}: no such database file {uri.path}",
                         hint=f"{uri.scheme}:///relative/file.db or {uri.scheme}:////absolute/file.db")
    if uri.backend == "sqlite":
        return _Sqlite.open(module, uri)
    return _DuckDb.open(module, uri)


# --- error classification -------------------------------------------------------------------

_UNREACHABLE = re.compile(
    r"connection refused|could not connect|could not translate host|timeout expired|timed out|no route to host|"
    r"network is unreachable|name or service not known|can't connect|unknown mysql server host|"
    r"server closed the connection|connection reset|failed to lookup address|\b2002\b|\b2003\b|\b2005\b",
    re.IGNORECASE)
_AUTH = re.compile(
    r"password authentication failed|no password supplied|authentication failed|access denied|"
    r"role .* does not exist|pg_hba\.conf|\b1045\b|\b1698\b", re.IGNORECASE)
_MISSING_DB = re.compile(r"database .* does not exist|unknown database|\b1049\b", re.IGNORECASE)
_MISSING = re.compile(
    r"does not exist|no such table|no such column|not found in from clause|referenced column|unknown column|"
    r"doesn't exist|\b1146\b|\b1054\b", re.IGNORECASE)
_MISSING_SQLSTATES = ("42P01", "42703", "42S02", "42S22", "3D000", "3F000")
_AUTH_SQLSTATES = ("28000", "28P01")


_DRIVER_NOISE = re.compile(
    r"^(?:[A-Z_]+: )?(?:\[\w+\] )?(?:Failed to (?:prepare|execute|step) query(?: '[^']*')?: )?(?:ERROR: +)?")


def server_message(text: str) -> str:
    """The server's own words from a driver error: without the driver's prefixes, the echo of
    the statement, the caret lines and the repeated lines libpq adds per address tried."""
    text = re.split(r"\n\s*(?:Query was:|query:)", text)[0]
    text = re.sub(r"\.? SQLSTATE: \w+\s*$", "", text.strip())
    lines: list[str] = []
    for line in text.splitlines():
        line = _DRIVER_NOISE.sub("", line.strip()).strip()
        if line and not line.startswith("LINE ") and not set(line) <= {"^", " "} and line not in lines:
            lines.append(line)
    return " ".join(lines)


def classify(exc: BaseException, where: str, scrub: _Scrubber, *, connecting: bool) -> CustinvError:
    """The custinv error for a driver exception (message scrubbed of secrets)."""
    message = server_message(scrub(str(exc)))
    state = str(getattr(exc, "sqlstate", None) or "")
    if state in _AUTH_SQLSTATES or _AUTH.search(message):
        return SourceAuthError(f"{where}: the database refused the login: {message}",
                               hint=f"check the user in the URI and the password ({PASSWORD_SOURCES})")
    if state in _MISSING_SQLSTATES or _MISSING_DB.search(message) or (not connecting and _MISSING.search(message)):
        return InputError(f"{where}: {message}",
                          hint="check the database, table and column names (custinv inspect shows the columns)")
    if connecting or state.startswith("08") or _UNREACHABLE.search(message):
        return SourceUnavailable(f"{where}: cannot reach the database server: {message}",
                                 hint="check the host, the port and that the server is running")
    return DataError(f"{where}: the database rejected the query: {message}", hint="fix the SQL (--query / --where)")


# --- drivers ----------------------------------------------------------------------------------


def _limit0(sql: str) -> str:
    return f"SELECT * FROM ({sql}) AS custinv_probe LIMIT 0"


@dataclass
class _Adbc:
    """The ADBC DB-API connection (PostgreSQL, SQLite)."""

    backend: str
    conn: Any
    where: str
    scrub: _Scrubber

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        cursor = self.conn.cursor()
        try:
            try:
                cursor.execute(sql)
                reader = cursor.fetch_record_batch()
            except Exception as exc:  # the driver's own DB-API error classes
                raise classify(exc, self.where, self.scrub, connecting=False) from exc
            try:
                yield from reader
            except Exception as exc:
                raise classify(exc, self.where, self.scrub, connecting=False) from exc
        finally:
            with suppress(Exception):
                cursor.close()

    def schema(self, sql: str) -> pa.Schema:
        cursor = self.conn.cursor()
        try:
            cursor.execute(_limit0(sql))
            return cursor.fetch_arrow_table().schema
        except Exception as exc:
            raise classify(exc, self.where, self.scrub, connecting=False) from exc
        finally:
            with suppress(Exception):
                cursor.close()

    def close(self) -> None:
        with suppress(Exception):
            self.conn.close()


class _Postgres(_Adbc):
    @classmethod
    def open(cls, module: ModuleType, uri: DatabaseUri, password: str | None) -> _Postgres:
        params = dict(uri.params)
        options = params.get("options", "")
        params["options"] = (options + " " if options else "") + "-c default_transaction_read_only=on"
        params.setdefault("connect_timeout", "10")
        params.setdefault("application_name", "custinv")
        safe = DatabaseUri(uri.backend, uri.scheme, uri.user, uri.host, uri.port, uri.database, uri.table,
                           tuple(params.items()))
        dsn = safe.driver_uri(password)
        scrub = _Scrubber([dsn, password or ""], uri.display())
        try:
            conn = module.connect(dsn, autocommit=True)
        except Exception as exc:
            raise classify(exc, uri.display(), scrub, connecting=True) from exc
        return cls("postgresql", conn, uri.display(), scrub)


class _Sqlite(_Adbc):
    @classmethod
    def open(cls, module: ModuleType, uri: DatabaseUri) -> _Sqlite:
        scrub = _Scrubber()
        try:
            conn = module.connect(f"file:{uri.path.resolve().as_posix()}?mode=ro")
        except Exception as exc:
            raise classify(exc, uri.display(), scrub, connecting=True) from exc
        return cls("sqlite", conn, uri.display(), scrub)


@dataclass
class _DuckDb:
    backend: str
    conn: Any
    where: str
    errors: tuple[type[BaseException], ...]

    @classmethod
    def open(cls, module: ModuleType, uri: DatabaseUri) -> _DuckDb:
        try:
            conn = module.connect(str(uri.path), read_only=True)
        except module.Error as exc:
            raise InputError(f"{uri.display()}: cannot open the DuckDB file: {exc}") from exc
        return cls("duckdb", conn, uri.display(), (module.Error,))

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        try:
            reader = self.conn.sql(sql).to_arrow_reader(BATCH_ROWS)
            yield from reader
        except self.errors as exc:
            raise classify(exc, self.where, _Scrubber(), connecting=False) from exc

    def schema(self, sql: str) -> pa.Schema:
        """Arrow's schema, each field tagged with DuckDB's own type name (VARCHAR, DECIMAL(12,2)…)."""
        try:
            relation = self.conn.sql(_limit0(sql))
            schema: pa.Schema = relation.to_arrow_table().schema
            for i, duck_type in enumerate(relation.types):
                schema = schema.set(i, schema.field(i).with_metadata({b"DUCKDB:type": str(duck_type).encode()}))
            return schema
        except self.errors as exc:
            raise classify(exc, self.where, _Scrubber(), connecting=False) from exc

    def close(self) -> None:
        with suppress(Exception):
            self.conn.close()


@dataclass
class _MySql:
    """connectorx opens a connection per query; each query runs in a read-only session."""

    backend: str
    module: ModuleType
    dsn: str
    where: str
    scrub: _Scrubber

    _READ_ONLY = "SET SESSION TRANSACTION READ ONLY"

    @classmethod
    def open(cls, module: ModuleType, uri: DatabaseUri, password: str | None) -> _MySql:
        try:  # connectorx retries a failing connection for 30 s: a dead server is found at once here
            socket.create_connection((uri.host or "localhost", uri.port or 3306), timeout=10).close()
        except OSError as exc:
            raise SourceUnavailable(f"{uri.display()}: cannot reach the database server: {exc}",
                                    hint="check the host, the port and that the server is running") from exc
        dsn = uri.driver_uri(password)
        source = cls("mysql", module, dsn, uri.display(), _Scrubber([dsn, password or ""], uri.display()))
        source.schema("SELECT 1")  # connect now, so a dead server or a bad login fails first (69 / 77)
        return source

    def _reader(self, sql: str, batch_size: int) -> Any:
        return self.module.read_sql(self.dsn, sql, return_type="arrow_stream", batch_size=batch_size,
                                    pre_execution_query=[self._READ_ONLY])

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._reader(sql, BATCH_ROWS)
        except Exception as exc:  # connectorx raises RuntimeError with the server's message
            raise classify(exc, self.where, self.scrub, connecting=False) from exc

    def schema(self, sql: str) -> pa.Schema:
        try:
            reader = self._reader(_limit0(sql), 1)
            schema: pa.Schema = reader.schema
            with suppress(Exception):
                reader.close()
            return schema
        except Exception as exc:
            raise classify(exc, self.where, self.scrub, connecting=sql == "SELECT 1") from exc

    def close(self) -> None:
        return None
