"""Database sources against real databases: a PostgreSQL server started here, a MariaDB server
where one is installed, real SQLite and DuckDB files.

The acceptance check: every example export loaded into a database — as text columns, and as
typed columns (dates, timestamps, integers, exact decimals) — gives the same `audit --format
json` as the file, paths aside. Every run also checks that the password appears in no output.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _databases import (
    PASSWORD,
    MariaDb,
    Postgres,
    example_table,
    mariadb_execute,
    mariadb_load,
    mariadb_server,
    postgres_server,
    typed,
)
from conftest import EXAMPLES, assert_accounting, run_cli

duckdb = pytest.importorskip("duckdb", reason="the db extra (pip install '.[db]') is not installed")
pytest.importorskip("adbc_driver_postgresql", reason="the db extra (pip install '.[db]') is not installed")
pytest.importorskip("adbc_driver_sqlite", reason="the db extra (pip install '.[db]') is not installed")

ORDER_EXAMPLES = ["shopify_orders.csv", "crm_orders_zh.csv", "salesforce_opportunities.csv", "sales_ledger.xlsx"]
PW_ENV = {"CUSTINV_DB_PASSWORD": PASSWORD}


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
    """custinv as a real process; the password must never appear in anything it prints."""
    proc = run_cli(*args, env={**PW_ENV, **(env or {})}, cwd=cwd)
    assert PASSWORD not in proc.stdout and PASSWORD not in proc.stderr, "the password leaked into an output"
    return proc


def audit(source: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = run("audit", source, *extra, "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    assert_accounting(result["source"])
    return result


_READ_FACTS = ("path", "format", "encoding", "delimiter", "sheet", "header_row", "notes")


def paths_aside(value: Any) -> Any:
    """The JSON without how each input was read (path, format, encoding, ... notes)."""
    if isinstance(value, dict):
        drop = _READ_FACTS if "rows_read" in value else ("customers_file", "tickets") if "sla_hours" in value else ()
        return {k: paths_aside(v) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [paths_aside(v) for v in value]
    return value


def assert_same_audit(from_db: dict[str, Any], from_file: dict[str, Any]) -> None:
    a, b = paths_aside(from_db), paths_aside(from_file)
    for key in b:  # key by key first: a failure names the section
        assert a.get(key) == b[key], key
    assert a == b


@pytest.fixture(scope="module")
def file_audits() -> dict[str, dict[str, Any]]:
    return {name: audit(str(EXAMPLES / name)) for name in ORDER_EXAMPLES}


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return {name: example_table(EXAMPLES / name) for name in ORDER_EXAMPLES}


def table_name(example: str, kind: str) -> str:
    return example.split(".")[0] + "_" + kind


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(tables: dict[str, pl.DataFrame]) -> Iterator[Postgres]:
    with postgres_server() as server:
        for name, frame in tables.items():
            server.load(table_name(name, "text"), frame)
            server.load(table_name(name, "typed"), typed(frame))
        server.execute(  # five small orders, for the filter, cache and error tests
            "CREATE TABLE pushed (customer_id text, order_id text, order_date date, amount numeric(12,2), region text)",
            "INSERT INTO pushed VALUES ('a','1','2024-01-10',10.10,'EU'), ('a','2','2024-02-10',20.20,'EU'),"
            " ('b','3','2024-03-10',30.30,'US'), ('c','4','2024-04-10',40.40,'EU'), ('c','5','2024-05-10',50.50,'EU')",
        )
        yield server


@pytest.mark.parametrize("example", ORDER_EXAMPLES)
@pytest.mark.parametrize("kind", ["text", "typed"])
def test_postgres_audit_equals_the_file(pg: Postgres, file_audits: dict[str, Any], example: str, kind: str) -> None:
    result = audit(pg.uri(table_name(example, kind)))
    assert result["source"]["files"][0]["path"] == pg.uri(table_name(example, kind))
    assert result["source"]["files"][0]["format"] == "postgresql"
    assert_same_audit(result, file_audits[example])


def test_typed_tables_really_are_typed(pg: Postgres, tables: dict[str, pl.DataFrame]) -> None:
    """The typed variant holds real date, timestamp and numeric columns (else the test above
    would only compare text with text)."""
    proc = run("inspect", pg.uri(table_name("shopify_orders.csv", "typed")), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    columns = json.loads(proc.stdout)["files"][0]["column_types"]
    types = {c["column"]: c["sql_type"] for c in columns}
    assert {c["column"]: c["kind"] for c in columns}["Total"] == "number"
    assert {c["column"]: c["field"] for c in columns}["Created at"] == "order_date"
    assert types["Created at"] == "timestamp"
    assert types["Total"] == "numeric"
    assert types["Lineitem quantity"] == "int8"
    assert types["Name"] == "text"
    proc = run("inspect", pg.uri(table_name("sales_ledger.xlsx", "typed")), "--format", "json")
    kinds = {c["column"]: c["sql_type"] for c in json.loads(proc.stdout)["files"][0]["column_types"]}
    assert "date" in kinds.values()


def test_inspect_table_shows_sql_types_and_decisions(pg: Postgres) -> None:
    proc = run("inspect", pg.uri(table_name("shopify_orders.csv", "typed")))
    assert proc.returncode == 0, proc.stderr
    assert "SQL type" in proc.stdout
    assert "timestamp" in proc.stdout and "numeric" in proc.stdout


def test_query_where_since_and_as_of_are_pushed_down(pg: Postgres) -> None:
    everything = audit(pg.uri("pushed"), "--no-clv")
    assert everything["source"]["rows_read"] == 5
    assert everything["kpis"]["revenue"] == pytest.approx(151.50)

    narrowed = audit(pg.uri("pushed"), "--no-clv", "--where", "region = 'EU'", "--since", "2024-02-01",
                     "--as-of", "2024-04-30")
    source = narrowed["source"]
    assert source["rows_read"] == 2  # orders 2 and 4: the others were never fetched
    assert source["rows_excluded"] == {}
    assert narrowed["kpis"]["revenue"] == pytest.approx(60.60)
    notes = " ".join(source["files"][0]["notes"])
    assert "region = 'EU'" in notes and "2024-02-01" in notes and "2024-04-30" in notes

    query = audit(pg.uri(), "--no-clv", "--query", "select * from pushed where amount > 25;")
    assert query["source"]["rows_read"] == 3
    assert query["kpis"]["revenue"] == pytest.approx(121.20)


def test_schema_qualified_table_names_are_quoted(pg: Postgres) -> None:
    pg.execute('CREATE SCHEMA IF NOT EXISTS "Sales"', 'DROP TABLE IF EXISTS "Sales"."Orders 2024"',
               'CREATE TABLE "Sales"."Orders 2024" AS SELECT * FROM pushed')
    assert audit(pg.uri("Sales.Orders%202024"), "--no-clv")["source"]["rows_read"] == 5
    proc = run("audit", pg.uri("pushed;drop table pushed"))
    assert proc.returncode == 66  # one (odd) table name, never SQL
    assert audit(pg.uri("pushed"), "--no-clv")["source"]["rows_read"] == 5


def test_query_file(pg: Postgres, tmp_path: Path) -> None:
    sql = tmp_path / "orders.sql"
    sql.write_text("-- big orders\nSELECT customer_id, order_id, order_date, amount\nFROM pushed\nWHERE amount > 25\n",
                   encoding="utf-8")
    assert audit(pg.uri(), "--no-clv", "--query-file", str(sql))["source"]["rows_read"] == 3


def test_as_of_on_a_text_date_column_is_applied_after_reading(pg: Postgres) -> None:
    result = audit(pg.uri(table_name("shopify_orders.csv", "text")), "--no-clv", "--as-of", "2024-02-29")
    by_file = audit(str(EXAMPLES / "shopify_orders.csv"), "--no-clv", "--as-of", "2024-02-29")
    assert result["source"]["rows_excluded"].get("after_as_of", 0) > 0
    assert_same_audit(result, by_file)


def test_timestamptz_is_read_in_the_session_time_zone(pg: Postgres) -> None:
    """01:30 in Shanghai on 5 March is 4 March in UTC: the order is on the date its clients show."""
    pg.execute(
        "DROP TABLE IF EXISTS tz_orders",
        "CREATE TABLE tz_orders (customer_id text, order_id text, created_at timestamptz, amount numeric)",
        "INSERT INTO tz_orders VALUES ('a','1','2024-03-05 01:30:00+08',10), ('b','2','2024-03-06 12:00:00+08',5)",
    )
    uri = pg.uri("tz_orders") + "&options=-c%20TimeZone%3DAsia/Shanghai"
    proc = run("inspect", uri, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    samples = json.loads(proc.stdout)["samples"]
    assert sorted(str(r["order_date"]) for r in samples) == ["2024-03-05", "2024-03-06"]
    utc = run("inspect", pg.uri("tz_orders"), "--format", "json")
    assert sorted(str(r["order_date"]) for r in json.loads(utc.stdout)["samples"]) == ["2024-03-04", "2024-03-06"]


def test_customers_file_and_tickets_from_postgres(pg: Postgres) -> None:
    for name in ("crm_accounts.csv", "tickets.csv"):
        pg.load(name.split(".")[0], example_table(EXAMPLES / name))
    pg.load("sf_orders", example_table(EXAMPLES / "salesforce_opportunities.csv"))
    from_files = audit(str(EXAMPLES / "salesforce_opportunities.csv"), "--customers-file",
                       str(EXAMPLES / "crm_accounts.csv"), "--tickets", str(EXAMPLES / "tickets.csv"))
    from_db = audit(pg.uri("sf_orders"), "--customers-file", pg.uri("crm_accounts"), "--tickets", pg.uri("tickets"))
    assert from_db["customer_book"] is not None and from_db["service"] is not None
    assert_same_audit(from_db, from_files)


def test_cache_keys_on_the_query_and_a_freshness_probe(pg: Postgres, tmp_path: Path) -> None:
    pg.execute("DROP TABLE IF EXISTS cached", "CREATE TABLE cached AS SELECT * FROM pushed")
    cache = tmp_path / "cache"
    first = audit(pg.uri("cached"), "--no-clv", "--cache", str(cache))
    assert len(list(cache.iterdir())) == 1
    again = audit(pg.uri("cached"), "--no-clv", "--cache", str(cache))
    assert again == first and len(list(cache.iterdir())) == 1  # unchanged data: a hit
    audit(pg.uri("cached"), "--no-clv", "--cache", str(cache), "--where", "amount > 15")
    assert len(list(cache.iterdir())) == 2  # another query: another entry
    pg.execute("INSERT INTO cached VALUES ('d','6','2024-06-10',60.60,'EU')")
    fresh = audit(pg.uri("cached"), "--no-clv", "--cache", str(cache))
    assert len(list(cache.iterdir())) == 3  # new rows: the probe changed, the data was read again
    assert fresh["source"]["rows_read"] == 6


@pytest.mark.parametrize(
    ("make_uri", "env", "code", "words"),
    [
        (lambda pg: f"postgresql://analyst@127.0.0.1:{_closed_port()}/postgres?table=pushed", {}, 69,
         "cannot reach the database server"),
        (lambda pg: pg.uri("pushed"), {"CUSTINV_DB_PASSWORD": "wrong-password"}, 77, "refused the login"),
        (lambda pg: pg.uri("no_such_table"), {}, 66, 'relation "no_such_table" does not exist'),
        (lambda pg: pg.uri("pushed", database="no_such_db"), {}, 66, 'database "no_such_db" does not exist'),
    ],
)
def test_server_errors_have_their_exit_codes(pg: Postgres, make_uri: Any, env: dict[str, str], code: int,
                                             words: str) -> None:
    for fmt in ("table", "json"):
        proc = run("audit", make_uri(pg), "--format", fmt, env=env)
        assert proc.returncode == code, proc.stderr
        assert "Traceback" not in proc.stderr
        if fmt == "json":
            error = json.loads(proc.stderr.strip().splitlines()[-1])["error"]
            assert error["exit_code"] == code and words in error["message"]
        else:
            assert words in " ".join(proc.stderr.split())


def test_missing_column_and_bad_query(pg: Postgres) -> None:
    proc = run("audit", pg.uri(), "--query", "select nope from pushed")
    assert proc.returncode == 66 and 'column "nope" does not exist' in proc.stderr
    proc = run("audit", pg.uri(), "--query", "select customer_id, order_date, amount from pushed where amount >")
    assert proc.returncode == 65 and "syntax error" in proc.stderr
    proc = run("audit", pg.uri("pushed"), "--where", "amount / 0 > 1")
    assert proc.returncode == 65 and "division by zero" in proc.stderr


def test_only_a_select_is_sent_and_the_session_is_read_only(pg: Postgres) -> None:
    proc = run("audit", pg.uri(), "--query", "delete from pushed")
    assert proc.returncode == 2 and "must be a SELECT" in proc.stderr
    proc = run("audit", pg.uri(), "--query", "select * from pushed; drop table pushed")
    assert proc.returncode == 2 and "more than one statement" in proc.stderr
    proc = run("audit", pg.uri(), "--query",
               "with gone as (delete from pushed returning *) select * from gone")
    assert proc.returncode == 65  # refused by the server
    pg.execute("DROP SEQUENCE IF EXISTS ticks", "CREATE SEQUENCE ticks")
    proc = run("audit", pg.uri(), "--query", "select *, nextval('ticks') as tick from pushed")
    assert proc.returncode == 65 and "read-only transaction" in " ".join(proc.stderr.split())  # the session cannot write
    assert audit(pg.uri("pushed"), "--no-clv")["source"]["rows_read"] == 5  # nothing was deleted


def test_password_in_the_uri_is_refused_and_masked(pg: Postgres) -> None:
    proc = run("audit", f"postgresql://analyst:{PASSWORD}@127.0.0.1:{pg.port}/postgres?table=pushed")
    assert proc.returncode == 2 and "refuses it" in proc.stderr


def test_password_from_pgpass_and_config(pg: Postgres, tmp_path: Path) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg.port}:*:analyst:{PASSWORD}\n")
    pgpass.chmod(0o600)
    proc = run_cli("audit", pg.uri("pushed"), "--no-clv", "--format", "json",
                   env={"PGPASSFILE": str(pgpass), "CUSTINV_DB_PASSWORD": ""})
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout and PASSWORD not in proc.stderr
    (tmp_path / "custinv.toml").write_text(f'[source]\npassword = "{PASSWORD}"\n')
    proc = run_cli("audit", pg.uri("pushed"), "--no-clv", "--format", "json", cwd=tmp_path,
                   env={"CUSTINV_DB_PASSWORD": "", "PGPASSFILE": str(tmp_path / "none")})
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout and PASSWORD not in proc.stderr


def test_a_million_rows_stream_in_batches(pg: Postgres) -> None:
    pg.execute(
        "DROP TABLE IF EXISTS big",
        "CREATE TABLE big AS SELECT 'C' || (g % 50000) AS customer_id, 'O' || g AS order_id,"
        " DATE '2023-01-01' + (g % 365) AS order_date, ((g % 1000) / 10.0)::numeric(12,2) AS amount"
        " FROM generate_series(1, 1000000) AS g",
    )
    from custinv.config import Settings
    from custinv.ingest.sources import as_source
    from custinv.ingest.sources.database import DatabaseSource, plan_query
    from custinv.ingest.sources.drivers import connect

    source = as_source(pg.uri("big"))
    assert isinstance(source, DatabaseSource)
    conn = connect(source.uri, PASSWORD)
    try:
        plan = plan_query(conn, source, Settings(), main=True)
        sizes = [b.num_rows for b in conn.batches(plan.sql)]
    finally:
        conn.close()
    assert sum(sizes) == 1_000_000 and len(sizes) > 1  # batches, not one result set
    result = audit(pg.uri("big"), "--no-clv")
    assert result["source"]["rows_read"] == result["source"]["rows_used"] == 1_000_000
    assert result["kpis"]["customers"] == 50_000
    assert result["kpis"]["revenue"] == pytest.approx(sum((g % 1000) / 10 for g in range(1, 1_000_001)), abs=0.01)


def _closed_port() -> int:
    from _databases import free_port

    return free_port()  # bound and released: nothing listens there


# --- SQLite and DuckDB files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, tables: dict[str, pl.DataFrame]) -> Path:
    folder = tmp_path_factory.mktemp("dbfiles")
    with sqlite3.connect(folder / "shop.db") as conn:
        for name, frame in tables.items():
            cols = ", ".join(f'"{c}" TEXT' for c in frame.columns)
            conn.execute(f'CREATE TABLE "{table_name(name, "text")}" ({cols})')
            marks = ", ".join("?" * len(frame.columns))
            conn.executemany(f'INSERT INTO "{table_name(name, "text")}" VALUES ({marks})', frame.rows())
    con = duckdb.connect(str(folder / "wh.duckdb"))
    for name, frame in tables.items():
        text_frame, typed_frame = frame, typed(frame)  # noqa: F841 (read by name in the SQL below)
        con.execute(f'CREATE TABLE "{table_name(name, "text")}" AS SELECT * FROM text_frame')
        con.execute(f'CREATE TABLE "{table_name(name, "typed")}" AS SELECT * FROM typed_frame')
    con.close()
    return folder


@pytest.mark.parametrize("example", ORDER_EXAMPLES)
def test_sqlite_audit_equals_the_file(files: Path, file_audits: dict[str, Any], example: str) -> None:
    result = audit(f"sqlite:///{files / 'shop.db'}?table={table_name(example, 'text')}")
    assert result["source"]["files"][0]["format"] == "sqlite"
    assert_same_audit(result, file_audits[example])


@pytest.mark.parametrize("example", ORDER_EXAMPLES)
@pytest.mark.parametrize("kind", ["text", "typed"])
def test_duckdb_audit_equals_the_file(files: Path, file_audits: dict[str, Any], example: str, kind: str) -> None:
    result = audit(f"duckdb:///{files / 'wh.duckdb'}?table={table_name(example, kind)}")
    assert_same_audit(result, file_audits[example])


def test_sqlite_with_mixed_values_in_a_column(tmp_path: Path) -> None:
    """SQLite keeps whatever each row holds: numbers, text and blanks in one column are read as
    text and parsed like a file's cells (a bad amount is a rejected row, not a crash)."""
    db = tmp_path / "mixed.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (customer_id, order_date DATE, amount NUMERIC)")
        rows = [(1001, "2024-01-05", 12.5)] * 3000 + [("01002", "2024-01-06", "¥1,234.50"), ("1003", "2024-01-07", "n/a")]
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", rows)
    result = audit(f"sqlite:///{db}?table=orders", "--no-clv")
    assert result["source"]["rows_read"] == 3002
    assert result["source"]["reject_reasons"] == {"missing_amount": 1}
    assert result["kpis"]["customers"] == 2  # 1001 and 01002 (leading zero kept)
    assert result["kpis"]["revenue"] == pytest.approx(3000 * 12.5 + 1234.50)


