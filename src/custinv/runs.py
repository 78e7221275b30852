"""An audit run end to end, the part every front end shares: the outputs checked before the work
(so a bad target fails in a second, not after a long run), the audit with its rejects file and
stage timings, then the snapshot kept, the comparison with an earlier stocktake, and the
Excel / HTML / report-folder / per-customer files written.

The CLI parses flags into :class:`RunOutputs`, calls these functions and prints; nothing here
prints. What a person should hear (the comparison line, where the snapshot went) reaches the
caller's ``note``; progress reaches the caller's progress display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from custinv.config import Settings
    from custinv.ingest.sources import Source
    from custinv.models import Comparison
    from custinv.stocktake import AuditResult


class Progress(Protocol):
    """A progress display: hears each stage's name, and rows read while a big file streams in."""

    def __call__(self, message: str) -> None: ...

    def rows(self, done: int, total: int) -> None: ...


ProgressScope = Callable[[], AbstractContextManager[Progress | None]]


def _no_progress() -> AbstractContextManager[Progress | None]:
    return nullcontext(None)


@dataclass(frozen=True)
class RunOutputs:
    """Where an audit run writes besides stdout (every field optional)."""

    excel: Path | None = None
    html: Path | None = None
    report_dir: Path | None = None
    keep: int | None = None
    customers_out: Path | None = None
    rejects: Path | None = None
    snapshot: Path | None = None
    compare_with: Path | None = None

    @property
    def writes_reports(self) -> bool:
        return any(p is not None for p in (self.excel, self.html, self.report_dir, self.customers_out))


def check_run_outputs(outputs: RunOutputs) -> None:
    """Before the work: report targets writable and custinv's own (73 / 2), the snapshot folder
    possible (73), the ``--compare-with`` folder a snapshot (66)."""
    if outputs.writes_reports:
        from custinv.render.reports import check_report_targets

        check_report_targets(excel=outputs.excel, html=outputs.html, report_dir=outputs.report_dir,
                             customers_out=outputs.customers_out)
    if outputs.snapshot is not None:
        from custinv.snapshots import check_snapshot_root

        check_snapshot_root(outputs.snapshot)
    if outputs.compare_with is not None:
        from custinv.changes import check_snapshot_folder

        check_snapshot_folder(outputs.compare_with)


def run_audit(
    sources: Sequence[Source],
    settings: Settings,
    *,
    progress: ProgressScope | None = None,
    rejects: Path | None = None,
    timings: bool = False,
    on_audit: Callable[[AuditResult], None] | None = None,
) -> AuditResult:
    """The audit (inside the caller's progress display), then its rejected rows to ``rejects``
    (CSV, 0600) and, with ``timings``, each stage's seconds into the contract object.
    ``on_audit`` hears the result once the progress display is gone and before anything is
    written (the CLI prints the warnings there)."""
    from custinv.stocktake import audit

    with (progress or _no_progress)() as shown:
        result = audit(sources, settings, progress=shown, on_rows=shown.rows if shown is not None else None)
    if on_audit is not None:
        on_audit(result)
    if rejects is not None:
        from custinv.outputs import write_frame

        write_frame(result.ledger.rejects, rejects, "csv", private=True)
    if timings:
        result.stocktake.timings = {k: round(v, 4) for k, v in result.timings.stages.items()}
    return result


def keep_and_report(
    result: AuditResult,
    settings: Settings,
    outputs: RunOutputs,
    *,
    progress: ProgressScope,
    note: Callable[[str], None],
) -> Comparison | None:
    """After the audit: compare with the earlier stocktake (``compare_with``, else the latest
    earlier snapshot under ``snapshot``), keep this run as a snapshot, write the reports (with
    a Changes sheet/section when there was something to compare with). Returns the comparison."""
    changes = None
    if outputs.snapshot is not None or outputs.compare_with is not None:
        from custinv.changes import changes_for_run
        from custinv.render.book_views import changes_hint

        changes = changes_for_run(result, snapshot_root=outputs.snapshot, compare_with=outputs.compare_with)
        if changes is not None:
            note(changes_hint(changes, settings.lang))
    if outputs.snapshot is not None:
        from custinv.snapshots import write_snapshot

        folder = write_snapshot(outputs.snapshot, result.stocktake, result.customers)
        note(f"snapshot written to {folder}")
    if outputs.writes_reports:
        from custinv.render.reports import write_reports

        with progress() as shown:
            write_reports(result, excel=outputs.excel, html=outputs.html, report_dir=outputs.report_dir,
                          keep=outputs.keep, customers_out=outputs.customers_out, lang=settings.lang,
                          pii=settings.pii, comparison=changes, progress=shown)
    return changes
