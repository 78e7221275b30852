"""Frequency classes, value tiers and classify() on a hand-built book of 20 customers.

Every expected value below was worked out by hand from the rules in the module docstrings
(classify.py, rfm.py, lifecycle.py); the comments show the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.classify import (
    ClassifySettings,
    add_frequency_class,
    add_value_tier,
    classification_tables,
    classify,
    frequency_bar,
    value_cuts,
    with_profit,
)

# id, orders, revenue, recency_days, tenure_days
BOOK = [
    ("c01", 10, 400.0, 5, 730),
    ("c02", 6, 200.0, 20, 365),
    ("c03", 4, 100.0, 200, 730),
    ("c04", 3, 100.0, 100, 190),
    ("c05", 2, 50.0, 2, 10),
    ("c06", 2, 50.0, 150, 365),
    ("c07", 3, 30.0, 150, 200),
    ("c08", 2, 20.0, 30, 700),
    ("c09", 1, 10.0, 90, 90),
    ("c10", 1, 10.0, 60, 60),
    ("c11", 1, 5.0, 45, 45),
    ("c12", 1, 5.0, 120, 120),
    ("c13", 1, 5.0, 150, 150),
    ("c14", 1, 5.0, 180, 180),
    ("c15", 1, 4.0, 181, 181),
    ("c16", 1, 2.0, 365, 365),
    ("c17", 1, 2.0, 91, 91),
    ("c18", 1, 1.0, 31, 31),
    ("c19", 1, 1.0, 30, 30),
    ("c20", 1, 0.0, 0, 0),
]

# Expected, per customer:
# frequency: orders/yr = orders*365.25/max(tenure,30); repeat buyers' values sorted:
#   c08 1.0436, c03 2.00137, c06 2.00137, c01 5.00342, c07 5.47875, c04 5.76711, c02 6.00411,
#   c05 24.35 → median (c01 + c07)/2 = 5.2411
# tier (abc .80/.95, total 1000): share before c01 0, c02 .4, c03=c04 .6 → high;
#   c05=c06 .8, c07 .9, c08 .93 → medium; c09=c10 .95 and below → low
# R (mid-rank, days, n=20): 1+5*(2*worse+equal)//40 — four customers per score
# F (cuts 1,2,3,5); M (mid-rank, revenue)
# stage (new 30, active 90, churn 180): population gap = median(8, 25, 45, 69, 80.56,
#   176.67, 215, 670) = 74.78, so one-time buyers are at_risk past 149.56 days
EXPECTED = {
    #       freq              tier      R  F  M  code   segment            cn8                      stage
    "c01": ("low_frequency", "high", 5, 5, 5, "555", "champions", "important_value", "loyal"),
    "c02": ("high_frequency", "high", 5, 5, 5, "555", "champions", "important_value", "loyal"),
    "c03": ("low_frequency", "high", 1, 4, 5, "145", "at_risk", "important_retention", "churned"),
    "c04": ("high_frequency", "high", 3, 3, 5, "335", "loyal", "important_retention", "at_risk"),
    "c05": ("high_frequency", "medium", 5, 2, 4, "524", "promising", "general_development", "new"),
    "c06": ("low_frequency", "medium", 2, 2, 4, "224", "at_risk", "general_winback", "dormant"),
    "c07": ("high_frequency", "medium", 2, 3, 4, "234", "at_risk", "general_retention", "at_risk"),
    "c08": ("low_frequency", "medium", 4, 2, 4, "424", "promising", "general_development", "active"),
    "c09": ("one_time", "low", 3, 1, 3, "313", "promising", "general_development", "active"),
    "c10": ("one_time", "low", 3, 1, 3, "313", "promising", "general_development", "active"),
    "c11": ("one_time", "low", 4, 1, 3, "413", "promising", "general_development", "active"),
    "c12": ("one_time", "low", 2, 1, 3, "213", "about_to_sleep", "general_winback", "dormant"),
    "c13": ("one_time", "low", 2, 1, 3, "213", "about_to_sleep", "general_winback", "at_risk"),
    "c14": ("one_time", "low", 1, 1, 3, "113", "cant_lose", "general_winback", "at_risk"),
    "c15": ("one_time", "low", 1, 1, 2, "112", "lost", "general_winback", "churned"),
    "c16": ("one_time", "low", 1, 1, 2, "112", "lost", "general_winback", "churned"),
    "c17": ("one_time", "low", 3, 1, 2, "312", "about_to_sleep", "general_development", "dormant"),
    "c18": ("one_time", "low", 4, 1, 1, "411", "new", "general_development", "active"),
    "c19": ("one_time", "low", 4, 1, 1, "411", "new", "general_development", "new"),
    "c20": ("one_time", "low", 5, 1, 1, "511", "new", "general_development", "new"),
}
CHURN_DAYS = 180


def book(rows: list[tuple[str, int, float, int, int]] = BOOK) -> pl.DataFrame:
    """A per-customer frame shaped like customer_summary()'s output."""
    as_of = dt.date(2024, 6, 30)
    frame = pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "orders": pl.Int64,
            "revenue": pl.Float64,
            "recency_days": pl.Int64,
            "tenure_days": pl.Int64,
        },
        orient="row",
    )
    return frame.with_columns(
        (pl.lit(as_of) - pl.duration(days=pl.col("tenure_days"))).cast(pl.Date).alias("first_order"),
        (pl.lit(as_of) - pl.duration(days=pl.col("recency_days"))).cast(pl.Date).alias("last_order"),
        (pl.col("revenue") / pl.col("orders")).alias("average_order_value"),
        pl.when(pl.col("orders") > 1)
        .then((pl.col("tenure_days") - pl.col("recency_days")) / (pl.col("orders") - 1))
        .cast(pl.Float64)
        .alias("mean_interpurchase_days"),
    )


