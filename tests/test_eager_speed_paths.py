"""The eager path's short cuts give the numbers of the rules they stand in for.

* parse rules evaluated once per distinct value (``rules.by_distinct_values``) against the
  same rules on every row;
* statuses decided once per distinct value against the normaliser on every row;
* the first-line-only order fields copied by one group_by and a join against the window it
  replaced.

The inputs are big enough (≥ 1,000 rows) for the short cuts to run, and as ugly as exports are.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from custinv.config import Settings
from custinv.ingest import ledger as L
from custinv.ingest import parse, sales
from custinv.ingest import rules as R
from custinv.ingest.order_lines import fill_order_level

_EMAILS = ["Ann@Example.com", " ann@example.com ", "ａｎｎ@example.com", "bob@shop.cn", "N/A", "", "-"]
_ORDER_IDS = ["#1001", "#1002", '="00123"', "'00124", "17850.0", " 1003 ", "null", "１２３"]
_DATES = ["03/07/2024 09:15", "3/7/2024", "12/31/2023 23:59:59", "", "n/a", "13/01/2024", "02/30/2024"]
_MONEY = ["$1,234.50", "(12.00)", "1.234,50", "", "-", "USD 10", "¥88", "1e309", "12"]
_STATUSES = ["Paid", " paid ", "PAID", "Refunded", "partially_refunded", "Voided", "待付款", "", "weird state", None]


def _line_items(path: Path, rows: int, seed: int) -> Path:
    """A Shopify-like export: order-level fields on the first line of an order only."""
    rng = random.Random(seed)
    lines = ["Name,Email,Financial Status,Created at,Total,Lineitem quantity,Lineitem price,Cancelled at,Shipping Country"]
    order = 0
    while len(lines) <= rows:
        order += 1
        # mostly good values, an ugly one now and then (as exports are)
        email = rng.choice(_EMAILS) if rng.random() < 0.3 else f"C{rng.randint(1, 400)}@Shop.com"
        status = (rng.choice(_STATUSES) or "") if rng.random() < 0.3 else "paid"
        date = rng.choice(_DATES) if rng.random() < 0.2 else f"{rng.randint(1, 12)}/{rng.randint(13, 28)}/2024 10:00"
        total = rng.choice(_MONEY) if rng.random() < 0.2 else f"${rng.randint(1, 3000)}.{rng.randint(0, 99):02d}"
        cancelled = rng.choice(["", "", "", "", "", "", "2024-03-08"])
        oid = rng.choice(_ORDER_IDS) if rng.random() < 0.1 else f"#{1000 + order}"
        for k in range(rng.choice([1, 1, 2, 3])):
            first = k == 0 or rng.random() < 0.1  # a later line now and then repeats the fields
            lines.append(",".join([
                oid, email if first else "", status if first else "", date, f'"{total}"' if first else "",
                str(rng.randint(1, 3)), f'"{rng.choice(_MONEY)}"' if rng.random() < 0.2 else "9.99", cancelled if first else "",
                rng.choice(["US", " US", "CN", ""]),
            ]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ledger(path: Path) -> L.Ledger:
    return L.build_ledger([path], Settings(max_reject_rate=1.0, currency="USD"))


@pytest.mark.parametrize("seed", [1, 2])
def test_parse_by_distinct_values_is_parse_per_row(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _line_items(tmp_path / "orders.csv", 3000, seed)
    fast = _ledger(path)
    monkeypatch.setattr(L, "by_distinct_values", lambda frame, exprs: exprs)
    slow = _ledger(path)
    assert_frame_equal(fast.orders, slow.orders)
    assert fast.source == slow.source
    assert_frame_equal(fast.rejects, slow.rejects)


def test_statuses_decided_per_distinct_value_are_decided_per_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _line_items(tmp_path / "orders.csv", 3000, 3)
    fast = _ledger(path)
    plain = sales.status_decision
    monkeypatch.setattr(sales, "status_decision", lambda mapped, deal, overrides=None, distinct=None: plain(mapped, deal, overrides))
    slow = _ledger(path)
    assert_frame_equal(fast.orders, slow.orders)
    assert fast.source == slow.source
    assert_frame_equal(fast.statuses, slow.statuses)


def test_order_level_fill_is_the_first_written_value_of_the_order() -> None:
    frame = pl.DataFrame({
        "__file__": [0, 0, 0, 0, 1, 0, 0],
        "raw_order_id": ["a", "a", "a", "b", "a", None, "b"],
        "__struct__": [None, None, None, None, None, None, "total"],
        "raw_status": [None, "paid", "refunded", None, "x", "y", "z"],
    })
    mapping = type("M", (), {"column": staticmethod(lambda name: "S" if name in ("order_id", "status") else None)})()
    filled = fill_order_level(frame, mapping, "line")  # type: ignore[arg-type]
    window = frame.with_columns(
        pl.when(pl.col("raw_order_id").is_not_null() & pl.col("__struct__").is_null() & pl.col("raw_status").is_null())
        .then(pl.col("raw_status").drop_nulls().first().over("__file__", "raw_order_id"))
        .otherwise(pl.col("raw_status")))
    assert_frame_equal(filled, window)
    # the first line takes the order's first written status; a structural row lends its value
    assert filled["raw_status"].to_list() == ["paid", "paid", "refunded", "z", "x", "y", "z"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([*_EMAILS, *_ORDER_IDS, *_DATES, *_MONEY, None]), min_size=1, max_size=40))
def test_any_row_local_rule_by_distinct_values(values: list[str | None]) -> None:
    frame = pl.DataFrame({"raw_x": (values * (1000 // len(values) + 1))[:1200]}, schema={"raw_x": pl.String})
    exprs = [parse.id_expr("raw_x").alias("a"), parse.email_expr("raw_x").alias("b"),
             parse.money_expr("raw_x", parse.detect_money_format(frame["raw_x"].drop_nulls())).alias("c"),
             parse.currency_code_expr("raw_x").alias("d"), pl.col("raw_x").alias("e")]
    assert_frame_equal(frame.with_columns(R.by_distinct_values(frame, exprs)), frame.with_columns(exprs))
