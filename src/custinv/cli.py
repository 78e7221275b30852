"""The command line: parse options, call audit(), pick a renderer, map errors to exit codes.

Kept thin on purpose (like sqlite-utils' CLI over its Python core): every number comes from
:func:`custinv.stocktake.audit`; this module only turns flags into :class:`Settings`, runs
the work inside one error funnel (:func:`run_guarded`) and sends results to stdout,
messages to stderr. Heavy libraries are imported inside the commands so ``--help`` stays
fast.

Options shared by several commands are declared once, in :data:`OPTION_GROUPS`, and added
to each command's signature by :func:`with_options`, so ``audit``, ``rfm``, ``cohorts``...
accept the same flags with the same help.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect as pyinspect
import json
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from custinv import __version__
from custinv.errors import CustinvError, ExitCode, UsageError
from custinv.interrupts import SIGINT_EXIT, SIGTERM_EXIT

INTERRUPT_CODES = (SIGINT_EXIT, SIGTERM_EXIT)

if TYPE_CHECKING:
    from custinv.config import Settings
    from custinv.ingest.sources import Source
    from custinv.stocktake import AuditResult

app = typer.Typer(
    name="custinv",
    help=(
        "Customer stocktakes (客户盘点) from any CRM or shop export.\n\n"
        "Point it at the file your CRM, shop or sales team gives you — CSV, Excel, Parquet or JSON, "
        "English or Chinese headers, title rows and footers included — and get customers, how they buy, "
        "what they are worth and who is leaving.\n\n"
        "Examples:\n\n"
        "  custinv audit orders.csv\n\n"
        "  custinv audit orders.csv --format json | jq .kpis\n\n"
        "  custinv inspect export.xlsx          # what was detected, and why\n\n"
        "  custinv customers orders.csv --format csv > customers.csv\n\n"
        "Exit codes: 0 ok, 2 usage, 3 an --alert breached, 65 bad data, 66 input unreadable, "
        "69 database unreachable, 73 output not writable, 74 I/O error, 77 database login refused, 78 bad config, "
        "130 interrupted, 143 terminated (SIGTERM), 1 a bug."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


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


# ----------------------------------------------------------------------------- options

FilesArg = Annotated[
    list[str],
    typer.Argument(
        help="Export file(s): csv/tsv/txt, xlsx, parquet, json/ndjson. Several files or a glob "
        "(monthly exports) are read as one book; lines repeated across files are counted once. "
        "Or a database: postgresql://user@host:5432/shop?table=sales.orders, mysql://…, "
        "sqlite:///shop.db?table=orders, duckdb:///wh.duckdb?table=orders (pip install 'custinv[db]'; "
        "password from CUSTINV_DB_PASSWORD, PGPASSWORD, ~/.pgpass or [source] password in custinv.toml).",
        show_default=False,
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="table (Rich, for people) or json/ndjson/csv for pipelines.")]

_R, _C, _T, _V, _O, _X = "Reading", "Classification", "Retention and trends", "Lifetime value", "Outputs", "Run"
_B = "Customer book and service"
_D = "Database sources"

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
        extra: list[pyinspect.Parameter] = []
        names: list[str] = []
        for group in groups:
            for name, (annotation, default) in OPTION_GROUPS[group].items():
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


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"custinv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Customer stocktakes (客户盘点) from any CRM or shop export."""


# ----------------------------------------------------------------------------- the funnel


def _stderr_console(quiet: bool = False) -> Any:
    from custinv.terminal import SafeConsole

    return SafeConsole(stderr=True, quiet=quiet, highlight=False, no_color="NO_COLOR" in os.environ)


def _emit_error(exc: CustinvError | None, *, code: int, message: str, hint: str | None, json_mode: bool) -> None:
    from custinv.terminal import clean

    message, hint = clean(message), (clean(hint) if hint is not None else None)
    if json_mode:
        payload = {"error": {"code": exc.code if exc else ("interrupted" if code in INTERRUPT_CODES else "bug"),
                             "exit_code": code, "message": message, "hint": hint}}
        sys.stderr.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    from rich.markup import escape

    console = _stderr_console()
    console.print(f"[bold red]custinv:[/] {escape(message)}")
    if hint:
        console.print(f"[dim]hint:[/] {escape(hint)}")


