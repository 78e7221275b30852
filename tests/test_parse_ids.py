"""Ids stay text: trimmed, NFC, full-width folded, Excel damage undone, nothing else."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.ingest.parse import email_expr, id_expr


def ids(values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"customer_id": values}, schema={"customer_id": pl.String})
    return frame.select(id_expr("customer_id")).to_series().to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345", "12345"),
        ("  12345\t", "12345"),
        ("00123", "00123"),  # leading zeros kept
        ('="00123"', "00123"),  # Excel text guard
        ('=" 00123 "', "00123"),
        ("'00123", "00123"),  # text-forcing apostrophe on digits
        ("'abc", "'abc"),  # ...only on digits
        ("17850.0", "17850"),  # float-mangled integer id
        ("17850.000", "17850"),
        ("17850.5", "17850.5"),
        ("1.0E4", "1.0E4"),  # not an all-digit id: untouched
        ("A17850.0", "A17850.0"),
        ("ABC-001", "ABC-001"),  # case kept
        ("abc-001", "abc-001"),
        ("１２３４５", "12345"),  # full-width digits
        ("ＡＢＣ－０１", "ＡＢＣ－01"),  # only the digits fold: full-width letters make another id (issue 15)
        ("\u3000C001\u3000", "C001"),  # ideographic spaces
        ("\ufeffC001", "C001"),  # stray BOM
        ("C\u200b001", "C\u200b001"),  # a zero-width mark is kept: it must not merge two ids (issue 15)
        ("\u00a0C001\u00a0", "C001"),
        ("1234567890123456789", "1234567890123456789"),  # 19 digits, exact
        ("98765432109876543210123", "98765432109876543210123"),
        ("e\u0301", "\u00e9"),  # NFC: e + combining acute → é
        ("张三", "张三"),
        ("", None),
        ("   ", None),
        (None, None),
        ("-", None),
        ("N/A", None),
        ("null", None),
        ('=""', None),
    ],
)
def test_id_table(text: str | None, expected: str | None) -> None:
    assert ids([text]) == [expected]


def test_numeric_then_alphanumeric_ids_stay_text() -> None:
    """Ids that turn alphanumeric after row 5,000 must not lose the first 5,000."""
    values = [f"{i:06d}" for i in range(5000)] + ["C5000", "c5000"]
    assert ids(values) == values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bob@Example.COM", "bob@example.com"),
        ("  ALICE@EXAMPLE.COM ", "alice@example.com"),
        ("ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "alice@example.com"),
        ("", None),
        (None, None),
    ],
)
def test_emails_case_folded(text: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"email": [text]}, schema={"email": pl.String})
    assert frame.select(email_expr("email")).item() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=25), min_size=1, max_size=40))
def test_digit_ids_never_lose_leading_zeros(values: list[str]) -> None:
    padded = ["00" + v for v in values]
    assert ids(padded) == padded
    assert ids([" " + v + " " for v in padded]) == padded


FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="ABCxyz0123456789-_#", min_size=1, max_size=15)
                .filter(lambda s: s.lower() not in {"-", "--", "---", "na"}),
                min_size=1, max_size=30),
       st.booleans())
def test_full_width_digits_fold_and_other_full_width_stays_distinct(values: list[str], pad: bool) -> None:
    """Only full-width digits fold (design.md): an id with a full-width letter or sign is
    another id, never merged with its ASCII look-alike (issue 15)."""
    wide = ["".join(FULLWIDTH[c] for c in v) for v in values]
    if pad:
        wide = ["\u3000" + w + " " for w in wide]
    expected = ["".join(c if c.isdigit() else FULLWIDTH[c] for c in v) for v in values]
    assert ids(wide) == expected
    for got, ascii_id in zip(ids(wide), values, strict=True):
        assert (got == ascii_id) == ascii_id.isdigit()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_ids_are_nfc_and_trimmed(values: list[str]) -> None:
    for got in ids(values):
        if got is not None:
            assert got == got.strip() and got != ""
            assert unicodedata.is_normalized("NFC", got)


#: Characters each rule of the id parser acts on, and their neighbours: odd spaces, a BOM, a
#: zero-width joiner, control bytes, a combining accent, full-width digits and letters, a CJK
#: compatibility ideograph (NFC maps it to a unified one), Hangul (NFC composes jamo), the CJK
#: blocks' edges, Excel's guards, blank-like tokens' letters and signs, 元 and 无.
_TRICKY = list("aAeEnNlLuUiIoOz09 _-./=\"'#@$¥\t") + [
    "\u3000", "\u00a0", "\ufeff", "\u200d", "\x00", "\x7f", "\u0301", "１", "Ａ", "\uf900",
    "\u1100", "\u1161", "가", "\u3400", "\u4dbf", "\u4e00", "\u9fff", "\ua000", "张", "无", "元", "é",
]
_TOKENS = ["17850.0", "n/a", "NULL", "None", "无", "元", "元无", "na元", "-", "#n/a", "0.00", "1.0", ' ="12" ', "'0012"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=st.sampled_from(_TRICKY), max_size=7), st.sampled_from(_TOKENS),
                          st.none()), max_size=12))
def test_settled_ids_skip_the_rules_with_the_same_result(values: list[str | None]) -> None:
    """id_expr and email_expr run the id rules only on values they would change (_settled_id);
    on any value the result is that of running every rule on every value."""
    from custinv.ingest import parse

    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = frame.select(id_expr("v").alias("id"), email_expr("v").alias("email"))
    every_rule = frame.select(parse._id_rules(pl.col("v")).alias("id"),
                              parse._id_rules(parse.fold_width_expr("v")).str.to_lowercase().alias("email"))
    assert got.equals(every_rule), list(zip(values, got.rows(), every_rule.rows(), strict=True))


def test_names_and_codes_are_settled_and_guards_are_not() -> None:
    from custinv.ingest import parse

    values = ["C001", "张三", "客户 00226115", "Acme Corp.", "A-1_2", " C1", "N/A", "无", "17850.0", '="0012"', "Ａ1",
              "e\u0301", "C1\u3000"]
    settled = pl.DataFrame({"v": values}).select(parse._settled_id(pl.col("v"))).to_series().to_list()
    assert settled == [True, True, True, False, True, False, False, False, False, False, False, False, False]
