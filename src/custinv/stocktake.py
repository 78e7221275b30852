"""audit(): run the stages — ingest → ledger → per-customer summary → analytics — into a Stocktake.

This is the only place that knows the order of the stages; the CLI calls it and hands the
result to a renderer. Timings of each stage are kept for ``--timings``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from custinv import __version__
from custinv.alerts import evaluate_alerts
from custinv.analytics import breakdowns as bd
from custinv.analytics.churn import churn_section, churn_window_days
from custinv.analytics.classify import DEFAULT_FREQUENCY_CUTS, ClassifySettings, classification_tables, classify, with_profit
from custinv.analytics.headline import headline_kpis
from custinv.analytics.kpis import last_complete_period, period_kpis
from custinv.analytics.master import book_section, fill_dimensions
from custinv.analytics.retention import auto_cohort_period, retention_section
from custinv.analytics.service import service_section
from custinv.analytics.summary import summary_from_totals
from custinv.cache import cached_build_ledger
from custinv.config import Settings
from custinv.engine import OrderEngine, as_engine, engine_for
from custinv.engine.polars_engine import PolarsEngine
from custinv.engine.support import refuse_unsupported
from custinv.errors import DataError, UsageError
from custinv.ingest.ledger import Ledger
from custinv.ingest.master import read_master
from custinv.ingest.sources import Source, as_source, check_side_input
from custinv.ingest.tickets import read_tickets
from custinv.memory import release_freed_memory
from custinv.models import ClvSection, Stocktake, Tool


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


def classify_settings(settings: Settings) -> ClassifySettings:
    """Map the user's settings onto the classification's own knobs."""
    cuts = settings.rfm_frequency
    return ClassifySettings(
        high_frequency_bar=settings.high_frequency,
        value_method=settings.value_method,
        value_cuts=settings.value_tiers,
        rfm_scheme=settings.rfm_scheme,
        rfm_frequency_method="thresholds",
        rfm_frequency_cuts=(cuts[0], cuts[1], cuts[2], cuts[3]) if cuts else DEFAULT_FREQUENCY_CUTS,
        new_days=settings.new_days,
        active_days=settings.active_days,
        loyal_min_orders=settings.loyal_min_orders,
    )


def margin_summary(summary: pl.DataFrame, orders: pl.DataFrame | OrderEngine) -> pl.DataFrame:
    """The summary with each customer's gross profit, for ``--value-method margin``.

    Without a cost column there is no profit to rank on: a usage error (exit 2) naming the
    fix, never a traceback."""
    engine = as_engine(orders)
    if not engine.has_values("cost"):
        raise UsageError("--value-method margin needs a cost column, and none was found",
                         hint="map one with --map cost='<column>', or use --value-method abc")
    return with_profit(summary, engine).lazy().collect()


def audit(
    paths: Sequence[Source],
    settings: Settings,
    *,
    progress: Callable[[str], None] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Compute a stocktake of the orders in ``paths``.

    ``progress`` hears each stage's name; ``on_rows`` (rows read, estimated rows) while a big
    file streams in."""
    timings = Timings()
    say = progress or (lambda _msg: None)
    for side in (settings.customers_file, settings.tickets):  # fail before the long part (exit 66)
        if side is not None:
            check_side_input(side)
    with timings.stage("ingest"):
        if settings.engine == "spark":  # orders as a Spark DataFrame; the Spark engine reduces them (issue 19)
            from custinv.spark.session import require_pyspark, spark_session

            require_pyspark()  # before custinv.spark.ingest, which imports pyarrow and pyspark's types
            from custinv.spark.ingest import build_ledger_spark

            ledger = build_ledger_spark(paths, settings, spark_session(settings), say=say)
        else:
            ledger = cached_build_ledger(paths, settings, on_file=lambda p: say(f"reading {p.name}"), on_rows=on_rows)
    return analyse(ledger, settings, timings=timings, progress=say)


