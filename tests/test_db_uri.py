"""Database sources without a server: URIs, SQL checks, the type rules of the mapping, driver
messages, and the proof that typed values survive the trip through the shared text parsers."""

from __future__ import annotations

import datetime as dt
import decimal
import sys

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custinv.config import load_settings
from custinv.errors import DataError, InputError, SourceAuthError, SourceUnavailable, UsageError
from custinv.ingest import fields as F
from custinv.ingest import parse
from custinv.ingest.readers import ColumnType, to_text
from custinv.ingest.sources import as_source, expand_sources
from custinv.ingest.sources.database import DatabaseSource, check_select, check_where, quote_table
from custinv.ingest.sources.drivers import _Scrubber, classify, server_message
from custinv.ingest.sources.sqltypes import refine_mapping
from custinv.ingest.sources.uri import parse_uri

# --- URIs -------------------------------------------------------------------------------------


def test_postgres_uri_parts_and_display() -> None:
    uri = parse_uri("postgresql://ana@db.example:5433/shop?table=sales.orders&sslmode=require")
    assert (uri.backend, uri.user, uri.host, uri.port, uri.database, uri.table) == (
        "postgresql", "ana", "db.example", 5433, "shop", "sales.orders")
    assert uri.params == (("sslmode", "require"),)
    assert uri.display() == "postgresql://ana@db.example:5433/shop?table=sales.orders&sslmode=require"
    assert uri.driver_uri("p@ss w/rd") == "postgresql://ana:p%40ss%20w%2Frd@db.example:5433/shop?sslmode=require"


@pytest.mark.parametrize("text", [
    "postgresql://ana:hunter2@db/shop?table=o",
    "mysql://ana:hunter2@db/shop?table=o",
    "postgres://db/shop?table=o&password=hunter2",
])
def test_a_password_in_the_uri_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_uri(text)
    assert "hunter2" not in caught.value.message and "hunter2" not in (caught.value.hint or "")
    assert "CUSTINV_DB_PASSWORD" in (caught.value.hint or "")


def test_file_uris_follow_sqlalchemy() -> None:
    assert parse_uri("sqlite:///shop.db?table=orders").database == "shop.db"
    assert parse_uri("sqlite:////srv/data/shop.db?table=orders").database == "/srv/data/shop.db"
    assert parse_uri("duckdb:///wh.duckdb?table=main.orders").table == "main.orders"
    with pytest.raises(UsageError):
        parse_uri("sqlite://host/shop.db")
    with pytest.raises(UsageError):
        parse_uri("postgresql://db")  # no database name


def test_expand_sources_keeps_uris_and_refuses_mixing(tmp_path: pytest.TempPathFactory) -> None:
    [source] = expand_sources(["duckdb:///wh.duckdb?table=o"])
    assert isinstance(source, DatabaseSource) and str(source) == "duckdb:///wh.duckdb?table=o"
    with pytest.raises(UsageError, match="on its own"):
        expand_sources(["duckdb:///wh.duckdb?table=o", "sqlite:///s.db?table=o"])
    assert str(as_source("orders.csv")) == "orders.csv"


# --- SQL checks ---------------------------------------------------------------------------------


def test_check_select() -> None:
    assert check_select("select 1;  \n") == "select 1"
    assert check_select("WITH x AS (SELECT 1) SELECT * FROM x").startswith("WITH")
    commented = "select ';' as semi -- a comment; with a semicolon"
    assert check_select(commented + "\n") == commented
    for bad in ("delete from orders", "select 1; drop table orders", "", "/* select */ update t set a = 1"):
        with pytest.raises(UsageError):
            check_select(bad)


def test_check_where_and_quoting() -> None:
    assert check_where("region = 'EU'") == "region = 'EU'"
    with pytest.raises(UsageError):
        check_where("1 = 1; delete from orders")
    assert quote_table('sales.or"ders', "postgresql") == '"sales"."or""ders"'
    assert quote_table("shop.orders", "mysql") == "`shop`.`orders`"


# --- the mapping on names and types -----------------------------------------------------------------


def test_the_only_date_column_becomes_the_order_date() -> None:
    columns = ["buyer", "booked", "total"]
    types = {"buyer": ColumnType("text", "text"), "booked": ColumnType("timestamp", "date"),
             "total": ColumnType("numeric", "number")}
    mapping, notes = refine_mapping(F.map_columns(columns, {"customer_id": "buyer", "amount": "total"}), types)
    assert mapping.column("order_date") == "booked"
    assert notes and "guessed" in notes[0]


def test_a_type_that_cannot_hold_the_field_is_refused() -> None:
    columns = ["Customer ID", "Order Date", "Amount", "Paid"]
    types = {"Customer ID": ColumnType("text", "text"), "Order Date": ColumnType("bool", "boolean"),
             "Amount": ColumnType("date", "date"), "Paid": ColumnType("date", "date")}
    mapping, notes = refine_mapping(F.map_columns(columns), types)
    assert mapping.column("amount") is None
    assert mapping.column("order_date") is None  # two date columns left: no guess
    assert any("'Amount' is a date column" in n for n in notes)
    pinned, _ = refine_mapping(F.map_columns(columns, {"amount": "Amount"}), types)
    assert pinned.column("amount") == "Amount"  # --map is the user's word


