"""RFM scores against a plain-Python reference, the shipped segment table, cut points, labels."""

from __future__ import annotations

import csv
import importlib.resources
import io
import json
import warnings
from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.actions import (
    ACTIONS,
    CN8_SEGMENTS,
    FREQUENCY_CLASSES,
    LABELS,
    LIFECYCLE_STAGES,
    RFM_SEGMENTS,
    VALUE_TIERS,
    action,
    label,
)
from custinv.analytics.rfm import (
    add_rfm,
    distinct_score,
    quintile_score,
    rfm_section,
    rfm_thresholds,
    segment_table,
    threshold_score,
)


def reference_score(values: list[int], *, higher_is_better: bool) -> list[int]:
    """Plain Python: p = (worse + equal/2) / n by counting; score = 1 + floor(5p)."""
    n = len(values)
    scores = []
    for x in values:
        worse = sum(1 for y in values if (y < x if higher_is_better else y > x))
        equal = sum(1 for y in values if y == x)
        # 1 + floor(5 * (2*worse + equal) / (2n)), in exact integers
        scores.append(1 + (5 * (2 * worse + equal)) // (2 * n))
    return scores


def scores_of(values: list[int], expr: pl.Expr) -> list[int]:
    return pl.DataFrame({"x": values}, schema={"x": pl.Int64}).select(expr.alias("s"))["s"].to_list()


# ---------------------------------------------------------------- quintile scores


@settings(max_examples=150, deadline=None)
@given(
    values=st.one_of(
        st.lists(st.integers(0, 4), min_size=1, max_size=80),  # heavy ties
        st.lists(st.integers(0, 40), min_size=1, max_size=80),
        st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=40),  # mostly distinct
    ),
    higher_is_better=st.booleans(),
)
def test_quintile_score_matches_brute_force(values: list[int], higher_is_better: bool) -> None:
    got = scores_of(values, quintile_score(pl.col("x"), higher_is_better=higher_is_better))
    assert got == reference_score(values, higher_is_better=higher_is_better)


