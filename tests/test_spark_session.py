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