def test_files_have_no_types_and_keep_their_mapping() -> None:
    mapping = F.map_columns(["Customer ID", "Order Date", "Amount"])
    assert refine_mapping(mapping, {}) == (mapping, [])


# --- typed values through the shared text parsers ------------------------------------------------


@given(st.lists(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=50))
def test_decimals_survive_to_text_exactly(values: list[decimal.Decimal]) -> None:
    typed = pl.DataFrame({"amount": pl.Series(values, dtype=pl.Decimal(18, 2))})
    text, _ = to_text(typed)
    assert parse.money_is_plain(text["amount"], parse.detect_money_format(text["amount"]))
    parsed = text.select(parse.plain_money_expr("amount"))["amount"].to_list()
    assert parsed == [float(v) for v in values]  # the same float a direct cast gives
    assert [decimal.Decimal(t) for t in text["amount"].to_list()] == values  # the exact digits


@given(st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)), min_size=1, max_size=50))
def test_dates_survive_to_text(values: list[dt.date]) -> None:
    text, _ = to_text(pl.DataFrame({"d": pl.Series(values, dtype=pl.Date)}))
    assert parse.dates_are_plain(text["d"])
    assert text.select(parse.plain_date_expr("d"))["d"].to_list() == values


@given(st.lists(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2199, 12, 31)),
                min_size=1, max_size=50))
def test_timestamps_are_their_wall_clock_date(values: list[dt.datetime]) -> None:
    text, _ = to_text(pl.DataFrame({"ts": pl.Series(values, dtype=pl.Datetime("us"))}))
    fmt = parse.detect_date_format(text["ts"])
    assert text.select(parse.date_expr("ts", fmt))["ts"].to_list() == [v.date() for v in values]


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), min_size=1, max_size=50))
def test_integers_survive_to_text(values: list[int]) -> None:
    text, _ = to_text(pl.DataFrame({"n": pl.Series(values, dtype=pl.Int64)}))
    assert text["n"].to_list() == [str(v) for v in values]
    assert text.select(parse.id_expr("n"))["n"].to_list() == [str(v) for v in values]


# --- driver messages and errors ----------------------------------------------------------------------


def test_server_messages_lose_the_driver_noise() -> None:
    raw = ('NOT_FOUND: Failed to prepare query: ERROR:  relation "nope" does not exist\nLINE 1: select * from nope\n'
           '                      ^\n\nQuery was: select * from nope. SQLSTATE: 42P01')
    assert server_message(raw) == 'relation "nope" does not exist'


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("message", "state", "connecting", "kind"), [
    ("IO: [libpq] Failed to connect: connection to server at \"h\", port 1 failed: Connection refused", None, True,
     SourceUnavailable),
    ("FATAL:  password authentication failed for user \"ana\"", None, True, SourceAuthError),
    ("timed out waiting for connection: MySqlError { ERROR 1045 (28000): Access denied for user 'a'@'h' }", None,
     True, SourceAuthError),
    ("FATAL:  database \"nope\" does not exist", None, True, InputError),
    ("ERROR:  column \"x\" does not exist", "42703", False, InputError),
    ("MySqlError { ERROR 1146 (42S02): Table 'shop.nope' doesn't exist }", None, False, InputError),
    ("ERROR:  syntax error at or near \"from\"", "42601", False, DataError),
])
def test_classify(message: str, state: str | None, connecting: bool, kind: type) -> None:
    error = classify(_DriverError(message, state), "db", _Scrubber(), connecting=connecting)
    assert type(error) is kind


def test_secrets_are_scrubbed_from_messages() -> None:
    scrub = _Scrubber(["postgresql://ana:hunter2@h/shop", "hunter2"], "postgresql://ana@h/shop")
    error = classify(_DriverError("could not connect to postgresql://ana:hunter2@h/shop (hunter2)"), "db", scrub,
                     connecting=True)
    assert "hunter2" not in error.message and "postgresql://ana@h/shop" in error.message


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    from custinv.ingest.sources import drivers

    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)  # import fails
    with pytest.raises(UsageError) as caught:
        drivers.connect(parse_uri("postgresql://a@127.0.0.1:1/shop?table=o"), None)
    assert "custinv[db]" in (caught.value.hint or "")


def test_the_password_setting_comes_from_env_or_the_source_table(tmp_path: pytest.TempPathFactory,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "custinv.toml"
    config.write_text('[source]\npassword = "from-file"\nwhere = "region = \'EU\'"\n')
    settings = load_settings({}, config_path=config, environ={})
    assert settings.db_password is not None and settings.db_password.get_secret_value() == "from-file"
    assert settings.where == "region = 'EU'"
    assert "from-file" not in repr(settings) and "db_password" not in settings.number_settings()
    settings = load_settings({}, config_path=config, environ={"CUSTINV_DB_PASSWORD": "from-env"})
    assert settings.db_password is not None and settings.db_password.get_secret_value() == "from-env"