def by_id(frame: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(frame["customer_id"], frame[column], strict=True))


# ---------------------------------------------------------------- classify(): every customer


@pytest.mark.parametrize(
    ("column", "index"),
    [
        ("frequency_class", 0),
        ("value_tier", 1),
        ("r_score", 2),
        ("f_score", 3),
        ("m_score", 4),
        ("rfm_code", 5),
        ("rfm_segment", 6),
        ("lifecycle_stage", 8),
    ],
)
def test_classify_every_customer(column: str, index: int) -> None:
    out = classify(book(), churn_days=CHURN_DAYS)
    assert by_id(out, column) == {cid: exp[index] for cid, exp in EXPECTED.items()}


def test_classify_cn8_scheme() -> None:
    # means: recency 2000/20 = 100 (c04 sits exactly on it → not "below" → R bad),
    # orders 44/20 = 2.2, revenue 1000/20 = 50 (c05, c06 exactly on it → general)
    out = classify(book(), churn_days=CHURN_DAYS, settings=ClassifySettings(rfm_scheme="cn8"))
    assert by_id(out, "rfm_segment") == {cid: exp[7] for cid, exp in EXPECTED.items()}
    # scores and codes do not depend on the scheme
    assert by_id(out, "rfm_code") == {cid: exp[5] for cid, exp in EXPECTED.items()}


def test_classify_keeps_rows_and_order_and_adds_columns() -> None:
    frame = book().sample(fraction=1.0, shuffle=True, seed=7)
    out = classify(frame, churn_days=CHURN_DAYS)
    assert out["customer_id"].to_list() == frame["customer_id"].to_list()
    for column in (
        "orders_per_year",
        "frequency_class",
        "value",
        "value_tier",
        "r_score",
        "f_score",
        "m_score",
        "rfm_code",
        "rfm_segment",
        "lifecycle_stage",
    ):
        assert column in out.columns
    # row order never changes a classification
    assert by_id(out, "rfm_segment") == by_id(classify(book(), churn_days=CHURN_DAYS), "rfm_segment")


def test_classify_accepts_lazy_summary() -> None:
    out = classify(book().lazy(), churn_days=CHURN_DAYS)
    assert by_id(out, "value_tier") == {cid: exp[1] for cid, exp in EXPECTED.items()}