def test_relative_sqlite_path_and_missing_file(files: Path) -> None:
    proc = run("audit", f"sqlite:///shop.db?table={table_name('shopify_orders.csv', 'text')}", "--no-clv",
               "--format", "json", cwd=files)
    assert proc.returncode == 0, proc.stderr
    proc = run("audit", "sqlite:///no/such.db?table=orders", cwd=files)
    assert proc.returncode == 66 and "no such database file" in proc.stderr


def test_duckdb_missing_table_and_bad_query(files: Path) -> None:
    uri = f"duckdb:///{files / 'wh.duckdb'}"
    proc = run("audit", uri + "?table=nope")
    assert proc.returncode == 66 and "nope" in proc.stderr
    proc = run("audit", uri, "--query", "select from where")
    assert proc.returncode == 65 and "syntax error" in proc.stderr.lower()


def test_since_needs_a_typed_date_column(files: Path) -> None:
    uri = f"duckdb:///{files / 'wh.duckdb'}?table={table_name('shopify_orders.csv', 'text')}"
    proc = run("audit", uri, "--since", "2024-02-01")
    assert proc.returncode == 2 and "--where" in proc.stderr
    typed_uri = f"duckdb:///{files / 'wh.duckdb'}?table={table_name('shopify_orders.csv', 'typed')}"
    result = audit(typed_uri, "--since", "2024-02-01", "--no-clv")
    assert 0 < result["source"]["rows_read"] < 59