def _quiet_broken_pipe() -> NoReturn:
    """`custinv ... | head`: the reader went away; end quietly, as cat does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    os._exit(0)


def _is_broken_pipe(exc: OSError) -> bool:
    """Polars reports a closed stdout as a plain OSError ("Broken pipe (os error 32)")."""
    return isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE or "os error 32" in str(exc)


def run_guarded(work: Callable[[], int | None], *, json_mode: bool = False, debug: bool = False) -> NoReturn:
    """Run a command body; every outcome leaves through here with the right exit code."""
    from custinv import interrupts

    interrupts.install()
    try:
        code = work() or 0
        sys.stdout.flush()
    except CustinvError as exc:
        _emit_error(exc, code=int(exc.exit_code), message=exc.message, hint=exc.hint, json_mode=json_mode)
        code = int(exc.exit_code)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except KeyboardInterrupt as exc:
        code = interrupts.interrupt_code(exc) or int(ExitCode.INTERRUPTED)
        _emit_error(None, code=code, message="interrupted", hint=None, json_mode=json_mode)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # noqa: BLE001 - interrupted, bug or I/O: see _unexpected
        code = _unexpected(exc, debug=debug, json_mode=json_mode)
    finally:
        from custinv.stdin_inputs import remove_spooled

        remove_spooled()
    raise typer.Exit(code)


def _unexpected(exc: Exception, *, debug: bool, json_mode: bool) -> int:
    """A library's own error raised while an interrupt unwound it is still an interrupt (130/143)."""
    from custinv import interrupts

    interrupted = interrupts.interrupt_code(exc)
    if interrupted is not None:
        _emit_error(None, code=interrupted, message="interrupted", hint=None, json_mode=json_mode)
        return interrupted
    if isinstance(exc, OSError):
        if _is_broken_pipe(exc):
            _quiet_broken_pipe()
        _report_bug(exc, debug, json_mode, ExitCode.IO, "I/O error")
        return int(ExitCode.IO)
    _report_bug(exc, debug, json_mode, ExitCode.BUG, "internal error")
    return int(ExitCode.BUG)


def _report_bug(exc: BaseException, debug: bool, json_mode: bool, code: ExitCode, what: str) -> None:
    if debug:
        import traceback

        traceback.print_exc()
    _emit_error(
        None, code=code, message=f"{what}: {type(exc).__name__}: {exc}",
        hint=None if debug else "run again with --debug for the traceback, and please report it",
        json_mode=json_mode,
    )


# ----------------------------------------------------------------------------- settings


def _split_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [p.strip() for p in text.split(",") if p.strip()]