def test_quintile_score_hand_cases() -> None:
    assert scores_of(list(range(10)), quintile_score(pl.col("x"))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores_of(list(range(10)), quintile_score(pl.col("x"), higher_is_better=False)) == [
        5, 5, 4, 4, 3, 3, 2, 2, 1, 1,
    ]
    assert scores_of([7] * 9, quintile_score(pl.col("x"))) == [3] * 9  # everyone tied: neutral
    assert scores_of([7], quintile_score(pl.col("x"))) == [3]  # a single customer
    # six tied at the bottom of ten share the middle of their ranks (1..6 → mid 3.5 → p .3)
    assert scores_of([5] * 6 + [6, 7, 8, 9], quintile_score(pl.col("x"))) == [2] * 6 + [4, 4, 5, 5]


def test_threshold_and_distinct_frequency_scores() -> None:
    orders = [1, 2, 3, 4, 5, 6, 8, 40]
    assert scores_of(orders, threshold_score(pl.col("x"), (1, 2, 3, 5))) == [1, 2, 3, 4, 4, 5, 5, 5]
    assert scores_of([1, 1, 2, 3, 3, 3], distinct_score(pl.col("x"))) == [1, 1, 3, 5, 5, 5]
    assert scores_of([1, 2, 1], distinct_score(pl.col("x"))) == [2, 4, 2]
    assert scores_of([4, 4], distinct_score(pl.col("x"))) == [3, 3]
    with pytest.raises(ValueError):
        threshold_score(pl.col("x"), (1, 3, 2, 5))
    with pytest.raises(ValueError):
        threshold_score(pl.col("x"), (1, 2, 3))


# ---------------------------------------------------------------- the segment table


def test_segment_table_covers_all_125_codes_exactly_once() -> None:
    text = importlib.resources.files("custinv").joinpath("data/rfm_segments.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    codes = Counter(r["rfm_code"] for r in rows)
    every = {f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert set(codes) == every and set(codes.values()) == {1} and len(rows) == 125
    assert {r["segment"] for r in rows} == set(RFM_SEGMENTS)  # all 11 used, nothing else
    table = segment_table()
    assert len(table) == 125 and table[555] == "champions" and table[111] == "lost"


# ---------------------------------------------------------------- a small book, by hand

# R (days, n=10): 80,70 → 1; 60,50 → 2; 40,30 → 3; 20 → 4; 10,10,0 → 5
# M: six tied at 5 (ranks 1..6, p = 3/10) → 2; 100, 200 → 4; 300, 400 → 5 (scores 1, 3 empty)
# F (cuts 1,2,3,5): 8 → 5, 5 → 4, 3 → 3, 2 → 2, 1 → 1
SMALL = pl.DataFrame(
    {
        "customer_id": list("abcdefghij"),
        "recency_days": [0, 10, 10, 20, 30, 40, 50, 60, 70, 80],
        "orders": [8, 5, 3, 2, 2, 1, 1, 1, 1, 1],
        "revenue": [400.0, 300.0, 200.0, 100.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
    }
)


def test_small_book_scores_codes_and_segments() -> None:
    out = add_rfm(SMALL).collect()
    assert out["rfm_code"].to_list() == ["555", "545", "534", "424", "322", "312", "212", "212", "112", "112"]
    assert out["rfm_segment"].to_list() == [
        "champions", "champions", "need_attention", "promising", "hibernating",
        "about_to_sleep", "hibernating", "hibernating", "lost", "lost",
    ]  # fmt: skip
    assert out.schema["r_score"] == pl.Int8 and out.schema["rfm_code"] == pl.String


def test_thresholds_are_the_boundaries_of_score_at_least_s() -> None:
    out = add_rfm(SMALL).collect()
    assert rfm_thresholds(out) == {
        "recency": [80.0, 60.0, 40.0, 20.0, 10.0],  # R ≥ s ⇔ recency_days ≤ t
        "frequency": [1.0, 2.0, 3.0, 5.0, 8.0],  # F ≥ s ⇔ orders ≥ t (on this data)
        "monetary": [5.0, 5.0, 100.0, 100.0, 300.0],  # empty scores take the next boundary
    }
    cn8 = add_rfm(SMALL, scheme="cn8").collect()
    assert rfm_thresholds(cn8, "cn8") == {"recency": [37.0], "frequency": [2.5], "monetary": [103.0]}


def test_rfm_section_rows() -> None:
    section = rfm_section(add_rfm(SMALL).collect())
    assert (section.method, section.scheme) == ("quintile", "standard")
    assert [s.segment for s in section.segments] == list(RFM_SEGMENTS)
    champions = section.segments[0]
    assert (champions.customers, champions.revenue, champions.share) == (2, 700.0, 0.2)
    assert (champions.avg_recency_days, champions.avg_frequency, champions.avg_monetary) == (5.0, 6.5, 350.0)
    assert champions.action == ACTIONS["champions"]["en"]
    empty = next(s for s in section.segments if s.segment == "cant_lose")
    assert (empty.customers, empty.revenue, empty.avg_monetary) == (0, 0.0, None)
    assert sum(s.customers for s in section.segments) == 10
    assert sum(s.revenue for s in section.segments) == 1030.0


def test_single_customer_section_serialises_unoccupied_scores_as_null() -> None:
    one = pl.DataFrame({"customer_id": ["x"], "recency_days": [3], "orders": [1], "revenue": [9.5]})
    out = add_rfm(one).collect()
    assert out.row(0, named=True)["rfm_code"] == "313"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        section = rfm_section(out)
        data = json.loads(section.model_dump_json())
    assert data["thresholds"] == {
        "recency": [3.0, 3.0, 3.0, None, None],
        "frequency": [1.0, None, None, None, None],
        "monetary": [9.5, 9.5, 9.5, None, None],
    }
    assert [s["customers"] for s in data["segments"] if s["customers"]] == [1]


def test_unknown_scheme_or_method() -> None:
    with pytest.raises(ValueError):
        add_rfm(SMALL, scheme="nine")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        add_rfm(SMALL, frequency_method="deciles")  # type: ignore[arg-type]


# ---------------------------------------------------------------- labels and actions


def test_every_key_has_en_and_zh_labels_and_segments_have_actions() -> None:
    for key in (*FREQUENCY_CLASSES, *VALUE_TIERS, *RFM_SEGMENTS, *CN8_SEGMENTS, *LIFECYCLE_STAGES):
        assert set(LABELS[key]) == {"en", "zh"}
        assert label(key, "zh") != key
    for key in (*RFM_SEGMENTS, *CN8_SEGMENTS, *LIFECYCLE_STAGES):
        assert action(key, "en") and action(key, "zh")
    assert [label(k, "zh") for k in CN8_SEGMENTS] == [
        "重要价值客户", "重要发展客户", "重要保持客户", "重要挽留客户",
        "一般价值客户", "一般发展客户", "一般保持客户", "一般挽留客户",
    ]  # fmt: skip
    assert label("no_such_key") == "no_such_key" and action("no_such_key") is None
