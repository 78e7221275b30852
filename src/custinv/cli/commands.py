"""The commands: ``audit``, ``customers``, ``inspect``, ``rfm``, ``cohorts``, ``churn``, ``clv``,
``compare``, ``schema``, ``profiles``, and :func:`main`, the entry point.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from custinv.cli.app import app
from custinv.cli.common import (
    _expand,
    _finish,
    _note,
    _prepare_outputs,
    _print_warnings,
    _progress,
    _run_audit,
    _run_outputs,
    _settings,
)
from custinv.cli.errors import guarded
from custinv.cli.options import _V, FilesArg, FormatOpt, OutputFormat, RowFormat, with_options
from custinv.errors import UsageError
from custinv.render.registry import AUDIT, CHURN, CLV, COHORTS, COMPARE, CUSTOMERS, PROFILES, RFM, RenderOptions, print_json
from custinv.runs import check_run_outputs, keep_and_report


def _json_unless_table(format: object) -> bool:
    """Errors are JSON on stderr whenever stdout is not a table (json, ndjson, csv, parquet)."""
    return format is not OutputFormat.table


def _json_rows(format: object) -> bool:
    """customers: ndjson is the default, so errors are JSON unless csv or parquet was asked for."""
    return format in (None, RowFormat.json, RowFormat.ndjson)


def _json_compare(format: object) -> bool:
    return format is CompareFormat.json


@app.command()
@with_options("reading", "engine", "classify", "trends", "clv", "alerts", "reports", "book", "lang", "run")
@guarded(json_when=_json_unless_table)
def audit(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    no_clv: Annotated[bool, typer.Option("--no-clv", help="Skip the CLV model fit (faster on huge files).", rich_help_panel=_V)] = False,
    *,
    opts: dict[str, Any],
) -> int:
    """Take stock of the customers in an export: accounting, KPIs, frequency classes,
    value tiers, RFM segments, lifecycle, breakdowns, churn, cohorts, trends and CLV.

    Every input row is accounted for: rows read = used + excluded (by reason) + rejected.

    Examples:

      custinv audit orders.csv

      custinv audit 'exports/2024-*.csv' --as-of 2024-12-31 --lang zh

      custinv audit orders.csv --format json | jq .kpis

      custinv audit orders.csv -q --alert 'churn_rate > 0.08'   # cron: exit 3 when breached
    """

    settings = _settings(opts, clv=False if no_clv else None)
    outputs = _run_outputs(opts)
    _prepare_outputs(opts, files, settings, outputs.excel, outputs.html, outputs.customers_out)
    check_run_outputs(outputs)
    result = _run_audit(files, settings, opts)
    quiet = bool(opts.get("quiet"))
    keep_and_report(result, settings, outputs, progress=lambda: _progress(quiet), note=_note(quiet))
    AUDIT.render(format.value, result.stocktake, RenderOptions(lang=settings.lang, pii=settings.pii))
    return _finish(result, opts)


@app.command()
@with_options("reading", "engine", "classify", "trends", "clv", "run")
@guarded(json_when=_json_rows)
def customers(
    files: FilesArg,
    format: Annotated[Optional[RowFormat], typer.Option("--format", "-f", help="ndjson (default; on a terminal without -f: a table preview of the top customers), csv, parquet or json.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file (mode 0600) instead of stdout; needed for parquet on a terminal.")] = None,
    no_clv: Annotated[bool, typer.Option("--no-clv", help="Skip the CLV model (no p_alive, expected_purchases, clv columns).", rich_help_panel=_V)] = False,
    *,
    opts: dict[str, Any],
) -> int:
    """One row per customer: first/last order, orders, revenue, recency, tenure, frequency
    class, value tier, RFM scores and segment, lifecycle stage, P(alive) and CLV.

    Ids are kept exactly as normalised, so rows join back to your CRM.

    Examples:

      custinv customers orders.csv --format csv > customers.csv

      custinv customers orders.csv -f parquet -o customers.parquet
    """

    settings = _settings(opts, clv=False if no_clv else None)
    _prepare_outputs(opts, files, settings, output)
    if output is None and format is RowFormat.parquet and sys.stdout.isatty():
        raise UsageError("parquet is binary: write it with --output FILE or redirect stdout")
    result = _run_audit(files, settings, opts)
    person = format is None and output is None and sys.stdout.isatty()  # a person: a readable preview
    shown = "table" if person else (format or RowFormat.ndjson).value
    CUSTOMERS.render(shown, result, RenderOptions(lang=settings.lang, pii=settings.pii, output=output))
    return 0


@app.command()
@with_options("reading", "run")
@guarded(json_when=_json_unless_table)
def inspect(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    pii: Annotated[Optional[str], typer.Option("--pii", help="Emails and phone numbers in sample rows and rejects: mask (default), show or hash.")] = None,
    *,
    opts: dict[str, Any],
) -> int:
    """Show what custinv detected in a file, and why: encoding, delimiter, header row,
    the column mapping with the reason for each choice, five parsed sample rows, every
    status value with its decision, and the reject summary.

    Example:

      custinv inspect export.csv --map customer_id='Buyer ID'
    """

    from custinv.ingest.fields import MissingFields
    from custinv.ingest.ledger import build_ledger
    from custinv.render.partial import render_partial
    from custinv.render.pii import protect_inspection
    from custinv.render.registry import INSPECT

    settings = _settings(opts, max_reject_rate=1.0, pii=pii, strict=False)
    try:
        ledger = protect_inspection(build_ledger(_expand(files), settings), settings.pii)
    except MissingFields as exc:  # show what was found before refusing (exit 65)
        render_partial(exc, as_json=format is not OutputFormat.table)
        raise
    _print_warnings(ledger.source.warnings, bool(opts.get("quiet")))
    INSPECT.render(format.value, ledger)
    return 0


@app.command()
@with_options("reading", "engine", "classify", "lang", "run")
@guarded(json_when=_json_unless_table)
def rfm(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    *,
    opts: dict[str, Any],
) -> int:
    """The RFM segment table: customers, revenue, average R/F/M and a recommended action
    per segment, with the cut points that put customers there.

    Examples:

      custinv rfm orders.csv

      custinv rfm orders.csv --rfm-scheme cn8 --lang zh
    """

    settings = _settings(opts, clv=False)
    result = _run_audit(files, settings, opts)
    RFM.render(format.value, result.stocktake, RenderOptions(lang=settings.lang))
    return 0


class CohortMeasure(str, Enum):
    retention = "retention"
    customers = "customers"
    revenue = "revenue"


@app.command()
@with_options("reading", "engine", "trends", "lang", "run")
@guarded(json_when=_json_unless_table)
def cohorts(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    measure: Annotated[CohortMeasure, typer.Option(help="What the cells hold: retention (share of the cohort), customers or revenue.")] = CohortMeasure.retention,
    last: Annotated[Optional[int], typer.Option(help="Show only the last N cohorts in the table (JSON and CSV always hold every cohort).", min=1)] = None,
    *,
    opts: dict[str, Any],
) -> int:
    """First-purchase cohorts: who came back k periods after their first order.

    An empty cell is a period not reached yet; 0 means nobody came back.

    Examples:

      custinv cohorts orders.csv --period quarter

      custinv cohorts orders.csv --format csv --measure customers > cohorts.csv
    """

    settings = _settings(opts, clv=False)
    result = _run_audit(files, settings, opts)
    assert result.stocktake.retention is not None
    COHORTS.render(format.value, result.stocktake,
                   RenderOptions(lang=settings.lang, measure=measure.value, last=last or 24))
    return 0


@app.command()
@with_options("reading", "engine", "classify", "trends", "clv", "alerts", "lang", "run")
@guarded(json_when=_json_unless_table)
def churn(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    no_clv: Annotated[bool, typer.Option("--no-clv", help="Rank the at-risk list by historical annual revenue instead of CLV.", rich_help_panel=_V)] = False,
    *,
    opts: dict[str, Any],
) -> int:
    """Churn: the churn window and rate, the period trend, the customers at risk (sorted by
    value at risk) and the high-value churned customers to win back.

    Examples:

      custinv churn orders.csv --top 50

      custinv churn orders.csv --churn-days 120 --format json | jq '.churn.at_risk[0]'
    """

    settings = _settings(opts, clv=False if no_clv else None)
    _prepare_outputs(opts, files, settings)
    result = _run_audit(files, settings, opts)
    CHURN.render(format.value, result.stocktake, RenderOptions(lang=settings.lang, pii=settings.pii))
    return _finish(result, opts)


@app.command()
@with_options("reading", "engine", "classify", "clv", "lang", "run")
@guarded(json_when=_json_unless_table)
def clv(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    *,
    opts: dict[str, Any],
) -> int:
    """Customer lifetime value: fit BG/NBD (or Pareto/NBD) and Gamma-Gamma, then price every
    customer's expected discounted margin over the horizon.

    Examples:

      custinv clv orders.csv --horizon 24 --discount-rate 0.08 --margin 0.35

      custinv clv orders.csv --holdout 2024-06-30     # fit before, check the prediction after

      custinv clv orders.csv --format json | jq .clv.params
    """

    settings = _settings(opts, clv=True)
    result = _run_audit(files, settings, opts)
    CLV.render(format.value, result.stocktake, RenderOptions(lang=settings.lang, pii=settings.pii))
    return 0


class CompareFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
@with_options("lang", "run")
@guarded(json_when=_json_compare)
def compare(
    snapshots: Annotated[list[Path], typer.Argument(help="OLD NEW snapshot folders (written by audit --snapshot DIR), or one DIR of snapshots with --since.", show_default=False)],
    since: Annotated[Optional[str], typer.Option(help="With one DIR: compare the latest snapshot on or before this date (YYYY-MM-DD) with the newest.")] = None,
    format: Annotated[CompareFormat, typer.Option("--format", "-f", help="table (Rich) or json.")] = CompareFormat.table,
    top: Annotated[int, typer.Option(help="Customers in the gained / lost / movers lists.", min=1)] = 20,
    *,
    opts: dict[str, Any],
) -> int:
    """What changed between two stocktakes: KPI deltas, how customers moved between RFM
    segments, value tiers and lifecycle stages (with the revenue that moved), customers
    gained and lost, and the biggest movers by value.

    Examples:

      custinv audit orders.csv --snapshot stocktakes/

      custinv compare stocktakes/2025-09-30 stocktakes/2025-12-31

      custinv compare stocktakes/ --since 2025-09-30 --format json | jq .kpi_deltas
    """

    import datetime as dt

    from custinv.analytics.compare import compare as compare_snapshots
    from custinv.snapshots import read_snapshot, since_pair

    settings = _settings(opts)
    if since is not None:
        if len(snapshots) != 1:
            raise UsageError("--since takes one folder of snapshots", hint="custinv compare DIR --since 2025-09-30")
        try:
            day = dt.date.fromisoformat(since.strip())
        except ValueError as exc:
            raise UsageError(f"--since {since!r} is not a date", hint="use YYYY-MM-DD") from exc
        old_path, new_path = since_pair(snapshots[0], day)
    elif len(snapshots) == 2:
        old_path, new_path = snapshots
    else:
        raise UsageError("compare takes two snapshot folders (OLD NEW), or one folder with --since DATE")
    old, new = read_snapshot(old_path), read_snapshot(new_path)
    result = compare_snapshots(old, new, top=top)
    COMPARE.render(format.value, result, RenderOptions(lang=settings.lang, currency=new.stocktake.get("currency")))
    return 0


@app.command()
@guarded()
def schema() -> int:
    """Print the JSON Schema of `--format json` output (schema_version 1)."""

    from custinv.render.tabular import json_schema

    print_json(json_schema())
    return 0


@app.command()
@guarded(json_when=_json_compare)
def profiles(
    format: Annotated[CompareFormat, typer.Option("--format", "-f", help="table (Rich) or json.")] = CompareFormat.table,
) -> int:
    """List the export profiles: the platform exports custinv recognises from their header
    (and reads with their documented columns, statuses and refund rows). Force one with
    `--profile NAME`.

    Example:

      custinv profiles
    """

    from custinv.ingest.profiles import all_profiles

    PROFILES.render(format.value, all_profiles())
    return 0


def main() -> None:
    """Entry point of the ``custinv`` command and ``python -m custinv``.

    Once the command has finished and its output is flushed, the process ends without the
    interpreter's teardown: freeing a big audit's frames object by object took 0.2–0.5 s on
    10M orders, time a cron job or a pipe waits for nothing (files are already written and
    closed; custinv registers no exit handlers)."""
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (| head): as the error funnel does, quietly
        pass
    os._exit(code)