def _parse_map(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    mapping: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--map {item!r}: expected field=column", hint="e.g. --map customer_id='Buyer ID'")
        key, value = item.split("=", 1)
        mapping[key.strip()] = value.strip().strip("'\"")
    return mapping


_NOT_SETTINGS = {"config", "quiet", "debug", "timings", "rejects", "map_", "alert", "query_file",
                 "excel", "html", "report_dir", "keep", "customers_out", "snapshot", "compare_with",
                 "force", "customers_renamed"}


def _settings(opts: dict[str, Any], **extra: Any) -> Settings:
    """Flags → Settings (with CUSTINV_* and custinv.toml underneath). Bad flag values are usage errors."""
    from custinv.config import load_settings
    from custinv.errors import ConfigError

    flags: dict[str, Any] = {k: v for k, v in opts.items() if k not in _NOT_SETTINGS and v is not None}
    flags.update({k: v for k, v in extra.items() if v is not None})
    if opts.get("query_file") is not None:
        from custinv.ingest.sources import read_query_file

        flags["query"] = read_query_file(opts["query_file"])
    if flags.get("delimiter") in ("tab", "\\t"):
        flags["delimiter"] = "\t"
    for name in ("value_tiers", "rfm_frequency"):
        if name in flags:
            flags[name] = _split_list(flags[name])
    if isinstance(flags.get("lang"), Enum):
        flags["lang"] = flags["lang"].value
    if opts.get("map_"):
        flags["mapping"] = _parse_map(opts["map_"])
    if opts.get("alert"):
        from custinv.alerts import AlertRuleError, parse_rules

        try:
            parse_rules(opts["alert"])
        except AlertRuleError as exc:
            raise UsageError(str(exc)) from exc
        flags["alerts"] = list(opts["alert"])
    try:
        settings = load_settings(flags, config_path=opts.get("config"))
    except ConfigError as exc:
        if opts.get("config") is None and _flag_problem(exc, flags):
            raise UsageError(exc.message, hint="see --help for the accepted values") from exc
        raise
    if settings.pii == "hash":  # the key (or its refusal, exit 78) before any work
        from custinv.render.pii import pii_key

        pii_key()
    return settings


def _flag_problem(exc: CustinvError, flags: dict[str, Any]) -> bool:
    """Was a validation failure caused by a flag (usage, exit 2) rather than the config file (78)?"""
    return any(f"{name}:" in exc.message or f"{name}." in exc.message for name in flags)


def _expand(files: list[str]) -> list[Source]:
    """Inputs as given → sources: stdin and pipes spooled to a private file, globs expanded,
    file names made readable, database URIs as they are."""
    from custinv.ingest.sources import expand_sources
    from custinv.stdin_inputs import spool_special, utf8_names

    sources = expand_sources(spool_special(files))
    readable = iter(utf8_names([s for s in sources if isinstance(s, Path)]))
    return [next(readable) if isinstance(s, Path) else s for s in sources]


def _progress(quiet: bool) -> Any:
    """A live progress display on a terminal's stderr; none for cron, pipes or --quiet."""
    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    from custinv.render.progress import TerminalProgress

    return TerminalProgress(_stderr_console())


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def _prepare_outputs(opts: dict[str, Any], files: list[str], settings: Settings, *paths: Path | None) -> None:
    """Before the work starts: every output folder writable (exit 73 early, not after a long
    run), and no output is an input, a link or device, or a file custinv did not write (2)."""
    from custinv.outguard import check_targets, set_policy
    from custinv.outputs import check_writable

    if opts.get("customers_renamed") is not None:
        raise UsageError("--customers was renamed: --customers-out FILE writes the per-customer list, "
                         "--customers-file FILE reads a CRM account list")
    from custinv.ingest.sources.uri import is_database_uri

    sides = (settings.customers_file, settings.tickets, opts.get("config"), "custinv.toml")
    inputs = [s for s in _expand(files) if isinstance(s, Path)]  # a database is never an output
    inputs += [Path(p) for p in sides if p is not None and not is_database_uri(str(p))]
    set_policy(inputs, force=bool(opts.get("force")))
    for path in (opts.get("rejects"), *paths):
        if path is not None:
            check_writable(path)
    check_targets([opts.get("rejects"), *paths])


def _run_audit(files: list[str], settings: Settings, opts: dict[str, Any]) -> AuditResult:
    from custinv.stocktake import audit

    with _progress(bool(opts.get("quiet"))) as progress:
        result = audit(_expand(files), settings, progress=progress,
                       on_rows=progress.rows if progress is not None else None)
    _print_warnings(result.stocktake.source.warnings, bool(opts.get("quiet")))
    clv = result.stocktake.clv
    if clv is not None:  # every CLV model warning is also a stderr line (and in clv.warnings)
        _print_warnings(clv.warnings, bool(opts.get("quiet")), label="clv warning")
    if opts.get("rejects") is not None:
        from custinv.outputs import write_frame

        write_frame(result.ledger.rejects, opts["rejects"], "csv", private=True)
    if opts.get("timings"):
        result.stocktake.timings = {k: round(v, 4) for k, v in result.timings.stages.items()}
    return result


def _print_warnings(warnings: list[str], quiet: bool, *, label: str = "warning") -> None:
    """Every guess on stderr (also in the Source panel and source.warnings, or clv.warnings);
    --quiet hides them."""
    if quiet or not warnings:
        return
    from rich.markup import escape

    err = _stderr_console()
    for message in warnings:
        err.print(f"[yellow]{label}:[/] {escape(message)}", soft_wrap=True)


def _finish(result: AuditResult, opts: dict[str, Any]) -> int:
    """Timings and alerts on stderr; exit 3 when an alert rule is breached."""
    console = _stderr_console(quiet=bool(opts.get("quiet")))
    if opts.get("timings"):
        from custinv.render.console import render_timings

        render_timings(result.timings.stages, _stderr_console())
    alerts = result.stocktake.alerts or []
    breached = [a for a in alerts if a.breached]
    if breached:
        err = _stderr_console()
        for a in breached:
            err.print(f"[bold red]alert:[/] {a.rule} (value {a.value})")
        return int(ExitCode.ALERT)
    if alerts:
        console.print(f"[dim]{len(alerts)} alert rule(s) checked, none breached[/]")
    return 0


# ----------------------------------------------------------------------------- commands


@app.command()
@with_options("reading", "classify", "trends", "clv", "alerts", "reports", "book", "lang", "run")
def audit(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    no_clv: Annotated[bool, typer.Option("--no-clv", help="Skip the CLV model fit (faster on huge files).", rich_help_panel=_V)] = False,
    *,
    opts: dict[str, Any],
) -> None:
    """Take stock of the customers in an export: accounting, KPIs, frequency classes,
    value tiers, RFM segments, lifecycle, breakdowns, churn, cohorts, trends and CLV.

    Every input row is accounted for: rows read = used + excluded (by reason) + rejected.

    Examples:

      custinv audit orders.csv

      custinv audit 'exports/2024-*.csv' --as-of 2024-12-31 --lang zh

      custinv audit orders.csv --format json | jq .kpis

      custinv audit orders.csv -q --alert 'churn_rate > 0.08'   # cron: exit 3 when breached
    """

    def work() -> int:
        settings = _settings(opts, clv=False if no_clv else None)
        _prepare_outputs(opts, files, settings, opts.get("excel"), opts.get("html"), opts.get("customers_out"))
        if any(opts.get(k) is not None for k in ("excel", "html", "report_dir", "customers_out")):
            from custinv.render.reports import check_report_targets

            check_report_targets(excel=opts.get("excel"), html=opts.get("html"), report_dir=opts.get("report_dir"),
                                 customers_out=opts.get("customers_out"))
        if opts.get("snapshot") is not None:
            from custinv.snapshots import check_snapshot_root

            check_snapshot_root(opts["snapshot"])
        if opts.get("compare_with") is not None:
            from custinv.changes import check_snapshot_folder

            check_snapshot_folder(opts["compare_with"])
        result = _run_audit(files, settings, opts)
        changes = None
        if opts.get("snapshot") is not None or opts.get("compare_with") is not None:
            from rich.markup import escape

            from custinv.changes import changes_for_run
            from custinv.render.book_views import changes_hint

            changes = changes_for_run(result, snapshot_root=opts.get("snapshot"), compare_with=opts.get("compare_with"))
            if changes is not None:
                _stderr_console(quiet=bool(opts.get("quiet"))).print(f"[dim]{escape(changes_hint(changes, settings.lang))}[/]")
        if opts.get("snapshot") is not None:
            from custinv.snapshots import write_snapshot

            folder = write_snapshot(opts["snapshot"], result.stocktake, result.customers)
            _stderr_console(quiet=bool(opts.get("quiet"))).print(f"[dim]snapshot written to {folder}[/]")
        if any(opts.get(k) is not None for k in ("excel", "html", "report_dir", "customers_out")):
            from custinv.render.reports import write_reports

            write_reports(result, excel=opts.get("excel"), html=opts.get("html"), report_dir=opts.get("report_dir"),
                          keep=opts.get("keep"), customers_out=opts.get("customers_out"), lang=settings.lang,
                          pii=settings.pii, comparison=changes)
        if format is OutputFormat.table:
            from custinv.render.console import render_stocktake

            render_stocktake(result.stocktake, lang=settings.lang, pii=settings.pii)
        elif format is OutputFormat.json:
            _print_json(result.stocktake.to_json_dict())
        else:
            from custinv.render.tabular import print_stocktake_rows

            print_stocktake_rows(result.stocktake, format.value)
        return _finish(result, opts)

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=bool(opts.get("debug")))


