"""Report files through the CLI and write_reports: dated names, --keep, --customers-out, exit 73,
atomic replacement, private modes, lazy imports."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from _report_data import hostile_result, write_hostile_book
from conftest import run_cli

from custinv.errors import OutputError
from custinv.outguard import record_written
from custinv.render import excel as excel_mod
from custinv.render.reports import prune, write_reports
from custinv.stocktake import AuditResult


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return hostile_result(tmp_path_factory.mktemp("book"))


def test_report_dir_dated_names_and_keep(result: AuditResult, tmp_path: Path) -> None:
    for day in ("2024-10-31", "2024-11-30", "2023-01-01"):
        for ext in ("xlsx", "html"):
            (tmp_path / f"stocktake-{day}.{ext}").write_text("old")
            record_written(tmp_path / f"stocktake-{day}.{ext}")  # as an earlier run would have
    (tmp_path / "stocktake-notes.html").write_text("mine")
    out = write_reports(result, report_dir=tmp_path, keep=2)
    as_of = result.stocktake.as_of
    assert str(as_of) == "2024-12-04"
    names = sorted(p.name for p in tmp_path.iterdir() if p.name != ".custinv-manifest.json")
    assert names == ["stocktake-2024-11-30.html", "stocktake-2024-11-30.xlsx", f"stocktake-{as_of}.html",
                     f"stocktake-{as_of}.xlsx", "stocktake-notes.html"]
    assert len(out.removed) == 4 and len(out.paths) == 2
    assert openpyxl.load_workbook(tmp_path / f"stocktake-{as_of}.xlsx").sheetnames[0] == "Summary"


def test_prune_keeps_newest_per_kind(tmp_path: Path) -> None:
    for day in ("2024-01-01", "2024-02-01", "2024-03-01"):
        (tmp_path / f"stocktake-{day}.html").write_text("x")
        record_written(tmp_path / f"stocktake-{day}.html")
    (tmp_path / "stocktake-2024-01-01.xlsx").write_text("x")
    record_written(tmp_path / "stocktake-2024-01-01.xlsx")
    removed = prune(tmp_path, 1)
    assert sorted(p.name for p in removed) == ["stocktake-2024-01-01.html", "stocktake-2024-02-01.html"]
    assert (tmp_path / "stocktake-2024-01-01.xlsx").exists()


def test_failed_write_leaves_previous_report_intact(result: AuditResult, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "stocktake.xlsx"
    target.write_bytes(b"previous report")
    record_written(target)

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(excel_mod, "_splice", boom)
    with pytest.raises(Exception, match="No space left"):
        write_reports(result, excel=target)
    assert target.read_bytes() == b"previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".custinv-manifest.json", "stocktake.xlsx"]  # no temp file


def test_cli_writes_every_report(tmp_path: Path) -> None:
    book = write_hostile_book(tmp_path / "orders.csv")
    proc = run_cli("audit", str(book), "-q", "--format", "json", "--excel", str(tmp_path / "s.xlsx"),
                   "--html", str(tmp_path / "s.html"), "--customers-out", str(tmp_path / "all.csv"), "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    assert '"customers": 8' in proc.stdout
    assert openpyxl.load_workbook(tmp_path / "s.xlsx").sheetnames[0] == "概览"
    assert "客户盘点报告" in (tmp_path / "s.html").read_text(encoding="utf-8")
    with (tmp_path / "all.csv").open(encoding="utf-8") as fh:
        ids = {row["customer_id"] for row in csv.DictReader(fh)}
    assert "jane.doe@example.com" in ids  # exports keep ids so they join back
    assert "'=HYPERLINK(\"http://evil.example/x\",\"click\")" in ids  # csv formula neutralised
    for name in ("s.xlsx", "all.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name


def test_cli_pii_from_environment(tmp_path: Path) -> None:
    book = write_hostile_book(tmp_path / "orders.csv")
    proc = run_cli("audit", str(book), "-q", "--html", str(tmp_path / "s.html"), env={"CUSTINV_PII": "show"})
    assert proc.returncode == 0, proc.stderr
    assert "jane.doe@example.com" in (tmp_path / "s.html").read_text(encoding="utf-8")


def test_cli_unwritable_target_is_exit_73_before_the_work(tmp_path: Path) -> None:
    book = write_hostile_book(tmp_path / "orders.csv")
    missing = tmp_path / "no-such-folder" / "s.xlsx"
    proc = run_cli("audit", str(book), "-q", "--excel", str(missing))
    assert proc.returncode == 73
    assert str(missing) in proc.stderr
    proc = run_cli("audit", str(book), "-q", "--report-dir", str(tmp_path / "absent"))
    assert proc.returncode == 73 and "absent" in proc.stderr
    proc = run_cli("audit", str(book), "-q", "--customers-out", str(tmp_path / "c.xlsx"))
    assert proc.returncode == 2


def test_output_error_is_exit_73() -> None:
    assert int(OutputError("x").exit_code) == 73


def test_report_libraries_are_imported_lazily() -> None:
    code = ("import sys, custinv.cli, custinv.render.reports; "
            "print(sorted(m for m in ('openpyxl', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
