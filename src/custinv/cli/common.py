"""What the commands share: flags to :class:`Settings`, inputs expanded, outputs checked before the
work, the audit run with progress, warnings and timings on stderr.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custinv.cli.errors import _stderr_console
from custinv.errors import CustinvError, ExitCode, UsageError

if TYPE_CHECKING:
    from custinv.config import Settings
    from custinv.ingest.sources import Source
    from custinv.runs import RunOutputs
    from custinv.stocktake import AuditResult


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

    if not files:
        raise UsageError("no input: give a file, a glob or a database URI", hint="e.g. custinv audit orders.csv")

    sources = expand_sources(spool_special(files))
    readable = iter(utf8_names([s for s in sources if isinstance(s, Path)]))
    return [next(readable) if isinstance(s, Path) else s for s in sources]


def _progress(quiet: bool) -> Any:
    """A live progress display on a terminal's stderr; none for cron, pipes or --quiet."""
    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    from custinv.render.progress import TerminalProgress

    return TerminalProgress(_stderr_console())


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
    from custinv.spark.inputs import is_spark_url

    local = [f for f in files if not is_spark_url(f)]  # Spark's inputs (hdfs://, --table) are never outputs
    inputs = [s for s in _expand(local) if isinstance(s, Path)] if local else []
    inputs += [Path(p) for p in sides if p is not None and not is_database_uri(str(p))]
    set_policy(inputs, force=bool(opts.get("force")))
    for path in (opts.get("rejects"), *paths):
        if path is not None:
            check_writable(path)
    check_targets([opts.get("rejects"), *paths])


def _run_outputs(opts: dict[str, Any]) -> RunOutputs:
    """The output flags of ``audit`` as the core's :class:`custinv.runs.RunOutputs`."""
    from custinv.runs import RunOutputs

    return RunOutputs(excel=opts.get("excel"), html=opts.get("html"), report_dir=opts.get("report_dir"),
                      keep=opts.get("keep"), customers_out=opts.get("customers_out"), rejects=opts.get("rejects"),
                      snapshot=opts.get("snapshot"), compare_with=opts.get("compare_with"))


def _run_audit(files: list[str], settings: Settings, opts: dict[str, Any]) -> AuditResult:
    """The core's audit run with a progress display; warnings (and CLV model warnings) on stderr."""
    from custinv.runs import run_audit

    quiet = bool(opts.get("quiet"))

    def warn(result: AuditResult) -> None:
        _print_warnings(result.stocktake.source.warnings, quiet)
        clv = result.stocktake.clv
        if clv is not None:  # every CLV model warning is also a stderr line (and in clv.warnings)
            _print_warnings(clv.warnings, quiet, label="clv warning")

    from custinv.spark.inputs import refuse_without_spark, spark_inputs

    refuse_without_spark(files, settings)
    sources = spark_inputs(files, settings, _expand) if settings.engine == "spark" else _expand(files)
    return run_audit(sources, settings, progress=lambda: _progress(quiet), rejects=opts.get("rejects"),  # type: ignore[arg-type]
                     timings=bool(opts.get("timings")), on_audit=warn)


def _note(quiet: bool) -> Callable[[str], None]:
    """A dim line on stderr (hidden by --quiet): what the run kept and compared."""
    from rich.markup import escape

    def note(text: str) -> None:
        _stderr_console(quiet=quiet).print(f"[dim]{escape(text)}[/]")

    return note


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
