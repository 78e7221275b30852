"""``--engine spark`` from the command line: the whole JSON equals the Polars engine's (the engine
field and timings aside), and every way it can fail is a clear message with the README's exit code.

The commands run in-process (typer's CliRunner) so they share the test run's one Spark session.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from _scripts import load_script
from typer.testing import CliRunner

from custinv.cli.app import app
from custinv.config import Settings, load_settings
from custinv.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _audit(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    out = CliRunner().invoke(app, ["audit", *args, "--format", "json", "-q"], env={"COLUMNS": "140"})
    data = json.loads(out.stdout) if out.exit_code in (0, 3) and out.stdout.strip() else None
    return out.exit_code, data, out.stderr


def _differences(a: Any, b: Any) -> list[str]:
    """Paths where the two JSON values differ (floats to 1e-12 relatively: the CLV diagnostics of
    one engine already differ in the last bit from run to run) — benchmarks/bench_spark.py's rule."""
    return list(load_script("benchmarks/bench_spark.py").differences(a, b))


@pytest.mark.spark
@pytest.mark.parametrize("name", ["shopify_orders.csv", "salesforce_opportunities.csv", "crm_orders_zh.csv",
                                  "sales_ledger.xlsx"])
def test_audit_json_is_the_polars_engines(name: str, spark: Any) -> None:
    code_p, polars_json, _ = _audit(str(EXAMPLES / name), "--engine", "polars")
    code_s, spark_json, err = _audit(str(EXAMPLES / name), "--engine", "spark")
    assert (code_p, code_s) == (0, 0), err
    assert polars_json is not None and spark_json is not None
    assert spark_json["settings"]["engine"] == "spark"
    for f in spark_json["source"]["files"]:  # these exports are read on the driver, and say so
        f["notes"] = [n for n in f["notes"] if not n.startswith("read on the Spark driver")]
    assert _differences(polars_json, spark_json) == [".settings.engine"]


@pytest.mark.spark
def test_audit_of_a_generated_shop_runs_in_the_executors(tmp_path: Path, spark: Any) -> None:
    module = load_script("examples/generate.py")
    path = tmp_path / "shop.csv"
    module.main(["3000", str(path)])
    _, polars_json, _ = _audit(str(path))
    code, spark_json, err = _audit(str(path), "--engine", "spark")
    assert code == 0, err
    assert not any("Spark driver" in n for f in spark_json["source"]["files"] for n in f["notes"])  # type: ignore[index]
    assert _differences(polars_json, spark_json) == [".settings.engine"]


@pytest.mark.spark
def test_a_missing_table_is_exit_66(spark: Any) -> None:
    code, _, err = _audit("--engine", "spark", "--table", "nowhere.orders")
    assert code == 66
    assert "nowhere.orders" in err


def test_a_bad_master_is_a_usage_error() -> None:
    code, _, err = _audit(str(EXAMPLES / "shopify_orders.csv"), "--engine", "spark", "--spark-master", "lokal[2]")
    assert code == 2
    assert "not a Spark master URL" in err


def test_without_pyspark_the_engine_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark → ImportError
    # a fresh install without the extra lacks pyarrow too, and has not imported the Spark reader
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    for name in ("custinv.spark.ingest", "custinv.spark.reading", "custinv.spark.inputs"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    from custinv.spark.session import require_pyspark

    with pytest.raises(UsageError, match="needs pyspark") as refused:
        require_pyspark()
    assert "custinv[spark]" in (refused.value.hint or "")
    code, _, err = _audit(str(EXAMPLES / "shopify_orders.csv"), "--engine", "spark")
    assert code == 2
    assert "pip install 'custinv[spark]'" in err


def test_cluster_inputs_need_the_spark_engine() -> None:
    code, _, err = _audit("hdfs://namenode/data/orders.csv")
    assert code == 2 and "--engine spark" in err
    code, _, err = _audit("--table", "sales.orders")
    assert code == 2 and "--engine spark" in err
    code, _, err = _audit(str(EXAMPLES / "shopify_orders.csv"), "--spark-rejects", "rejects/")
    assert code == 2 and "--engine spark" in err


def test_an_unknown_engine_is_a_usage_error() -> None:
    code, _, err = _audit(str(EXAMPLES / "shopify_orders.csv"), "--engine", "dask")
    assert code == 2
    assert "engine" in err


def test_engine_settings_from_the_config_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "custinv.toml"
    config.write_text('[engine]\nname = "spark"\nspark_master = "yarn"\n[engine.spark_conf]\n'
                      '"spark.executor.memory" = "8g"\n', encoding="utf-8")
    settings = load_settings({}, config_path=config, environ={})
    assert (settings.engine, settings.spark_master) == ("spark", "yarn")
    assert settings.spark_conf == {"spark.executor.memory": "8g"}
    env = load_settings({}, config_path=config, environ={"CUSTINV_ENGINE": "polars",
                                                         "CUSTINV_SPARK_CONF": "spark.a=1;spark.b=2"})
    assert env.engine == "polars" and env.spark_conf == {"spark.a": "1", "spark.b": "2"}
    # where it runs changes no number: not stated with the settings of the result
    assert "spark_master" not in Settings(engine="spark", spark_master="yarn").number_settings()


def test_spark_remote_follows_the_pyspark_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    from custinv.spark.session import remote_url

    monkeypatch.setenv("SPARK_REMOTE", "sc://cluster:15002")
    assert remote_url(Settings(engine="spark")) == "sc://cluster:15002"
    assert remote_url(Settings(engine="spark", spark_master="local[2]")) is None  # a master named wins
    assert remote_url(Settings(engine="spark", spark_remote="sc://other:15002")) == "sc://other:15002"