@app.command()
@with_options("reading", "classify", "trends", "clv", "run")
def customers(
    files: FilesArg,
    format: Annotated[RowFormat, typer.Option("--format", "-f", help="ndjson (default), csv, parquet or json.")] = RowFormat.ndjson,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file (mode 0600) instead of stdout; needed for parquet on a terminal.")] = None,
    no_clv: Annotated[bool, typer.Option("--no-clv", help="Skip the CLV model (no p_alive, expected_purchases, clv columns).", rich_help_panel=_V)] = False,
    *,
    opts: dict[str, Any],
) -> None:
    """One row per customer: first/last order, orders, revenue, recency, tenure, frequency
    class, value tier, RFM scores and segment, lifecycle stage, P(alive) and CLV.

    Ids are kept exactly as normalised, so rows join back to your CRM.

    Examples:

      custinv customers orders.csv --format csv > customers.csv

      custinv customers orders.csv -f parquet -o customers.parquet
    """

    def work() -> int:
        from custinv.render.tabular import customer_rows, write_rows

        settings = _settings(opts, clv=False if no_clv else None)
        _prepare_outputs(opts, files, settings, output)
        if output is None and format is RowFormat.parquet and sys.stdout.isatty():
            raise UsageError("parquet is binary: write it with --output FILE or redirect stdout")
        result = _run_audit(files, settings, opts)
        write_rows(customer_rows(result), format.value, output)
        return 0

    run_guarded(work, json_mode=format in (RowFormat.json, RowFormat.ndjson), debug=bool(opts.get("debug")))


