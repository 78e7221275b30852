"""The plain-column fast paths give exactly what the general parsers give, on every value
the plain checks accept (and the checks refuse what the general parsers would change)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.ingest import parse

ids = st.from_regex(r"\A#?[0-9A-Za-z][0-9A-Za-z_-]{0,12}\Z")  # '#1001': Shopify's order names
money = st.from_regex(r"\A-?[0-9]{1,20}(\.[0-9]{1,6})?\Z")
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)).map(lambda d: d.isoformat()) | st.from_regex(
    r"\A(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}\Z")


@settings(max_examples=60, deadline=None)
@given(st.lists(ids, min_size=1, max_size=30))
def test_plain_ids_are_unchanged(values: list[str]) -> None:
    s = pl.Series("v", values)
    if parse.ids_are_plain(s):
        assert pl.DataFrame({"v": s}).select(parse.id_expr("v"))["v"].to_list() == values


@settings(max_examples=60, deadline=None)
@given(st.lists(money, min_size=1, max_size=30))
def test_plain_money_is_the_general_parse(values: list[str]) -> None:
    s = pl.Series("v", values)
    fmt = parse.detect_money_format(s)
    if parse.money_is_plain(s, fmt):
        df = pl.DataFrame({"v": s})
        assert df.select(parse.plain_money_expr("v")).equals(df.select(parse.money_expr("v", fmt)))


@settings(max_examples=60, deadline=None)
@given(st.lists(dates, min_size=1, max_size=30))
def test_plain_dates_are_the_general_parse(values: list[str]) -> None:
    s = pl.Series("v", values)
    assert parse.dates_are_plain(s)
    fmt = parse.detect_date_format(s)
    df = pl.DataFrame({"v": s})
    assert df.select(parse.plain_date_expr("v")).equals(df.select(parse.date_expr("v", fmt)))


def test_checks_refuse_what_the_general_parsers_change() -> None:
    assert not parse.ids_are_plain(pl.Series(["C1", "null"]))  # blank-like word → null
    assert not parse.ids_are_plain(pl.Series(["17850.0"]))  # float-mangled id
    assert not parse.ids_are_plain(pl.Series(["１２"]))  # full width
    assert not parse.money_is_plain(pl.Series(["1,234.50"]), parse.MoneyFormat("."))
    assert not parse.money_is_plain(pl.Series(["1.500"]), parse.MoneyFormat(","))  # decimal-comma column
    assert not parse.dates_are_plain(pl.Series(["2024-03-05 10:00"]))
    assert not parse.dates_are_plain(pl.Series(["1850-01-01"]))  # outside 1900-2199
    assert parse.ids_are_plain(pl.Series(["C00086611", None, "a-b_c", "#1001", "#null"]))  # '#null' is an id
    assert not parse.ids_are_plain(pl.Series(["#n/a"]))  # Excel's #N/A → null
    assert not parse.ids_are_plain(pl.Series(["1#2"]))  # '#' only in front
