"""PII protection: the scalar rule (console cells) and the column rule (report sheets) agree."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custinv.render.pii import keyed_hash, mask, protect, protect_expr, protect_frame

CASES = {
    # value: masked form (hand-written from the rule in the issue)
    "jane.doe@example.com": "j***@example.com",
    "  Bob@Shop.co.uk ": "B***@Shop.co.uk",
    "13812345678": "138****5678",
    "+86 138-1234-5678": "861******5678",
    "(555) 123-4567": "555***4567",
    "C-1001": "C-1001",            # an id, not a phone
    "20015": "20015",              # bare digits: an id
    "100234567890": "100234567890",  # 12 bare digits: an id, not a mobile
    "2024-03-05": "2024-03-05",    # a date, not a phone
    "not an email@": "not an email@",
    "<script>": "<script>",
}


@pytest.mark.parametrize("value,expected", CASES.items())
def test_mask_by_hand(value: str, expected: str) -> None:
    assert mask(value) == expected
    assert protect(value, "mask") == expected
    assert protect(value, "show") == value


def test_hash_is_stable_keyed_and_only_for_personal_data() -> None:
    a = protect("jane@example.com", "hash")
    assert a == protect(" jane@example.com ", "hash") == keyed_hash("jane@example.com")
    assert a is not None and a.startswith("h:") and len(a) == 18
    assert keyed_hash("jane@example.com", key="other") != a
    assert protect("C-1001", "hash") == "C-1001"


def test_column_rule_matches_scalar_rule() -> None:
    values = list(CASES) + [None]
    frame = pl.DataFrame({"customer_id": values})
    for mode in ("mask", "show", "hash"):
        out = protect_frame(frame, ["customer_id", "missing"], mode)["customer_id"].to_list()
        assert out == [protect(v, mode) for v in values], mode


@given(st.lists(st.one_of(st.emails(), st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
                          st.text(alphabet="0123456789-+() abcXYZ@.", max_size=20)), max_size=30))
def test_column_rule_matches_scalar_rule_on_random_values(values: list[str]) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    masked = frame.select(protect_expr(pl.col("v"), "mask"))["v"].to_list()
    assert masked == [protect(v, "mask") for v in values]