# ---------------------------------------------------------------- frequency classes


def test_frequency_bar_is_median_of_repeat_buyers() -> None:
    out = add_frequency_class(book()).collect()
    expected = (10 * 365.25 / 730 + 3 * 365.25 / 200) / 2  # c01 and c07 are the middle pair
    assert frequency_bar(out) == pytest.approx(expected, rel=1e-15)
    # tenure floor: c05 bought twice in 10 days → 2 orders over 30 days, not 10
    assert by_id(out, "orders_per_year")["c05"] == pytest.approx(2 * 365.25 / 30)


def test_frequency_bar_override_includes_ties_at_the_bar() -> None:
    bar = 4 * 365.25 / 730  # c03 (4 in 730 days) and c06 (2 in 365 days) sit exactly on it
    out = add_frequency_class(book(), high_frequency_bar=bar).collect()
    classes = by_id(out, "frequency_class")
    assert classes["c03"] == classes["c06"] == "high_frequency"
    assert classes["c08"] == "low_frequency"
    assert [c for c, v in classes.items() if v == "low_frequency"] == ["c08"]
    assert frequency_bar(out, bar) == bar


def test_all_one_time_buyers_have_no_bar() -> None:
    rows = [(f"x{i}", 1, float(i), i, i) for i in range(5)]
    out = classify(book(rows), churn_days=CHURN_DAYS)
    assert set(out["frequency_class"]) == {"one_time"}
    assert set(out["f_score"]) == {1}
    tables = classification_tables(out)
    assert tables.high_frequency_bar is None
    assert [(r.frequency_class, r.customers, r.threshold) for r in tables.frequency_classes] == [
        ("high_frequency", 0, None),
        ("low_frequency", 0, None),
        ("one_time", 5, None),
    ]


# ---------------------------------------------------------------- value tiers


def test_abc_custom_cuts_keep_a_straddling_tie_together() -> None:
    # cuts .70/.90: c03 and c04 (100 each) both have share-before .6 < .7 → both high, although
    # in row order c04 alone would start at .7; c05=c06 (.8) medium; c07 (.9) is low
    tiers = by_id(add_value_tier(book(), cuts=(0.70, 0.90)).collect(), "value_tier")
    assert [c for c, t in tiers.items() if t == "high"] == ["c01", "c02", "c03", "c04"]
    assert [c for c, t in tiers.items() if t == "medium"] == ["c05", "c06"]


def test_quantile_tiers() -> None:
    # share before = customers strictly above / 20: c05=c06 have 4/20 = .20 → medium;
    # c11..c14 (5.0) have 10/20 = .50 → low
    tiers = by_id(add_value_tier(book(), method="quantile").collect(), "value_tier")
    assert [c for c, t in tiers.items() if t == "high"] == ["c01", "c02", "c03", "c04"]
    assert [c for c, t in tiers.items() if t == "medium"] == ["c05", "c06", "c07", "c08", "c09", "c10"]
    assert sum(t == "low" for t in tiers.values()) == 10


def test_value_tier_rows_thresholds_and_totals() -> None:
    tables = classification_tables(classify(book(), churn_days=CHURN_DAYS))
    got = [(r.tier, r.customers, r.revenue, r.threshold) for r in tables.value_tiers]
    assert got == [("high", 4, 800.0, 100.0), ("medium", 4, 150.0, 20.0), ("low", 12, 50.0, 0.0)]
    assert [r.share for r in tables.value_tiers] == [0.2, 0.2, 0.6]
    assert [r.revenue_share for r in tables.value_tiers] == [0.8, 0.15, 0.05]