def analyse(
    ledger: Ledger,
    settings: Settings,
    *,
    timings: Timings | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Everything after ingest: the ledger's orders (a Polars or a Spark frame — the order
    engine is chosen by its type) reduced to per-customer, per-cohort and per-period frames,
    and the stocktake computed from those on this machine."""
    timings = timings or Timings()
    say = progress or (lambda _msg: None)
    as_of = ledger.as_of
    assert as_of is not None  # build_ledger raises when nothing is usable
    engine = engine_for(ledger.orders, as_of)
    refuse_unsupported(engine, settings)
    with timings.stage("sequence"):
        say("summarising customers")
        totals = engine.customer_totals()

    with timings.stage("summary"):
        summary = summary_from_totals(totals, as_of)
        del totals
        if settings.value_method == "margin":
            summary = margin_summary(summary, engine)

    master = None
    if settings.customers_file:
        with timings.stage("master"):
            say("reading the customer master")
            master = read_master(as_source(settings.customers_file), settings)

    with timings.stage("classify"):
        say("classifying customers")
        if settings.churn_days is not None:
            churn_days, churn_basis = settings.churn_days, "set by --churn-days"
        else:
            churn_days, churn_basis = churn_window_days(engine)
        cs = classify_settings(settings)
        classified = classify(summary, churn_days=churn_days, settings=cs,
                              prospects=master.accounts.select("customer_id") if master is not None else None)
        tables = classification_tables(classified, cs)
        buyers = classified.filter(pl.col("orders") >= 1) if master is not None else classified

    clv_section: ClvSection | None = None
    if settings.clv:
        with timings.stage("clv"):
            say("fitting the CLV model")
            from custinv.analytics.clv.report import attach_clv  # lazily: the clv package imports scipy

            clv_frame, clv_section = customer_lifetime_value(engine, buyers, as_of, settings)
            classified = attach_clv(classified, clv_frame)
            buyers = classified.filter(pl.col("orders") >= 1) if master is not None else classified
            release_freed_memory()  # the fit's NumPy arrays, kept by the C allocator (custinv.memory)

    if isinstance(engine, PolarsEngine):
        engine.release_ids()  # only the CLV inputs read them: 160 MB less below
    with timings.stage("breakdowns"):
        dims = settings.by if settings.by is not None else bd.present_dimensions(engine)
        customers = bd.attach_dimensions(classified, engine, dims) if dims else classified
        if "customer_name" in engine.columns:  # the name on the latest order, for lists people act on
            customers = bd.attach_dimensions(customers, engine, ["customer_name"])
        book = None
        if master is not None:
            customers, from_master = fill_dimensions(customers, master.accounts, settings.by or bd.DIMENSIONS)
            dims = [*dims, *(d for d in from_master if d not in dims)]
            book = book_section(master.accounts, master.report, summary, as_of, within_days=settings.conversion_days,
                                period=settings.period, fiscal_year_start=settings.fiscal_year_start,
                                top=settings.top, dimensions_from_master=from_master)
        breakdown_list = (bd.breakdowns(customers.filter(pl.col("orders") >= 1) if master is not None else customers,
                                        dims, top=settings.top) if dims else [])

    with timings.stage("retention"):
        say("cohorts and period KPIs")
        churn = churn_section(
            customers.filter(pl.col("orders") >= 1) if master is not None else customers, engine, churn_days, churn_basis, as_of=as_of, top=settings.top,
            value_column="clv" if clv_section is not None else None,
        )
        cohort_period: str = settings.period
        if "period" not in settings.model_fields_set and settings.period == "month":
            first = summary["first_order"].min()  # the customers' first orders: no pass over the orders
            if isinstance(first, dt.date):
                cohort_period = auto_cohort_period(first, as_of)
        retention = retention_section(engine, as_of, period=cohort_period,
                                      fiscal_year_start=settings.fiscal_year_start)
        by_period = period_kpis(engine, as_of, churn_days, period=settings.period, periods=settings.periods,
                                fiscal_year_start=settings.fiscal_year_start)

    with timings.stage("kpis"):
        kpis = headline_kpis(
            summary,
            returns=ledger.source.returns,
            new_days=settings.new_days,
            active_days=settings.active_days,
        )
        kpis.churned_customers = churn.churned_customers
        kpis.churn_rate = churn.churn_rate
        last = last_complete_period(by_period)
        if last is not None:
            kpis.retention_rate = last.retention_rate
            kpis.customer_growth_rate = last.customer_growth_rate
        alerts = evaluate_alerts(settings.alerts, kpis, last) if settings.alerts else None

    service = None
    if settings.tickets:
        assert isinstance(engine, PolarsEngine)  # refuse_unsupported stopped the others
        with timings.stage("service"):
            say("service quality")
            tickets = read_tickets(as_source(settings.tickets), settings, as_of)
            service = service_section(tickets.tickets, tickets.report, engine.orders, customers, as_of,
                                      churn_days=churn_days, sla_hours=settings.sla_hours, period=settings.period,
                                      fiscal_year_start=settings.fiscal_year_start, periods=settings.periods)

    stocktake = Stocktake(
        tool=Tool(version=__version__),
        as_of=as_of,
        currency=ledger.currency,
        source=ledger.source,
        kpis=kpis,
        frequency_classes=tables.frequency_classes,
        value_tiers=tables.value_tiers,
        rfm=tables.rfm,
        lifecycle=tables.lifecycle,
        breakdowns=breakdown_list,
        churn=churn,
        retention=retention,
        kpis_by_period=by_period,
        alerts=alerts,
        clv=clv_section,
        customer_book=book,
        service=service,
        settings={**settings.number_settings(), "churn_days": churn_days, "engine": engine.name},
    )
    return AuditResult(stocktake=stocktake, customers=customers, ledger=ledger, timings=timings)


def clv_margin(settings: Settings, orders: pl.DataFrame | OrderEngine) -> float | Literal["cost"]:
    """--margin when given; else each customer's own margin from a mapped cost column; else 0.30."""
    if settings.margin is not None:
        return settings.margin
    engine = as_engine(orders)
    if engine.has_values("cost"):
        return "cost"
    from custinv.analytics.clv.fit import DEFAULT_MARGIN  # lazily: the clv package imports scipy

    return DEFAULT_MARGIN


