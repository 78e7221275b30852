"""The Spark session of ``--engine spark``: a local or cluster master, or Spark Connect.

Local masters (``local[*]``, ``local[2]``) run the executors on this machine: they must run
*this* Python (``PYSPARK_PYTHON``), the one that has polars and pyarrow, or every partition
would fail on its first import. Dates must stay the calendar dates custinv parsed, so the
session time zone is UTC (a ``DateType`` never shifts, and timestamps read from Parquet are
shown as written in UTC). The web UI is off for local runs (a CLI run needs no port 4040),
the log is quiet, and every user ``[engine] spark_conf`` key is passed through unchanged.

pyspark is imported only here and only when a session is wanted: without the ``spark`` extra,
custinv imports cleanly and ``--engine spark`` is a usage error naming the extra.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custinv.errors import ExitCode, SourceUnavailable, UsageError

if TYPE_CHECKING:
    from custinv.config import Settings

DEFAULT_MASTER = "local[*]"
APP_NAME = "custinv"
EXTRA_HINT = "pip install 'custinv[spark]'"


class SparkUnavailable(SourceUnavailable):
    """Spark cannot start or cannot be reached: no Java, a master or Connect server that does
    not answer (exit 69)."""

    exit_code = ExitCode.UNAVAILABLE
    code = "spark_unavailable"


def require_pyspark() -> None:
    """A usage error naming the extra when pyspark is not installed (exit 2)."""
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"--engine spark needs pyspark, which is not installed ({exc.name} missing)",
                         hint=f"{EXTRA_HINT} (or run with --engine polars)") from exc


def remote_url(settings: Settings) -> str | None:
    """The Spark Connect URL: ``--spark-remote``, else ``SPARK_REMOTE`` (pyspark's own
    convention) unless a master was named."""
    if settings.spark_remote:
        return settings.spark_remote
    if settings.spark_master:
        return None
    return os.environ.get("SPARK_REMOTE") or None


def is_local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[") or master.startswith("local-cluster[")


_MASTER = re.compile(r"^(?:local(?:\[(?:\*|\d+)(?:,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]|"
                     r"(?:spark|mesos|k8s)://\S+|yarn)$")


def check_master(master: str) -> None:
    """Refuse a master URL Spark would not understand before starting a JVM (exit 2)."""
    if not _MASTER.match(master):
        raise UsageError(f"--spark-master {master!r} is not a Spark master URL",
                         hint="e.g. local[*], local[4], yarn, spark://host:7077, k8s://https://host:443")


def java_version() -> int | None:
    """The major version of ``java`` (JAVA_HOME first, then PATH); None when there is none."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(?:1\.)?(\d+)', out)
    return int(match.group(1)) if match else None


def _check_java() -> None:
    major = java_version()
    if major is None or major < 17:
        found = "no Java found" if major is None else f"Java {major} found"
        raise SparkUnavailable(f"Spark needs Java 17 or newer on this machine ({found})",
                               hint="install it (e.g. apt install openjdk-17-jre-headless) or set JAVA_HOME; "
                                    "or use a cluster through --spark-remote sc://host:15002")


def spark_session(settings: Settings) -> Any:
    """The session for this run (an existing active one is reused: one JVM per process).

    Turns the cyclic garbage collector back on (:mod:`custinv.launch` switches it off for a
    ``custinv`` process): py4j releases the JVM's objects when their Python proxies are freed."""
    gc.enable()
    remote = remote_url(settings)
    if not remote:  # a malformed master is a usage error whether or not pyspark is installed
        check_master(settings.spark_master or DEFAULT_MASTER)
    require_pyspark()
    from pyspark.sql import SparkSession

    conf = dict(settings.spark_conf)
    if remote:
        builder = SparkSession.builder.remote(remote)
    else:
        master = settings.spark_master or DEFAULT_MASTER
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        # under spark-submit the JVM is already running and its --master decides (not our default)
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ and not settings.spark_master
        if not submitted:
            _check_java()
        if is_local_master(master) and not submitted:
            # executors of a local master are processes of this machine: give them this interpreter
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            conf.setdefault("spark.ui.enabled", "false")
        conf.setdefault("spark.ui.showConsoleProgress", "false")  # custinv reports its own stages
        log_config = Path(__file__).with_name("log4j2.properties")  # errors only, from the JVM's start
        conf.setdefault("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config.as_uri()}")
        builder = SparkSession.builder if submitted else SparkSession.builder.master(master)
    # bigger Arrow batches into the executors' Python: the per-batch cost of the rules vanishes
    conf.setdefault("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
    builder = builder.appName(APP_NAME).config("spark.sql.session.timeZone", "UTC")
    for key, value in conf.items():
        builder = builder.config(key, str(value))
    try:
        session = builder.getOrCreate()
    except ImportError as exc:  # Spark Connect needs grpc and friends
        raise UsageError(f"Spark Connect needs packages that are not installed ({exc.name} missing)",
                         hint="pip install 'pyspark[connect]'") from exc
    except Exception as exc:  # pyspark raises plain Py4J / PySpark errors here
        where = remote or settings.spark_master or DEFAULT_MASTER
        raise SparkUnavailable(f"Spark could not start on {where}: {first_line(exc)}",
                               hint="check --spark-master / --spark-remote and that the cluster is reachable") from exc
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): pyspark's
    errors carry a JVM stack trace below it."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