def test_database_options_on_a_file_are_usage_errors() -> None:
    proc = run("audit", str(EXAMPLES / "shopify_orders.csv"), "--where", "1 = 1")
    assert proc.returncode == 2 and "--where applies to a database source" in proc.stderr


# --- MariaDB / MySQL: the same code path ---------------------------------------------------------


@pytest.fixture(scope="module")
def maria(tables: dict[str, pl.DataFrame]) -> Iterator[MariaDb]:
    pytest.importorskip("connectorx", reason="the db extra (pip install '.[db]') is not installed")
    with mariadb_server() as server:
        mariadb_load(server, "shopify", tables["shopify_orders.csv"])
        yield server


def test_mysql_audit_equals_the_file(maria: MariaDb, file_audits: dict[str, Any]) -> None:
    result = audit(maria.uri("shopify"))
    assert result["source"]["files"][0]["format"] == "mysql"
    assert_same_audit(result, file_audits["shopify_orders.csv"])


def test_mysql_errors(maria: MariaDb) -> None:
    proc = run("audit", maria.uri("shopify"), env={"CUSTINV_DB_PASSWORD": "wrong"})  # ~30 s: connectorx retries
    assert proc.returncode == 77 and "Access denied" in proc.stderr, proc.stderr
    proc = run("audit", f"mysql://analyst@127.0.0.1:{_closed_port()}/shop?table=shopify")
    assert proc.returncode == 69 and "cannot reach" in proc.stderr, proc.stderr
    proc = run("audit", maria.uri("nope"))
    assert proc.returncode == 66, proc.stderr
    proc = run("audit", maria.uri(), "--query", "select * from shopify where")
    assert proc.returncode == 65, proc.stderr
    mariadb_execute(maria, "SELECT 1")  # the server is still fine


