"""Analytics end to end through the CLI: alerts and exit 3, CLV on CDNOW, cohorts CSV, and the
classification tables of every example summing to the customers and revenue."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import DATA, EXAMPLES, run_cli

CDNOW = str(DATA / "cdnow_sample.csv")
EXAMPLE_FILES = ["shopify_orders.csv", "crm_orders_zh.csv", "salesforce_opportunities.csv", "sales_ledger.xlsx"]


@pytest.fixture(scope="module")
def example_outputs() -> dict[str, dict]:
    out = {}
    for name in EXAMPLE_FILES:
        proc = run_cli("audit", str(EXAMPLES / name), "--format", "json")
        assert proc.returncode == 0, proc.stderr
        out[name] = json.loads(proc.stdout)
    return out


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_every_classification_partitions_the_customers(example_outputs, name):
    data = example_outputs[name]
    customers, revenue = data["kpis"]["customers"], data["kpis"]["revenue"]
    for section in ("frequency_classes", "value_tiers", "lifecycle"):
        rows = data[section]
        assert sum(r["customers"] for r in rows) == customers, section
        assert sum(r["revenue"] for r in rows) == pytest.approx(revenue, abs=0.05), section
    segments = data["rfm"]["segments"]
    assert sum(r["customers"] for r in segments) == customers
    assert sum(r["revenue"] for r in segments) == pytest.approx(revenue, abs=0.05)
    for b in data.get("breakdowns", []):
        assert sum(r["customers"] for r in b["rows"]) == customers, b["dimension"]
    assert sum(c["size"] for c in data["retention"]["cohorts"]) == customers
    assert all(c["customers"][0] == c["size"] for c in data["retention"]["cohorts"])
    for p in data["kpis_by_period"]:
        assert p["customers_end"] == (p["customers_start"] + p["new_customers"] + p["reactivated_customers"]
                                      - p["churned_customers"])


def test_alerts_exit_3_after_writing_outputs(tmp_path):
    shop = str(EXAMPLES / "shopify_orders.csv")
    rejects = tmp_path / "rejects.csv"
    proc = run_cli("audit", shop, "-f", "json", "--no-clv", "--rejects", str(rejects),
                   "--alert", "repeat_purchase_rate < 0.95", "--alert", "customers > 1000")
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert rejects.exists()
    alerts = {a["rule"]: a for a in data["alerts"]}
    assert alerts["repeat_purchase_rate < 0.95"]["breached"] is True
    assert alerts["repeat_purchase_rate < 0.95"]["value"] == pytest.approx(0.875)
    assert alerts["customers > 1000"] == {"rule": "customers > 1000", "kpi": "customers", "value": 16.0,
                                          "breached": False}
    assert "repeat_purchase_rate < 0.95" in proc.stderr
    ok = run_cli("audit", shop, "-f", "json", "--no-clv", "--alert", "churn_rate > 0.5")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["alerts"][0]["breached"] is False


def test_bad_alert_rule_is_usage_error_naming_kpis():
    proc = run_cli("audit", str(EXAMPLES / "shopify_orders.csv"), "--alert", "happiness > 3")
    assert proc.returncode == 2
    assert "churn_rate" in proc.stderr  # the known KPIs are listed


def test_clv_on_cdnow_reproduces_the_published_fit():
    proc = run_cli("clv", CDNOW, "--as-of", "1997-09-30", "--model", "bgnbd", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    clv = json.loads(proc.stdout)["clv"]
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for key, value in published.items():
        assert clv["params"][key] == pytest.approx(value, rel=0.005), key
    assert clv["log_likelihood"] == pytest.approx(-9582.43, abs=0.05)
    assert clv["customers"] == 2357 and clv["converged"] is True
    gg = clv["spend_model"]["params"]
    assert gg["p"] == pytest.approx(6.25, rel=0.005) and gg["q"] == pytest.approx(3.74, rel=0.005)
    assert gg["gamma"] == pytest.approx(15.44, rel=0.005)


def test_clv_holdout_on_cdnow():
    proc = run_cli("clv", CDNOW, "--holdout", "1997-09-30", "--as-of", "1998-06-30", "--model", "bgnbd",
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr
    v = json.loads(proc.stdout)["clv"]["validation"]
    assert v["actual_purchases"] == 1882
    assert v["predicted_purchases"] == pytest.approx(1653, rel=0.005)
    table = run_cli("clv", CDNOW, "--holdout", "1997-09-30", "--as-of", "1998-06-30", "--model", "bgnbd")
    assert table.returncode == 0 and "1,882" in table.stdout


def test_paretonbd_model_via_cli():
    proc = run_cli("clv", CDNOW, "--as-of", "1997-09-30", "--model", "paretonbd", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    params = json.loads(proc.stdout)["clv"]["params"]
    for key, value in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert params[key] == pytest.approx(value, rel=0.005), key


def test_cohorts_csv_matrix_matches_json():
    shop = str(EXAMPLES / "shopify_orders.csv")
    data = json.loads(run_cli("cohorts", shop, "--format", "json").stdout)
    proc = run_cli("cohorts", shop, "--format", "csv", "--measure", "customers")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["cohort"] for r in rows] == [c["cohort"] for c in data["retention"]["cohorts"]]
    for r, c in zip(rows, data["retention"]["cohorts"], strict=True):
        assert int(r["size"]) == c["size"]
        assert [int(r[f"p{k}"]) if r[f"p{k}"] else None for k in range(len(c["customers"]))] == c["customers"]


def test_rfm_and_churn_commands():
    shop = str(EXAMPLES / "crm_orders_zh.csv")
    proc = run_cli("rfm", shop, "--rfm-scheme", "cn8", "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    assert "重要价值客户" in proc.stdout or "一般" in proc.stdout
    data = json.loads(run_cli("rfm", shop, "--rfm-scheme", "cn8", "-f", "json").stdout)
    assert data["rfm"]["scheme"] == "cn8"
    assert {s["segment"] for s in data["rfm"]["segments"]} <= {
        "important_value", "important_development", "important_retention", "important_winback",
        "general_value", "general_development", "general_retention", "general_winback"}
    churn = run_cli("churn", shop, "--churn-days", "30", "-f", "json")
    assert churn.returncode == 0, churn.stderr
    c = json.loads(churn.stdout)["churn"]
    assert c["definition"]["inactive_days"] == 30
    assert c["churned_customers"] == json.loads(churn.stdout)["kpis"]["churned_customers"]