@app.command()
@with_options("reading", "run")
def inspect(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    pii: Annotated[Optional[str], typer.Option("--pii", help="Emails and phone numbers in sample rows and rejects: mask (default), show or hash.")] = None,
    *,
    opts: dict[str, Any],
) -> None:
    """Show what custinv detected in a file, and why: encoding, delimiter, header row,
    the column mapping with the reason for each choice, five parsed sample rows, every
    status value with its decision, and the reject summary.

    Example:

      custinv inspect export.csv --map customer_id='Buyer ID'
    """

    def work() -> int:
        from custinv.ingest.fields import MissingFields
        from custinv.ingest.ledger import build_ledger
        from custinv.render.partial import render_partial
        from custinv.render.pii import protect_inspection

        settings = _settings(opts, max_reject_rate=1.0, pii=pii, strict=False)
        try:
            ledger = protect_inspection(build_ledger(_expand(files), settings), settings.pii)
        except MissingFields as exc:  # show what was found before refusing (exit 65)
            render_partial(exc, as_json=format is not OutputFormat.table)
            raise
        _print_warnings(ledger.source.warnings, bool(opts.get("quiet")))
        if format is OutputFormat.table:
            from custinv.render.console import render_inspection

            render_inspection(ledger)
        else:
            from custinv.render.tabular import inspection_dict

            _print_json(inspection_dict(ledger))
        return 0

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=bool(opts.get("debug")))


