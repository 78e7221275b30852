"""Shared test helpers: run the CLI in-process or as a real subprocess."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import settings as hypothesis_settings

# The gate must not be flaky: in CI, property tests replay the same examples every run
# (locally they keep exploring new ones).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

@pytest.fixture(autouse=True)
def _private_config_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--pii hash` without CUSTINV_PII_KEY creates a per-installation key under
    $XDG_CONFIG_HOME: tests (and the CLI processes they start) use a throwaway one."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "config-home"))


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"


CDNOW = DATA / "cdnow_sample.csv"
CDNOW_CALIBRATION_END = dt.date(1997, 9, 30)


def cdnow_ledger() -> pl.DataFrame:
    """The CDNOW sample as a ledger, one order per CSV row (read directly, not through custinv's ingest)."""
    raw = pl.read_csv(CDNOW, schema_overrides={"customer_id": pl.String, "amount": pl.Float64}, try_parse_dates=True)
    return raw.with_row_index("row").select(
        "customer_id",
        pl.col("row").cast(pl.String).alias("order_id"),
        pl.col("date").alias("order_date"),
        "amount",
    )


def ledger_of(orders: list[tuple[str, dt.date, float]]) -> pl.DataFrame:
    """A hand-made order ledger (customer, date, amount), one order id per row."""
    return pl.DataFrame(
        {
            "customer_id": [o[0] for o in orders],
            "order_id": [str(i) for i in range(len(orders))],
            "order_date": [o[1] for o in orders],
            "amount": [o[2] for o in orders],
        },
        schema={"customer_id": pl.String, "order_id": pl.String, "order_date": pl.Date, "amount": pl.Float64},
    )


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m custinv ARGS`` as a real process (exit codes, stdout/stderr as users see them)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **(env or {})}
    full_env.pop("CUSTINV_LANG", None)
    return subprocess.run(
        [sys.executable, "-m", "custinv", *args],
        capture_output=True, text=True, cwd=cwd, env=full_env, input=None if input is None else input.decode(),
        timeout=300,
    )


def audit_json(*args: str, cwd: Path | None = None) -> dict[str, Any]:
    proc = run_cli("audit", *args, "--format", "json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_accounting(source: dict[str, Any]) -> None:
    """rows_read == rows_used + sum(rows_excluded) + rows_rejected, overall and per file."""
    assert source["rows_read"] == source["rows_used"] + sum(source["rows_excluded"].values()) + source["rows_rejected"]
    assert source["rows_rejected"] == sum(source["reject_reasons"].values())
    for f in source["files"]:
        assert f["rows_read"] == f["rows_used"] + sum(f["rows_excluded"].values()) + f["rows_rejected"]


@pytest.fixture
def write(tmp_path: Path):
    """write("name.csv", text or bytes) -> path inside tmp_path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return _write


from _spark import spark  # noqa: E402,F401  (the session-scoped Spark fixture)