def test_one_customer_holds_all_revenue() -> None:
    rows = [("big", 3, 900.0, 10, 300)] + [(f"z{i}", 1, 0.0, 20 + i, 20 + i) for i in range(4)]
    abc = by_id(add_value_tier(book(rows)).collect(), "value_tier")
    assert abc == {"big": "high", "z0": "low", "z1": "low", "z2": "low", "z3": "low"}
    # quantile: the four zeros tie, all with 1/5 = .20 of customers above → medium together
    quant = by_id(add_value_tier(book(rows), method="quantile").collect(), "value_tier")
    assert quant == {"big": "high", "z0": "medium", "z1": "medium", "z2": "medium", "z3": "medium"}
    tables = classification_tables(classify(book(rows), churn_days=CHURN_DAYS))
    assert [(r.tier, r.customers, r.revenue_share, r.threshold) for r in tables.value_tiers] == [
        ("high", 1, 1.0, 900.0),
        ("medium", 0, 0.0, None),
        ("low", 4, 0.0, 0.0),
    ]


def test_all_zero_revenue_is_one_tier() -> None:
    rows = [(f"z{i}", 1, 0.0, i, i) for i in range(4)]
    assert set(add_value_tier(book(rows)).collect()["value_tier"]) == {"high"}


def test_value_cuts_validation() -> None:
    assert value_cuts("abc") == (0.80, 0.95)
    assert value_cuts("quantile") == (0.20, 0.50)
    with pytest.raises(ValueError):
        value_cuts("abc", (0.9, 0.7))
    with pytest.raises(ValueError):
        value_cuts("abc", (0.0, 0.5))
    with pytest.raises(ValueError):
        value_cuts("pareto")  # type: ignore[arg-type]


def test_with_profit_and_margin_tiers() -> None:
    ledger = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "d"],
            "amount": [100.0, 50.0, 80.0, 60.0, 10.0],
            "cost": [90.0, None, 20.0, 70.0, None],
        }
    )
    summary = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "orders": [2, 1, 1, 1], "revenue": [150.0, 80.0, 60.0, 10.0]})
    profit = with_profit(summary, ledger)
    assert isinstance(profit, pl.DataFrame)
    # a: only the costed order counts (100-90); c loses money; d has no known cost → null
    assert by_id(profit, "profit") == {"a": 10.0, "b": 60.0, "c": -10.0, "d": None}
    tiered = add_value_tier(profit, method="margin").collect()
    # positive total 70: b before 0 → high; a before 60/70 = .857 → medium; c (negative) and
    # d (unknown) → low
    assert by_id(tiered, "value_tier") == {"a": "medium", "b": "high", "c": "low", "d": "low"}
    assert by_id(tiered, "value") == {"a": 10.0, "b": 60.0, "c": -10.0, "d": None}
    with pytest.raises(ValueError, match="profit"):
        add_value_tier(summary, method="margin")


# ---------------------------------------------------------------- brute-force reference


def brute_force_tiers(values: list[int], cuts: tuple[float, float], by_customers: bool) -> list[str]:
    """Plain-Python tiers: share before = weight of strictly greater values / total weight."""
    weights = [1 if by_customers else max(v, 0) for v in values]
    total = sum(weights)
    tiers = []
    for v in values:
        above = sum(w for u, w in zip(values, weights, strict=True) if u > v)
        before = Fraction(above, total) if total else Fraction(0)
        first, second = Fraction(str(cuts[0])), Fraction(str(cuts[1]))  # the decimal cut points
        tiers.append("high" if before < first else "medium" if before < second else "low")
    return tiers


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=60),
    method=st.sampled_from(["abc", "quantile"]),
)
def test_value_tiers_match_brute_force(values: list[int], method: str) -> None:
    n = len(values)
    frame = pl.DataFrame({"customer_id": [str(i) for i in range(n)], "orders": [1] * n, "revenue": [float(v) for v in values]})
    cuts = value_cuts(method)  # type: ignore[arg-type]
    got = add_value_tier(frame, method=method).collect()["value_tier"].to_list()  # type: ignore[arg-type]
    assert got == brute_force_tiers(values, cuts, by_customers=method == "quantile")


# ---------------------------------------------------------------- tables partition the book