@app.command()
@with_options("reading", "classify", "lang", "run")
def rfm(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    *,
    opts: dict[str, Any],
) -> None:
    """The RFM segment table: customers, revenue, average R/F/M and a recommended action
    per segment, with the cut points that put customers there.

    Examples:

      custinv rfm orders.csv

      custinv rfm orders.csv --rfm-scheme cn8 --lang zh
    """

    def work() -> int:
        settings = _settings(opts, clv=False)
        result = _run_audit(files, settings, opts)
        st = result.stocktake
        if format is OutputFormat.table:
            from custinv.render.console import render_rfm, stdout_console

            render_rfm(st, settings.lang, stdout_console())
        elif format is OutputFormat.csv:
            from custinv.render.tabular import print_model_rows

            assert st.rfm is not None
            print_model_rows(st.rfm.segments)
        else:
            _print_json(_only(st, "rfm", "value_tiers", "frequency_classes", "lifecycle"))
        return 0

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=bool(opts.get("debug")))


class CohortMeasure(str, Enum):
    retention = "retention"
    customers = "customers"
    revenue = "revenue"


@app.command()
@with_options("reading", "trends", "lang", "run")
def cohorts(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    measure: Annotated[CohortMeasure, typer.Option(help="What the cells hold: retention (share of the cohort), customers or revenue.")] = CohortMeasure.retention,
    last: Annotated[Optional[int], typer.Option(help="Show only the last N cohorts in the table (JSON and CSV always hold every cohort).", min=1)] = None,
    *,
    opts: dict[str, Any],
) -> None:
    """First-purchase cohorts: who came back k periods after their first order.

    An empty cell is a period not reached yet; 0 means nobody came back.

    Examples:

      custinv cohorts orders.csv --period quarter

      custinv cohorts orders.csv --format csv --measure customers > cohorts.csv
    """

    def work() -> int:
        settings = _settings(opts, clv=False)
        result = _run_audit(files, settings, opts)
        st = result.stocktake
        assert st.retention is not None
        if format is OutputFormat.table:
            from custinv.render.console import render_cohorts, stdout_console

            render_cohorts(st, settings.lang, stdout_console(), measure=measure.value, last=last or 24)
        elif format is OutputFormat.csv:
            from custinv.analytics.retention import cohort_matrix_frame

            cohort_matrix_frame(st.retention, measure.value).write_csv(sys.stdout)
        else:
            _print_json(_only(st, "retention", "kpis_by_period"))
        return 0

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=bool(opts.get("debug")))


@app.command()
@with_options("reading", "classify", "trends", "clv", "alerts", "lang", "run")
def churn(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    no_clv: Annotated[bool, typer.Option("--no-clv", help="Rank the at-risk list by historical annual revenue instead of CLV.", rich_help_panel=_V)] = False,
    *,
    opts: dict[str, Any],
) -> None:
    """Churn: the churn window and rate, the period trend, the customers at risk (sorted by
    value at risk) and the high-value churned customers to win back.

    Examples:

      custinv churn orders.csv --top 50

      custinv churn orders.csv --churn-days 120 --format json | jq '.churn.at_risk[0]'
    """

    def work() -> int:
        settings = _settings(opts, clv=False if no_clv else None)
        _prepare_outputs(opts, files, settings)
        result = _run_audit(files, settings, opts)
        st = result.stocktake
        if format is OutputFormat.table:
            from custinv.render.console import render_churn, stdout_console

            render_churn(st, settings.lang, stdout_console(), pii=settings.pii)
        elif format is OutputFormat.csv:
            from custinv.render.tabular import print_model_rows

            assert st.churn is not None
            print_model_rows(st.churn.at_risk)
        else:
            _print_json(_only(st, "kpis", "churn", "kpis_by_period", "alerts"))
        return _finish(result, opts)

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=bool(opts.get("debug")))


