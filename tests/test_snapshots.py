"""Snapshots on disk: layout, privacy, round trip, finding the one before a date, errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLES, run_cli

from custinv.errors import DataError, InputError, OutputError
from custinv.models import SourceReport, Stocktake, Tool
from custinv.snapshots import (
    CUSTOMERS_FILE,
    STOCKTAKE_FILE,
    list_snapshots,
    read_snapshot,
    since_pair,
    write_snapshot,
)


def _stocktake(as_of: dt.date | None) -> Stocktake:
    source = SourceReport(files=[], mapping={}, rows_read=0, rows_used=0, rows_excluded={}, rows_rejected=0,
                          reject_reasons={})
    return Stocktake(tool=Tool(version="test"), as_of=as_of, currency="USD", source=source)


CUSTOMERS = pl.DataFrame({"customer_id": ["a", "b"], "orders": [1, 2], "revenue": [10.0, 20.5],
                          "first_order": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]})


def test_write_and_read_round_trip(tmp_path):
    folder = write_snapshot(tmp_path / "snaps", _stocktake(dt.date(2024, 3, 31)), CUSTOMERS)
    assert folder == tmp_path / "snaps" / "2024-03-31"
    for name in (CUSTOMERS_FILE, STOCKTAKE_FILE):
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    snap = read_snapshot(folder)
    assert snap.as_of == dt.date(2024, 3, 31)
    assert snap.customers.equals(CUSTOMERS)
    assert snap.stocktake["currency"] == "USD"


def test_same_as_of_replaces_the_snapshot(tmp_path):
    write_snapshot(tmp_path, _stocktake(dt.date(2024, 3, 31)), CUSTOMERS)
    write_snapshot(tmp_path, _stocktake(dt.date(2024, 3, 31)), CUSTOMERS.head(1))
    assert read_snapshot(tmp_path / "2024-03-31").customers.height == 1


def test_since_pair_picks_latest_on_or_before_and_the_newest(tmp_path):
    for day in ("2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"):
        write_snapshot(tmp_path, _stocktake(dt.date.fromisoformat(day)), CUSTOMERS)
    (tmp_path / "notes").mkdir()  # not a snapshot
    (tmp_path / "2025-01-31").mkdir()  # no stocktake.json: not a snapshot
    assert [d.isoformat() for d, _ in list_snapshots(tmp_path)] == ["2024-03-31", "2024-06-30", "2024-09-30",
                                                                     "2024-12-31"]
    old, new = since_pair(tmp_path, dt.date(2024, 9, 30))
    assert (old.name, new.name) == ("2024-09-30", "2024-12-31")
    old, _ = since_pair(tmp_path, dt.date(2024, 8, 1))
    assert old.name == "2024-06-30"
    with pytest.raises(InputError, match="no snapshot on or before"):
        since_pair(tmp_path, dt.date(2024, 1, 1))
    with pytest.raises(InputError, match="no snapshot after"):
        since_pair(tmp_path, dt.date(2025, 6, 1))


def test_errors(tmp_path):
    with pytest.raises(InputError):
        read_snapshot(tmp_path / "missing")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / STOCKTAKE_FILE).write_text("{}")
    with pytest.raises(InputError, match="customers.parquet"):
        read_snapshot(tmp_path / "half")
    (tmp_path / "half" / CUSTOMERS_FILE).write_bytes(b"not parquet")
    with pytest.raises(DataError):
        read_snapshot(tmp_path / "half")
    with pytest.raises(OutputError):
        write_snapshot(tmp_path / "no" / "such" / "dir", _stocktake(dt.date(2024, 1, 1)), CUSTOMERS)
    with pytest.raises(InputError):
        list_snapshots(tmp_path / "missing")


def test_audit_snapshot_from_the_cli(tmp_path):
    proc = run_cli("audit", str(EXAMPLES / "shopify_orders.csv"), "--snapshot", str(tmp_path / "snaps"),
                   "--no-clv", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    folder = tmp_path / "snaps" / data["as_of"]
    saved = json.loads((folder / STOCKTAKE_FILE).read_text(encoding="utf-8"))
    assert saved == data  # the snapshot holds the very contract object printed
    customers = pl.read_parquet(folder / CUSTOMERS_FILE)
    assert customers.height == data["kpis"]["customers"]
    assert {"customer_id", "revenue", "rfm_segment", "value_tier", "lifecycle_stage"} <= set(customers.columns)


def test_audit_snapshot_folder_that_cannot_exist_is_exit_73(tmp_path):
    proc = run_cli("audit", str(EXAMPLES / "shopify_orders.csv"), "--snapshot", str(tmp_path / "no" / "dir"),
                   "--no-clv", "--format", "json")
    assert proc.returncode == 73, proc.stderr
    assert not Path(tmp_path / "no").exists()
