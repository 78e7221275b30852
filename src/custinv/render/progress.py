"""Progress on a terminal: a bar while a big file is read, then the stage being worked on.

An audit of a 100-million-row export runs for minutes; a person at a terminal should see
that it moves and roughly how far it is. Cron and pipes must see nothing, so the caller
only builds this when stderr is a TTY (and not ``--quiet``); everything goes to stderr so
stdout stays clean for ``--format json | jq``.

The reading bar counts data rows against an estimate from the file's size (the exact count
is only known at the end); the stages after reading have no measurable fraction, so the
bar then shows the stage's name with a pulsing bar and the elapsed time.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self


class TerminalProgress:
    """Callable for stage messages (``progress("fitting the CLV model")``) and ``rows(done, total)``.

    Use as a context manager: the live display is removed when the audit ends (or fails), so
    the report or error that follows prints on a clean line.
    """

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[dim]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[percent]}"),  # blank while a stage has no measurable fraction
            TextColumn("[dim]{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("starting", total=None, detail="", percent="")

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def __call__(self, message: str) -> None:
        """A new stage: its name, and an indeterminate bar until rows are reported."""
        self._progress.update(self._task, description=message, total=None, completed=0, detail="", percent="")

    def rows(self, done: int, total: int) -> None:
        """Rows read so far of an estimated total."""
        whole = max(total, done)
        self._progress.update(self._task, total=whole, completed=done, percent=f"{done / whole:>4.0%}" if whole else "",
                              detail=f"{done:,} of ~{whole:,} rows")
