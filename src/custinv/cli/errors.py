"""The one error funnel: :func:`run_guarded` runs a command's work and maps every outcome to an
exit code and a message (text or JSON) on stderr; a bug gets a one-line report, not a traceback
(``--debug`` shows it); a closed pipe is quiet.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from custinv.errors import CustinvError, ExitCode
from custinv.interrupts import SIGINT_EXIT, SIGTERM_EXIT

INTERRUPT_CODES = (SIGINT_EXIT, SIGTERM_EXIT)


def _never_json(format: object) -> bool:
    return False


def guarded(json_when: Callable[[object], bool] = _never_json) -> Callable[[Callable[..., int]], Callable[..., None]]:
    """Run the decorated command through :func:`run_guarded`: errors go out as JSON when
    ``json_when(format)`` holds for the command's ``format`` argument, and ``--debug`` (in the
    ``opts`` of :func:`custinv.cli.options.with_options`) shows tracebacks. The command returns its
    exit code; the decorator keeps its signature for Typer."""

    def decorate(fn: Callable[..., int]) -> Callable[..., None]:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            opts = kwargs.get("opts") or {}
            run_guarded(lambda: fn(*args, **kwargs), json_mode=json_when(kwargs.get("format")),
                        debug=bool(opts.get("debug")))

        return command

    return decorate


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
