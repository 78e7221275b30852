"""One error vocabulary: every failure a user can cause maps to a class with an exit code.

The CLI has a single funnel (:func:`custinv.cli.run_guarded`) that turns these into a short
message on stderr (or a JSON error object in json mode) and the exit code below. Anything
that is *not* a :class:`CustinvError` is a bug: exit 1, traceback only with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (BSD sysexits where one fits)."""

    OK = 0
    BUG = 1
    USAGE = 2
    ALERT = 3
    DATA = 65  # EX_DATAERR: nothing usable, unmapped field, several currencies, too many rejects
    NO_INPUT = 66  # EX_NOINPUT: input missing or unreadable (a database table or column too)
    UNAVAILABLE = 69  # EX_UNAVAILABLE: a database server cannot be reached
    CANT_CREATE = 73  # EX_CANTCREAT: output folder missing or not writable
    IO = 74  # EX_IOERR
    NO_PERM = 77  # EX_NOPERM: a database refused the login (wrong user or password)
    CONFIG = 78  # EX_CONFIG
    INTERRUPTED = 130


class CustinvError(Exception):
    """Base of all expected failures: a message for people, an optional hint, an exit code."""

    exit_code: ExitCode = ExitCode.BUG
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CustinvError):
    exit_code = ExitCode.USAGE
    code = "usage"


class DataError(CustinvError):
    exit_code = ExitCode.DATA
    code = "bad_data"


class InputError(CustinvError):
    exit_code = ExitCode.NO_INPUT
    code = "input_unreadable"


class OutputError(CustinvError):
    exit_code = ExitCode.CANT_CREATE
    code = "output_not_writable"


class IOFailure(CustinvError):
    exit_code = ExitCode.IO
    code = "io_error"


class ConfigError(CustinvError):
    exit_code = ExitCode.CONFIG
    code = "bad_config"


class SourceUnavailable(CustinvError):
    """A database server cannot be reached (down, wrong host or port, network)."""

    exit_code = ExitCode.UNAVAILABLE
    code = "source_unavailable"


class SourceAuthError(CustinvError):
    """A database refused the login: wrong user or password, or no password given."""

    exit_code = ExitCode.NO_PERM
    code = "not_permitted"
