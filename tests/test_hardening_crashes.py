"""Issue 15, crashes: inputs and flags people give end in a clear message and the right exit
code, never "internal error" (exit 1) — full disks, interrupts, damaged caches and snapshots,
bad flags and config, pipes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import polars as pl
import pytest
import typer
from _report_data import hostile_result, write_hostile_book
from conftest import EXAMPLES, run_cli

from custinv import cache
from custinv.cli import run_guarded
from custinv.config import Settings
from custinv.errors import InputError, IOFailure
from custinv.outputs import write_frame
from custinv.stdin_inputs import remove_spooled, spool_special
from custinv.stocktake import audit

SHOPIFY = EXAMPLES / "shopify_orders.csv"


def _exit_code(work) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(typer.Exit) as info:
        run_guarded(work, json_mode=True)
    return int(info.value.exit_code)


# ----------------------------------------------------------------------------- full disks


def _disk_full(*_args: object, **_kwargs: object) -> None:
    # what Polars raises for ENOSPC inside write_parquet: its own error, not an OSError
    raise pl.exceptions.ComputeError("No space left on device (os error 28)")


def test_full_disk_during_a_parquet_write_is_an_io_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _disk_full)
    with pytest.raises(IOFailure, match="No space left"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "c.parquet", "parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .part left


def test_full_disk_on_a_real_tmpfs(tmp_path: Path) -> None:
    """The real thing where the machine allows it (root, tmpfs): 64 KiB fill up at once."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        book = write_hostile_book(tmp_path / "orders.csv")
        big = tmp_path / "big.csv"  # enough customers for a parquet larger than 64 KiB
        lines = ["Order ID,Customer ID,Order Date,Amount"]
        lines += [f"{i},{os.urandom(16).hex()},2024-01-{i % 28 + 1:02d},{i % 97 + 1}.25" for i in range(20000)]
        big.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for args in (["--customers-out", str(mount / "c.parquet")], ["--snapshot", str(mount / "snaps")]):
            proc = run_cli("audit", str(big), "-q", "--no-clv", *args)
            assert proc.returncode == 74, (args, proc.stderr)
            assert "internal error" not in proc.stderr
        proc = run_cli("audit", str(big), "-q", "--no-clv", "--cache", str(mount / "cache"), "-f", "json")
        assert proc.returncode == 0, proc.stderr  # a full cache never fails the run
        assert run_cli("audit", str(book), "-q").returncode == 0
        assert not [p for p in mount.rglob("*.part")]
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)


def test_a_cache_that_cannot_be_written_never_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _disk_full)
    settings = Settings(clv=False, cache_dir=str(tmp_path / "cache"))
    result = audit([SHOPIFY], settings)
    assert result.stocktake.kpis is not None and result.stocktake.kpis.customers == 16


# ----------------------------------------------------------------------------- interrupts


def test_an_error_raised_while_an_interrupt_unwinds_is_exit_130() -> None:
    """Ctrl-C inside zipfile (the xlsx write) surfaces as zipfile's ValueError: still 130."""
    def work() -> int:
        buffer = __import__("io").BytesIO()
        archive = zipfile.ZipFile(buffer, "w")
        handle = archive.open("sheet.xml", "w")
        handle.write(b"<x/>")
        try:
            raise KeyboardInterrupt
        finally:
            archive.close()  # ValueError: an open writing handle

    assert _exit_code(work) == 130


def test_sigterm_during_work_is_143() -> None:
    from custinv.interrupts import Terminated

    def work() -> int:
        raise Terminated()

    assert _exit_code(work) == 143


# ----------------------------------------------------------------------------- damaged caches


def _one_entry(tmp_path: Path) -> tuple[Settings, Path]:
    settings = Settings(clv=False, cache_dir=str(tmp_path / "cache"))
    audit([SHOPIFY], settings)
    (entry,) = (tmp_path / "cache").iterdir()
    return settings, entry


@pytest.mark.parametrize("damage", ["bad_keys", "missing_keys", "not_json", "other_table", "list"])
def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path, damage: str) -> None:
    settings, entry = _one_entry(tmp_path)
    meta = entry / "ledger.json"
    if damage == "bad_keys":
        data = json.loads(meta.read_text(encoding="utf-8"))
        data["as_of"], data["currency"] = 5, {"x": 1}
        meta.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "missing_keys":
        meta.write_text('{"source": {}}', encoding="utf-8")
    elif damage == "not_json":
        meta.write_bytes(b"\xff\xfe garbage")
    elif damage == "list":
        meta.write_text("[1, 2]", encoding="utf-8")
    else:
        pl.DataFrame({"a": [1, 2]}).write_parquet(entry / "orders.parquet")
    assert cache.load_ledger(entry) is None
    result = audit([SHOPIFY], settings)  # rebuilt, not crashed
    assert result.stocktake.kpis is not None and result.stocktake.kpis.customers == 16
    assert cache.load_ledger(entry) is not None  # and stored again


# ----------------------------------------------------------------------------- damaged snapshots


