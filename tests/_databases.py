"""Real database servers and files for the database-source tests.

PostgreSQL and MariaDB are real servers started on a temporary folder and a free loopback
port (``initdb``/``pg_ctl``, ``mariadb-install-db``/``mariadbd``); they skip with the reason
only where no server binary is installed (``.ci/run`` installs both under CI=true). Both
refuse to run as root, so as root the server runs as an unprivileged user (``postgres`` /
``mysql`` when the package created it, else ``nobody``) that owns the temporary folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

PASSWORD = "Sup3r-s3cret-pw"
USER = "analyst"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user(preferred: str) -> str | None:
    """The user to run a server as: None when not root, else ``preferred`` or nobody."""
    if os.geteuid() != 0:
        return None
    for name in (preferred, "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("running as root and no unprivileged user to run the database server as")


def _as(user: str | None, argv: list[str]) -> list[str]:
    return argv if user is None else ["runuser", "-u", user, "--", *argv]


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<v>/bin with initdb, or the folder of initdb on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Postgres:
    host: str
    port: int
    database: str
    user: str
    password: str

    def uri(self, table: str | None = None, database: str | None = None) -> str:
        """A custinv URI (no password: it comes from the environment)."""
        base = f"postgresql://{self.user}@{self.host}:{self.port}/{database or self.database}"
        return base + (f"?table={table}" if table else "")

    def admin_uri(self) -> str:
        """A writable connection string for loading test data (holds the password)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self):  # type: ignore[no-untyped-def]
        import adbc_driver_postgresql.dbapi as pg

        return pg.connect(self.admin_uri(), autocommit=True)

    def load(self, name: str, frame: pl.DataFrame) -> None:
        """Create table ``name`` from ``frame`` (Arrow types → PostgreSQL types)."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.adbc_ingest(name, frame.to_arrow(), mode="create")

    def execute(self, *statements: str) -> None:
        with self.connect() as conn, conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)


@contextmanager
def _server_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder in the system temp dir (pytest's own is root-only: the server user could
    not enter it; a short path also keeps the socket path within its length limit)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); .ci/run installs the postgresql package under CI=true")
    user = _server_user("postgres")
    with _server_folder("custinv-pg-") as tmp:
        yield from _run_postgres(bindir, user, tmp)


def _run_postgres(bindir: Path, user: str | None, tmp: Path) -> Iterator[Postgres]:
    (tmp / "pw").write_text(PASSWORD + "\n")
    _chown_tree(tmp, user)
    data = tmp / "data"
    port = free_port()
    subprocess.run(_as(user, [str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={tmp / 'pw'}",
                              "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]),
                   check=True, capture_output=True)
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(_as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(tmp / "log"), "-w",
                              "-t", "60", "start"]), check=True, capture_output=True)
    try:
        yield Postgres("127.0.0.1", port, "postgres", USER, PASSWORD)
    finally:
        subprocess.run(_as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)


# --- MariaDB / MySQL --------------------------------------------------------------------------


@dataclass
class MariaDb:
    host: str
    port: int
    database: str
    user: str
    password: str
    socket: Path
    client: str

    def uri(self, table: str | None = None) -> str:
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}" + (f"?table={table}" if table else "")


@contextmanager
def mariadb_server() -> Iterator[MariaDb]:
    daemon = shutil.which("mariadbd") or shutil.which("mysqld") or next(
        (p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if os.path.exists(p)), None)
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if daemon is None or install is None or client is None:
        pytest.skip("no MariaDB/MySQL server binaries; .ci/run installs mariadb-server under CI=true")
    user = _server_user("mysql")
    with _server_folder("custinv-my-") as tmp:
        yield from _run_mariadb(daemon, install, client, user, tmp)


def _run_mariadb(daemon: str, install: str, client: str, user: str | None, tmp: Path) -> Iterator[MariaDb]:
    _chown_tree(tmp, user)
    data, sock, port = tmp / "data", tmp / "mysqld.sock", free_port()
    subprocess.run(_as(user, [install, f"--datadir={data}", "--auth-root-authentication-method=normal",
                              "--skip-test-db"]), check=True, capture_output=True)
    proc = subprocess.Popen(_as(user, [daemon, "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                                       f"--port={port}", "--bind-address=127.0.0.1", f"--pid-file={tmp / 'pid'}",
                                       "--skip-log-bin", "--innodb-buffer-pool-size=16M"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if sock.exists():
                break
            time.sleep(0.1)
        setup = (f"CREATE DATABASE shop; CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
                 f"GRANT SELECT ON shop.* TO '{USER}'@'127.0.0.1';")
        subprocess.run([client, f"--socket={sock}", "-uroot", "-e", setup], check=True, capture_output=True)
        yield MariaDb("127.0.0.1", port, "shop", USER, PASSWORD, sock, client)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def mariadb_execute(server: MariaDb, *statements: str) -> None:
    """Run statements as root through the server's socket (the mariadb command-line client)."""
    subprocess.run([server.client, f"--socket={server.socket}", "-uroot", server.database, "-e", ";\n".join(statements)],
                   check=True, capture_output=True)


