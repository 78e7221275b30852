"""The Spark test fixture itself: a local[2] session whose executors run custinv's interpreter."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

pytestmark = pytest.mark.spark


def test_executors_run_polars_on_arrow_batches(spark: Any) -> None:
    frame = spark.createDataFrame(pl.DataFrame({"a": ["1", "2", "3"] * 10}).to_arrow())

    def doubled(batches):  # type: ignore[no-untyped-def]
        import polars as pl

        for batch in batches:
            out = pl.from_arrow(batch).select(b=pl.col("a").cast(pl.Int64) * 2)
            yield from out.to_arrow().to_batches()

    total = frame.mapInArrow(doubled, "b long").groupBy().sum("b").collect()[0][0]
    assert total == 2 * (1 + 2 + 3) * 10


def test_orders_round_trip_through_spark_unchanged(spark: Any) -> None:
    import datetime as dt

    from custinv.spark.frames import ROW, to_polars, to_spark

    orders = pl.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "order_date": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(2024, 1, 1)],
            "amount": [0.1 + 0.2, -5.0, 1e15],
            "lines": pl.Series([1, 2, 1], dtype=pl.UInt32),
            "region": pl.Series(["东", None, "东"], dtype=pl.Categorical),
        }
    )
    back = to_polars(to_spark(spark, orders).orderBy(ROW), orders.schema)
    assert back.drop(ROW).equals(orders)
    assert back[ROW].to_list() == [0, 1, 2]
