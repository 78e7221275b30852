"""Inputs that are not regular files — ``-`` (stdin), ``/dev/stdin``, ``<(…)``, named pipes —
and files whose name is not UTF-8.

The readers seek, read a file twice (sniffing, then parsing) and take its size, none of which
a pipe allows — so a pipe used to read as *empty*. Here each such input is copied once into
a private temporary file (mode 0600 in a 0700 folder, removed when the run ends) and the
readers see a regular file. The copy is named after the input's suffix, or — when it has
none (``-``, ``/dev/fd/63``) — after what its first bytes say (xlsx is a zip, Parquet starts
with ``PAR1``, JSON with ``[`` or ``{``), else ``.csv``.

A named pipe that nobody writes to would block ``open()`` forever: it is opened
non-blocking and waited on for at most :data:`FIFO_WAIT_SECONDS`. Character devices other
than a pipe on stdin (``/dev/zero``, a terminal) and sockets are refused (exit 66).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from custinv.errors import InputError

FIFO_WAIT_SECONDS = 30.0
_CHUNK = 1 << 20
_spooled: dict[str, Path] = {}
_folders: list[Path] = []


def _suffix(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower() if name != "-" else ""
    if suffix and suffix not in (".fifo", ".pipe"):
        return suffix
    if head.startswith(b"PK\x03\x04"):
        return ".xlsx"
    if head.startswith(b"PAR1"):
        return ".parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"[", b"{")):
        return ".json"
    return ".csv"


def _wait_readable(fd: int, name: str, timeout: float) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    if not poller.poll(int(timeout * 1000)):
        raise InputError(f"{name}: a named pipe with no writer (waited {timeout:g} s)",
                         hint="start the program that writes to it first, or pass a regular file")


def _copy(fd: int, name: str, timeout: float) -> Path:
    """Copy everything readable from ``fd`` into a private temporary file."""
    os.set_blocking(fd, False)
    _wait_readable(fd, name, timeout)
    os.set_blocking(fd, True)
    folder = Path(tempfile.mkdtemp(prefix="custinv-stdin-"))
    _folders.append(folder)
    data = os.read(fd, _CHUNK)
    target = folder / f"{'stdin' if name == '-' else Path(name).stem or 'pipe'}{_suffix(name, data[:4096])}"
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while data:
            os.write(out, data)
            data = os.read(fd, _CHUNK)
    finally:
        os.close(out)
    return target


def _spool_one(name: str, timeout: float) -> Path:
    if name == "-":
        fd = sys.stdin.fileno()
        if os.isatty(fd):
            raise InputError("- reads the export from stdin, but stdin is a terminal",
                             hint="pipe a file in: custinv audit - < orders.csv")
        return _copy(fd, name, timeout)
    mode = os.stat(name).st_mode
    if stat.S_ISFIFO(mode):
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
        try:
            return _copy(fd, name, timeout)
        finally:
            os.close(fd)
    kind = "a terminal or device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
    raise InputError(f"{name}: is {kind}, not a file custinv can read", hint="pass a regular file, or '-' for stdin")


def spool_special(names: list[str], *, timeout: float = FIFO_WAIT_SECONDS) -> list[str]:
    """``names`` with every stdin / pipe / FIFO input replaced by a temporary copy.

    Idempotent within a run (stdin can be read only once): a name spooled before maps to the
    same copy."""
    out: list[str] = []
    for name in names:
        if name in _spooled:
            out.append(str(_spooled[name]))
            continue
        try:
            special = name == "-" or (os.path.exists(name) and not stat.S_ISREG(os.stat(name).st_mode)
                                      and not os.path.isdir(name))
        except (OSError, ValueError):
            special = False
        if not special:
            out.append(name)
            continue
        try:
            copy = _spool_one(name, timeout)
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from exc
        _spooled[name] = copy
        out.append(str(copy))
    return out


def utf8_names(paths: list[Path]) -> list[Path]:
    """``paths`` with every file whose name is not valid UTF-8 (``b'caf\\xe9.csv'`` from an old
    Latin-1 system) replaced by a symbolic link with a readable name: Polars and the reports
    take text paths, and a surrogate-escaped one crashed them. The link costs nothing (no copy)
    and is removed with the run's other temporary files."""
    out: list[Path] = []
    for path in paths:
        try:
            str(path).encode("utf-8")
            out.append(path)
            continue
        except UnicodeEncodeError:
            pass
        folder = Path(tempfile.mkdtemp(prefix="custinv-name-"))
        _folders.append(folder)
        decoded = os.fsencode(path.name).decode("utf-8", errors="replace")
        readable = re.sub(r"[^\w.\-]", "_", decoded)  # no controls, no glob characters
        link = folder / readable
        os.symlink(os.fsencode(path.resolve()), os.fsencode(link))
        out.append(link)
    return out


def remove_spooled() -> None:
    """Delete this run's temporary copies (the CLI calls this however the run ends)."""
    for folder in _folders:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
    _folders.clear()
    _spooled.clear()
