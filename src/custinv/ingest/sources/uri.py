"""Database URIs: parse ``postgresql://user@host:5432/shop?table=sales.orders`` and friends,
show them without secrets, and build the driver's own connection string with the password.

The password never travels in a URI the user typed (argv is visible to every process and
lands in shell history): a URI with a password is refused, and the password comes from the
environment (``CUSTINV_DB_PASSWORD``; ``PGPASSWORD`` and ``~/.pgpass`` through libpq itself;
``MYSQL_PWD`` for MySQL) or from ``[source] password`` in custinv.toml. The connection string
that holds it lives only inside this process and is scrubbed from every error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from custinv.errors import UsageError

Backend = Literal["postgresql", "mysql", "sqlite", "duckdb"]

SCHEMES: dict[str, Backend] = {
    "postgresql": "postgresql", "postgres": "postgresql",
    "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "sqlite3": "sqlite",
    "duckdb": "duckdb",
}
"""URI schemes custinv reads, and the backend each one names."""

_OURS = ("table",)  # query parameters custinv reads itself; the rest go to the driver
_FILE_BACKENDS = ("sqlite", "duckdb")
PASSWORD_SOURCES = ("CUSTINV_DB_PASSWORD, PGPASSWORD or ~/.pgpass (PostgreSQL), MYSQL_PWD (MySQL), "
                    "or [source] password in custinv.toml")


def is_database_uri(text: str) -> bool:
    """Does ``text`` name a database (``scheme://...`` with a scheme custinv reads)?"""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


@dataclass(frozen=True)
class DatabaseUri:
    """A parsed database URI, without any password (see the module docstring)."""

    backend: Backend
    scheme: str
    user: str | None
    host: str | None
    port: int | None
    database: str  # the database name, or the file path for SQLite / DuckDB
    table: str | None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def is_file(self) -> bool:
        return self.backend in _FILE_BACKENDS

    @property
    def path(self) -> Path:
        """The database file (SQLite / DuckDB)."""
        return Path(self.database)

    def display(self) -> str:
        """The URI as the user wrote it, minus any secret: safe for reports, errors and logs."""
        if self.is_file:
            base = f"{self.scheme}:///{self.database}"
        else:
            auth = f"{quote(self.user, safe='')}@" if self.user else ""
            port = f":{self.port}" if self.port else ""
            base = f"{self.scheme}://{auth}{self.host or ''}{port}/{quote(self.database, safe='')}"
        params = ([("table", self.table)] if self.table else []) + list(self.params)
        return base + ("?" + urlencode(params, safe="./", quote_via=quote) if params else "")

    def driver_uri(self, password: str | None) -> str:
        """The server connection string for the driver (never shown: it may hold the password)."""
        auth = quote(self.user, safe="") if self.user else ""
        if password is not None:
            auth += ":" + quote(password, safe="")
        host = self.host or "localhost"
        port = f":{self.port}" if self.port else ""
        scheme = "postgresql" if self.backend == "postgresql" else "mysql"
        query = "?" + urlencode(self.params, quote_via=quote) if self.params else ""
        return f"{scheme}://{auth}{'@' if auth else ''}{host}{port}/{quote(self.database, safe='')}{query}"


def parse_uri(text: str) -> DatabaseUri:
    """Parse a database URI; a password in it, a missing database or a bad port is a usage error.

    SQLite and DuckDB follow SQLAlchemy's convention: ``sqlite:///shop.db`` is relative to the
    current folder, ``sqlite:////srv/data/shop.db`` is absolute.
    """
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    backend = SCHEMES.get(scheme)
    if backend is None:
        raise UsageError(f"unknown database scheme {parts.scheme!r}", hint="use " + ", ".join(f"{s}://" for s in SCHEMES))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    table = next((v for k, v in pairs if k == "table"), None) or None
    params = tuple((k, v) for k, v in pairs if k not in _OURS)
    if parts.password is not None or any(k.lower() == "password" for k, _ in params):
        safe = DatabaseUri(backend, scheme, parts.username, parts.hostname, None, unquote(parts.path.lstrip("/")), table)
        raise UsageError(
            f"{safe.display()}: a password in the URI would show in the process list and shell history; "
            "custinv refuses it",
            hint=f"remove it from the URI and give it by {PASSWORD_SOURCES}",
        )
    if backend in _FILE_BACKENDS:
        if parts.netloc:
            raise UsageError(f"{text}: a {backend} URI names a file, not a host",
                             hint=f"{scheme}:///relative/file.db or {scheme}:////absolute/file.db")
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise UsageError(f"{text}: no database file", hint=f"e.g. {scheme}:///shop.db?table=orders")
        return DatabaseUri(backend, scheme, None, None, None, path, table, params)
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{text}: the port is not a number") from exc
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise UsageError(f"{text}: no database name", hint=f"e.g. {scheme}://user@host:5432/shop?table=orders")
    return DatabaseUri(backend, scheme, unquote(parts.username) if parts.username else None,
                       parts.hostname, port, database, table, params)


def password_for(uri: DatabaseUri, configured: str | None) -> str | None:
    """The password to send, or None to let the driver find one (libpq: PGPASSWORD, ~/.pgpass).

    ``configured`` is the settings' db_password (CUSTINV_DB_PASSWORD, else ``[source] password``
    in custinv.toml); then MYSQL_PWD for MySQL (the mysql client's variable)."""
    for value in (configured, os.environ.get("MYSQL_PWD") if uri.backend == "mysql" else None):
        if value:
            return value
    return None
