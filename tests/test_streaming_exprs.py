"""The per-row expressions of the streaming read really stream.

Polars' ``Expr.replace``/``replace_strict`` make its streaming engine compute the whole query
before it hands over the first batch — every row of the file held in memory (a status or
currency column on a 100M-line export). These tests feed the expressions from a Python source
that counts the batches it was asked for: a query that streams hands over its first batch after
a few of 200 input batches, one that stalls after all of them. And the element-wise lookup that
replaced ``replace_strict`` gives its results, against ``replace_strict`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.io.plugins import register_io_source

from custinv.ingest import parse, status

INPUT_BATCHES = 200


def _batches_pulled_before_the_first_output(expr: pl.Expr) -> int:
    pulled = 0

    def source(with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None,
               batch_size: int | None) -> Iterator[pl.DataFrame]:
        nonlocal pulled
        for _ in range(INPUT_BATCHES):
            pulled += 1
            yield pl.DataFrame({"v": ["Paid", " refunded ", "", "人民币", "usd", "Status 7", "ＵＳＤ", None] * 500})

    frame = register_io_source(io_source=source, schema={"v": pl.String})
    for _ in frame.select(expr.alias("out")).collect_batches(chunk_size=4000):
        return pulled
    raise AssertionError("no batch came out")


STREAMING_EXPRS: dict[str, Callable[[], pl.Expr]] = {
    "status normaliser": lambda: status.normalise_status_expr("v"),
    "status decision": lambda: status.status_decision_expr("v"),
    "status decision, deal export": lambda: status.status_decision_expr("v", deal_export=True),
    "status decision, overrides": lambda: status.status_decision_expr("v", overrides={"status 7": "used"}),
    "status decision, 300 known values": lambda: status.status_decision_expr(
        "v", known=pl.Series([f"Status {i}" for i in range(300)])),
    "status decision, deal export, known values": lambda: status.status_decision_expr(
        "v", known=pl.Series(["Paid", "Closed Won"]), deal_export=True),
    "transaction type": lambda: status.transaction_decision_expr("v"),
    "currency code": lambda: parse.currency_code_expr("v"),
    "id": lambda: parse.id_expr("v"),
}


def test_the_probe_sees_a_stall() -> None:
    """The probe itself: replace_strict holds every input batch before its first output."""
    stalled = pl.col("v").replace_strict({"Paid": "p"}, default=None, return_dtype=pl.String)
    assert _batches_pulled_before_the_first_output(stalled) >= INPUT_BATCHES


@pytest.mark.parametrize("name", list(STREAMING_EXPRS))
def test_the_read_query_expressions_stream(name: str) -> None:
    assert _batches_pulled_before_the_first_output(STREAMING_EXPRS[name]()) < INPUT_BATCHES // 2


_KEYS = st.sampled_from(["a", "b", "B", "中", "a ", "", "zz"])


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.one_of(st.none(), _KEYS), max_size=12),
       table=st.dictionaries(_KEYS, st.one_of(st.none(), st.sampled_from(["x", "y", "退款"])), max_size=5),
       default=st.one_of(st.none(), st.just("d"), st.just("<key>")))
def test_lookup_is_replace_strict(keys: list[str | None], table: dict[str, str | None], default: str | None) -> None:
    key = pl.col("k")
    fallback = key.str.to_uppercase() if default == "<key>" else default
    frame = pl.DataFrame({"k": keys}, schema={"k": pl.String})
    ours = frame.select(parse.lookup_expr(key, table, fallback)).to_series().to_list()
    theirs = frame.select(key.replace_strict(table, default=fallback, return_dtype=pl.String)).to_series().to_list()
    assert ours == theirs
