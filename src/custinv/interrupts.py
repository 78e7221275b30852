"""Interruptions: Ctrl-C (SIGINT) and SIGTERM end a run the same clean way.

cron, systemd timeouts and ``timeout(1)`` stop a job with SIGTERM, whose default action kills
the process without unwinding: temporary ``.part`` files holding customer data stayed behind.
:func:`install` turns SIGTERM into :class:`Terminated`, a :class:`KeyboardInterrupt`, so the
same ``finally`` blocks run (atomic writes remove their temporary file) and the error funnel
exits with the shell's convention, 128 + the signal number: 130 for SIGINT, 143 for SIGTERM.

A library interrupted half-way sometimes raises its *own* error while unwinding (zipfile's
``ValueError`` when Ctrl-C lands inside an xlsx write); :func:`interrupt_code` looks through
the exception's chain so that is still an interruption, not a bug.
"""

from __future__ import annotations

import signal
from types import FrameType

SIGINT_EXIT = 128 + int(signal.SIGINT)  # 130
SIGTERM_EXIT = 128 + int(signal.SIGTERM)  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an exception so that cleanup code runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def install() -> None:
    """Handle SIGTERM like SIGINT (only from the main thread, where Python runs handlers)."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (an embedding application): leave its handlers alone
        pass


def interrupt_code(exc: BaseException) -> int | None:
    """130/143 when ``exc`` is, or was raised while handling, an interruption; else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, Terminated):
            return SIGTERM_EXIT
        if isinstance(current, KeyboardInterrupt):
            return SIGINT_EXIT
        current = current.__cause__ or current.__context__
    return None