def _session_value(uri: str, sql: str) -> object:
    from custinv.ingest.sources.drivers import connect
    from custinv.ingest.sources.uri import parse_uri

    conn = connect(parse_uri(uri), PASSWORD)
    try:
        return next(b for b in conn.batches(sql) if b.num_rows).column(0)[0].as_py()
    finally:
        conn.close()


def test_sessions_are_read_only(pg: Postgres, maria: MariaDb) -> None:
    assert _session_value(pg.uri(), "SELECT current_setting('transaction_read_only')") == "on"
    assert _session_value(maria.uri(), "SELECT @@session.tx_read_only") == 1


def test_the_password_is_in_no_report_snapshot_or_list(pg: Postgres, tmp_path: Path) -> None:
    """Every file a run writes (xlsx members unzipped) is grepped for the password; the source
    URI itself is there, so the grep looks where a leak would be."""
    import zipfile

    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    proc = run("audit", pg.uri(table_name("shopify_orders.csv", "text")), "--excel", str(tmp_path / "s.xlsx"),
               "--html", str(tmp_path / "s.html"), "--snapshot", str(snapshots), "--customers-out",
               str(tmp_path / "c.csv"), "--rejects", str(tmp_path / "r.csv"), "--format", "json", "--timings")
    assert proc.returncode == 0, proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 5
    seen_uri = False
    for path in written:
        blobs = ([zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()]
                 if path.suffix == ".xlsx" else [path.read_bytes()])
        for blob in blobs:
            assert PASSWORD.encode() not in blob, f"the password leaked into {path.name}"
            seen_uri = seen_uri or f"127.0.0.1:{pg.port}".encode() in blob
    assert seen_uri
