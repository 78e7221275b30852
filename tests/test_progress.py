"""The terminal progress display: a reading bar with row counts, then stage names; nothing off a TTY."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import run_cli
from rich.console import Console

from custinv.render.progress import TerminalProgress


def test_terminal_progress_shows_rows_and_stages() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with TerminalProgress(console) as progress:
        progress("reading orders.csv")
        progress.rows(500_000, 2_000_000)
        console.print(progress._progress.get_renderable())
        progress("fitting the CLV model")
        console.print(progress._progress.get_renderable())
    text = out.getvalue()
    assert "500,000 of ~2,000,000 rows" in text and "25%" in text
    assert "fitting the CLV model" in text
    assert "0%" not in text.split("fitting the CLV model")[-1]  # a stage shows no made-up fraction


def test_rows_beyond_the_estimate_raise_the_total() -> None:
    out = io.StringIO()
    with TerminalProgress(Console(file=out, force_terminal=True, width=120)) as progress:
        progress.rows(1_200, 1_000)
        task = progress._progress.tasks[0]
        assert (task.completed, task.total) == (1_200, 1_200)


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,order_date,amount\n1,A,2024-01-02,10\n2,B,2024-01-03,20\n", encoding="utf-8")
    result = run_cli("audit", str(path), "--format", "json")
    # no progress; the only stderr lines are the CLV's warning (two customers support no model)
    assert result.returncode == 0 and [line.split(":")[0] for line in result.stderr.splitlines()] == ["clv warning"]
