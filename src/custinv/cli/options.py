"""Options shared by several commands, declared once (:data:`OPTION_GROUPS`) and added to each
command's signature by :func:`with_options`, so ``audit``, ``rfm``, ``cohorts``... accept the same
flags with the same help and teaching metavars.
"""

from __future__ import annotations

import functools
import inspect as pyinspect
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from custinv.cli.metavars import teach


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


class RowFormat(str, Enum):
    ndjson = "ndjson"
    csv = "csv"
    parquet = "parquet"
    json = "json"


class Lang(str, Enum):
    en = "en"
    zh = "zh"


FilesArg = Annotated[
    list[str],
    typer.Argument(
        help="Export file(s): csv/tsv/txt, xlsx, parquet, json/ndjson. Several files or a glob "
        "(monthly exports) are read as one book; lines repeated across files are counted once. "
        "Or a database: postgresql://user@host:5432/shop?table=sales.orders, mysql://…, "
        "sqlite:///shop.db?table=orders, duckdb:///wh.duckdb?table=orders (pip install 'custinv[db]'; "
        "password from CUSTINV_DB_PASSWORD, PGPASSWORD, ~/.pgpass or [source] password in custinv.toml). "
        "With --engine spark also hdfs://, s3a://, gs://, abfss:// files, folders and globs (or --table instead).",
        show_default=False, default_factory=list,
    ),
]


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="table (Rich, for people) or json/ndjson/csv for pipelines.")]


_R, _C, _T, _V, _O, _X = "Reading", "Classification", "Retention and trends", "Lifetime value", "Outputs", "Run"


_B = "Customer book and service"


_D = "Database sources"


_E = "Engine (Apache Spark)"


