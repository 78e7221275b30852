"""Order engines: the order-level reductions of an audit in Polars (one machine) or Spark.

:func:`engine_for` picks the engine by the type of a ledger's ``orders``; :func:`as_engine`
also accepts an order sequence or an engine, so the analytics functions take any of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from custinv.analytics.periods import SEQUENCE_READ, as_sequence
from custinv.engine.base import OrderEngine, PeriodCells, PeriodWindow, engine_for


def as_engine(source: Any, as_of: dt.date | None = None) -> OrderEngine:
    """``source`` if it is an engine; else the engine of a ledger's orders or of an order
    sequence (:func:`~custinv.analytics.periods.order_sequence`, recognised by its columns;
    cut at ``as_of`` when it reaches past it)."""
    if isinstance(source, OrderEngine):
        return source
    if isinstance(source, pl.DataFrame) and set(SEQUENCE_READ) <= set(source.columns):
        from custinv.engine.polars_engine import PolarsEngine

        return PolarsEngine.from_sequence(as_sequence(source, as_of), as_of)
    return engine_for(source, as_of)


__all__ = ["OrderEngine", "PeriodCells", "PeriodWindow", "as_engine", "engine_for"]
