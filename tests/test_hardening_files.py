"""Issue 15, loss of user files: no output may replace an input, a link, a device or a file
custinv did not write; --keep prunes only custinv's reports; interrupted runs leave no
customer data behind; one foreign-encoded line never re-decodes a whole file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _report_data import write_hostile_book
from conftest import EXAMPLES, run_cli

from custinv.outguard import (
    MANIFEST_NAME,
    clean_stale_parts,
    record_written,
    written_by_custinv,
)
from custinv.render.reports import prune


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_hostile_book(tmp_path / "orders.csv")


def _same_file_spellings(book: Path) -> dict[str, Path]:
    """Ways to name the input again: ./, a symlink, a hard link."""
    folder = book.parent
    link = folder / "link.csv"
    link.symlink_to(book.name)
    hard = folder / "hard.csv"
    os.link(book, hard)
    return {"dot": folder / "." / book.name, "symlink": link, "hardlink": hard}


@pytest.mark.parametrize("flag", ["--excel", "--html", "--rejects", "--customers-out"])
def test_an_output_that_is_the_input_is_refused_before_any_work(book: Path, flag: str) -> None:
    before = book.read_bytes()
    for how, target in _same_file_spellings(book).items():
        proc = run_cli("audit", str(book), "-q", flag, str(target), "--force", cwd=book.parent)
        assert proc.returncode == 2, (how, proc.stderr)
        assert "is the input" in proc.stderr, how
        assert book.read_bytes() == before


def test_customers_output_and_customer_master_are_guarded(book: Path, tmp_path: Path) -> None:
    proc = run_cli("customers", str(book), "-f", "csv", "-o", str(tmp_path / "." / "orders.csv"))
    assert proc.returncode == 2 and "is the input" in proc.stderr
    crm = tmp_path / "crm.csv"
    crm.write_text("Account ID,Name\nA1,Acme\n", encoding="utf-8")
    proc = run_cli("audit", str(book), "-q", "--customers-file", str(crm), "--customers-out", str(crm), "--force")
    assert proc.returncode == 2 and "is the input" in proc.stderr
    assert crm.read_text(encoding="utf-8").startswith("Account ID")


def test_report_dir_holding_a_dated_input_is_refused(tmp_path: Path) -> None:
    dated = tmp_path / "stocktake-2024-03-31.xlsx"  # an export that happens to carry a report's name
    shutil.copy(EXAMPLES / "sales_ledger.xlsx", dated)
    before = dated.read_bytes()
    proc = run_cli("audit", str(dated), "-q", "--report-dir", str(tmp_path), "--force")
    assert proc.returncode == 2 and "holds the input" in proc.stderr
    assert dated.read_bytes() == before


def test_customers_flag_renamed_and_foreign_files_need_force(book: Path, tmp_path: Path) -> None:
    crm = tmp_path / "accounts.csv"
    crm.write_text("my CRM list\n", encoding="utf-8")
    proc = run_cli("audit", str(book), "-q", "--customers", str(crm))
    message = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "--customers-out" in message and "--customers-file" in message
    proc = run_cli("audit", str(book), "-q", "--customers-out", str(crm))
    assert proc.returncode == 2 and "not written by custinv" in " ".join(proc.stderr.split())
    assert "--force" in proc.stderr
    assert crm.read_text(encoding="utf-8") == "my CRM list\n"
    assert run_cli("audit", str(book), "-q", "--customers-out", str(crm), "--force").returncode == 0
    assert written_by_custinv(crm)
    # custinv's own file is replaced without --force; once edited by someone, it is foreign again
    assert run_cli("audit", str(book), "-q", "--customers-out", str(crm)).returncode == 0
    with crm.open("a", encoding="utf-8") as fh:
        fh.write("edited\n")
    assert run_cli("audit", str(book), "-q", "--customers-out", str(crm)).returncode == 2


def test_links_fifos_and_devices_at_output_paths_are_refused(book: Path, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("keep me", encoding="utf-8")
    planted = tmp_path / "s.html"
    planted.symlink_to(secret)
    proc = run_cli("audit", str(book), "-q", "--html", str(planted), "--force")
    assert proc.returncode == 73 and "symbolic link" in proc.stderr
    assert secret.read_text(encoding="utf-8") == "keep me" and planted.is_symlink()
    fifo = tmp_path / "s.xlsx"
    os.mkfifo(fifo)
    proc = run_cli("audit", str(book), "-q", "--excel", str(fifo), "--force")
    assert proc.returncode == 73 and "FIFO" in proc.stderr
    proc = run_cli("customers", str(book), "-o", "/dev/null", "--force")
    assert proc.returncode == 73


def test_keep_prunes_only_reports_custinv_wrote(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    book = write_hostile_book(reports / "stocktake-2019-01-31.csv")  # the input lives there
    foreign = reports / "stocktake-2019-01-31.xlsx"  # another tool's file with a dated name
    foreign.write_bytes(b"not ours")
    ours = []
    for day in ("2030-01-31", "2030-02-28", "2030-03-31"):
        p = reports / f"stocktake-{day}.html"
        p.write_text("old", encoding="utf-8")
        record_written(p)
        ours.append(p)
    # a backfill run (its as-of, 2024-12-04, older than every kept report) with --keep 1
    proc = run_cli("audit", str(book), "-q", "--report-dir", str(reports), "--keep", "1")
    assert proc.returncode == 0, proc.stderr
    assert foreign.read_bytes() == b"not ours" and book.exists()
    assert (reports / "stocktake-2024-12-04.html").exists()  # this run's report survives
    assert [p.exists() for p in ours] == [False, False, True]  # only ours, older first


def test_prune_never_removes_an_input_even_if_custinv_wrote_it(tmp_path: Path) -> None:
    from custinv.outguard import set_policy

    old = tmp_path / "stocktake-2020-01-31.html"
    new = tmp_path / "stocktake-2020-02-29.html"
    for p in (old, new):
        p.write_text("x", encoding="utf-8")
        record_written(p)
    set_policy([old])
    try:
        assert prune(tmp_path, 1) == []
    finally:
        set_policy([])
    assert old.exists()


def test_stale_part_files_of_dead_processes_are_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "s.xlsx"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = tmp_path / f".s.xlsx.{int(dead.stdout)}.abc123.part"
    live = tmp_path / f".s.xlsx.{os.getpid()}.def456.part"
    other = tmp_path / f".t.xlsx.{int(dead.stdout)}.abc123.part"
    for p in (stale, live, other):
        p.write_bytes(b"customer data")
    assert clean_stale_parts(target) == [stale]
    assert live.exists() and other.exists() and not stale.exists()


def test_sigterm_is_handled_like_sigint(tmp_path: Path) -> None:
    """cron/systemd send SIGTERM: the run ends through the funnel with 143, not killed raw."""
    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)  # nobody writes: custinv waits on it (bounded), and is stopped meanwhile
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "custinv", "audit", str(fifo), "-q"],
                            stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(3.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err


def test_one_gb18030_line_in_a_utf8_file_is_not_mojibake(tmp_path: Path) -> None:
    lines = ["客户编号,下单时间,实付金额,城市"]
    lines += [f"C{i % 40:03d},2024-01-{i % 28 + 1:02d},{100 + i % 50}.50,上海市" for i in range(400)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data += "C001,2024-02-01,88.00,北京市\n".encode("gb18030") + "C002,2024-02-02,77.00,广州市\n".encode()
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    proc = run_cli("audit", str(path), "-q", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    cities = {r["value"] for b in out["breakdowns"] for r in b["rows"] if b["dimension"] == "city"}
    assert cities == {"上海市", "北京市", "广州市"}
    notes = out["source"]["files"][0]["notes"]
    assert out["source"]["files"][0]["encoding"] == "utf-8"
    assert any("1 line(s) not UTF-8" in n and "402 (gb18030)" in n for n in notes), notes


def test_manifest_is_private_and_ignores_garbage(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("x", encoding="utf-8")
    (tmp_path / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    assert not written_by_custinv(p)
    record_written(p)
    assert written_by_custinv(p)


def test_reports_from_before_manifests_are_recognised_by_their_marker(book: Path, tmp_path: Path) -> None:
    """A nightly `--excel stocktake.xlsx` written by an older custinv (no manifest) keeps working."""
    xlsx, html = tmp_path / "s.xlsx", tmp_path / "s.html"
    assert run_cli("audit", str(book), "-q", "--excel", str(xlsx), "--html", str(html)).returncode == 0
    (tmp_path / MANIFEST_NAME).unlink()
    assert written_by_custinv(xlsx) and written_by_custinv(html)
    assert run_cli("audit", str(book), "-q", "--excel", str(xlsx), "--html", str(html)).returncode == 0
    impostor = tmp_path / "other.xlsx"
    shutil.copy(EXAMPLES / "sales_ledger.xlsx", impostor)  # someone else's workbook
    assert not written_by_custinv(impostor)


def test_half_written_cache_entries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    from custinv.cache import remove_stale_entries

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = tmp_path / f".{'ab' * 16}.{int(dead.stdout)}.x1y2z3"
    live = tmp_path / f".{'cd' * 16}.{os.getpid()}.q1w2e3"
    entry = tmp_path / ("ef" * 16)
    for folder in (stale, live, entry):
        folder.mkdir()
        (folder / "orders.parquet").write_bytes(b"customer data")
    remove_stale_entries(tmp_path)
    assert not stale.exists() and live.exists() and entry.exists()


def test_a_planted_link_in_the_snapshot_folder_is_refused(book: Path, tmp_path: Path) -> None:
    snaps, elsewhere = tmp_path / "snaps", tmp_path / "elsewhere"
    snaps.mkdir()
    elsewhere.mkdir()
    (snaps / "2024-12-04").symlink_to(elsewhere)
    proc = run_cli("audit", str(book), "-q", "--snapshot", str(snaps))
    assert proc.returncode == 73 and list(elsewhere.iterdir()) == []