@app.command()
@with_options("reading", "classify", "clv", "lang", "run")
def clv(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    *,
    opts: dict[str, Any],
) -> None:
    """Customer lifetime value: fit BG/NBD (or Pareto/NBD) and Gamma-Gamma, then price every
    customer's expected discounted margin over the horizon.

    Examples:

      custinv clv orders.csv --horizon 24 --discount-rate 0.08 --margin 0.35

      custinv clv orders.csv --holdout 2024-06-30     # fit before, check the prediction after

      custinv clv orders.csv --format json | jq .clv.params
    """

    def work() -> int:
        settings = _settings(opts, clv=True)
        result = _run_audit(files, settings, opts)
        st = result.stocktake
        if format is OutputFormat.table:
            from custinv.render.console import render_clv, stdout_console

            render_clv(st, settings.lang, stdout_console(), pii=settings.pii)
        else:
            _print_json(st.to_json_dict())
        return 0

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=bool(opts.get("debug")))


class CompareFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
@with_options("lang", "run")
def compare(
    snapshots: Annotated[list[Path], typer.Argument(help="OLD NEW snapshot folders (written by audit --snapshot DIR), or one DIR of snapshots with --since.", show_default=False)],
    since: Annotated[Optional[str], typer.Option(help="With one DIR: compare the latest snapshot on or before this date (YYYY-MM-DD) with the newest.")] = None,
    format: Annotated[CompareFormat, typer.Option("--format", "-f", help="table (Rich) or json.")] = CompareFormat.table,
    top: Annotated[int, typer.Option(help="Customers in the gained / lost / movers lists.", min=1)] = 20,
    *,
    opts: dict[str, Any],
) -> None:
    """What changed between two stocktakes: KPI deltas, how customers moved between RFM
    segments, value tiers and lifecycle stages (with the revenue that moved), customers
    gained and lost, and the biggest movers by value.

    Examples:

      custinv audit orders.csv --snapshot stocktakes/

      custinv compare stocktakes/2025-09-30 stocktakes/2025-12-31

      custinv compare stocktakes/ --since 2025-09-30 --format json | jq .kpi_deltas
    """

    def work() -> int:
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
        if format is CompareFormat.json:
            _print_json(result.to_json_dict())
        else:
            from custinv.render.compare import render_comparison
            from custinv.render.console import stdout_console

            render_comparison(result, settings.lang, stdout_console(), currency=new.stocktake.get("currency"))
        return 0

    run_guarded(work, json_mode=format is CompareFormat.json, debug=bool(opts.get("debug")))


@app.command()
def schema() -> None:
    """Print the JSON Schema of `--format json` output (schema_version 1)."""

    def work() -> int:
        from custinv.render.tabular import json_schema

        _print_json(json_schema())
        return 0

    run_guarded(work)


def _only(st: Any, *sections: str) -> dict[str, Any]:
    """The contract object with the header, the source and only the named sections."""
    data = st.to_json_dict()
    keep = {"schema_version", "tool", "as_of", "currency", "source", "settings", "timings", *sections}
    return {k: v for k, v in data.items() if k in keep}


@app.command()
def profiles(
    format: Annotated[CompareFormat, typer.Option("--format", "-f", help="table (Rich) or json.")] = CompareFormat.table,
) -> None:
    """List the export profiles: the platform exports custinv recognises from their header
    (and reads with their documented columns, statuses and refund rows). Force one with
    `--profile NAME`.

    Example:

      custinv profiles
    """

    def work() -> int:
        from custinv.ingest.profiles import all_profiles

        rows = [
            {"name": p.name, "title": p.title, "signature": list(p.signature),
             "columns": {f: list(h) for f, h in p.columns.items()}, "sources": list(p.sources)}
            for p in all_profiles()
        ]
        if format is CompareFormat.json:
            _print_json(rows)
            return 0
        from rich.table import Table

        table = Table(title="export profiles", show_lines=False)
        for name in ("profile", "export", "recognised by"):
            table.add_column(name)
        for row in rows:
            table.add_row(row["name"], row["title"], ", ".join(row["signature"]))
        from rich.console import Console

        Console().print(table)
        return 0

    run_guarded(work, json_mode=format is CompareFormat.json)


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