def customer_lifetime_value(
    orders: pl.DataFrame | OrderEngine, classified: pl.DataFrame, as_of: dt.date, settings: Settings,
) -> tuple[pl.DataFrame, ClvSection]:
    """Fit the CLV model, price every customer, and summarise it for the stocktake.

    ``orders`` is the ledger's orders or (an audit's) order engine, whose reductions the CLV
    inputs and the holdout checks are.
    """
    engine = as_engine(orders, as_of)
    from custinv.analytics.clv import ModelNotIdentifiable, fit_clv, validate_holdout
    from custinv.analytics.clv.report import attach_clv, clv_by_segment, top_customers_by_clv

    try:
        frame, clv_summary = fit_clv(
            engine, as_of, model=settings.model, time_unit=settings.time_unit, horizon_months=settings.horizon,
            discount_rate=settings.discount_rate, margin=clv_margin(settings, engine),
            penalizer=settings.penalizer,
        )
    except ModelNotIdentifiable as exc:
        raise DataError(f"the {settings.model} model cannot be fitted: {exc}",
                        hint="use --model auto to fall back to the historical CLV") from exc
    section = ClvSection(**clv_summary.to_dict())
    priced = attach_clv(classified, frame)
    section.by_segment = clv_by_segment(priced, clv_summary.uncertainty, frame["customer_id"])
    section.top_customers = top_customers_by_clv(priced, settings.top)
    if settings.holdout is not None:
        try:
            holdout = dt.date.fromisoformat(settings.holdout)
        except ValueError as exc:
            raise UsageError(f"--holdout {settings.holdout!r} is not a date", hint="use YYYY-MM-DD") from exc
        try:
            # under auto the check is of the model auto chose, so the table explains the numbers shown
            checked = clv_summary.model if settings.model == "auto" else settings.model
            validation = validate_holdout(engine, holdout, as_of, checked, settings.time_unit,
                                          penalizer=settings.penalizer)
            section.validation = validation.to_dict()
            section.warnings.extend(w for w in validation.warnings if w not in section.warnings)
        except ModelNotIdentifiable as exc:
            raise DataError(f"the calibration period up to {holdout} cannot fit the model: {exc}") from exc
        except ValueError as exc:
            raise UsageError(str(exc), hint="the holdout date must be before --as-of") from exc
    return frame, section