def test_tables_partition_customers_and_revenue() -> None:
    prospects = pl.DataFrame({"customer_id": ["p1", "p2", "c01"]})  # c01 already bought
    out = classify(book(), churn_days=CHURN_DAYS, prospects=prospects)
    assert out.height == 22
    tables = classification_tables(out)
    for rows in (tables.frequency_classes, tables.value_tiers, tables.rfm.segments):
        assert sum(r.customers for r in rows) == 20
        assert sum(r.revenue for r in rows) == 1000.0
        assert sum(r.share or 0 for r in rows) == pytest.approx(1.0)
    assert sum(r.customers for r in tables.lifecycle) == 22
    assert sum(r.revenue for r in tables.lifecycle) == 1000.0
    stages = {r.stage: r.customers for r in tables.lifecycle}
    assert stages == {"prospect": 2, "new": 3, "churned": 3, "at_risk": 4, "loyal": 2, "active": 5, "dormant": 3}
    freq = {r.frequency_class: (r.customers, r.revenue) for r in tables.frequency_classes}
    assert freq == {"high_frequency": (4, 380.0), "low_frequency": (4, 570.0), "one_time": (12, 50.0)}
    # prospects carry a stage only
    p1 = out.filter(pl.col("customer_id") == "p1").row(0, named=True)
    assert (p1["orders"], p1["revenue"], p1["frequency_class"], p1["value_tier"], p1["rfm_segment"]) == (
        0,
        0.0,
        None,
        None,
        None,
    )


def test_tables_json_roundtrip() -> None:
    tables = classification_tables(classify(book(), churn_days=CHURN_DAYS))
    row = tables.frequency_classes[0].model_dump(mode="json", by_alias=True)
    assert row["class"] == "high_frequency"
    assert row["threshold"] == pytest.approx((10 * 365.25 / 730 + 3 * 365.25 / 200) / 2)


def test_quantile_tiers_exact_at_the_cuts_for_every_size() -> None:
    # distinct values: exactly the customers with fewer than 20 % / 50 % of the book above them;
    # hits share-before == cut for every n divisible by 5 or 2 (true division matters here)
    for n in range(1, 121):
        frame = pl.DataFrame({"customer_id": [str(i) for i in range(n)], "orders": [1] * n, "revenue": [float(i) for i in range(n)]})
        got = add_value_tier(frame, method="quantile").collect()["value_tier"].to_list()
        assert got == brute_force_tiers(list(range(n)), (0.20, 0.50), by_customers=True), n


# ---------------------------------------------------------------- a real book: the CDNOW sample


def test_cdnow_sample_partitions_and_abc_cut() -> None:
    from pathlib import Path

    from custinv.analytics.summary import customer_summary

    raw = pl.read_csv(
        Path(__file__).parent / "data" / "cdnow_sample.csv",
        schema={"customer_id": pl.String, "date": pl.Date, "quantity": pl.Float64, "amount": pl.Float64},
    )
    # without an order id, one customer's purchases on one day are one order (design.md)
    ledger = raw.group_by("customer_id", "date").agg(pl.col("amount").sum()).rename({"date": "order_date"})
    summary = customer_summary(ledger, dt.date(1998, 6, 30)).collect()
    out = classify(summary, churn_days=180)
    tables = classification_tables(out)
    total = float(ledger["amount"].sum())
    assert out.height == 2357
    for rows in (tables.frequency_classes, tables.value_tiers, tables.rfm.segments, tables.lifecycle):
        assert sum(r.customers for r in rows) == 2357
        assert sum(r.revenue for r in rows) == pytest.approx(total, rel=1e-12)
    one_time = summary.filter(pl.col("orders") == 1).height
    assert tables.frequency_classes[2].customers == one_time
    # the high tier holds at least 80 % of revenue, and would not without its smallest member(s)
    high = out.filter(pl.col("value_tier") == "high")
    smallest = high["revenue"].min()
    assert high["revenue"].sum() / total >= 0.80
    assert high.filter(pl.col("revenue") > smallest)["revenue"].sum() / total < 0.80
    assert out["rfm_segment"].null_count() == 0 and out["lifecycle_stage"].null_count() == 0