def test_damaged_snapshots_are_exit_65_naming_the_file(tmp_path: Path) -> None:
    snaps = tmp_path / "snaps"
    assert run_cli("audit", str(SHOPIFY), "-q", "--snapshot", str(snaps)).returncode == 0
    (good,) = snaps.iterdir()
    bad = snaps / "2024-01-01"
    shutil.copytree(good, bad)
    cases = {
        "{}": lambda: (bad / "stocktake.json").write_text("{}", encoding="utf-8"),
        "kpis": lambda: (bad / "stocktake.json").write_text(
            json.dumps({**json.loads((good / "stocktake.json").read_text(encoding="utf-8")), "kpis": "x"}),
            encoding="utf-8"),
        "parquet": lambda: pl.DataFrame({"customer_id": [1]}).write_parquet(bad / "customers.parquet"),
    }
    for name, damage in cases.items():
        shutil.rmtree(bad)
        shutil.copytree(good, bad)
        damage()
        proc = run_cli("compare", str(bad), str(good))
        assert proc.returncode == 65, (name, proc.stderr)
        assert str(bad) in proc.stderr and "internal error" not in proc.stderr, name
        proc = run_cli("audit", str(SHOPIFY), "-q", "--snapshot", str(snaps))  # compares with the damaged one
        assert proc.returncode == 65 and str(bad) in proc.stderr, name


# ----------------------------------------------------------------------------- flags and config


@pytest.mark.parametrize("args", [
    ["--as-of", "9999-12-31"], ["--as-of", "2024-02-30"], ["--churn-days", "999999999"],
    ["--horizon", "100000000"], ["--by", "unknown"], ["--value-method", "margin"],
    ["--rfm-frequency", "5,3,1"], ["--encoding", "rot13"], ["--delimiter", "ab"],
    ["--holdout", "2024-13-01"], ["--credit-note-ids", "("], ["--date-format", "abc"], ["--date-format", "%Q"],
    ["--date-format", "%d/%m"],
])
def test_bad_flags_are_usage_errors(args: list[str]) -> None:
    proc = run_cli("audit", str(SHOPIFY), "-q", "--format", "json", *args)
    assert proc.returncode == 2, (args, proc.stderr)
    error = json.loads(proc.stderr)["error"]
    assert error["code"] == "usage" and error["message"]


@pytest.mark.parametrize("content", [
    b'churn_days = "soon"\n', b"lang = \"\xff\xfe\"\n", b"map = 5\n", b"[map]\ncustomer_id = 7\n",
    b'as_of = "2024-02-30"\n', b"[cache]\ndir = 3\n", b'encoding = "rot13"\n',
])
def test_bad_config_is_exit_78_before_any_work(tmp_path: Path, content: bytes) -> None:
    config = tmp_path / "custinv.toml"
    config.write_bytes(content)
    proc = run_cli("audit", str(SHOPIFY), "-q", "--config", str(config))
    assert proc.returncode == 78, (content, proc.stderr)
    assert "internal error" not in proc.stderr


def _book(tmp_path: Path, text: str) -> Path:
    book = tmp_path / "o.csv"
    book.write_text(text, encoding="utf-8")
    return book


def test_margin_tiers_work_with_a_cost_column(tmp_path: Path) -> None:
    book = _book(tmp_path, "Order ID,Customer ID,Order Date,Amount,Cost\n1,a,2024-01-01,100,90\n"
                           "2,b,2024-01-02,50,10\n3,c,2024-01-03,80,79\n")
    proc = run_cli("customers", str(book), "--value-method", "margin", "--no-clv", "-f", "csv")
    assert proc.returncode == 0, proc.stderr
    tiers = {r["customer_id"]: r["value_tier"] for r in pl.read_csv(proc.stdout.encode()).to_dicts()}
    assert tiers["b"] == "high"  # 40 profit of 51 total: b alone holds the top 80%


def test_absurd_amounts_are_rejected_not_inf(tmp_path: Path) -> None:
    book = _book(tmp_path, "Order ID,Customer ID,Order Date,Amount\n1,a,2024-01-01,1e308\n2,a,2024-01-02,1e308\n"
                           "3,b,2024-01-03,5\n4,b,2024-01-04,7\n")
    proc = run_cli("audit", str(book), "-q", "--format", "json", "--max-reject-rate", "1")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["source"]["reject_reasons"] == {"bad_amount": 2} and out["kpis"]["revenue"] == 12


def test_a_file_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/caf\xe9-orders.csv"
    shutil.copyfile(SHOPIFY, name)
    proc = subprocess.run([sys.executable, b"-m", b"custinv", b"audit", name, b"-q", b"-f", b"json"],
                          capture_output=True, env={**os.environ, "NO_COLOR": "1"}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kpis"]["customers"] == 16


# ----------------------------------------------------------------------------- pipes


def test_stdin_dash_and_dev_stdin_are_read() -> None:
    data = SHOPIFY.read_bytes()
    for name in ("-", "/dev/stdin"):
        proc = run_cli("audit", name, "-q", "--format", "json", input=data)
        assert proc.returncode == 0, (name, proc.stderr)
        assert json.loads(proc.stdout)["kpis"]["customers"] == 16


def test_process_substitution_is_read() -> None:
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -m custinv audit <(cat "{SHOPIFY}") -q -f json'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kpis"]["customers"] == 16


def test_a_fifo_is_read_and_one_without_a_writer_is_refused_in_time(tmp_path: Path) -> None:
    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="no writer"):
        spool_special([str(fifo)], timeout=0.2)

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write(SHOPIFY.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        (copy,) = spool_special([str(fifo)], timeout=10)
        assert Path(copy).read_bytes() == SHOPIFY.read_bytes() and Path(copy).suffix == ".csv"
        assert Path(copy).stat().st_mode & 0o777 == 0o600
    finally:
        writer.join()
        remove_spooled()
    assert not Path(copy).exists()


def test_devices_are_refused() -> None:
    proc = run_cli("audit", "/dev/zero", "-q")
    assert proc.returncode == 66 and "not a file" in proc.stderr


def test_hostile_report_inputs_still_write(tmp_path: Path) -> None:
    result = hostile_result(tmp_path)
    assert result.stocktake.kpis is not None
