"""A Spark session for the Spark engine tests: pyspark 4 in local[2] mode, one per test run.

Skips when pyspark or Java 17+ is missing (``.ci/run`` installs Java under CI=true; the README's
test command installs the ``spark`` extra). Tests that use it carry the ``spark`` marker, so
``-m 'not spark'`` deselects them locally.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest


def java_major() -> int | None:
    """The major version of the ``java`` on PATH (or under JAVA_HOME), None when there is none."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")
    major = java_major()
    if major is None or major < 17:
        pytest.skip("Java 17+ not found; .ci/run installs openjdk-17-jre-headless under CI=true")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("custinv-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
