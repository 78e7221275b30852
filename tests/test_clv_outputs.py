"""Issue 17 end to end: the CLV model choice, intervals and diagnostics reach JSON, HTML, Excel,
the customers rows and stderr, from the command line, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import html5lib
import jsonschema
import pytest
from conftest import CDNOW, run_cli
from openpyxl import load_workbook

AS_OF = "1997-09-30"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path, str]:
    out = tmp_path_factory.mktemp("clv")
    html, xlsx = out / "r.html", out / "r.xlsx"
    proc = run_cli("audit", str(CDNOW), "--as-of", AS_OF, "--format", "json", "--html", str(html), "--excel", str(xlsx),
                   "--holdout", "1997-06-30")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), html, xlsx, proc.stderr


def test_json_carries_choice_intervals_diagnostics(outputs) -> None:
    data, _, _, stderr = outputs
    from custinv.render.tabular import json_schema

    jsonschema.validate(data, json_schema())
    clv = data["clv"]
    assert clv["model"] == "bgnbd" and clv["reason"].startswith("chosen by holdout")
    assert clv["selection"]["chosen"] == "bgnbd" and len(clv["selection"]["candidates"]) == 5
    assert set(clv["param_intervals"]) == {"r", "alpha", "a", "b", "spend.p", "spend.q", "spend.gamma"}
    t = clv["total_intervals"]["clv"]
    assert t["low_95"] < t["low_80"] < clv["total"] < t["high_80"] < t["high_95"]
    seg = next(s for s in clv["by_segment"] if s["axis"] == "value_tier")
    assert seg["clv_low_95"] < seg["clv"] < seg["clv_high_95"]
    assert 0 <= seg["mean_p_alive_low_80"] <= seg["mean_p_alive"] <= seg["mean_p_alive_high_80"] <= 1
    # segment sums of the intervals' centres are the segments' CLV; the total adds the segments
    tiers = [s for s in clv["by_segment"] if s["axis"] == "value_tier"]
    assert sum(s["clv"] for s in tiers) == pytest.approx(clv["total"], abs=0.01)  # the total is in cents
    assert {"by_frequency", "tracking", "p_alive_histogram"} <= set(clv["diagnostics"])
    v = clv["validation"]
    assert v["model"] == "bgnbd" and [r["frequency"] for r in v["by_frequency"]][-1] == "7+"
    assert isinstance(v["correlation"], float) and isinstance(v["predicted_purchases"], float)
    assert "Warning" not in stderr and ".py:" not in stderr  # no raw Python warning leaks


def test_html_has_the_choice_table_and_three_diagnostic_charts(outputs) -> None:
    _, html, _, _ = outputs
    text = html.read_text(encoding="utf-8")
    html5lib.parse(text)
    section = text[text.index('id="clv"'):]
    section = section[: section.index("</section>")]
    assert "Model choice (holdout)" in section and "bgnbd" in section
    assert section.count("<svg") >= 4  # CLV by segment + by frequency + P(alive) + tracking
    for title in ("Holdout purchases by calibration frequency", "P(alive) distribution",
                  "Cumulative repeat purchases: actual vs model"):
        assert f'aria-label="{title}"' in section


def test_excel_clv_sheet_has_the_evidence(outputs) -> None:
    _, _, xlsx, _ = outputs
    ws = load_workbook(xlsx, read_only=True)["CLV"]
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert any(isinstance(c, str) and c.startswith("Model choice (holdout)") for c in cells)
    assert "bgnbd ✓" in cells and "low_95" in cells and "period_end" in cells and "actual_mean" in cells


def test_customers_rows_have_the_predictions(tmp_path: Path) -> None:
    proc = run_cli("customers", str(CDNOW), "--as-of", AS_OF, "--format", "ndjson")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    row = next(r for r in rows if r["customer_id"] == "00004")
    for key in ("p_alive_low", "p_alive_high", "expected_purchases_low", "expected_purchases_high", "p_purchase",
                "next_purchase_from", "next_purchase_to", "spend_per_purchase", "expected_spend", "clv_low", "clv_high"):
        assert row[key] is not None, key
    assert row["clv_low"] <= row["clv"] <= row["clv_high"]
    assert 0 < row["p_purchase"] < 1 and row["next_purchase_from"] < row["next_purchase_to"]
    assert row["expected_spend"] == pytest.approx(row["expected_purchases"] * row["spend_per_purchase"], rel=1e-3)  # both in cents


def test_penalizer_flag_reaches_the_fit() -> None:
    plain = json.loads(run_cli("clv", str(CDNOW), "--as-of", AS_OF, "--model", "bgnbd", "--format", "json").stdout)
    shrunk = json.loads(run_cli("clv", str(CDNOW), "--as-of", AS_OF, "--model", "bgnbd", "--penalizer", "0.1",
                                "--format", "json").stdout)
    assert shrunk["clv"]["penalizer"] == 0.1 and plain["clv"]["penalizer"] == 0.0
    assert sum(shrunk["clv"]["params"].values()) < sum(plain["clv"]["params"].values())
    bad = run_cli("clv", str(CDNOW), "--penalizer", "-1")
    assert bad.returncode != 0
