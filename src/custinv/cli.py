"""The command line: parse options, call audit(), pick a renderer, map errors to exit codes.

Kept thin on purpose (like sqlite-utils' CLI over its Python core): every number comes from
:func:`custinv.stocktake.audit`; this module only turns flags into :class:`Settings`, runs
the work inside one error funnel (:func:`run_guarded`) and sends results to stdout,
messages to stderr. Heavy libraries are imported inside the commands so ``--help`` stays
fast.
"""

from __future__ import annotations

import errno
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

if TYPE_CHECKING:
    from custinv.config import Settings
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
        "  custinv customers orders.csv --format csv > customers.csv"
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


# ----------------------------------------------------------------------------- options

FilesArg = Annotated[
    list[str],
    typer.Argument(
        help="Export file(s): csv/tsv/txt, xlsx, parquet, json/ndjson. Several files or a glob "
        "(monthly exports) are read as one book; lines repeated across files are counted once.",
        show_default=False,
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="table (Rich, for people) or json/ndjson/csv for pipelines.")]
EncodingOpt = Annotated[Optional[str], typer.Option(help="Text encoding (default: detected: BOM, utf-8, gb18030, cp1252).", rich_help_panel="Reading")]
DelimiterOpt = Annotated[Optional[str], typer.Option(help="Field delimiter (default: sniffed among , ; tab |). Use 'tab' for tab.", rich_help_panel="Reading")]
SheetOpt = Annotated[Optional[str], typer.Option(help="Excel sheet name or 1-based number (default: first sheet that looks like data).", rich_help_panel="Reading")]
HeaderRowOpt = Annotated[Optional[int], typer.Option(help="1-based line of the header row (default: found automatically below report titles).", min=1, rich_help_panel="Reading")]
DateFormatOpt = Annotated[Optional[str], typer.Option(help="strptime format of the order date when it is ambiguous, e.g. '%d/%m/%Y'.", rich_help_panel="Reading")]
MapOpt = Annotated[Optional[list[str]], typer.Option("--map", help="Pin a field to a column: --map customer_id='Buyer ID' (repeatable; other fields are still detected).", rich_help_panel="Reading")]
CurrencyOpt = Annotated[Optional[str], typer.Option(help="Keep only rows in this currency (when the data holds several).", rich_help_panel="Reading")]
AsOfOpt = Annotated[Optional[str], typer.Option(help="Stocktake date: YYYY-MM-DD or 'today' (default: latest order date). Later orders are excluded.", rich_help_panel="Reading")]
MaxRejectOpt = Annotated[Optional[float], typer.Option(help="Fail (exit 65) when more than this share of rows cannot be parsed [default: 0.10].", min=0, max=1, rich_help_panel="Reading")]
RejectsOpt = Annotated[Optional[Path], typer.Option(help="Write every rejected row (file, line, column, value, reason) to this CSV.", rich_help_panel="Outputs")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Settings file (default: ./custinv.toml when present).", rich_help_panel="Run")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.", rich_help_panel="Run")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of unexpected errors.", rich_help_panel="Run")]
TimingsOpt = Annotated[bool, typer.Option("--timings", help="Print the time of each stage on stderr (and in JSON).", rich_help_panel="Run")]


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
    from rich.console import Console

    return Console(stderr=True, quiet=quiet, highlight=False, no_color="NO_COLOR" in os.environ)