# name -> (annotation, default). Names are Settings fields unless handled in _settings().
OPTION_GROUPS: dict[str, dict[str, tuple[Any, Any]]] = {
    "reading": {
        "encoding": (Annotated[Optional[str], typer.Option(help="Text encoding (default: detected: BOM, utf-8, gb18030, cp1252).", rich_help_panel=_R)], None),
        "delimiter": (Annotated[Optional[str], typer.Option(help="Field delimiter (default: sniffed among , ; tab |). Write 'tab' for a tab.", rich_help_panel=_R)], None),
        "sheet": (Annotated[Optional[str], typer.Option(help="Excel sheet name or 1-based number (default: the first sheet that looks like data).", rich_help_panel=_R)], None),
        "header_row": (Annotated[Optional[int], typer.Option(help="1-based line of the header (default: found below any report title lines).", min=1, rich_help_panel=_R)], None),
        "date_format": (Annotated[Optional[str], typer.Option(help="strptime format for an ambiguous order date, e.g. '%d/%m/%Y'.", rich_help_panel=_R)], None),
        "profile": (Annotated[Optional[str], typer.Option("--profile", help="Read the file as this platform's export (`custinv profiles` lists them; default: recognised from the header; 'none' turns recognition off).", rich_help_panel=_R)], None),
        "status_used": (Annotated[Optional[list[str]], typer.Option("--status-used", help="A status value that is a sale (repeatable), e.g. --status-used 'Ready for collection'. Also [status] used = [...] in custinv.toml.", rich_help_panel=_R)], None),
        "status_excluded": (Annotated[Optional[list[str]], typer.Option("--status-excluded", help="A status value that is not a sale (repeatable); its rows are excluded and counted.", rich_help_panel=_R)], None),
        "strict": (Annotated[Optional[bool], typer.Option("--strict/--no-strict", help="Exit 65 when any decision was a guess (every warning in the Source panel / source.warnings).", rich_help_panel=_R)], None),
        "map_": (Annotated[Optional[list[str]], typer.Option("--map", help="Pin a field to a column: --map customer_id='Buyer ID' (repeatable; other fields are still detected). `custinv inspect` lists fields and columns.", rich_help_panel=_R)], None),
        "currency": (Annotated[Optional[str], typer.Option(help="Keep only rows in this currency when the data holds several (others are excluded and counted).", rich_help_panel=_R)], None),
        "as_of": (Annotated[Optional[str], typer.Option(help="Stocktake date, YYYY-MM-DD or 'today' (default: the latest order date). Later orders are excluded.", rich_help_panel=_R)], None),
        "max_reject_rate": (Annotated[Optional[float], typer.Option(help="Fail with exit 65 when more than this share of rows cannot be parsed [default: 0.10].", min=0, max=1, rich_help_panel=_R)], None),
        "config": (Annotated[Optional[Path], typer.Option("--config", help="Settings file (default: ./custinv.toml when present). Flags > CUSTINV_* env > file.", rich_help_panel=_R)], None),
        "credit_note_ids": (Annotated[Optional[str], typer.Option("--credit-note-ids", help="Regular expression of order ids that are credit notes (excluded as returns), e.g. '^C\\d+$' for UCI Online Retail / CDNOW-style invoices. Off by default: in most systems C1001 is an ordinary order.", rich_help_panel=_R)], None),
        "cache_dir": (Annotated[Optional[str], typer.Option("--cache", help="Keep the parsed ledger as Parquet in this folder; a later run on the unchanged file skips reading and parsing ([cache] dir in custinv.toml).", rich_help_panel=_R)], None),
        "query": (Annotated[Optional[str], typer.Option("--query", help="Database source: the SELECT to read instead of ?table= (one statement; the session is read-only).", rich_help_panel=_D)], None),
        "query_file": (Annotated[Optional[Path], typer.Option("--query-file", help="Database source: read the SELECT from this .sql file.", rich_help_panel=_D)], None),
        "where": (Annotated[Optional[str], typer.Option("--where", help="Database source: an SQL condition the server applies, e.g. \"region = 'EU'\".", rich_help_panel=_D)], None),
        "since": (Annotated[Optional[str], typer.Option("--since", help="Database source: fetch only orders on or after this date (YYYY-MM-DD; needs a date/timestamp column). --as-of also limits what is fetched.", rich_help_panel=_D)], None),
    },
    "engine": {
        "engine": (Annotated[Optional[str], typer.Option("--engine", help="Where the order-level work runs: polars (this machine, default) or spark (pip install 'custinv[spark]'): parsing, row accounting and grouping lines into orders run in Spark's executors with custinv's own rules, the same numbers. [engine] name in custinv.toml, CUSTINV_ENGINE.", rich_help_panel=_E)], None),
        "spark_master": (Annotated[Optional[str], typer.Option("--spark-master", help="Spark master URL: local[*] (default: every core of this machine), local[4], yarn, spark://host:7077, k8s://https://host:443.", rich_help_panel=_E)], None),
        "spark_remote": (Annotated[Optional[str], typer.Option("--spark-remote", help="Spark Connect server, e.g. sc://host:15002 (default: SPARK_REMOTE when set).", rich_help_panel=_E)], None),
        "table": (Annotated[Optional[str], typer.Option("--table", help="Read this Spark catalog table instead of files, e.g. --table sales.orders (with --engine spark).", rich_help_panel=_E)], None),
        "spark_rejects": (Annotated[Optional[str], typer.Option("--spark-rejects", help="With --engine spark: write every rejected row (file, line, column, value, reason) as a Parquet dataset into this new folder (local, hdfs://, s3a://…). --rejects FILE.csv lists the first 100,000.", rich_help_panel=_E)], None),
    },
    "classify": {
        "high_frequency": (Annotated[Optional[float], typer.Option(help="Orders per year at or above which a repeat buyer is high-frequency (default: the median of repeat buyers).", rich_help_panel=_C)], None),
        "value_method": (Annotated[Optional[str], typer.Option(help="Value tiers: abc (cumulative revenue share, default), quantile (top 20% / next 30% / rest) or margin (abc on gross profit; needs a cost column).", rich_help_panel=_C)], None),
        "value_tiers": (Annotated[Optional[str], typer.Option(help="Cut points of the value tiers, e.g. 80,95 (abc: share of revenue; quantile: share of customers).", rich_help_panel=_C)], None),
        "rfm_scheme": (Annotated[Optional[str], typer.Option(help="standard (125 RFM codes → 11 segments) or cn8 (the eight-segment above/below-mean model, 重要价值客户…).", rich_help_panel=_C)], None),
        "rfm_frequency": (Annotated[Optional[str], typer.Option(help="Order-count cuts for the F score, e.g. 1,2,3,5: F=1 for ≤1 order … F=5 above 5.", rich_help_panel=_C)], None),
        "new_days": (Annotated[Optional[int], typer.Option(help="A customer is new when their first order is within this many days of as-of [default: 30].", min=1, rich_help_panel=_C)], None),
        "active_days": (Annotated[Optional[int], typer.Option(help="Active = ordered within this many days [default: 90].", min=1, rich_help_panel=_C)], None),
        "churn_days": (Annotated[Optional[int], typer.Option(help="Churned = no order for more than this many days (default: derived from the data, the 90th percentile of days between purchases).", min=1, rich_help_panel=_C)], None),
        "by": (Annotated[Optional[list[str]], typer.Option("--by", help="Dimension(s) to break down by: region, country, city, industry, channel, segment, owner (default: all mapped).", rich_help_panel=_C)], None),
        "top": (Annotated[Optional[int], typer.Option(help="Rows in top lists (at-risk, win-back, top customers, breakdown values) [default: 20].", min=1, rich_help_panel=_C)], None),
    },
    "trends": {
        "period": (Annotated[Optional[str], typer.Option(help="month (default), quarter, week (ISO, Monday) or year.", rich_help_panel=_T)], None),
        "periods": (Annotated[Optional[int], typer.Option(help="How many recent periods the KPI trend shows [default: 12].", min=1, rich_help_panel=_T)], None),
        "fiscal_year_start": (Annotated[Optional[int], typer.Option(help="First month of the fiscal year (shifts quarters and years), e.g. 4 for April.", min=1, max=12, rich_help_panel=_T)], None),
    },
    "clv": {
        "model": (Annotated[Optional[str], typer.Option(help="auto (default: NBD, BG/NBD, MBG/NBD and Pareto/NBD scored on a held-out last part of the history, the best wins; historical only when none can be fitted — the reason is always shown), nbd, bgnbd, mbgnbd, paretonbd or historical.", rich_help_panel=_V)], None),
        "time_unit": (Annotated[Optional[str], typer.Option(help="Model time unit: week (default, as the literature), day or month.", rich_help_panel=_V)], None),
        "horizon": (Annotated[Optional[int], typer.Option(help="CLV horizon in months [default: 12].", min=1, rich_help_panel=_V)], None),
        "discount_rate": (Annotated[Optional[float], typer.Option(help="Annual discount rate [default: 0.10].", min=0, rich_help_panel=_V)], None),
        "margin": (Annotated[Optional[float], typer.Option(help="Gross margin as a fraction (default: from a mapped cost/margin column, else 0.30).", min=0, max=1, rich_help_panel=_V)], None),
        "holdout": (Annotated[Optional[str], typer.Option(help="Validate: calibrate up to this date, predict the rest up to as-of, and compare.", rich_help_panel=_V)], None),
        "penalizer": (Annotated[Optional[float], typer.Option(help="L2 penalty on the CLV model parameters, as lifetimes' penalizer_coef (0.001–0.1 tames fits that run to extreme values on small data) [default: 0].", min=0, max=100, rich_help_panel=_V)], None),
    },
    "alerts": {
        "alert": (Annotated[Optional[list[str]], typer.Option("--alert", help="Rule such as 'churn_rate > 0.08' (repeatable). Any kpis key, or a kpis_by_period key of the last complete period ('period.x' to force it). Breached → exit 3 after all outputs are written.", rich_help_panel=_O)], None),
        "rejects": (Annotated[Optional[Path], typer.Option(help="Write every rejected row (file, line, column, value, reason) to this CSV.", rich_help_panel=_O)], None),
    },
    "reports": {
        "excel": (Annotated[Optional[Path], typer.Option("--excel", help="Write the stocktake workbook (.xlsx): summary, customers, segments, cohorts, trends, CLV, breakdowns, at-risk, rejects.", rich_help_panel=_O)], None),
        "html": (Annotated[Optional[Path], typer.Option("--html", help="Write a self-contained HTML report (inline CSS and SVG, opens offline, prints on A4).", rich_help_panel=_O)], None),
        "report_dir": (Annotated[Optional[Path], typer.Option("--report-dir", help="Write stocktake-YYYY-MM-DD.xlsx and .html (date = as-of) into this folder, for cron.", rich_help_panel=_O)], None),
        "keep": (Annotated[Optional[int], typer.Option("--keep", help="With --report-dir: keep only the newest N dated reports of each kind.", min=1, rich_help_panel=_O)], None),
        "customers_out": (Annotated[Optional[Path], typer.Option("--customers-out", help="Write the full per-customer list as .parquet or .csv (mode 0600; ids kept as they are). Never replaces a file custinv did not write (see --force).", rich_help_panel=_O)], None),
        "customers_renamed": (Annotated[Optional[str], typer.Option("--customers", hidden=True, help="Renamed: --customers-out (write) / --customers-file (read).")], None),
        "pii": (Annotated[Optional[str], typer.Option("--pii", help="Emails and phone numbers in console and reports, also inside values (Name <a@b.c>, tel:, ext.): mask (default), show or hash (a stable keyed hash; key from CUSTINV_PII_KEY, else a generated per-installation key in ~/.config/custinv/pii.key).", rich_help_panel=_O)], None),
    },
    "book": {
        "customers_file": (Annotated[Optional[str], typer.Option("--customers-file", help="Customer master from the CRM (account list; csv/xlsx/... or a database URI with ?table=): adds prospects, conversion, time to first purchase, dimensions from the master and buyers missing from it.", rich_help_panel=_B)], None),
        "conversion_days": (Annotated[Optional[int], typer.Option(help="An account converts when its first order comes within this many days of signup [default: 90].", min=1, rich_help_panel=_B)], None),
        "tickets": (Annotated[Optional[str], typer.Option("--tickets", help="Ticket/feedback export (Zendesk, Freshdesk, CRM service; en/zh headers; or a database URI with ?table=): complaints, resolution time, SLA, CSAT, NPS, churn of complainers.", rich_help_panel=_B)], None),
        "sla_hours": (Annotated[Optional[float], typer.Option(help="Resolution SLA in hours [default: 48].", min=0, rich_help_panel=_B)], None),
        "snapshot": (Annotated[Optional[Path], typer.Option("--snapshot", help="Keep this run in DIR/<as-of>/ (customers.parquet + stocktake.json, mode 0600) for `custinv compare`.", rich_help_panel=_B)], None),
        "compare_with": (Annotated[Optional[Path], typer.Option("--compare-with", help="Compare this run with that snapshot folder (DIR/<as-of>): a Changes sheet/section in --excel/--html. Without it, --snapshot DIR compares with the latest earlier snapshot there.", rich_help_panel=_B)], None),
    },
    "lang": {
        "lang": (Annotated[Optional[Lang], typer.Option(help="Language of labels in tables and reports: en or zh (default: CUSTINV_LANG or the config file, else en).", rich_help_panel=_O)], None),
    },
    "run": {
        "quiet": (Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.", rich_help_panel=_X)], False),
        "debug": (Annotated[bool, typer.Option("--debug", help="Show the traceback of unexpected errors.", rich_help_panel=_X)], False),
        "force": (Annotated[bool, typer.Option("--force", help="Replace existing output files that custinv did not write (never an input).", rich_help_panel=_X)], False),
        "timings": (Annotated[bool, typer.Option("--timings", help="Print the time of each stage on stderr (and put it in JSON).", rich_help_panel=_X)], False),
    },
}


def with_options(*groups: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Add the named option groups to a command; they reach it as one ``opts`` dict."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in pyinspect.signature(fn, eval_str=True).parameters.values() if p.name != "opts"]
        hints = {p.name: p.annotation for p in own}
        for p in own:
            teach(p.name, p.annotation)
        extra: list[pyinspect.Parameter] = []
        names: list[str] = []
        for group in groups:
            for name, (annotation, default) in OPTION_GROUPS[group].items():
                teach(name, annotation)
                extra.append(pyinspect.Parameter(name, pyinspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))
                hints[name] = annotation
                names.append(name)

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            opts = {name: kwargs.pop(name) for name in names if name in kwargs}
            fn(*args, opts=opts, **kwargs)

        command.__signature__ = pyinspect.Signature(  # type: ignore[attr-defined]
            [p.replace(kind=pyinspect.Parameter.POSITIONAL_OR_KEYWORD) if p.kind is pyinspect.Parameter.POSITIONAL_ONLY else p
             for p in own] + extra
        )
        command.__annotations__ = hints
        del command.__wrapped__  # typer must read our signature, not the wrapped one's
        return command

    return decorate
