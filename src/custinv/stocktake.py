"""audit(): run the stages — ingest → ledger → per-customer summary → analytics — into a Stocktake.

This is the only place that knows the order of the stages; the CLI calls it and hands the
result to a renderer. Timings of each stage are kept for ``--timings``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from custinv import __version__
from custinv.analytics.headline import headline_kpis
from custinv.analytics.summary import customer_summary
from custinv.config import Settings
from custinv.ingest.ledger import Ledger, build_ledger
from custinv.models import Stocktake, Tool


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


@dataclass
class AuditResult:
    """What an audit produced: the contract object plus the frames the exporters need."""

    stocktake: Stocktake
    customers: pl.DataFrame
    ledger: Ledger
    timings: Timings


def audit(
    paths: Sequence[Path],
    settings: Settings,
    *,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Compute a stocktake of the orders in ``paths``."""
    timings = Timings()
    say = progress or (lambda _msg: None)
    with timings.stage("ingest"):
        ledger = build_ledger(paths, settings, on_file=lambda p: say(f"reading {p.name}"))
    as_of = ledger.as_of
    assert as_of is not None  # build_ledger raises when nothing is usable
    with timings.stage("summary"):
        say("summarising customers")
        customers = customer_summary(ledger.orders, as_of).collect()
    with timings.stage("kpis"):
        kpis = headline_kpis(
            customers,
            returns=ledger.source.returns,
            new_days=settings.new_days,
            active_days=settings.active_days,
        )
    stocktake = Stocktake(
        tool=Tool(version=__version__),
        as_of=as_of,
        currency=ledger.currency,
        source=ledger.source,
        kpis=kpis,
        settings=settings.number_settings(),
    )
    return AuditResult(stocktake=stocktake, customers=customers, ledger=ledger, timings=timings)
