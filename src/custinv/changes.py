"""What changed since the last stocktake, for ``audit --snapshot DIR`` and ``--compare-with``.

The newer side is this run, taken exactly as :func:`custinv.snapshots.write_snapshot` stores
it (the contract object and the per-customer frame), so a comparison made here equals
``custinv compare`` on the two snapshot folders.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from custinv.errors import InputError
from custinv.snapshots import CUSTOMERS_FILE, STOCKTAKE_FILE, Snapshot, list_snapshots, read_snapshot, snapshot_folder

if TYPE_CHECKING:
    from custinv.models import Comparison
    from custinv.stocktake import AuditResult


def previous_snapshot(root: Path, as_of: dt.date | None) -> Path | None:
    """The latest snapshot under ``root`` dated strictly before ``as_of`` (None: no folder, none earlier)."""
    root = Path(root)
    if as_of is None or not root.is_dir():
        return None
    earlier = [path for day, path in list_snapshots(root) if day < as_of]
    return earlier[-1] if earlier else None


def check_snapshot_folder(path: Path) -> None:
    """Fail before the work (exit 66) when ``--compare-with`` does not name a snapshot folder."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"--compare-with {path}: no such snapshot folder",
                         hint="snapshots are written by custinv audit FILE --snapshot DIR")
    for name in (STOCKTAKE_FILE, CUSTOMERS_FILE):
        if not (path / name).is_file():
            raise InputError(f"--compare-with {path}: not a snapshot (no {name})")


def run_snapshot(result: AuditResult, root: Path | None = None) -> Snapshot:
    """This run as the snapshot ``write_snapshot`` would store (JSON round-trip included)."""
    st = result.stocktake
    stocktake = json.loads(json.dumps(st.to_json_dict(), ensure_ascii=False))
    path = snapshot_folder(root, st.as_of) if root is not None and st.as_of is not None else Path("(this run)")
    buf = io.BytesIO()  # the parquet round trip gives the column types a read snapshot has
    result.customers.write_parquet(buf)
    buf.seek(0)
    return Snapshot(path=path, as_of=st.as_of, stocktake=stocktake, customers=pl.read_parquet(buf))


def changes_for_run(result: AuditResult, *, snapshot_root: Path | None = None, compare_with: Path | None = None,
                    top: int = 20) -> Comparison | None:
    """Compare this run with ``compare_with`` or else the latest earlier snapshot in ``snapshot_root``.

    Call it before this run's snapshot is written or after: only snapshots dated strictly before
    this run's as-of count. None when there is nothing earlier to compare with."""
    from custinv.analytics.compare import compare

    old_path = Path(compare_with) if compare_with is not None else (
        previous_snapshot(snapshot_root, result.stocktake.as_of) if snapshot_root is not None else None)
    if old_path is None:
        return None
    return compare(read_snapshot(old_path), run_snapshot(result, snapshot_root), top=top)
