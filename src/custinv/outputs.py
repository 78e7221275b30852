"""Writing output files safely: atomically (temp file in the target folder, fsync, rename),
never half-written, private (0600) when they hold personal data, and with spreadsheet
formula injection neutralised in text cells."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import polars as pl

from custinv import outguard
from custinv.errors import IOFailure, OutputError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def check_writable(path: Path) -> None:
    """Fail early (exit 73) when the target's folder is missing or not writable."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot create {path}: folder {folder} does not exist", hint="create the folder first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create {path}: folder {folder} is not writable")
    if path.is_dir():
        raise OutputError(f"cannot create {path}: it is a folder")


@contextlib.contextmanager
def atomic_path(path: Path, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it into place."""
    path = Path(path)
    check_writable(path)
    outguard.check_target(path)
    outguard.clean_stale_parts(path)
    fd, tmp_name = tempfile.mkstemp(prefix=outguard.part_prefix(path), suffix=".part", dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if private:
            os.chmod(tmp, 0o600)
        else:
            os.chmod(tmp, 0o644 & ~_umask())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        outguard.record_written(path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent or ".", os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise IOFailure(f"cannot write {path}: {exc.strerror or exc}") from exc
    except pl.exceptions.PolarsError as exc:  # Polars reports a full disk as its own error, not OSError
        raise IOFailure(f"cannot write {path}: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, writer: Callable[[Path], None], *, private: bool = False) -> None:
    with atomic_path(path, private=private) as tmp:
        writer(tmp)


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a single quote."""
    starts = "^[" + "".join({"=": "=", "+": r"\+", "-": r"\-", "@": "@", "\t": r"\t", "\r": r"\r"}.values()) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String
    )


def write_frame(frame: pl.DataFrame, path: Path, fmt: str, *, private: bool = True) -> None:
    """Write a frame as csv / ndjson / parquet / json, atomically."""
    write_atomic(path, lambda tmp: serialise_frame(frame, tmp, fmt), private=private)


def serialise_frame(frame: pl.DataFrame, target: Path | BinaryIO, fmt: str) -> None:
    """The one place that turns rows into a file format (csv text cells neutralised)."""
    if fmt == "csv":
        neutralise_formulas(frame).write_csv(target)
    elif fmt == "ndjson":
        frame.write_ndjson(target)
    elif fmt == "parquet":
        frame.write_parquet(target)
    elif fmt == "json":  # polars writes JSON to a path or an io.IOBase; a binary stream gets the text
        if isinstance(target, Path):
            frame.write_json(target)
        else:
            target.write(frame.write_json().encode("utf-8"))
    else:  # pragma: no cover - guarded by the CLI's choices
        raise ValueError(f"unknown row format {fmt!r}")


def write_text(path: Path, text: str, *, private: bool = False) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_atomic(path, write, private=private)
