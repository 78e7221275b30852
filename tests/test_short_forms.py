"""The short forms of the parsers (issue 14's speed work) give exactly what the general rules give.

``money_expr``, ``money_currency_expr`` and ``date_expr`` read values of a short shape
(``$1,234.50``, ``3/7/2024``) with a short expression and only the other values with the general
chain; ``status_decision_expr(known=...)`` looks the known statuses up instead of normalising
every row. Each is checked here against the general rule on the ugly values real exports hold,
and on random text (hypothesis), so a short form can never change a number.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.ingest import parse, status

POINT = parse.MoneyFormat(".")
COMMA = parse.MoneyFormat(",")

UGLY_MONEY = [
    "$1,234.50", "-$1,234.50", "$-1,234.50", "($12.00)", "US$5", "US$ 1,234.50", "1.234,50 €", "", None, " ",
    "$", "-", "-$", "$-", "$ -", "1,234", "12,50", "1,23,456.5", "1234.", ".5", "$0.00", "-0", "-$0.00", "$-0",
    "9999999999999999", "$1,000,000,000,000,001", "1e5", "$1,234,567.891", "--5", "-$-5", "$$5", "HK$5", "5$",
    "1,234.5$", "€12.00", "EUR 12.00", "12.00 USD", "¥1,234", "＄１，２３４．５０", "$1 234.50", "'-$27.13",
    "1.500", "0.125", "12.345", "$1,2345.00", "+$5", "$+5", "12.5-", "N/A", "$12.5e3",
    # around MAX_MONEY (1e15): 15 digits are short, 16 go to the general rule (null beyond it)
    "999999999999999.99", "$999,999,999,999,999.99", "-999999999999999", "1000000000000000", "$1,000,000,000,000,000",
    "1000000000000000.0", "-$1,000,000,000,000,000.00", "99999999999999999999",
]


def _money(values: list[str | None], fmt: parse.MoneyFormat) -> pl.DataFrame:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(
        pl.col("v"),
        parse.money_expr("v", fmt).alias("short"),
        parse._money_chain("v", fmt).alias("general"),
        parse.money_currency_expr("v").alias("short_ccy"),
        parse._currency_search("v").alias("general_ccy"),
    )


def _same(frame: pl.DataFrame, a: str, b: str) -> None:
    """Equal values, nulls in the same rows, and the same sign of zero."""
    differ = frame.filter(~pl.col(a).eq_missing(pl.col(b)))
    assert differ.height == 0, differ
    if frame.schema[a] == pl.Float64:
        texts = frame.select(pl.col(a).cast(pl.String).eq_missing(pl.col(b).cast(pl.String)).all()).item()
        assert texts, "a -0.0 on one side only"


@pytest.mark.parametrize("fmt", [POINT, COMMA], ids=["point", "comma"])
def test_short_money_is_the_general_money_on_ugly_values(fmt: parse.MoneyFormat) -> None:
    frame = _money(UGLY_MONEY, fmt)
    _same(frame, "short", "general")
    _same(frame, "short_ccy", "general_ccy")


def test_short_money_values() -> None:
    """The short shape's own numbers, by hand."""
    frame = _money(["$1,234.50", "-$1,234.50", "$-1,234.50", "1234.5", "$0.00", "-$0.00", "$1,234,567.89"], POINT)
    assert frame["short"].to_list() == [1234.5, -1234.5, -1234.5, 1234.5, 0.0, 0.0, 1234567.89]
    assert frame["short_ccy"].to_list() == ["USD", "USD", "USD", None, "USD", "USD", "USD"]
    assert str(frame["short"][5]) == "0.0"  # not -0.0


def test_mixed_currencies_keep_their_codes() -> None:
    frame = _money(["$5.00", "€5.00", "US$5", "HK$5", "5.00", "CNY 5.00", "¥5"], POINT)
    assert frame["short_ccy"].to_list() == ["USD", "EUR", "USD", "HKD", None, "CNY", "CNY"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="$-,.0123456789 (€US", max_size=22)), min_size=1, max_size=40),
       st.sampled_from([POINT, COMMA]))
def test_short_money_is_the_general_money_on_any_text(values: list[str | None], fmt: parse.MoneyFormat) -> None:
    frame = _money(values, fmt)
    _same(frame, "short", "general")
    _same(frame, "short_ccy", "general_ccy")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(parse.POINT_STRONG_SHORT_RE, fullmatch=True), min_size=1, max_size=30))
