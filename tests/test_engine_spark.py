"""The Spark engine's reductions equal the Polars engine's, to the bit, and so does the whole audit.

Ledgers come from the Polars ingest (every example and every platform fixture) and from
hypothesis (random customers, same-day ties, negative and zero amounts, dimensions with
nulls); their orders go to Spark through :func:`custinv.spark.frames.to_spark`. One local[2]
session serves the run (fixture ``spark``), and the checks are grouped so that each Spark
query runs over many ledgers at once: the reductions over one union of all fixture ledgers,
the whole-audit comparison on a few files and a handful of random ledgers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_golden_outputs import INPUTS, ROOT

from custinv.cache import cached_build_ledger
from custinv.config import Settings
from custinv.engine.base import PeriodWindow
from custinv.engine.polars_engine import PolarsEngine
from custinv.errors import CustinvError, UsageError
from custinv.ingest.rules import Ledger
from custinv.ingest.sources import as_source
from custinv.models import SourceReport
from custinv.spark.frames import to_spark
from custinv.stocktake import AuditResult, analyse

pytestmark = pytest.mark.spark

DIMENSIONS = ("region", "country", "city", "industry", "channel", "segment", "owner", "customer_name")


def _ledger(path: Path) -> Ledger | None:
    try:
        return cached_build_ledger([as_source(str(path))], Settings())
    except CustinvError:  # a fixture that is refused on purpose has no ledger
        return None


@pytest.fixture(scope="module")
def union() -> tuple[pl.DataFrame, dt.date]:
    """Every fixture ledger's orders in one frame (ids prefixed by the file, dimensions as text,
    columns a file lacks null), and the latest as_of among them."""
    frames, dates = [], []
    for k, path in enumerate(INPUTS):  # every example and platform fixture
        ledger = _ledger(path)
        if ledger is None or ledger.as_of is None:
            continue
        orders = ledger.orders
        text = [pl.col(c).cast(pl.String) for c, t in orders.schema.items() if isinstance(t, (pl.Categorical, pl.Enum))]
        frames.append(orders.with_columns(*text, (pl.lit(f"{k}:") + pl.col("customer_id")).alias("customer_id")))
        dates.append(ledger.as_of)
    assert len(frames) >= 20
    orders = pl.concat(frames, how="diagonal_relaxed")
    assert "cost" not in orders.columns  # no fixture maps one: a cost with gaps, for the margin reductions
    cost = pl.when(pl.int_range(pl.len()) % 3 > 0).then(pl.col("amount") * 0.37)
    return orders.with_columns(cost.alias("cost")), max(dates)


def _sorted(frame: pl.DataFrame, *keys: str) -> pl.DataFrame:
    return frame.sort(list(keys))


def test_every_reduction_equals_the_polars_engines_on_all_fixture_ledgers(
    spark: Any, union: tuple[pl.DataFrame, dt.date]
) -> None:
    from custinv.engine.spark_engine import SparkEngine

    orders, as_of = union
    polars = PolarsEngine(orders, as_of)
    sparks = SparkEngine(to_spark(spark, orders), as_of)
    assert sparks.columns == polars.columns
    assert sparks.first_order_date() == polars.first_order_date()
    assert sparks.has_values("cost") == polars.has_values("cost")

    assert_frame_equal(_sorted(sparks.customer_totals(), "customer_id"), _sorted(polars.customer_totals(), "customer_id"))
    assert_frame_equal(sparks.gap_counts(), polars.gap_counts())
    for days in (30, 90, 400):
        assert sparks.churned_revenue_units(days) == polars.churned_revenue_units(days)
    for period, fiscal in (("month", 1), ("quarter", 4), ("week", 1), ("year", 7)):
        assert_frame_equal(_sorted(sparks.cohort_cells(period, fiscal), "cohort_index", "k"),
                           _sorted(polars.cohort_cells(period, fiscal), "cohort_index", "k"))
    cut = as_of - dt.timedelta(days=200)
    for end, cost in ((as_of, True), (cut, False)):
        assert_frame_equal(_sorted(sparks.purchase_totals(end, cost=cost), "customer_id"),
                           _sorted(polars.purchase_totals(end, cost=cost), "customer_id"))
    assert_frame_equal(_sorted(sparks.holdout_purchases(cut), "customer_id"),
                       _sorted(polars.holdout_purchases(cut), "customer_id"))
    assert_frame_equal(_sorted(sparks.profit(), "customer_id"), _sorted(polars.profit(), "customer_id"))
    assert_frame_equal(sparks.sample_orders(None), polars.sample_orders(None))
    some = polars.customer_totals()["customer_id"].gather_every(7)
    assert_frame_equal(sparks.sample_orders(some), polars.sample_orders(some))

    dims = [d for d in DIMENSIONS if d in polars.columns]
    assert len(dims) >= 5

    def long(picks: list[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat([p.with_columns(pl.exclude("customer_id").cast(pl.String)).unpivot(index="customer_id")
                          for p in picks]).sort("customer_id", "variable")

    assert_frame_equal(long(sparks.latest_values(dims)), long(polars.latest_values(dims)))

    for period, churn_days, first_back in (("month", 45, 11), ("week", 10, 25), ("quarter", 120, 3)):
        from custinv.analytics.periods import last_periods, period_table

        window = last_periods(as_of, period, first_back + 1)
        first = int(window["index"].min())  # type: ignore[arg-type]
        start = window["start"][0]
        lo = min(start - dt.timedelta(days=churn_days + 1),
                 period_table(first - 1, first - 1, period, 1, as_of)["start"][0])
        w = PeriodWindow(period, 1, churn_days, first, lo, start - dt.timedelta(days=1))
        got, want = sparks.period_cells(w), polars.period_cells(w)
        assert got.counted_before == want.counted_before
        for name in ("main", "starts", "churns"):
            assert_frame_equal(_sorted(getattr(got, name), "idx"), _sorted(getattr(want, name), "idx"))


def _payload(result: AuditResult) -> dict[str, Any]:
    """The stocktake JSON without the field that names the engine."""
    payload: dict[str, Any] = json.loads(result.stocktake.model_dump_json())
    assert payload["settings"].pop("engine") in ("polars", "spark")
    return payload


def _spark_ledger(spark: Any, ledger: Ledger) -> Ledger:
    orders: Any = to_spark(spark, ledger.orders)
    return dataclasses.replace(ledger, orders=orders)


@pytest.mark.parametrize(("name", "options"), [
    ("shopify_orders.csv", {}),
    # the customer book joins the master; --holdout validates the CLV on a calibration cut
    ("crm_orders_zh.csv", {"customers_file": str(ROOT / "examples" / "crm_accounts_zh.csv"), "holdout": "2023-12-31",
                           "period": "quarter", "lang": "zh"}),
])
def test_the_whole_audit_json_is_the_same_on_spark(spark: Any, name: str, options: dict[str, Any]) -> None:
    ledger = _ledger(ROOT / "examples" / name)
    assert ledger is not None
    options = Settings.model_validate(options)
    polars = analyse(ledger, options)
    on_spark = analyse(_spark_ledger(spark, ledger), options)
    assert polars.stocktake.settings is not None and on_spark.stocktake.settings is not None
    assert (polars.stocktake.settings["engine"], on_spark.stocktake.settings["engine"]) == ("polars", "spark")
    assert _payload(on_spark) == _payload(polars)
    assert_frame_equal(on_spark.customers, polars.customers)
    if name == "crm_orders_zh.csv":
        assert polars.stocktake.customer_book is not None and polars.stocktake.clv is not None
        assert polars.stocktake.clv.validation is not None


def test_spark_refuses_tickets_loudly(spark: Any) -> None:
    ledger = _ledger(ROOT / "examples" / "salesforce_opportunities.csv")
    assert ledger is not None
    with pytest.raises(UsageError, match="--tickets is not supported with the Spark engine"):
        analyse(_spark_ledger(spark, ledger), Settings(tickets=str(ROOT / "examples" / "tickets.csv")))


# ---------------------------------------------------------------- random ledgers

_DAY0 = dt.date(2023, 1, 1)
_order = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f", "客户1", "x y"]),  # customer
    st.integers(0, 500),  # day: many same-day ties with few days per customer
    st.one_of(st.integers(-500, 30_000).map(lambda c: c / 100), st.just(0.0), st.floats(0.001, 1e4)),
    st.sampled_from(["north", "south", "东", None]),  # region, with nulls
    st.sampled_from(["web", "store", None]),  # channel, with nulls
)


def _random_ledger(rows: list[tuple[str, int, float, str | None, str | None]]) -> Ledger:
    orders = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [f"o{i % 7}" for i in range(len(rows))],  # ids repeat: the tie-break reads them
            "order_date": [_DAY0 + dt.timedelta(days=r[1]) for r in rows],
            "amount": [r[2] for r in rows],
            "region": [r[3] for r in rows],
            "channel": [r[4] for r in rows],
        },
        schema={"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Date, "amount": pl.Float64,
                "region": pl.String, "channel": pl.String},
    )
    as_of = orders["order_date"].max()
    assert isinstance(as_of, dt.date)
    source = SourceReport(files=[], mapping={}, rows_read=orders.height, rows_used=orders.height,
                          rows_excluded={}, rows_rejected=0, reject_reasons={})
    return Ledger(orders=orders, as_of=as_of, currency="USD", source=source,
                  rejects=pl.DataFrame(), statuses=pl.DataFrame())


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_order, min_size=1, max_size=60), period=st.sampled_from(["month", "week", "quarter"]))
def test_the_whole_audit_json_is_the_same_on_spark_for_random_ledgers(
    spark: Any, rows: list[tuple[str, int, float, str | None, str | None]], period: str
) -> None:
    ledger = _random_ledger(rows)
    options = Settings.model_validate({"period": period, "periods": 6})
    assert _payload(analyse(_spark_ledger(spark, ledger), options)) == _payload(analyse(ledger, options))
