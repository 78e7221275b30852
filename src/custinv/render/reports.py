"""One entry point for every report file an audit can write: ``--excel``, ``--html``,
``--report-dir`` (dated names for cron, with ``--keep N``) and ``--customers-out``.

openpyxl and jinja2 are imported only here, inside the writers, and only when a report was
asked for, so ``custinv --help`` and plain ``audit`` stay fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from custinv import outguard
from custinv.errors import OutputError, UsageError
from custinv.outputs import check_writable
from custinv.render.pii import PiiMode

if TYPE_CHECKING:
    from collections.abc import Callable

    from custinv.models import Comparison
    from custinv.render.digest import Lang
    from custinv.render.excel import ExcelReport
    from custinv.stocktake import AuditResult

DATED_NAME = re.compile(r"^stocktake-(\d{4}-\d{2}-\d{2})\.(xlsx|html)$")
CUSTOMER_FORMATS = {".parquet": "parquet", ".csv": "csv"}


@dataclass
class WrittenReports:
    """What was written, for the CLI's notes on stderr."""

    paths: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    excel: list[ExcelReport] = field(default_factory=list)


def dated_paths(report_dir: Path, as_of: object) -> tuple[Path, Path]:
    """``DIR/stocktake-YYYY-MM-DD.xlsx`` and ``.html`` (the date is the stocktake's as-of)."""
    return report_dir / f"stocktake-{as_of}.xlsx", report_dir / f"stocktake-{as_of}.html"


def report_targets(*, excel: Path | None, html: Path | None, report_dir: Path | None, customers_out: Path | None,
                   as_of: object = "0000-00-00") -> list[Path]:
    """Every file a run will create, to check the folders before the work starts (exit 73 early)."""
    paths = [p for p in (excel, html, customers_out) if p is not None]
    if report_dir is not None:
        if not report_dir.is_dir():
            raise OutputError(f"cannot write reports to {report_dir}: it is not an existing folder",
                              hint="create the folder first")
        paths.extend(dated_paths(report_dir, as_of))
    if customers_out is not None and customers_out.suffix.lower() not in CUSTOMER_FORMATS:
        raise UsageError(f"--customers-out {customers_out}: use a .parquet or .csv file name")
    return paths


def check_report_targets(*, excel: Path | None, html: Path | None, report_dir: Path | None,
                         customers_out: Path | None) -> None:
    """Before any work: folders exist and are writable (73); no target is an input, a link,
    a device or someone else's file (:mod:`custinv.outguard`)."""
    if report_dir is not None:
        outguard.check_report_dir(report_dir, DATED_NAME)
    for path in report_targets(excel=excel, html=html, report_dir=report_dir, customers_out=customers_out):
        check_writable(path)
    outguard.check_targets([excel, html, customers_out])


def prune(report_dir: Path, keep: int, *, written: list[Path] | None = None) -> list[Path]:
    """Keep the newest ``keep`` dated reports of each kind in ``report_dir``; remove the older ones.

    Only files named ``stocktake-YYYY-MM-DD.xlsx|html`` *that custinv wrote* (its manifest
    in the folder) are candidates; the run's inputs and the reports just ``written`` are
    never removed (a backfill run with an old as-of keeps its own report)."""
    if keep < 1:
        raise UsageError("--keep must be at least 1")
    removed: list[Path] = []
    for ext in ("xlsx", "html"):
        dated = sorted((m.group(1), p) for p in report_dir.iterdir()
                       if (m := DATED_NAME.match(p.name)) and m.group(2) == ext and p.is_file())
        ours = set(outguard.prunable([p for _, p in dated], []))  # custinv's, not an input
        for _, path in [(d, p) for d, p in dated if p in ours][:-keep]:
            if any(outguard.same_file(path, w) for w in written or []):
                continue
            path.unlink(missing_ok=True)
            removed.append(path)
    outguard.forget_written(removed)
    return removed


def write_reports(
    result: AuditResult,
    *,
    excel: Path | None = None,
    html: Path | None = None,
    report_dir: Path | None = None,
    keep: int | None = None,
    customers_out: Path | None = None,
    lang: Lang = "en",
    pii: PiiMode = "mask",
    comparison: Comparison | None = None,
    progress: Callable[[str], None] | None = None,
) -> WrittenReports:
    """Write every requested report atomically; an interrupted run leaves older files intact.

    ``comparison`` (this run against the previous stocktake) adds the Changes sheet and section.
    Each report is a stage of ``result.timings`` (``report_excel``, ``report_html``,
    ``report_customers``: ``--timings`` shows them) and is announced to ``progress``."""
    say = progress or (lambda message: None)
    if keep is not None and report_dir is None:
        raise UsageError("--keep needs --report-dir")
    out = WrittenReports()
    excel_paths = [p for p in (excel,) if p is not None]
    html_paths = [p for p in (html,) if p is not None]
    if report_dir is not None:
        x, h = dated_paths(report_dir, result.stocktake.as_of)
        excel_paths.append(x)
        html_paths.append(h)
    if excel_paths:
        from custinv.render.excel import write_excel

        for path in excel_paths:
            say(f"writing {path.name}")
            with result.timings.stage("report_excel"):
                out.excel.append(write_excel(result, path, lang=lang, pii=pii, comparison=comparison))
            out.paths.append(path)
    if html_paths:
        from custinv.render.html import write_html

        for path in html_paths:
            say(f"writing {path.name}")
            with result.timings.stage("report_html"):
                write_html(result, path, lang=lang, pii=pii, comparison=comparison)
            out.paths.append(path)
    if customers_out is not None:
        from custinv.outputs import write_frame
        from custinv.render.tabular import customer_rows

        fmt = CUSTOMER_FORMATS.get(customers_out.suffix.lower())
        if fmt is None:
            raise UsageError(f"--customers-out {customers_out}: use a .parquet or .csv file name")
        say(f"writing {customers_out.name}")
        with result.timings.stage("report_customers"):
            write_frame(customer_rows(result), customers_out, fmt, private=True)
        out.paths.append(customers_out)
    if report_dir is not None and keep is not None:
        out.removed = prune(report_dir, keep, written=out.paths)
    return out
