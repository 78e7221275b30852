"""Inputs of ``--engine spark``: local files as custinv reads them, plus what only Spark reads —
URLs of a cluster's file systems (``hdfs://``, ``s3a://``, ``gs://``, ``abfss://``, ``dbfs:/``…,
files, folders or globs: Spark expands them) and catalog tables (``--table db.orders``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from custinv.errors import UsageError

if TYPE_CHECKING:
    from custinv.config import Settings
    from custinv.ingest.sources import Source

_SPARK_URL = re.compile(r"^(?:hdfs|s3a?|s3n|gs|abfss?|wasbs?|adl|dbfs|oss|cos|viewfs|webhdfs|file):/", re.IGNORECASE)


def is_spark_url(text: str) -> bool:
    """A location Spark reads and custinv's own readers do not (a ``file:`` URL is local)."""
    return bool(_SPARK_URL.match(text)) and not text.lower().startswith("file:")


@dataclass(frozen=True)
class RemoteInput:
    """A file, folder or glob on a cluster file system, read by Spark only."""

    url: str

    @property
    def format(self) -> str:
        """csv or parquet from the name (a folder without a suffix: Parquet, the data-lake default)."""
        suffix = PurePosixPath(self.url.rstrip("/*")).suffix.lower()
        if suffix in (".csv", ".tsv", ".txt"):
            return "csv"
        if suffix in (".parquet", ".pq", ""):
            return "parquet"
        return suffix.lstrip(".")

    @property
    def name(self) -> str:
        return PurePosixPath(self.url).name

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class SparkTable:
    """A table of the Spark catalog (``--table db.orders``)."""

    name: str

    def __str__(self) -> str:
        return f"table {self.name}"


def is_local(item: object) -> bool:
    return not isinstance(item, (RemoteInput, SparkTable))


def spark_inputs(files: list[str], settings: Settings,
                 expand: Callable[[list[str]], list[Source]]) -> list[Source | RemoteInput | SparkTable]:
    """The inputs of a Spark run: ``--table``, or the files (local ones expanded by ``expand``
    as custinv always does them, cluster URLs as they are)."""
    if settings.table:
        if files:
            raise UsageError("--table is the input: give no files with it",
                             hint="custinv audit --engine spark --table db.orders")
        return [SparkTable(settings.table)]
    remote = [f for f in files if is_spark_url(f)]
    local = [f for f in files if not is_spark_url(f)]
    out: list[Source | RemoteInput | SparkTable] = [RemoteInput(f) for f in remote]
    if local:
        out.extend(expand(local))
    return out


def refuse_without_spark(files: list[str], settings: Settings) -> None:
    """Cluster URLs and --table need the Spark engine: a usage error naming it (exit 2)."""
    if settings.engine == "spark":
        return
    if settings.spark_rejects:
        raise UsageError("--spark-rejects writes a Spark dataset: it needs --engine spark",
                         hint="with the Polars engine, --rejects FILE.csv writes every rejected row")
    if settings.table:
        raise UsageError("--table reads a Spark catalog table: it needs --engine spark",
                         hint=f"custinv audit --engine spark --table {settings.table}")
    for f in files:
        if is_spark_url(f):
            raise UsageError(f"{f}: only Spark reads this location", hint="add --engine spark (pip install 'custinv[spark]')")
