"""Lifecycle stages: window boundaries, the population gap, prospects, and a plain-Python
reference of the first-match-wins rules on random books (the stages partition customers)."""

from __future__ import annotations

import statistics

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.actions import LIFECYCLE_STAGES
from custinv.analytics.lifecycle import add_lifecycle_stage, add_prospects, lifecycle_rows

SCHEMA = {
    "customer_id": pl.String,
    "orders": pl.Int64,
    "revenue": pl.Float64,
    "recency_days": pl.Int64,
    "tenure_days": pl.Int64,
    "mean_interpurchase_days": pl.Float64,
    "value_tier": pl.String,
}


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def stages(df: pl.DataFrame, **kwargs: object) -> dict[str, str]:
    out = add_lifecycle_stage(df, **{"churn_days": 180, **kwargs}).collect()  # type: ignore[arg-type]
    return dict(zip(out["customer_id"], out["lifecycle_stage"], strict=True))


def test_window_boundaries_are_inclusive() -> None:
    # repeat buyers with a long own gap, so at_risk never fires here
    rows = [
        ("new_edge", 2, 10.0, 5, 30, 1000.0, "low"),  # tenure 30 ≤ 30 → new
        ("not_new", 2, 10.0, 5, 31, 1000.0, "low"),  # tenure 31 → active
        ("active_edge", 2, 10.0, 90, 400, 1000.0, "low"),  # recency 90 ≤ 90 → active
        ("dormant", 2, 10.0, 91, 400, 1000.0, "low"),  # recency 91 → dormant
        ("churn_edge", 2, 10.0, 180, 400, 1000.0, "low"),  # recency 180 ≤ 180 → not churned
        ("churned", 2, 10.0, 181, 400, 1000.0, "low"),  # recency 181 → churned
    ]
    assert stages(frame(rows)) == {
        "new_edge": "new",
        "not_new": "active",
        "active_edge": "active",
        "dormant": "dormant",
        "churn_edge": "dormant",
        "churned": "churned",
    }


def test_loyal_needs_active_three_orders_and_high_tier() -> None:
    rows = [
        ("loyal", 3, 10.0, 10, 400, 100.0, "high"),
        ("two_orders", 2, 10.0, 10, 400, 100.0, "high"),
        ("medium", 5, 10.0, 10, 400, 100.0, "medium"),
        ("inactive", 5, 10.0, 100, 400, 100.0, "high"),  # 100 ≤ 2×100: not at risk, not active
    ]
    assert stages(frame(rows)) == {"loyal": "loyal", "two_orders": "active", "medium": "active", "inactive": "dormant"}


def test_population_gap_for_one_time_and_same_day_buyers() -> None:
    # positive gaps 10, 20, 30, 40 → median 25 → at risk past 50 days
    rows = [
        ("g10", 2, 1.0, 5, 100, 10.0, "low"),
        ("g20", 2, 1.0, 5, 100, 20.0, "low"),
        ("g40", 2, 1.0, 5, 100, 40.0, "low"),
        ("own_gap", 3, 1.0, 61, 121, 30.0, "low"),  # 61 > 2×30
        ("sameday", 2, 1.0, 51, 51, 0.0, "low"),  # gap 0 → uses the population's 25
        ("one_51", 1, 1.0, 51, 51, None, "low"),
        ("one_50", 1, 1.0, 50, 50, None, "low"),
    ]
    got = stages(frame(rows))
    assert got["sameday"] == "at_risk" and got["one_51"] == "at_risk" and got["own_gap"] == "at_risk"
    assert got["one_50"] == "active"
    # a different factor moves the line
    assert stages(frame(rows), at_risk_factor=3.0)["one_51"] == "active"


def test_no_repeat_buyers_means_nobody_at_risk_by_population_gap() -> None:
    rows = [(f"o{i}", 1, 1.0, 100 + i, 100 + i, None, "low") for i in range(3)]
    assert set(stages(frame(rows)).values()) == {"dormant"}


def test_prospects_are_added_once_and_never_duplicate_buyers() -> None:
    buyers = frame([("a", 2, 10.0, 5, 100, 10.0, "high")])
    prospects = pl.DataFrame({"customer_id": ["p", "a", "p", None, "q"], "name": ["P", "A", "P", "-", "Q"]})
    out = add_lifecycle_stage(add_prospects(buyers, prospects), churn_days=180).collect()
    assert out["customer_id"].to_list() == ["a", "p", "q"]
    assert out["lifecycle_stage"].to_list() == ["active", "prospect", "prospect"]
    assert out["orders"].to_list() == [2, 0, 0] and out["revenue"].to_list() == [10.0, 0.0, 0.0]
    assert "name" not in out.columns
    rows = lifecycle_rows(out)
    assert [r.stage for r in rows] == list(LIFECYCLE_STAGES)
    assert {r.stage: r.customers for r in rows if r.customers} == {"prospect": 2, "active": 1}


# ---------------------------------------------------------------- reference on random books


def reference_stage(row: dict, pop_gap: float | None, churn: int, new: int, active: int) -> str:
    if row["orders"] == 0:
        return "prospect"
    if row["tenure_days"] <= new:
        return "new"
    if row["recency_days"] > churn:
        return "churned"
    own = row["mean_interpurchase_days"]
    gap = own if own is not None and own > 0 else pop_gap
    if gap is not None and row["recency_days"] > 2 * gap:
        return "at_risk"
    is_active = row["recency_days"] <= active
    if is_active and row["orders"] >= 3 and row["value_tier"] == "high":
        return "loyal"
    return "active" if is_active else "dormant"


customer = st.integers(0, 6).flatmap(
    lambda orders: st.tuples(
        st.just(orders),
        st.integers(0, 400),  # recency
        st.integers(0, 400),  # extra tenure
        st.sampled_from(["high", "medium", "low"]),
    )
)


@settings(max_examples=80, deadline=None)
@given(customers=st.lists(customer, min_size=1, max_size=40), churn=st.integers(30, 365))
def test_stages_match_reference_and_partition(customers: list[tuple[int, int, int, str]], churn: int) -> None:
    rows = []
    for i, (orders, recency, extra, tier) in enumerate(customers):
        if orders == 0:
            rows.append((f"c{i}", 0, 0.0, None, None, None, None))
            continue
        tenure = recency + (extra if orders > 1 else 0)
        gap = (tenure - recency) / (orders - 1) if orders > 1 else None
        rows.append((f"c{i}", orders, float(orders), recency, tenure, gap, tier))
    df = frame(rows)
    got = add_lifecycle_stage(df, churn_days=churn).collect()["lifecycle_stage"].to_list()
    gaps = [r[5] for r in rows if r[5] is not None and r[5] > 0]
    pop_gap = statistics.median(gaps) if gaps else None
    expected = [reference_stage(dict(zip(SCHEMA, r, strict=True)), pop_gap, churn, 30, 90) for r in rows]
    assert got == expected
    table = lifecycle_rows(df.with_columns(pl.Series("lifecycle_stage", got)))
    assert sum(r.customers for r in table) == len(rows)
    assert sum(r.revenue for r in table) == sum(r[2] for r in rows)