def mariadb_load(server: MariaDb, name: str, frame: pl.DataFrame) -> None:
    """Create table ``name`` with every column TEXT and insert ``frame``'s rows."""
    def literal(value: object) -> str:
        return "NULL" if value is None else "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"

    columns = ", ".join(f"`{c}` TEXT" for c in frame.columns)
    rows = ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in frame.iter_rows())
    statements = [f"DROP TABLE IF EXISTS `{name}`", f"CREATE TABLE `{name}` ({columns}) DEFAULT CHARSET=utf8mb4"]
    if frame.height:
        statements.append(f"INSERT INTO `{name}` VALUES {rows}")
    mariadb_execute(server, *statements)


# --- example exports as tables ------------------------------------------------------------------

_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?( ?([+-]\d{2}:?\d{2}|Z))?$"
_DECIMAL = r"^-?(0|[1-9]\d*)(\.\d+)?$"
_INTEGER = r"^-?(0|[1-9]\d{0,14})$"


def typed(frame: pl.DataFrame) -> pl.DataFrame:
    """The text table as a DBA would load it: a column whose every value is a plain date,
    timestamp, integer or decimal becomes a date, a timestamp (the wall-clock time as written),
    a bigint or an exact decimal; the rest (ids with leading zeros, formatted money) stays text."""
    exprs: list[pl.Expr] = []
    for name in frame.columns:
        values = frame[name].drop_nulls().str.strip_chars()
        values = values.filter(values != "")
        column = pl.col(name).str.strip_chars()
        column = pl.when(column == "").then(None).otherwise(column)
        if values.len() == 0:
            exprs.append(pl.col(name))
        elif values.str.contains(_DATE).all():
            exprs.append(column.str.strptime(pl.Date, "%Y-%m-%d").alias(name))
        elif values.str.contains(_TIMESTAMP).all():
            wall = column.str.slice(0, 19).str.replace("T", " ")
            exprs.append(wall.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M", strict=False)
                         .fill_null(wall.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False))
                         .alias(name))
        elif values.str.contains(_INTEGER).all():
            exprs.append(column.cast(pl.Int64).alias(name))
        elif values.str.contains(_DECIMAL).all():
            scale = int(values.str.extract(r"\.(\d+)$").str.len_chars().max() or 0)
            exprs.append(column.cast(pl.Decimal(18, scale)).alias(name))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def example_table(path: Path) -> pl.DataFrame:
    """An example export as custinv reads it (title rows skipped, every cell text, blank rows
    out) — the rows an analyst would have loaded into a database table."""
    from custinv.ingest import fields as F
    from custinv.ingest.readers import read_table

    raw = read_table(path, header_score=F.header_score)
    frame = raw.frame.collect() if isinstance(raw.frame, pl.LazyFrame) else raw.frame
    return frame.select(raw.columns)
