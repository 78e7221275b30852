"""Status vocabulary: whole normalised values only, en + zh, deal exports."""

from __future__ import annotations

import polars as pl
import pytest

from custinv.ingest.status import (
    DEAL_STAGES,
    EXCLUSION_REASONS,
    STATUS_VOCABULARY,
    USED,
    is_deal_export,
    normalise_status_expr,
    status_decision_expr,
    status_report,
)


def decide(values: list[str | None], deal_export: bool = False) -> list[str | None]:
    frame = pl.DataFrame({"status": values}, schema={"status": pl.String})
    return frame.select(status_decision_expr("status", deal_export=deal_export)).to_series().to_list()


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        # English shop statuses
        ("Paid", USED), ("paid", USED), ("PAID", USED), ("Completed", USED), ("shipped", USED),
        ("Fulfilled", USED), ("delivered", USED),
        ("Cancelled", "cancelled"), ("canceled", "cancelled"), (" CANCELLED ", "cancelled"),
        ("Refunded", "refunded"), ("voided", "voided"), ("Void", "voided"),
        ("closed", "closed"), ("Closed", "closed"),
        ("pending", "unpaid"), ("Unpaid", "unpaid"), ("Awaiting Payment", "unpaid"),
        ("awaiting_payment", "unpaid"), ("awaiting-payment", "unpaid"), ("AWAITING  PAYMENT", "unpaid"),
        # Whole values only
        # a partial refund leaves a sale (Shopify, PayPal): known and used, never "refunded"
        ("partially_refunded", "used"), ("Partially Refunded", "used"), ("refund requested", None),
        ("not cancelled", None), ("paid?", None),
        # Salesforce stages
        ("Closed Won", USED), ("closed_won", USED), ("Closed - Won", USED),
        ("Closed Lost", "lost"), ("closed-lost", "lost"), ("Lost", "lost"),
        ("Prospecting", "open"), ("Qualification", "open"), ("Needs Analysis", "open"),
        ("Proposal", "open"), ("Negotiation", "open"), ("Negotiation/Review", "open"),
        ("Id. Decision Makers", "open"), ("Open", "open"),
        # Chinese
        ("交易关闭", "closed"), ("已取消", "cancelled"), ("已退款", "refunded"),
        ("退款成功", "refunded"), ("等待买家付款", "unpaid"), ("待付款", "unpaid"),
        ("已关闭", "closed"), ("已作废", "voided"), ("输单", "lost"), ("赢单", USED),
        ("已成交", USED), ("交易成功", USED), ("已完成", USED), ("已发货", USED),
        ("卖家已发货，等待买家确认", USED),  # full-width comma
        ("卖家已发货,等待买家确认", USED),  # half-width comma
        ("卖家已发货， 等待买家确认", USED),  # and a space after it
        ("买家已付款，等待卖家发货", USED),
        ("ＰＡＩＤ", USED),  # full-width letters
        # Blank and unknown
        ("", None), ("   ", None), (None, None), ("weird", None), ("退款申请", None),
        ("部分退款", USED),  # a partial refund leaves the sale standing (SHOPLINE 付款狀態)
    ],
)
def test_decisions(text: str | None, decision: str | None) -> None:
    assert decide([text]) == [decision]


def test_shipped_awaiting_confirmation_is_not_awaiting_payment() -> None:
    assert decide(["卖家已发货，等待买家确认", "等待买家付款"]) == [USED, "unpaid"]


def test_vocabulary_is_normalised_and_uses_known_codes() -> None:
    keys = list(STATUS_VOCABULARY)
    frame = pl.DataFrame({"k": keys})
    assert frame.select(normalise_status_expr("k")).to_series().to_list() == keys
    # every reason but the user's own exclusion (--status-excluded) comes from the vocabulary
    assert set(STATUS_VOCABULARY.values()) == set(EXCLUSION_REASONS) - {"excluded_status"} | {USED}
    assert DEAL_STAGES <= set(STATUS_VOCABULARY)


def test_normalisation() -> None:
    frame = pl.DataFrame({"s": ["  Closed__Won ", "AWAITING - PAYMENT", "ＣＬＯＳＥＤ　ＷＯＮ", "", None]})
    assert frame.select(normalise_status_expr("s")).to_series().to_list() == [
        "closed won", "awaiting payment", "closed won", None, None,
    ]


def test_deal_export_unknown_stages_are_open() -> None:
    values = ["Closed Won", "Verbal Commit", "Closed Lost", "", None, "Prospecting"]
    assert decide(values, deal_export=True) == [USED, "open", "lost", None, None, "open"]
    assert decide(values, deal_export=False) == [USED, None, "lost", None, None, "open"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Closed Won", "Closed Lost", "Prospecting", "Negotiation"], True),
        (["Closed Won", "Verbal Commit", "Contract Sent", "Closed Won"], True),
        (["赢单", "输单", "商务谈判"], True),
        (["paid", "refunded", "pending", "paid"], False),
        (["交易成功", "交易关闭", "等待买家付款"], False),
        (["closed", "closed", "weird"], False),  # "closed" alone proves nothing
        (["paid", "paid", "Closed Won"], False),
        ([], False),
        ([None, ""], False),
    ],
)
def test_is_deal_export(values: list[str | None], expected: bool) -> None:
    assert is_deal_export(pl.Series(values, dtype=pl.String)) is expected


def test_status_report_lists_every_value_with_its_decision() -> None:
    values = ["paid", "Paid", "paid", "refunded", "partially_refunded", "", None, "Cancelled", "refund requested"]
    report = status_report(pl.Series(values))
    assert report.columns == ["status", "normalised", "decision", "recognised", "rows"]
    rows = {r["status"]: r for r in report.to_dicts()}
    assert rows["paid"]["rows"] == 2 and rows["paid"]["decision"] == USED
    assert rows["Paid"]["rows"] == 1
    assert rows["refunded"]["decision"] == "refunded"
    assert rows["partially_refunded"]["decision"] == USED and rows["partially_refunded"]["recognised"]
    assert rows["refund requested"] == {  # unknown: used, and not recognised (a warning)
        "status": "refund requested", "normalised": "refund requested",
        "decision": USED, "recognised": False, "rows": 1,
    }
    assert rows[None]["rows"] == 2 and rows[None]["decision"] == USED
    assert report.get_column("rows").sum() == len(values)
    assert report.row(0, named=True)["status"] == "paid"  # most frequent first


def test_status_report_in_a_deal_export() -> None:
    report = status_report(pl.Series(["Closed Won", "Verbal Commit", "Closed Lost"]))
    assert dict(zip(report["status"], report["decision"], strict=True)) == {
        "Closed Won": USED, "Verbal Commit": "open", "Closed Lost": "lost",
    }


@pytest.mark.parametrize(
    "counts",
    [
        {"Paid": 5, "Closed Won": 4, "Closed Lost": 2},
        {"Paid": 7, "Closed Won": 4, "Closed Lost": 2, "closed": 9, "weird": 30},
        {"Closed Won": 1},
        {"已付款": 3, "赢单": 3},
        {},
    ],
)
def test_the_deal_vote_from_counts_is_the_vote_of_the_rows(counts: dict[str, int]) -> None:
    """The streaming ingest votes on each distinct status weighted by its rows: the same answer."""
    rows = pl.Series([v for v, n in counts.items() for _ in range(n)], dtype=pl.String)
    values = pl.Series(list(counts), dtype=pl.String)
    weights = pl.Series(list(counts.values()), dtype=pl.UInt32)
    assert is_deal_export(values, weights) == is_deal_export(rows)
