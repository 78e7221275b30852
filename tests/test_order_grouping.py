"""Lines into orders (rules.orders_from_lines): the run-number grouping for adjacent ids gives
exactly the group_by's orders — the same rows, in the same order, with the same float sums."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.ingest import rules as R


class _Mapping:
    """The two questions orders_from_lines asks a file's mapping."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns

    def column(self, name: str) -> str | None:
        return self.columns.get(name)


def _plan(mode: str, *, cost: bool, dims: bool) -> R.FilePlan:
    columns = {"order_id": "Order", "customer_id": "Customer"}
    if cost:
        columns["cost"] = "Cost"
    if dims:
        columns |= {"channel": "Channel", "region": "Region"}
    return R.FilePlan(raw=None, mapping=_Mapping(columns), amount_mode=mode)  # type: ignore[arg-type]


def _lines(seed: int, *, cost: bool, dims: bool, switch_customer: bool, modes: list[str]) -> pl.DataFrame:
    """Used lines in file order with equal order ids adjacent: orders of 1–6 lines, amounts with
    many decimals (so the order of a sum shows in its last bit), null dimensions and quantities."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for order in range(rng.randint(1, 60)):
        customer = f"C{rng.randint(1, 9)}"
        mode = rng.choice(modes)
        for line in range(rng.choice([1, 1, 1, 2, 3, 4, 6])):
            if switch_customer and line == 1 and rng.random() < 0.3:  # A, B, A inside one order id
                who = f"X{order}"
            else:
                who = customer
            rows.append({
                "customer_id": who, "order_id": f"{100000 + order}",
                "order_date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 400)),
                "line_amount": rng.uniform(-5, 500) / 3, "quantity": rng.choice([None, 1.0, 2.0, 0.5]),
                "channel": rng.choice([None, "web", "app"]), "region": rng.choice([None, "N", "S"]),
                "cost": rng.choice([None, 1.5, 2.25]), "margin": rng.choice([None, 0.5]), "__amount_mode__": mode,
            })
    frame = pl.DataFrame(rows, schema={
        "customer_id": pl.String, "order_id": pl.String, "order_date": pl.Date, "line_amount": pl.Float64,
        "quantity": pl.Float64, "channel": pl.String, "region": pl.String, "cost": pl.Float64, "margin": pl.Float64,
        "__amount_mode__": pl.String,
    })
    frame = frame.with_columns(pl.col("channel").cast(pl.Categorical), pl.col("region").cast(pl.Categorical))
    keep = ["customer_id", "order_id", "order_date", "line_amount", "quantity", "__amount_mode__"]
    keep += ["cost", "margin"] if cost else []
    keep += ["channel", "region"] if dims else []
    return frame.select(keep)


def _same_orders(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    for name in a.columns:
        left, right = a[name], b[name]
        if left.dtype == pl.Categorical:
            left, right = left.cast(pl.String), right.cast(pl.String)
        assert left.equals(right), name  # floats bit for bit: the same sums in the same order


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 100_000), cost=st.booleans(), dims=st.booleans(), switch=st.booleans(),
       modes=st.sampled_from([["line"], ["order_total"], ["price"], ["line", "order_total"]]),
       slice_rows=st.sampled_from([1_000_000, 7, 1]))
def test_runs_group_as_the_group_by(seed: int, cost: bool, dims: bool, switch: bool, modes: list[str],
                                    slice_rows: int) -> None:
    """Property (slices of 1 and 7 lines too: orders cut between slices would show)."""
    lines = _lines(seed, cost=cost, dims=dims, switch_customer=switch, modes=modes)
    plans = [_plan(m, cost=cost, dims=dims) for m in modes]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(R, "RUN_SLICE_ROWS", slice_rows)
        by_runs = R.orders_from_lines(lines, plans, one_line=False, adjacent_ids=True)
    by_hash = R.orders_from_lines(lines, plans, one_line=False, adjacent_ids=False)
    _same_orders(by_runs, by_hash)


def test_runs_by_hand() -> None:
    """Three orders: one line, three lines (summed; the earliest date; the first non-null dimension), one line."""
    lines = pl.DataFrame({
        "customer_id": ["A", "B", "B", "B", "C"], "order_id": ["1", "2", "2", "2", "3"],
        "order_date": [dt.date(2024, 1, d) for d in (1, 3, 2, 4, 5)],
        "line_amount": [10.0, 0.1, 0.2, 0.3, 5.0], "quantity": [1.0, None, 2.0, 1.0, None],
        "channel": [None, None, "app", "web", "web"], "region": ["N", None, None, None, None],
    }).with_columns(pl.col("channel").cast(pl.Categorical), pl.col("region").cast(pl.Categorical))
    orders = R.orders_from_lines(lines, [_plan("line", cost=False, dims=True)], one_line=False, adjacent_ids=True)
    assert orders["order_id"].to_list() == ["1", "2", "3"]
    assert orders["amount"].to_list() == pytest.approx([10.0, 0.6, 5.0], abs=1e-12)  # bits: the property test
    assert orders["order_date"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 5)]
    assert orders["lines"].to_list() == [1, 3, 1]
    assert orders["quantity"].to_list() == [1.0, 3.0, 0.0]
    assert orders["channel"].cast(pl.String).to_list() == [None, "app", "web"]


@pytest.mark.parametrize("mode", ["line", "order_total"])
def test_a_customer_change_inside_an_order_id_takes_the_group_by(mode: str) -> None:
    """Order 7's lines name A, B, A: the group_by by customer and order joins A's two lines, which
    are not neighbours; the run grouping declines and the general grouping decides."""
    lines = pl.DataFrame({
        "customer_id": ["A", "B", "A"], "order_id": ["7", "7", "7"],
        "order_date": [dt.date(2024, 1, 1)] * 3, "line_amount": [1.0, 2.0, 4.0], "quantity": [1.0, 1.0, 1.0],
        "__amount_mode__": [mode] * 3,
    })
    plans = [_plan(mode, cost=False, dims=False)]
    assert R._group_runs(lines, [pl.len()], [pl.col("customer_id")]) is None
    orders = R.orders_from_lines(lines, plans, one_line=False, adjacent_ids=True)
    assert orders.select("customer_id", "amount", "lines").rows() == (
        [("A", 5.0, 2), ("B", 2.0, 1)] if mode == "line" else [("A", 1.0, 2), ("B", 2.0, 1)])