def test_point_strong_short_values_are_point_strong_evidence_only(values: list[str]) -> None:
    """The streaming ingest counts these values as point-strong evidence by their shape alone."""
    assert parse.money_evidence(pl.Series(values)) == (len(values), 0, 0, 0)


DAYS = ["0", "00", "1", "01", "7", "07", "12", "13", "28", "29", "30", "31", "32"]
YEARS = ["1899", "1900", "1969", "2000", "2023", "2024", "2199", "2200", "24", "68", "69", "99", "02024"]
UGLY_DATES = [
    " 3/7/2024", "3/7/2024 ", "3/7/2024 10:00", "03/07/2024 10:00:00 PM", "03-07-2024", "3.7.2024", "3 / 7 / 2024",
    "３/７/２０２４", "2024-03-07", "", None, "abc", "3/7", "3/7/2024/1", "+3/7/2024",
]


def _dates(values: list[str | None], kind: str) -> pl.DataFrame:
    fmt = parse.DateFormat(kinds=(kind,))
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(
        pl.col("v"),
        parse.date_expr("v", fmt).alias("short"),
        parse._date_expr(parse._prep_date("v"), fmt).alias("general"),
    )


@pytest.mark.parametrize("kind", [parse.MDY, parse.DMY])
def test_short_dates_are_the_general_dates(kind: str) -> None:
    values = [f"{a}/{b}/{y}" for a in DAYS for b in DAYS for y in YEARS] + UGLY_DATES
    _same(_dates(values, kind), "short", "general")


def test_short_dates_by_hand() -> None:
    frame = _dates(["3/7/2024", "03/07/2024", "12/31/2024", "02/30/2024", "3/7/24", "3/7/69", "13/01/2024"], parse.MDY)
    assert frame["short"].to_list() == [
        dt.date(2024, 3, 7), dt.date(2024, 3, 7), dt.date(2024, 12, 31), None, dt.date(2024, 3, 7),
        dt.date(1969, 3, 7), None,
    ]
    assert _dates(["3/7/2024", "13/01/2024"], parse.DMY)["short"].to_list() == [dt.date(2024, 7, 3), dt.date(2024, 1, 13)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789/ -.:", max_size=16)), min_size=1, max_size=40),
       st.sampled_from([parse.MDY, parse.DMY]))
def test_short_dates_are_the_general_dates_on_any_text(values: list[str | None], kind: str) -> None:
    _same(_dates(values, kind), "short", "general")


def test_other_date_formats_take_no_short_form() -> None:
    """Several kinds, the user's strptime or a non-numeric kind: only the general rule."""
    assert parse._short_date(parse.DateFormat(kinds=(parse.MDY, parse.YMD))) is None
    assert parse._short_date(parse.DateFormat(kinds=(parse.STRPTIME,), strptime="%d/%m/%Y")) is None
    assert parse._short_date(parse.DateFormat(kinds=(parse.YMD,))) is None


STATUSES = ["Paid", "Refunded", "refunded", " REFUNDED ", "partially_refunded", "Partially Refunded", "Closed Won",
            "Verbal Commit", "待付款", "交易关闭", "", None, "ｐａｉｄ", "Ready for collection", "voided", "VOIDED"]


@pytest.mark.parametrize("deal_export", [False, True])
@pytest.mark.parametrize("known", [["Paid", "Refunded"], STATUSES, ["Closed Won", "Nope"], []])
def test_status_lookup_is_the_status_rule(known: list[str], deal_export: bool) -> None:
    """Statuses decided once from a known list (the first rows') and looked up give the rule's
    decision on every row, for values in the list and out of it, blanks included."""
    frame = pl.DataFrame({"s": STATUSES * 3}, schema={"s": pl.String})
    got = frame.select(
        status.status_decision_expr("s", deal_export=deal_export, known=pl.Series(known, dtype=pl.String)).alias("a"),
        status.status_decision_expr("s", deal_export=deal_export).alias("b"),
    )
    _same(got, "a", "b")


def test_status_lookup_with_overrides() -> None:
    frame = pl.DataFrame({"s": ["Awaiting pickup", "awaiting  pickup", "Paid", "Ready"]})
    overrides = status.status_overrides(["Ready"], ["Awaiting pickup"])
    got = frame.select(status.status_decision_expr("s", overrides=overrides, known=pl.Series(["Awaiting pickup"])))
    assert got.to_series().to_list() == frame.select(
        status.status_decision_expr("s", overrides=overrides)).to_series().to_list()
    assert got.to_series().to_list()[0] == status.USER_EXCLUDED
