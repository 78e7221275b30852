"""Snapshots: a stocktake kept on disk so the next one can say what changed.

``custinv audit FILE --snapshot DIR`` writes ``DIR/<as-of YYYY-MM-DD>/`` holding
``customers.parquet`` (the per-customer classification) and ``stocktake.json`` (the contract
object). Both are written atomically and privately (0600: they name customers); a second
run with the same as-of replaces that snapshot. ``custinv compare`` reads them back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from custinv.errors import DataError, InputError, OutputError
from custinv.models import Stocktake
from custinv.outputs import write_frame, write_text

CUSTOMERS_FILE = "customers.parquet"
STOCKTAKE_FILE = "stocktake.json"


@dataclass
class Snapshot:
    path: Path
    as_of: dt.date | None
    stocktake: dict[str, Any]
    customers: pl.DataFrame


def snapshot_folder(root: Path, as_of: dt.date) -> Path:
    return Path(root) / as_of.isoformat()


def check_snapshot_root(root: Path) -> None:
    """Fail early (exit 73) when the snapshot folder cannot exist: a file, or no parent folder."""
    root = Path(root)
    if root.is_dir():
        return
    if root.exists():
        raise OutputError(f"cannot create snapshot folder {root}: it is a file")
    if not root.parent.is_dir():
        raise OutputError(f"cannot create snapshot folder {root}: folder {root.parent} does not exist",
                          hint="create the folder first")


def write_snapshot(root: Path, stocktake: Stocktake, customers: pl.DataFrame) -> Path:
    """Store one run under ``root/<as-of>/``; ``root`` is created when its parent exists."""
    root = Path(root)
    if stocktake.as_of is None:
        raise DataError("cannot snapshot a stocktake without an as-of date")
    check_snapshot_root(root)
    if not root.is_dir():
        try:
            root.mkdir(mode=0o700)
        except OSError as exc:
            raise OutputError(f"cannot create snapshot folder {root}: {exc.strerror or exc}") from exc
    folder = snapshot_folder(root, stocktake.as_of)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputError(f"cannot write snapshot {folder}: it is a link or a file, not a folder custinv made",
                          hint="remove it, or pick another --snapshot folder")
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create snapshot folder {folder}: {exc.strerror or exc}") from exc
    write_frame(customers, folder / CUSTOMERS_FILE, "parquet", private=True)
    text = json.dumps(stocktake.to_json_dict(), ensure_ascii=False, indent=2) + "\n"
    write_text(folder / STOCKTAKE_FILE, text, private=True)
    return folder


def read_snapshot(path: Path) -> Snapshot:
    """Read a snapshot folder; a missing folder or file is an input error (exit 66)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such snapshot folder",
                         hint="snapshots are written by custinv audit FILE --snapshot DIR")
    for name in (STOCKTAKE_FILE, CUSTOMERS_FILE):
        if not (path / name).is_file():
            raise InputError(f"{path}: not a snapshot (no {name})")
    try:
        stocktake = json.loads((path / STOCKTAKE_FILE).read_text(encoding="utf-8"))
        customers = pl.read_parquet(path / CUSTOMERS_FILE)
    except (json.JSONDecodeError, UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path}: the snapshot cannot be read ({exc})") from exc
    except RecursionError as exc:  # JSON nested thousands deep
        raise DataError(f"{path / STOCKTAKE_FILE}: nested too deeply to be a snapshot") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    _validate(path, stocktake, customers)
    as_of = stocktake.get("as_of")
    return Snapshot(path=path, as_of=dt.date.fromisoformat(as_of) if as_of else None,
                    stocktake=stocktake, customers=customers)


def _validate(path: Path, stocktake: object, customers: pl.DataFrame) -> None:
    """A snapshot is trusted only when ``stocktake.json`` is a valid :class:`Stocktake` with
    an as-of date (``{}`` is not), and ``customers.parquet`` has the columns compare
    reads, with usable types. Anything else is bad data (exit 65) naming the file."""
    json_path = path / STOCKTAKE_FILE
    try:
        model = Stocktake.model_validate(stocktake)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top level"
        raise DataError(f"{json_path}: not a valid custinv stocktake ({where}: {first['msg']}; "
                        f"{exc.error_count()} problem(s))", hint="re-run custinv audit --snapshot to rewrite it") from exc
    if model.as_of is None:
        raise DataError(f"{json_path}: not a custinv snapshot (no as_of date)",
                        hint="re-run custinv audit --snapshot to rewrite it")
    parquet_path = path / CUSTOMERS_FILE
    schema = customers.schema
    checks: dict[str, Callable[[pl.DataType], bool]] = {
        "customer_id": lambda d: d == pl.String, "orders": lambda d: d.is_integer(), "revenue": lambda d: d.is_numeric(),
    }
    for name, ok in checks.items():
        if name not in schema or not ok(schema[name]):
            raise DataError(f"{parquet_path}: not a custinv customer list (column {name!r} missing or of type "
                            f"{schema.get(name)})", hint="re-run custinv audit --snapshot to rewrite it")


def list_snapshots(root: Path) -> list[tuple[dt.date, Path]]:
    """Snapshot folders under ``root`` (named YYYY-MM-DD, holding a stocktake.json), oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such snapshot folder")
    found: list[tuple[dt.date, Path]] = []
    for child in root.iterdir():
        try:
            day = dt.date.fromisoformat(child.name)
        except ValueError:
            continue
        if (child / STOCKTAKE_FILE).is_file():
            found.append((day, child))
    return sorted(found)


def since_pair(root: Path, since: dt.date) -> tuple[Path, Path]:
    """(the latest snapshot on or before ``since``, the newest snapshot) under ``root``."""
    snapshots = list_snapshots(root)
    if not snapshots:
        raise InputError(f"{root}: holds no snapshots", hint="write one with custinv audit FILE --snapshot DIR")
    before = [p for day, p in snapshots if day <= since]
    if not before:
        raise InputError(f"{root}: no snapshot on or before {since}",
                         hint=f"the oldest is {snapshots[0][0]}")
    old, new = before[-1], snapshots[-1][1]
    if old == new:
        raise InputError(f"{root}: no snapshot after {old.name} to compare with",
                         hint="take a new stocktake with --snapshot first, or pick an earlier --since")
    return old, new
