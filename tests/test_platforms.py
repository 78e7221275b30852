"""Real platform exports, read without --map: exact customers, orders, revenue and returns.

Each folder of tests/fixtures/platforms/ holds one export laid out as the platform writes it
(README.md: the research and its sources), truth.json (the stocktake numbers computed by hand
with the standard library, truth.py) — and the CLI must reproduce them, naming the profile.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custinv.cli import app
from custinv.ingest import fields as F
from custinv.ingest import status
from custinv.ingest.profiles import all_profiles

PLATFORMS = Path(__file__).parent / "fixtures" / "platforms"
FOLDERS = sorted(p for p in PLATFORMS.iterdir() if (p / "truth.json").exists())
#: Files that are no platform's export (a hand-made sheet): the generic
#: synonym table reads them, no profile is expected.
GENERIC = {"cn_sales_sheet"}
#: Exports that write no currency anywhere (QuickBooks reports are in the home currency, unnamed).
NO_CURRENCY_WRITTEN = {"quickbooks", "magento", "hubspot", "salesforce"}


def _run(*args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, [*args, "--format", "json", "--no-clv"])
    try:
        payload = json.loads(result.stdout) if result.exit_code == 0 else {}
    except json.JSONDecodeError:
        payload = {}
    return result.exit_code, payload, result.stderr


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_platform_export_read_right_without_map(folder: Path) -> None:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    code, out, err = _run("audit", str(folder / truth["file"]))
    if truth["customers"] is None:  # the export holds no customer: refused loudly, never guessed
        assert code == 65, err
        assert "customer_id" in err
        return
    assert code == 0, err
    kpis = out["kpis"]
    assert kpis["customers"] == truth["customers"]
    assert kpis["orders"] == truth["orders"]
    assert Decimal(str(kpis["revenue"])).quantize(Decimal("0.01")) == Decimal(truth["revenue"])
    assert Decimal(str(kpis["returns"] or 0)).quantize(Decimal("0.01")) == Decimal(truth["returns"])
    if truth.get("currency") and folder.name not in NO_CURRENCY_WRITTEN:
        assert out["currency"] == truth["currency"]
    if folder.name in GENERIC:
        assert out["source"]["profile"] is None
    else:
        assert out["source"]["profile"] is not None, "the export was not recognised by a profile"


def test_every_platform_has_a_profile_that_recognises_it() -> None:
    named = {p.name for p in all_profiles()}
    for folder in FOLDERS:
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        result = CliRunner().invoke(app, ["inspect", str(folder / truth["file"]), "--format", "json"])
        payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1]) if result.stdout.strip() else {}
        if truth["customers"] is None:  # inspect still shows the partial mapping, then exit 65
            assert result.exit_code == 65
            assert payload["missing"][0]["field"] == "customer_id"
            continue
        assert result.exit_code == 0, result.stderr
        if folder.name not in GENERIC:
            assert payload["accounting"]["profile"] in named


@pytest.mark.parametrize("profile", all_profiles(), ids=lambda p: p.name)
def test_profile_columns_come_from_the_one_synonym_table(profile) -> None:  # type: ignore[no-untyped-def]
    for field, headers in profile.columns.items():
        assert field in F.ALL_FIELDS, f"{profile.name}: unknown field {field}"
        for header in headers:
            assert field in {f for f, _ in F.matches(header)}, (
                f"{profile.name}: {header!r} is not a synonym of {field} in ingest/fields.py SYNONYMS"
            )


@pytest.mark.parametrize("profile", all_profiles(), ids=lambda p: p.name)
def test_profile_vocabularies_come_from_the_one_status_table(profile) -> None:  # type: ignore[no-untyped-def]
    for value in profile.statuses:
        assert status.normalise_status(value) in status.STATUS_VOCABULARY, (
            f"{profile.name}: status {value!r} is not in ingest/status.py's vocabulary"
        )
    for value in profile.transactions:
        assert status.normalise_status(value) in status.TRANSACTION_TYPES, (
            f"{profile.name}: transaction type {value!r} is not in ingest/status.py's TRANSACTION_TYPES"
        )


def test_profiles_command_lists_every_profile() -> None:
    result = CliRunner().invoke(app, ["profiles", "--format", "json"])
    assert result.exit_code == 0
    listed = {row["name"] for row in json.loads(result.stdout)}
    assert listed == {p.name for p in all_profiles()}


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_without_its_profile_a_file_is_right_refused_or_warned(folder: Path) -> None:
    """The synonym table alone (a layout variant no signature matches): exact numbers, or exit 65,
    or a warning that names the doubtful decision — never exit 0 with wrong numbers in silence."""
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    code, out, _ = _run("audit", str(folder / truth["file"]), "--profile", "none")
    if code != 0:
        assert code == 65
        return
    kpis = out["kpis"]
    right = (
        truth["customers"] is not None
        and (kpis["customers"], kpis["orders"]) == (truth["customers"], truth["orders"])
        and Decimal(str(kpis["revenue"])).quantize(Decimal("0.01")) == Decimal(truth["revenue"])
        and Decimal(str(kpis["returns"] or 0)).quantize(Decimal("0.01")) == Decimal(truth["returns"])
    )
    assert right or out["source"]["warnings"], "exit 0, wrong numbers and no warning"
