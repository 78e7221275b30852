"""Money parsing: the ugly amounts real exports contain, and round-trip properties."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.ingest.parse import (
    MoneyFormat,
    detect_money_format,
    missing_token_expr,
    money_currency_expr,
    money_expr,
)

POINT = MoneyFormat(".")
COMMA = MoneyFormat(",")


def parse(values: list[str | None], fmt: MoneyFormat) -> list[float | None]:
    frame = pl.DataFrame({"a": values}, schema={"a": pl.String})
    return frame.select(money_expr("a", fmt)).to_series().to_list()


POINT_CASES = [
    ("1234.56", 1234.56),
    ("$1,234.56", 1234.56),
    ("US$ 1,234.56", 1234.56),
    ("USD 1,234.56", 1234.56),
    ("1,234.56 USD", 1234.56),
    ("usd12", 12.0),
    ("¥1,234.00", 1234.0),
    ("￥１，２３４．５０", 1234.5),  # full-width everything
    ("1234元", 1234.0),
    ("RMB 88", 88.0),
    ("CNY88.8", 88.8),
    ("€ 9.99", 9.99),
    ("£0.5", 0.5),
    ("(123.45)", -123.45),
    ("($123.45)", -123.45),
    ("123.45-", -123.45),
    ("-$5.00", -5.0),
    ("$-5.00", -5.0),
    ("- 3", -3.0),
    ("\u22127", -7.0),  # U+2212 MINUS SIGN
    ("+5", 5.0),
    ("  42  ", 42.0),
    ("1\u00a0234.5", 1234.5),  # NBSP thousands
    ("1\u202f234.5", 1234.5),  # narrow NBSP
    ("1\u2009234.5", 1234.5),  # thin space
    ("1 234 567.25", 1234567.25),
    ("1'234.56", 1234.56),
    ("1’234.56", 1234.56),
    ("1,234,567", 1234567.0),
    ("1,23,456.70", 123456.7),  # Indian lakh grouping
    (".5", 0.5),
    ("5.", 5.0),
    ("0", 0.0),
    ("(0)", 0.0),
    ("1.5e3", 1500.0),
    ("2E-2", 0.02),
    # Bad: null.
    ("12,50", None),  # a decimal comma in a decimal-point column is not 1250
    ("1,2345", None),
    ("1.234.567", None),
    ("abc", None),
    ("12abc", None),
    ("1e309", None),  # overflow: never inf
    ("-1e309", None),
    ("inf", None),
    ("-Infinity", None),
    ("NaN", None),
    ("(5", None),
    ("5)", None),
    ("-5-", None),
    ("+5-", None),
    ("5 5", None),
    ("1.2.3", None),
    ("$", None),
    ("", None),
    ("N/A", None),
    ("-", None),
    (None, None),
]

COMMA_CASES = [
    ("1.234,56", 1234.56),
    ("1 234,56", 1234.56),
    ("1\u00a0234,56 €", 1234.56),
    ("12,5", 12.5),
    ("0,99", 0.99),
    ("1.234", 1234.0),
    ("1.234.567", 1234567.0),
    ("(1.234,56)", -1234.56),
    ("1.234,56-", -1234.56),
    ("EUR 3", 3.0),
    (",5", 0.5),
    ("1,5e3", 1500.0),
    ("1,234.56", None),  # point-decimal text in a comma column
    ("12.50", None),
]


@pytest.mark.parametrize(("text", "expected"), POINT_CASES)
def test_point_column(text: str | None, expected: float | None) -> None:
    assert parse([text], POINT) == [pytest.approx(expected) if expected is not None else None]


@pytest.mark.parametrize(("text", "expected"), COMMA_CASES)
def test_comma_column(text: str, expected: float | None) -> None:
    assert parse([text], COMMA) == [pytest.approx(expected) if expected is not None else None]


def test_negative_zero_is_zero() -> None:
    (value,) = parse(["(0.00)"], POINT)
    assert value == 0.0 and math.copysign(1.0, value) == 1.0


@pytest.mark.parametrize(
    ("column", "decimal"),
    [
        (["1,234.56", "12.00", "7"], "."),
        (["1.234,56", "12,00", "7"], ","),
        (["1 234,56", "99"], ","),
        (["12,5"], ","),
        (["0,125"], ","),
        (["1.234.567"], ","),
        (["1,234,567"], "."),
        (["1'234.50"], "."),
        (["€1.500", "€800", "€2.300"], ","),  # only thousands-looking dots: German
        (["1,500", "800"], "."),  # only thousands-looking commas: English
        (["1.500", "1,500"], "."),  # contradicting weak evidence: default
        (["7", "8"], "."),  # no evidence: default point
        ([], "."),
        (["12,5", "12,75", "1,234.56"], ","),  # majority of strong evidence
    ],
)
def test_detect_money_format(column: list[str], decimal: str) -> None:
    fmt = detect_money_format(pl.Series("amount", column, dtype=pl.String))
    assert fmt.decimal == decimal


def test_detect_reports_evidence() -> None:
    fmt = detect_money_format(pl.Series(["1.234,56", "12,5", "3", "1.500"]))
    assert (fmt.comma_evidence, fmt.point_evidence, fmt.weak_comma_evidence) == (2, 0, 1)
    assert not fmt.ambiguous
    assert detect_money_format(pl.Series(["7", "1,500"])).ambiguous


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("¥12", "CNY"), ("￥12", "CNY"), ("12元", "CNY"), ("RMB 12", "CNY"), ("12 rmb", "CNY"),
        ("人民币12", "CNY"), ("CNY12", "CNY"), ("$12", "USD"), ("US$12", "USD"),
        ("12 USD", "USD"), ("€12", "EUR"), ("EUR 12", "EUR"), ("£12", "GBP"),
        ("GBP12", "GBP"), ("HK$12", "HKD"), ("12 JPY", "JPY"), ("12", None), ("", None),
        (None, None), ("bocado", None),  # "cad" inside a word is not a currency
    ],
)
def test_currency(text: str | None, code: str | None) -> None:
    frame = pl.DataFrame({"a": [text]}, schema={"a": pl.String})
    assert frame.select(money_currency_expr("a")).item() == code


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", True), ("  ", True), (None, True), ("-", True), ("--", True), ("N/A", True),
        ("n/a", True), ("NA", True), ("null", True), ("NULL", True), ("None", True),
        ("nan", True), ("#N/A", True), ("$ -", True), ("¥-", True), ("—", True), ("无", True),
        ("０", False), ("abc", False), ("1e309", False), ("0", False), ("inf", False),
    ],
)
def test_missing_tokens(text: str | None, missing: bool) -> None:
    frame = pl.DataFrame({"a": [text]}, schema={"a": pl.String})
    assert frame.select(missing_token_expr("a")).item() is missing


# --- properties -------------------------------------------------------------

GROUPS = {".": [",", " ", "\u00a0", "\u202f", "'", ""], ",": [".", " ", "\u00a0", "\u202f", ""]}
CURRENCY = ["", "$", "US$", "¥", "￥", "€", "£", "USD ", "CNY", " EUR", "元", "RMB"]
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def render(value: float, decimals: int, decimal: str, group: str, ccy: str, before: bool,
           negative_style: str, fullwidth: bool) -> str:
    """Write `value` the way some export would, independently of the parser."""
    digits = f"{abs(value):.{decimals}f}"
    whole, _, frac = digits.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = group.join(groups) + (decimal + frac if decimals else "")
    if fullwidth:
        text = text.translate(FULLWIDTH)
    text = ccy + text if before else text + ccy
    if value < 0:
        text = {"-": "-" + text, "()": "(" + text + ")", "trail": text + "-"}[negative_style]
    return text


styles = st.fixed_dictionaries(
    {
        "decimal": st.sampled_from([".", ","]),
        "ccy": st.sampled_from(CURRENCY),
        "before": st.booleans(),
        "negative_style": st.sampled_from(["-", "()", "trail"]),
        "fullwidth": st.booleans(),
        "group_index": st.integers(0, 5),
    }
)
amounts = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(style=styles, values=st.lists(amounts, min_size=1, max_size=20),
       decimals=st.integers(0, 6))
def test_rendered_amounts_round_trip(style: dict, values: list[float], decimals: int) -> None:
    groups = GROUPS[style["decimal"]]
    group = groups[style["group_index"] % len(groups)]
    texts = [
        render(v, decimals, style["decimal"], group, style["ccy"], style["before"],
               style["negative_style"], style["fullwidth"])
        for v in values
    ]
    expected = [float(f"{v:.{decimals}f}") for v in values]
    got = parse(texts, MoneyFormat(style["decimal"]))
    for text, e, g in zip(texts, expected, got, strict=True):
        assert g is not None, text
        assert g == pytest.approx(e, rel=1e-9, abs=1e-12), text


@settings(max_examples=100, deadline=None)
@given(style=styles, values=st.lists(amounts, min_size=1, max_size=20))
def test_detection_recovers_the_decimal_mark(style: dict, values: list[float]) -> None:
    """Two decimals (how money is written) are always enough evidence."""
    groups = GROUPS[style["decimal"]]
    group = groups[style["group_index"] % len(groups)]
    texts = [render(v, 2, style["decimal"], group, style["ccy"], style["before"],
                    style["negative_style"], style["fullwidth"]) for v in values]
    fmt = detect_money_format(pl.Series(texts))
    assert fmt.decimal == style["decimal"]
    got = parse(texts, fmt)
    assert got == pytest.approx([float(f"{v:.2f}") for v in values], rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.text(alphabet="0123456789.,-+()eE $¥€ infaNIF'", max_size=12),
                      max_size=30),
       decimal=st.sampled_from([".", ","]))
def test_never_inf_or_nan(texts: list[str], decimal: str) -> None:
    got = parse(texts, MoneyFormat(decimal))
    assert all(g is None or math.isfinite(g) for g in got)


def test_chinese_currency_names_are_not_read_as_cny() -> None:
    """美元, 港元, 欧元 … end in 元 as the yuan does: each is its own currency, so a file of
    美元 amounts is never reported as CNY (and a mix of the two is refused as two currencies)."""
    cells = pl.Series("a", ["美元 12", "12元", "港元3.5", "港币 4", "欧元 1", "¥8", "新加坡元 9", "12 日元", "人民币 5",
                            "3 英镑"])
    codes = pl.select(money_currency_expr(cells)).to_series().to_list()
    assert codes == ["USD", "CNY", "HKD", "HKD", "EUR", "CNY", "SGD", "JPY", "CNY", "GBP"]