def _emit_error(exc: CustinvError | None, *, code: int, message: str, hint: str | None, json_mode: bool) -> None:
    if json_mode:
        payload = {"error": {"code": exc.code if exc else "bug", "exit_code": code, "message": message, "hint": hint}}
        sys.stderr.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    console = _stderr_console()
    console.print(f"[bold red]custinv:[/] {_escape(message)}")
    if hint:
        console.print(f"[dim]hint:[/] {_escape(hint)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


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
    try:
        code = work() or 0
        sys.stdout.flush()
    except CustinvError as exc:
        _emit_error(exc, code=int(exc.exit_code), message=exc.message, hint=exc.hint, json_mode=json_mode)
        code = int(exc.exit_code)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except KeyboardInterrupt:
        _emit_error(None, code=ExitCode.INTERRUPTED, message="interrupted", hint=None, json_mode=json_mode)
        code = int(ExitCode.INTERRUPTED)
    except (typer.Exit, typer.Abort):
        raise
    except OSError as exc:
        if _is_broken_pipe(exc):
            _quiet_broken_pipe()
        if debug:
            import traceback

            traceback.print_exc()
        _emit_error(None, code=ExitCode.IO, message=f"I/O error: {exc}", hint=None, json_mode=json_mode)
        code = int(ExitCode.IO)
    except Exception as exc:  # noqa: BLE001 - the bug funnel
        if debug:
            import traceback

            traceback.print_exc()
        _emit_error(
            None,
            code=ExitCode.BUG,
            message=f"internal error: {type(exc).__name__}: {exc}",
            hint=None if debug else "run again with --debug for the traceback, and please report it",
            json_mode=json_mode,
        )
        code = int(ExitCode.BUG)
    raise typer.Exit(code)


# ----------------------------------------------------------------------------- helpers


def _parse_map(items: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--map {item!r}: expected field=column", hint="e.g. --map customer_id='Buyer ID'")
        key, value = item.split("=", 1)
        mapping[key.strip()] = value.strip()
    return mapping


def _settings(config: Path | None, **flags: Any) -> Settings:
    from custinv.config import load_settings

    if flags.get("delimiter") in ("tab", "\\t"):
        flags["delimiter"] = "\t"
    return load_settings({k: v for k, v in flags.items() if v is not None}, config_path=config)


def _expand(files: list[str]) -> list[Path]:
    from custinv.ingest.readers import expand_inputs

    return expand_inputs(files)


def _progress(quiet: bool) -> Callable[[str], None] | None:
    if quiet or not sys.stderr.isatty():
        return None
    console = _stderr_console()
    return lambda msg: console.print(f"[dim]… {msg}[/]")


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def _run_audit(files: list[str], settings: Settings, quiet: bool) -> AuditResult:
    from custinv.stocktake import audit

    return audit(_expand(files), settings, progress=_progress(quiet))


def _write_rejects(result: AuditResult, path: Path | None) -> None:
    if path is None:
        return
    from custinv.outputs import write_frame

    write_frame(result.ledger.rejects, path, "csv", private=True)


def _show_timings(result: AuditResult, enabled: bool) -> None:
    if not enabled:
        return
    from custinv.render.console import render_timings

    render_timings(result.timings.stages, _stderr_console())


def _reading_flags(encoding, delimiter, sheet, header_row, date_format, map_, currency, as_of, max_reject_rate) -> dict[str, Any]:  # noqa: ANN001
    return dict(
        encoding=encoding, delimiter=delimiter, sheet=sheet, header_row=header_row, date_format=date_format,
        mapping=_parse_map(map_) or None, currency=currency, as_of=as_of, max_reject_rate=max_reject_rate,
    )


# ----------------------------------------------------------------------------- commands


@app.command()
def audit(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    date_format: DateFormatOpt = None,
    map_: MapOpt = None,
    currency: CurrencyOpt = None,
    as_of: AsOfOpt = None,
    max_reject_rate: MaxRejectOpt = None,
    rejects: RejectsOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    timings: TimingsOpt = False,
) -> None:
    """Take stock of the customers in an export: accounting, KPIs, classes, segments.

    Every input row is accounted for: rows read = used + excluded (by reason) + rejected.

    Examples:

      custinv audit orders.csv

      custinv audit 'exports/2024-*.csv' --as-of 2024-12-31

      custinv audit orders.csv --format json | jq .kpis
    """
    json_mode = format is not OutputFormat.table

    def work() -> int:
        settings = _settings(config, **_reading_flags(encoding, delimiter, sheet, header_row, date_format, map_,
                                                      currency, as_of, max_reject_rate))
        if rejects is not None:
            from custinv.outputs import check_writable

            check_writable(rejects)
        result = _run_audit(files, settings, quiet)
        _write_rejects(result, rejects)
        if timings:
            result.stocktake.timings = {k: round(v, 4) for k, v in result.timings.stages.items()}
        if format is OutputFormat.table:
            from custinv.render.console import render_stocktake

            render_stocktake(result.stocktake, lang=settings.lang)
        elif format is OutputFormat.json:
            _print_json(result.stocktake.to_json_dict())
        else:
            from custinv.render.tabular import print_stocktake_rows

            print_stocktake_rows(result.stocktake, format.value)
        _show_timings(result, timings)
        return 0

    run_guarded(work, json_mode=json_mode, debug=debug)


@app.command()
def customers(
    files: FilesArg,
    format: Annotated[RowFormat, typer.Option("--format", "-f", help="ndjson, csv, parquet or json.")] = RowFormat.ndjson,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout (required for parquet on a terminal).")] = None,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    date_format: DateFormatOpt = None,
    map_: MapOpt = None,
    currency: CurrencyOpt = None,
    as_of: AsOfOpt = None,
    max_reject_rate: MaxRejectOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """One row per customer: first/last order, orders, revenue, recency, classes and scores.

    Examples:

      custinv customers orders.csv --format csv > customers.csv

      custinv customers orders.csv -f parquet -o customers.parquet
    """

    def work() -> int:
        from custinv.render.tabular import customer_rows, write_rows

        settings = _settings(config, **_reading_flags(encoding, delimiter, sheet, header_row, date_format, map_,
                                                      currency, as_of, max_reject_rate))
        if output is not None:
            from custinv.outputs import check_writable

            check_writable(output)
        elif format is RowFormat.parquet and sys.stdout.isatty():
            raise UsageError("parquet is binary: write it with --output FILE or redirect stdout")
        result = _run_audit(files, settings, quiet)
        write_rows(customer_rows(result), format.value, output)
        return 0

    run_guarded(work, json_mode=format in (RowFormat.json, RowFormat.ndjson), debug=debug)


@app.command()
def inspect(
    files: FilesArg,
    format: FormatOpt = OutputFormat.table,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    date_format: DateFormatOpt = None,
    map_: MapOpt = None,
    currency: CurrencyOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show what custinv detected in a file, and why: encoding, delimiter, header row,
    the column mapping with the reason for each choice, five parsed sample rows, every
    status value with its decision, and the reject summary.

    Example:

      custinv inspect export.csv --map customer_id='Buyer ID'
    """

    def work() -> int:
        from custinv.ingest.ledger import build_ledger
        from custinv.render.console import render_inspection

        settings = _settings(config, **_reading_flags(encoding, delimiter, sheet, header_row, date_format, map_,
                                                      currency, as_of, 1.0))
        ledger = build_ledger(_expand(files), settings)
        if format is OutputFormat.table:
            render_inspection(ledger)
        else:
            from custinv.render.tabular import inspection_dict

            _print_json(inspection_dict(ledger))
        return 0

    run_guarded(work, json_mode=format is not OutputFormat.table, debug=debug)


@app.command()
def schema() -> None:
    """Print the JSON Schema of `--format json` output (schema_version 1)."""

    def work() -> int:
        from custinv.render.tabular import json_schema

        _print_json(json_schema())
        return 0

    run_guarded(work)


def main() -> None:
    """Entry point for ``python -m custinv``."""
    app()
