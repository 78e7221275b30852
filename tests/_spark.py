"""A Spark session for the Spark engine tests: pyspark 4 in local[2] mode, one per test run.

Skips when pyspark or Java 17+ is missing (``.ci/run`` installs Java under CI=true; the README's
test command installs the ``spark`` extra). Tests that use it carry the ``spark`` marker, so
``-m 'not spark'`` deselects them locally.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest


def java_major() -> int | None:
    """The major version of the ``java`` on PATH (or under JAVA_HOME), None when there is none."""
    from custinv.spark.session import java_version

    return java_version()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")
    major = java_major()
    if major is None or major < 17:
        pytest.skip("Java 17+ not found; .ci/run installs openjdk-17-jre-headless under CI=true")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter
    from custinv.config import Settings
    from custinv.spark.session import spark_session

    # custinv's own session builder (UTC, quiet log, UI off), small: two cores, four shuffle partitions
    session = spark_session(Settings(engine="spark", spark_master="local[2]",
                                     spark_conf={"spark.sql.shuffle.partitions": "4"}))
    yield session
    session.stop()
