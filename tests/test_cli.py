"""The command line as users meet it: exit codes, stdout/stderr split, JSON errors, schema."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import jsonschema
import pytest
from conftest import EXAMPLES, assert_accounting, run_cli

ORDERS = """Customer ID,Order Date,Amount,Status
C1,2024-01-05,100.00,paid
C1,2024-02-10,50.50,paid
C2,2024-02-11,"1,200.00",cancelled
C3,2024-03-01,20,
,2024-03-02,5,paid
Total,,1375.5,
"""


@pytest.fixture
def orders(write) -> Path:
    return write("orders.csv", ORDERS)


def test_audit_json_is_the_contract(orders):
    proc = run_cli("audit", str(orders), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    from custinv.render.tabular import json_schema

    jsonschema.validate(data, json_schema())
    assert data["schema_version"] == 1
    assert data["as_of"] == "2024-03-01"
    assert data["kpis"]["customers"] == 2
    assert data["kpis"]["orders"] == 3
    assert data["kpis"]["revenue"] == pytest.approx(170.5)
    assert data["source"]["rows_excluded"] == {"footer": 1, "anonymous": 1, "cancelled": 1}
    assert_accounting(data["source"])
    # not a TTY: no progress; two customers cannot support a CLV model, which is a warning (one line each)
    assert [line.split(":")[0] for line in proc.stderr.splitlines()] == ["clv warning"]
    assert data["clv"]["warnings"] and data["clv"]["model"] == "historical"


def test_shipped_schema_matches_the_model():
    from custinv.render.tabular import generated_schema, json_schema

    assert json_schema() == generated_schema(), "run: custinv schema regeneration (see README, Development)"


def test_schema_command_prints_valid_json():
    proc = run_cli("schema")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["properties"]["schema_version"]


def test_table_output_has_accounting_and_kpis(orders):
    proc = run_cli("audit", str(orders))
    assert proc.returncode == 0, proc.stderr
    assert "Rows read: 6" in proc.stdout
    assert "Customers" in proc.stdout and "170.50" in proc.stdout


def test_missing_input_is_exit_66(tmp_path):
    proc = run_cli("audit", str(tmp_path / "nope.csv"))
    assert proc.returncode == 66
    assert "nope.csv" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_json_mode_errors_are_json_on_stderr(tmp_path):
    proc = run_cli("audit", str(tmp_path / "nope.csv"), "--format", "json")
    assert proc.returncode == 66
    assert proc.stdout == ""
    err = json.loads(proc.stderr)["error"]
    assert err["code"] == "input_unreadable" and "nope.csv" in err["message"]


def test_unmapped_required_field_is_exit_65(write):
    path = write("x.csv", "Foo,Bar\n1,2\n")
    proc = run_cli("audit", str(path))
    assert proc.returncode == 65
    assert "customer_id" in proc.stderr and "Foo" in proc.stderr


def test_bad_usage_is_exit_2(orders):
    assert run_cli("audit", str(orders), "--format", "xml").returncode == 2
    proc = run_cli("audit", str(orders), "--map", "nonsense")
    assert proc.returncode == 2


def test_rejects_file_written_private(write, tmp_path):
    path = write("o.csv", "Customer ID,Order Date,Amount\nc1,2024-01-30,10\nc2,not a date,5\n")
    out = tmp_path / "rejects.csv"
    proc = run_cli("audit", str(path), "--rejects", str(out), "--max-reject-rate", "0.6")
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "not a date" in text and "bad_date" in text and ",3," in text
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_unwritable_output_folder_is_exit_73(orders, tmp_path):
    proc = run_cli("audit", str(orders), "--rejects", str(tmp_path / "missing" / "r.csv"))
    assert proc.returncode == 73
    assert "missing" in proc.stderr


def test_customers_rows_csv_and_ndjson(orders):
    proc = run_cli("customers", str(orders), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("customer_id,first_order,last_order,orders,revenue")
    assert len(lines) == 3
    proc = run_cli("customers", str(orders), "--format", "ndjson")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    c1 = next(r for r in rows if r["customer_id"] == "C1")
    assert c1["orders"] == 2 and c1["revenue"] == pytest.approx(150.5) and c1["recency_days"] == 20


def test_inspect_shows_mapping_and_statuses(orders):
    proc = run_cli("inspect", str(orders))
    assert proc.returncode == 0, proc.stderr
    assert "Customer ID" in proc.stdout and "cancelled" in proc.stdout
    proc = run_cli("inspect", str(orders), "--format", "json")
    data = json.loads(proc.stdout)
    assert data["files"][0]["mapping"][0] == {
        "field": "customer_id", "column": "Customer ID", "reason": "header 'Customer ID' is a id/number synonym of customer_id"
    }


def test_config_file_and_env_layers(orders, tmp_path):
    (tmp_path / "custinv.toml").write_text('as_of = "2024-02-28"\n')
    data = json.loads(run_cli("audit", str(orders), "-f", "json", cwd=tmp_path).stdout)
    assert data["as_of"] == "2024-02-28"
    assert data["source"]["rows_excluded"]["after_as_of"] == 1
    # flags beat the environment, which beats the file
    proc = run_cli("audit", str(orders), "-f", "json", cwd=tmp_path, env={"CUSTINV_AS_OF": "2024-03-01"})
    assert json.loads(proc.stdout)["as_of"] == "2024-03-01"
    proc = run_cli("audit", str(orders), "-f", "json", "--as-of", "2024-02-15", cwd=tmp_path,
                   env={"CUSTINV_AS_OF": "2024-03-01"})
    assert json.loads(proc.stdout)["as_of"] == "2024-02-15"
    (tmp_path / "custinv.toml").write_text("as_of = [broken\n")
    assert run_cli("audit", str(orders), cwd=tmp_path).returncode == 78


def test_broken_pipe_ends_quietly(write):
    rows = "".join(f"c{i},2024-01-{1 + i % 28:02d},{i}\n" for i in range(20000))
    path = write("big.csv", "Customer ID,Order Date,Amount\n" + rows)
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m custinv customers {path} --format csv | head -1",
        shell=True, capture_output=True, text=True,
    )
    assert proc.stdout.startswith("customer_id")
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr


def test_a_reader_that_goes_away_ends_the_run_quietly_with_exit_0() -> None:
    """`custinv audit … | head`: the table output meets a closed pipe. That is the reader's
    choice, not a failure: exit 0 and no message (Rich's own handler exited 1, "a bug")."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "custinv", "audit", str(EXAMPLES / "shopify_orders.csv"), "--no-clv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "error" not in err.lower()
