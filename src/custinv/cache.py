"""The parsed-ledger cache (`--cache DIR`, `[cache] dir` in custinv.toml).

Reading and parsing is most of an audit's time on a big export, and a nightly cron audits
the same unchanged file with different report options. So the *parsed* ledger — the order
frame, the accounting, rejects and statuses — is stored as Parquet (plus one JSON file for
the accounting) under a key that changes whenever the result could change:

* per input: its resolved path, size, modification time (ns) and a SHA-256 of its first and
  last MiB (catches an in-place rewrite that kept size and mtime); for a database source the
  URI (no password), the exact SELECT sent and a freshness probe — its row count and latest
  order date (:func:`custinv.ingest.sources.database.fingerprint`);
* every option that decides the ledger: encoding, delimiter, sheet, header row, date
  format, --map, --currency, the resolved --as-of date and --max-reject-rate;
* the custinv version and a cache format number (new parsing rules → new key).

A hit skips reading and parsing entirely. Entries are written to a temporary folder and
renamed into place, so a crash never leaves half an entry that a later run would trust.
A cached ledger carries no raw tables or column mappings (those feed `custinv inspect`,
which always reads the file).

A cache is an optimisation, so it can never fail a run: an entry that is damaged in any way
(unreadable JSON, missing or ill-typed keys, a Parquet file holding another table — checked
against the schemas stored beside it) is a miss and is rebuilt; a cache that cannot be
written (full disk, read-only folder) is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from custinv import __version__
from custinv.config import Settings
from custinv.ingest.ledger import Ledger, build_ledger
from custinv.ingest.sources import Source
from custinv.ingest.sources.database import fingerprint as database_fingerprint
from custinv.models import SourceReport
from custinv.outguard import process_alive

CACHE_FORMAT = 2  # 2: entries carry their frames' schemas
_MIB = 1 << 20
_FRAMES = ("orders", "rejects", "statuses", "samples")


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Size, mtime and a hash of the first and last MiB of one input."""
    st = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        digest.update(f.read(_MIB))
        if st.st_size > _MIB:
            f.seek(max(_MIB, st.st_size - _MIB))
            digest.update(f.read(_MIB))
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "edges_sha256": digest.hexdigest()}


def parse_options(settings: Settings) -> dict[str, Any]:
    """The settings that decide the ledger (and nothing presentational)."""
    as_of = settings.as_of_date()
    return {
        "encoding": settings.encoding,
        "delimiter": settings.delimiter,
        "sheet": settings.sheet,
        "header_row": settings.header_row,
        "date_format": settings.date_format,
        "mapping": dict(sorted(settings.mapping.items())),
        "currency": settings.currency,
        "as_of": as_of.isoformat() if as_of else None,
        "max_reject_rate": settings.max_reject_rate,
        "credit_note_ids": settings.credit_note_ids,
        "query": settings.query,
        "where": settings.where,
        "since": settings.since,
    }


def cache_key(paths: Sequence[Source], settings: Settings) -> str:
    """Hex key of the inputs' fingerprints, the parse options and the custinv version."""
    payload = {
        "format": CACHE_FORMAT,
        "version": __version__,
        "files": [file_fingerprint(p) if isinstance(p, Path) else database_fingerprint(p, settings) for p in paths],
        "options": parse_options(settings),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def load_ledger(entry: Path) -> Ledger | None:
    """The ledger stored in a cache entry, or None when the entry is absent or unreadable."""
    meta_path = entry / "ledger.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frames = {name: pl.read_parquet(entry / f"{name}.parquet").rechunk() for name in _FRAMES}
        if meta["schemas"] != {name: _schema(frame) for name, frame in frames.items()}:
            return None  # another table under the expected name
        source = SourceReport.model_validate(meta["source"])
        as_of = dt.date.fromisoformat(meta["as_of"]) if meta["as_of"] is not None else None
        currency = meta["currency"]
        if currency is not None and not isinstance(currency, str):
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, pl.exceptions.PolarsError):
        return None  # a damaged entry is a miss, never an error
    return Ledger(orders=frames["orders"], as_of=as_of, currency=currency, source=source,
                  rejects=frames["rejects"], statuses=frames["statuses"], samples=frames["samples"])


def _schema(frame: pl.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.schema.items()}


def store_ledger(entry: Path, ledger: Ledger) -> None:
    """Write the entry atomically: a temporary sibling folder renamed into place."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_entries(entry.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.{os.getpid()}.", dir=entry.parent))
    try:
        samples = ledger.samples if ledger.samples is not None else pl.DataFrame()
        frames = dict(zip(_FRAMES, (ledger.orders, ledger.rejects, ledger.statuses, samples), strict=True))
        for name, frame in frames.items():
            frame.write_parquet(tmp / f"{name}.parquet", compression="lz4", statistics=False)
        meta = {"as_of": ledger.as_of.isoformat() if ledger.as_of else None, "currency": ledger.currency,
                "source": ledger.source.model_dump(mode="json"),
                "schemas": {name: _schema(frame) for name, frame in frames.items()}}
        (tmp / "ledger.json").write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, entry)
    except (OSError, pl.exceptions.PolarsError):  # Polars reports a full disk as its own error
        shutil.rmtree(tmp, ignore_errors=True)
        if not (entry / "ledger.json").is_file():
            raise


_TEMP_ENTRY = re.compile(r"^\.[0-9a-f]+\.(?P<pid>\d+)\.[^.]+$")


def remove_stale_entries(folder: Path) -> None:
    """Remove half-written entries (``.<key>.<pid>.<random>``) whose process is gone: a run
    killed with ``kill -9`` mid-store left parsed customer data there for good."""
    try:
        children = list(folder.iterdir())
    except OSError:
        return
    for child in children:
        m = _TEMP_ENTRY.match(child.name)
        if m and child.is_dir() and not process_alive(int(m.group("pid"))):
            shutil.rmtree(child, ignore_errors=True)


def cached_build_ledger(
    paths: Sequence[Source],
    settings: Settings,
    *,
    on_file: Callable[[Source], None] | None = None,
    on_rows: Callable[[int, int], None] | None = None,
    build: Callable[..., Ledger] | None = None,
) -> Ledger:
    """build_ledger, through the cache when settings.cache_dir is set.

    Only ledgers that passed build_ledger's checks (usable rows, reject rate) are stored,
    and the reject-rate limit is part of the key, so a hit needs no re-check.
    """
    build = build or build_ledger
    if not settings.cache_dir:
        return build(paths, settings, on_file=on_file, on_rows=on_rows)
    entry = Path(settings.cache_dir).expanduser() / cache_key(paths, settings)
    ledger = load_ledger(entry)
    if ledger is not None:
        return ledger
    if entry.exists():  # damaged or foreign: replace it
        shutil.rmtree(entry, ignore_errors=True)
    ledger = build(paths, settings, on_file=on_file, on_rows=on_rows)
    try:
        store_ledger(entry, ledger)
    except (OSError, pl.exceptions.PolarsError):
        pass  # an unwritable or full cache slows the next run; it must not fail this one
    return ledger

