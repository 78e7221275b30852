"""``--engine spark`` ingest: a :class:`~custinv.ingest.rules.Ledger` whose orders are a Spark DataFrame.

The driver decides the read plan from the first rows exactly as the one-machine streaming
path does (:func:`custinv.ingest.streaming.plan_from_head`); the executors parse and decide
every row with custinv's own Polars rules (:mod:`custinv.spark.reading`); what the streaming
path gathers while the batches pass — structural-row candidates, the evidence of the decided
date and money columns, status and currency counts, the multi-line orders and their blank
order-level fields, the row accounting — comes back as Spark aggregates, and the driver runs
the streaming path's own decisions on them. When a decision differs from the plan (the status
vote, a date or money format, multi-line orders found after the first rows) the read runs
again with the new plan, as on one machine. Lines become orders by
:func:`custinv.ingest.rules.orders_from_lines` inside the executors.

What Spark cannot read as custinv would — xlsx, JSON, non-UTF-8 text, title rows Polars'
CSV scan cannot skip, exports decided by a profile or whole-file rules (refunds matched by
reference, a second status column), order totals written on the first line only, quoted
line breaks, several files read as one book — is read on the driver by custinv's normal
ingest when the driver can open it (a note in the file's notes says so and why); a remote
input (``hdfs://``, ``s3a://``…) is refused with the reason (exit 65). Never quietly
different numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from custinv.config import Settings
from custinv.errors import DataError, InputError, OutputError, UsageError
from custinv.ingest import fields as F
from custinv.ingest import parse, status
from custinv.ingest import rules as R
from custinv.ingest import sales as S
from custinv.ingest import streaming as ST
from custinv.ingest.readers import LINE, RAGGED, CsvScan, RawTable, detect_format, scan_plain_csv, to_text
from custinv.ingest.sources import Source
from custinv.spark import reading
from custinv.spark.frames import ROW, to_polars, to_spark
from custinv.spark.inputs import RemoteInput, SparkTable, is_local
from custinv.spark.session import first_line

HEAD_LINES = 2_000
"""Lines of a remote CSV the driver reads to sniff its layout and decide the plan."""

REJECTS_SAMPLE = 100_000
"""Rejected rows collected for the reports (the first by line); the counts are always exact."""

Say = Callable[[str], None]
SparkInputs = Sequence[Source | RemoteInput | SparkTable]


class NotNative(Exception):
    """The input cannot be read in the executors as custinv would read it (the reason)."""


def build_ledger_spark(inputs: SparkInputs, settings: Settings, session: Any, *, say: Say | None = None) -> R.Ledger:
    """The ledger of ``inputs`` with its orders as a Spark DataFrame (columns of
    ``Ledger.orders`` plus ``row``, see :mod:`custinv.spark.frames`)."""
    say = say or (lambda _m: None)
    target = inputs[0] if len(inputs) == 1 else None
    reason = _driver_only_reason(inputs, settings)
    if reason is None and isinstance(target, (Path, RemoteInput, SparkTable)):
        try:
            return _native(target, settings, session, say)
        except NotNative as exc:
            reason = str(exc)
        except ST.HandBack:
            reason = "its columns need custinv's general reader (decisions the streaming plan leaves to it)"
    assert reason is not None
    remote = [i for i in inputs if not is_local(i)]
    if remote:
        name = remote[0].url if isinstance(remote[0], RemoteInput) else f"table {remote[0].name}"
        raise DataError(f"{name}: Spark cannot read this input as custinv would: {reason}",
                        hint="convert it to plain UTF-8 CSV or Parquet, or copy it to this machine and run "
                             "custinv on the local file (it is then read on the driver)")
    return _on_driver([i for i in inputs if not isinstance(i, (RemoteInput, SparkTable))], settings, session, say,
                      reason)


def collect_orders_for_analytics(ledger: R.Ledger) -> R.Ledger:
    """The Spark ledger's orders collected into the Polars ``Ledger.orders`` (sorted by ``row``,
    ``row`` dropped, the Polars types restored). The audit does not need it — the Spark
    ``OrderEngine`` reduces ``ledger.orders`` where they are, so the driver holds customers, not
    orders — but it lets a ledger read by Spark be compared with the Polars reader's, row by row."""
    spark_orders: Any = ledger.orders  # a pyspark DataFrame in the Spark engine's ledger
    orders = to_polars(spark_orders).sort(ROW)  # sorted here: a Spark orderBy is one more shuffle
    return dataclasses.replace(ledger, orders=polars_orders(orders))


def polars_orders(orders: pl.DataFrame) -> pl.DataFrame:
    """Collected Spark orders in the Polars ledger's types: ``lines`` UInt32, dimensions categorical."""
    casts = [pl.col("lines").cast(pl.UInt32)] if "lines" in orders.columns else []
    casts += [pl.col(d).cast(pl.Categorical) for d in F.DIMENSIONS if d in orders.columns]
    return orders.drop(ROW, strict=False).with_columns(casts).rechunk()  # sums depend on chunks


# --- where an input is read ------------------------------------------------------------------


def _driver_only_reason(inputs: SparkInputs, settings: Settings) -> str | None:
    """Why these inputs need custinv's own reader on the driver (None: the executors can read them)."""
    if len(inputs) != 1:
        return "several files are one book (lines repeated across files are counted once), which the driver reads"
    target = inputs[0]
    if not isinstance(target, (Path, RemoteInput, SparkTable)):
        return "a database source is read by its own driver"
    if settings.query or settings.where or settings.since:  # refused on a file by custinv's reader, with its hint
        return "--query, --where and --since apply to a database source, not to a file or a Spark table"
    if isinstance(target, SparkTable):
        return None
    fmt = _format(target)
    if fmt not in ("csv", "parquet"):
        return f"{fmt} is read by custinv's own {fmt} reader"
    if fmt == "csv" and (settings.sheet is not None or settings.encoding not in (None, "utf-8", "utf8", "UTF-8")):
        return f"text in {settings.encoding} is decoded by custinv's reader"
    return None


def _format(target: Path | RemoteInput) -> str:
    if isinstance(target, RemoteInput):
        return target.format
    try:
        return str(detect_format(target))
    except DataError:
        return "xls"


def _on_driver(paths: list[Source], settings: Settings, session: Any, say: Say, reason: str) -> R.Ledger:
    from custinv.ingest.ledger import build_ledger

    say("reading on the driver")
    ledger = build_ledger(paths, settings)
    for report in ledger.source.files:
        report.notes.append(f"read on the Spark driver by custinv's reader, not in the executors: {reason}")
    return dataclasses.replace(ledger, orders=to_spark(session, ledger.orders))


# --- the native read -------------------------------------------------------------------------


@dataclasses.dataclass
class _Input:
    """One input as the executors read it, and as the plan sees it."""

    frame: Any  # Spark DataFrame of raw rows (lines, or typed records)
    scan: CsvScan  # the head, as the one-machine reader scans it
    layout: reading.Layout


def _native(target: Path | RemoteInput | SparkTable, settings: Settings, session: Any, say: Say) -> R.Ledger:
    say("planning the read")
    source = _open(target, settings, session)
    try:
        head = ST.first_rows(source.scan)
        plan = ST.plan_from_head(source.scan, settings, Path(str(source.scan.table.path)), head)
        data_head = ST.data_head(source.scan, head)  # what a re-plan decides from
    finally:
        source.scan.discard()  # a remote input's head copy: the plan has what it needs
    if plan.needs_driver:  # whole orders per batch, second statuses, refunds, profiles: custinv's reader
        raise ST.HandBack
    # every status decided by the whole rule in the executors: a batch there is collected eagerly,
    # so the streaming path's lookup of the first rows' statuses (which reads the file again for a
    # status first seen later) would save nothing and is not followed here
    plan.statuses = None
    for _ in range(6):  # again only when the whole input decides otherwise than its first rows
        say("parsing in the executors")
        job = reading.DecideJob(plan, settings, source.layout, source.scan.table.header_cells)
        job = dataclasses.replace(job, columns=reading.decided_columns(plan, source.layout))
        decided = source.frame.mapInArrow(reading.decide_partitions(job), reading.spark_schema(job.columns))
        decided = decided.persist()
        try:
            return _finish(source, settings, plan, decided, say)
        except ST.Revote as revote:
            plan.deal_export = revote.deal_export
        except ST.Redecide as redecide:
            plan.with_formats(redecide.date_fmt, redecide.money)
        except _MultiLine:
            plan.multi_line = True
        except ST.Replan as replan:
            if not replan.fields:
                raise NotNative("a key cell of another shape, in no key column the plan knows") from None
            ST.replan(plan, replan.fields, data_head)
        finally:
            decided.unpersist()
    raise NotNative("the plan did not settle after six reads")


class _MultiLine(Exception):
    """Orders of several lines appear only after the first rows: read again gathering their gaps."""


def _open(target: Path | RemoteInput | SparkTable, settings: Settings, session: Any) -> _Input:
    from pyspark.sql import functions as sf

    if isinstance(target, SparkTable):
        try:
            frame = session.table(target.name)
        except Exception as exc:  # AnalysisException: TABLE_OR_VIEW_NOT_FOUND
            raise InputError(f"table {target.name} not found in the Spark catalog",
                             hint="check the name (db.table) and spark.sql.catalog settings; "
                                  "`spark.catalog.listTables()` lists them") from exc
        return _records(frame, target.name, session)
    url = target.url if isinstance(target, RemoteInput) else _hadoop_path(Path(target))
    shown = target.url if isinstance(target, RemoteInput) else target
    if _format(target) == "parquet":
        zones = _parquet_zones(target) if isinstance(target, Path) else {}
        return _records(_spark_read(lambda: session.read.parquet(url), shown), shown, session, zones)
    # lines end at LF only, as the sniffed plain CSV's (the text source's default also ends them at a lone CR)
    lines = _spark_read(lambda: session.read.option("lineSep", "\n").text(url), shown) \
        .select(sf.col("value").cast("binary").alias("value"))
    # a remote CSV is sniffed on its first lines, copied to this machine (removed once the plan
    # is made: _native)
    head_file = _head_file(lines) if isinstance(target, RemoteInput) else None
    local = head_file if head_file is not None else Path(str(target))
    scan = scan_plain_csv(local, encoding=settings.encoding, delimiter=settings.delimiter,
                          header_row=settings.header_row, header_score=F.header_score)
    if scan is None or scan.table.encoding != "utf-8":
        if head_file is not None:
            head_file.unlink(missing_ok=True)
        raise NotNative("it is not a plain UTF-8 CSV with LF line ends (a BOM, another encoding or CR line ends: "
                        "custinv's reader decodes it)")
    scan.temporary = head_file
    scan.table.path = shown
    layout = reading.Layout("lines", scan.names, scan.cells, _offsets(lines), scan.table.delimiter or ",", scan.skip)
    return _Input(lines, scan, layout)


def _hadoop_path(path: Path) -> str:
    """A local file as Hadoop's file system names it: not percent-encoded (Hadoop would look
    for the encoded name), glob characters escaped (``[`` in a name is not a pattern)."""
    text = str(path.resolve())
    for ch in "\\[]{}*?":
        text = text.replace(ch, "\\" + ch)
    return "file://" + text


def _spark_read(read: Callable[[], Any], shown: object) -> Any:
    try:
        return read()
    except Exception as exc:  # AnalysisException: PATH_NOT_FOUND and friends
        raise InputError(f"{shown}: Spark cannot open it ({first_line(exc)})") from exc


def _parquet_zones(path: Path) -> dict[str, str]:
    """The time zone of each zoned timestamp column of a local Parquet file (its Arrow schema's)."""
    schema = pl.read_parquet_schema(path)
    return {c: t.time_zone for c, t in schema.items() if isinstance(t, pl.Datetime) and t.time_zone}


def _records(frame: Any, shown: object, session: Any, zones: dict[str, str] | None = None) -> _Input:
    """A typed input (Parquet, a table): the head turned into text as the executors will."""
    zones = zones or {}
    head = reading.in_zones(pl.DataFrame(pl.from_arrow(frame.limit(1000).toArrow())), zones)
    text, dropped = to_text(head)
    if dropped:  # the executors' to_text drops them too; say so as the local reader does
        frame = frame.drop(*dropped)
    names = list(text.columns)
    lazy = text.with_row_index("__idx__").select(*names, (pl.col("__idx__").cast(pl.Int64) + 1).alias(LINE),
                                                    pl.lit(False).alias(RAGGED)).lazy()
    notes = ["columns not readable as text, left out: " + ", ".join(dropped)] if dropped else []
    empty = pl.DataFrame(schema={**{n: pl.String for n in names}, LINE: pl.Int64, RAGGED: pl.Boolean})
    table = RawTable(frame=empty, path=str(shown), format="parquet", encoding=None, delimiter=None, sheet=None,
                     header_row=None, rows_read=0, skipped_blank=0, notes=notes, header_cells=names)
    scan = CsvScan(lazy, names, names, table, 0)
    return _Input(frame, scan, reading.Layout("records", names, names, _offsets(frame), zones=zones))


def _offsets(frame: Any) -> dict[int, int]:
    """Input partition → position of its first row (one counting pass over the input)."""
    from pyspark.sql import functions as sf

    counts = frame.groupBy(sf.spark_partition_id().alias("p")).count().collect()
    offsets, total = {}, 0
    for p, n in sorted((int(r["p"]), int(r["count"])) for r in counts):
        offsets[p] = total
        total += n
    return offsets


def _head_file(lines: Any) -> Path:
    """The first lines of a remote CSV in a private temporary file, for the one-machine sniffer."""
    values = lines.limit(HEAD_LINES).toArrow().column("value").to_pylist()
    handle = tempfile.NamedTemporaryFile(prefix="custinv-head-", suffix=".csv", delete=False)
    with handle:
        handle.write(b"\n".join(values) + b"\n")
    return Path(handle.name)


# --- after the executors: the streaming path's decisions on aggregates ---------------------------


def _finish(source: _Input, settings: Settings, plan: ST.ReadPlan, decided: Any, say: Say) -> R.Ledger:
    """streaming._finish on Spark: a handful of jobs over the decided rows, the same decisions."""
    from pyspark.sql import functions as sf

    say("checking the plan")
    scan = source.scan
    decided_text = ST.evidence_columns(plan)
    # one job: the broken batches, the odd key cells and the candidate rows (all few)
    flagged = _collect(decided.filter(sf.col(reading.BROKEN).isNotNull() | sf.col("__cand__"))
                       .select(reading.BROKEN, reading.CELLS, "__line__", "__cand__", "__odd__", "__decision__",
                               *decided_text))
    broken = flagged.filter(pl.col(reading.BROKEN).is_not_null())
    if broken.height:
        raise NotNative(broken[reading.BROKEN][0])
    cell_names = [*source.layout.cells, RAGGED]
    odd = _collect(decided.filter(sf.col("__odd__") & ~sf.col("__cand__")).select(reading.CELLS).limit(1_000))
    if odd.height:  # a key cell of another shape: decide that column from every row instead
        raise ST.Replan(ST.odd_fields(plan, reading.candidate_cells(odd, cell_names)))
    rows = decided.filter(sf.col(reading.BROKEN).isNull())
    candidates = reading.candidate_cells(flagged.filter(pl.col("__cand__")).drop(reading.BROKEN, "__cand__"), cell_names)
    blank, codes = ST.structural_lines(scan, candidates)
    blank_series = pl.Series(blank, dtype=pl.Int64)
    gone = pl.concat([blank_series, codes["__line__"]])
    gone_lines = [int(x) for x in gone.to_list()]
    data_candidates = candidates.filter(~pl.col("__line__").is_in(gone.implode()))
    if data_candidates.filter(pl.col("__odd__")).height:
        raise ST.Replan(ST.odd_fields(plan, data_candidates.filter(pl.col("__odd__"))))
    if ST.decided_fields(plan):
        _verify(plan, rows.filter(~sf.col("__cand__")), data_candidates, settings)

    not_gone = ~sf.col("__line__").isin(gone_lines) if gone_lines else sf.lit(True)
    data = rows.filter(not_gone)  # data rows: neither blank nor structural
    used = data.filter(sf.col("__decision__") == R.USED)
    others = data.filter(sf.col("__decision__") != R.USED)

    say("grouping orders")
    multi_line = plan.mapping.column("order_id") is not None and _multi_line_orders(data, plan)
    tally = _tally(plan, data)  # one job: rows, revenue and latest date per decision, status and currency
    status_counts = _status_counts(plan, tally)
    if plan.mapping.column("status"):
        voted = status_counts.drop_nulls("raw_status")
        deal_export = status.is_deal_export(voted["raw_status"], voted["n"])
        if deal_export != plan.deal_export:
            raise ST.Revote(deal_export)

    say("accounting")
    used_tally = tally.filter(pl.col("__decision__") == R.USED)
    used_n = int(used_tally["n"].sum())
    counted = [
        tally.group_by("__decision__").agg(pl.col("n").sum()),
        codes.group_by("code").agg(pl.len().alias("n")).select(pl.col("code").alias("__decision__"), "n"),
    ]
    counts = pl.concat([c.select(pl.lit(0, dtype=pl.Int32).alias("__file__"), pl.col("__decision__").cast(pl.String),
                                 pl.col("n").cast(pl.UInt32)) for c in counted])
    order = {d: i for i, d in enumerate([R.USED, *R.EXCLUDED_REASONS, *R.REJECTED_REASONS])}
    counts = counts.filter(pl.col("n") > 0).group_by("__file__", "__decision__").agg(pl.col("n").sum()) \
        .sort(pl.col("__decision__").replace_strict(order, default=len(order), return_dtype=pl.Int32))
    n_rows = int(counts["n"].sum())

    reject_cols = ["__file__", "__line__", "__decision__", *ST.REJECT_RAW]
    rejected_all = others.filter(sf.col("__decision__").isin(list(R.REJECTED_REASONS)))
    rejected = _collect(rejected_all.orderBy("__line__").select(*reject_cols).limit(REJECTS_SAMPLE))
    rejected = rejected.with_columns(pl.col("__file__").cast(pl.Int32), pl.col("__line__").cast(pl.Int64))
    n_rejected = sum(int(n) for d, n in counts.select("__decision__", "n").iter_rows() if d in R.REJECTED_REASONS)
    reported = _collect(others.filter(sf.col("__decision__").isin(["anonymous", "return"])).select(
        "__line__", "__decision__", sf.col("__file__"), sf.col("order_id").alias("raw_order_id"), "line_amount"))
    reported = reported.sort("__line__").with_columns(
        pl.col("__file__").cast(pl.Int32), pl.lit(plan.amount_mode).alias("__amount_mode__")).select(R.AMOUNT_COLUMNS)
    currency = R.decide_currency(_currency_counts(plan, tally), settings.currency)

    as_of = settings.as_of_date()
    if as_of is None and used_n:
        latest = used_tally["latest"].max()
        as_of = latest if isinstance(latest, dt.date) else None
    raw = scan.table
    raw.rows_read = n_rows
    raw.skipped_blank += len(blank)
    sample_cols = ["customer_id", "order_id", "order_date", "line_amount", "quantity", "raw_status", "currency"]
    samples = _collect(used.orderBy("__line__").limit(5).select(
        *(sf.col(c) if c in used.columns else sf.lit(None).cast("string").alias(c) for c in sample_cols)))
    warnings = list(plan.warnings)
    if plan.mapping.column("status"):
        revenue = used_tally.group_by("raw_status").agg(pl.col("revenue").sum())
        warnings = S.unknown_status_warnings(status_counts, revenue, deal_export=plan.deal_export)
    file_plan = R.FilePlan(raw, plan.mapping, plan.amount_mode, plan.plain,
                           unique_ids=plan.mapping.column("order_id") is not None and not multi_line)
    if settings.spark_rejects:
        say("writing the rejects")
        _write_rejects(rejected_all.select(*reject_cols), file_plan, settings.spark_rejects)
    if n_rejected > rejected.height:
        warnings.append(f"{raw.path}: {n_rejected} rows were rejected; the reports and --rejects list the first "
                        f"{rejected.height} by line (the counts are exact; --spark-rejects DIR writes them all)")
    report = R.accounting(counts, reported, [file_plan], currency)
    report.warnings = [*report.warnings, *warnings]
    R.check_usable(report, settings)
    say("grouping lines into orders")
    # cached and materialised here, so the decided rows can be released and every reduction the
    # engine runs on the orders reads the cache instead of parsing the input again
    # every line its own order only when it has an order id no other line shares (as
    # rules._one_line_orders decides on one machine): lines without one are customer-days
    one_line = not multi_line and not int(used_tally["no_id"].sum() or 0)
    orders = _orders(used, plan, file_plan, not one_line).persist()
    orders.count()
    return R.Ledger(
        orders=orders,
        as_of=as_of,
        currency=currency,
        source=report,
        rejects=R.rejects_table(rejected, [file_plan]),
        statuses=R.status_report_from_counts(status_counts, plan.deal_export),
        mappings=[plan.mapping],
        raw_tables=[raw],
        samples=samples.with_columns(pl.col("order_date").cast(pl.Date)) if samples.height else samples,
    )


def _write_rejects(rejected: Any, file_plan: R.FilePlan, target: str) -> None:
    """Every rejected row, as rules.rejects_table gives them, into a new Parquet dataset."""
    ddl = reading.spark_schema(reading.REJECT_COLUMNS)
    table = rejected.mapInArrow(reading.rejects_partitions([file_plan]), ddl)
    try:
        table.write.mode("errorifexists").parquet(target)
    except Exception as exc:  # AnalysisException PATH_ALREADY_EXISTS, permissions, a missing bucket
        first = first_line(exc)
        if "ALREADY_EXISTS" in first.upper():
            raise UsageError(f"--spark-rejects {target} already exists", hint="name a new folder") from exc
        raise OutputError(f"--spark-rejects {target}: cannot write ({first})") from exc


def _tally(plan: ST.ReadPlan, data: Any) -> pl.DataFrame:
    """Data rows per (decision, status, currency): rows, revenue, latest order date, rows without
    an order id — the accounting, the status vote, the currency, the as-of date and whether
    lines are grouped into orders from one small table."""
    from pyspark.sql import functions as sf

    keys = ["__decision__", *(c for c in ("raw_status", "currency") if c in plan.used_cols)]
    tally = _collect(data.groupBy(*keys).agg(sf.count(sf.lit(1)).alias("n"), sf.sum("line_amount").alias("revenue"),
                                             sf.max("order_date").alias("latest"),
                                             sf.sum(sf.col("order_id").isNull().cast("long")).alias("no_id")))
    for c in ("raw_status", "currency"):
        if c not in tally.columns:
            tally = tally.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    return tally.with_columns(pl.col("n").cast(pl.Int64))


def _collect(frame: Any) -> pl.DataFrame:
    return pl.DataFrame(pl.from_arrow(frame.toArrow()))


def _verify(plan: ST.ReadPlan, data_rows: Any, data_candidates: pl.DataFrame, settings: Settings) -> None:
    """streaming.verify_formats on the evidence of every data row, gathered by Spark: the
    distinct values of the decided date column with their rows, the money evidence sums."""
    from pyspark.sql import functions as sf

    evidence = ST.PlanEvidence()
    if plan.date_fmt is not None:
        text = ST.evidence_column("order_date")
        dates = _collect(data_rows.groupBy(text).count().limit(parse.SAMPLE_LIMIT + 1))
        if dates.height > parse.SAMPLE_LIMIT:
            # beyond the limit the format is decided from a sample of *all* the distinct dates
            # (parse.decision_sample), and only the first ones were collected: the driver reads it
            raise ST.HandBack
        evidence.dates.append(dates.select(pl.col(text).alias("v"), pl.col("count").cast(pl.UInt32).alias("n")))
    for name in plan.money:
        text, point = ST.evidence_column(name), ST.point_evidence_column(name)
        pairs = (data_rows.filter(sf.col(text).isNotNull() | (sf.col(point) > 0))
                 .groupBy(text, point).agg(sf.count(sf.lit(1)).alias("n")))
        schema = "n long, ps long, cs long, pw long, cw long, plain long"
        sums = pairs.mapInArrow(reading.money_sums_partitions(name), schema).groupBy().sum().collect()
        row = [int(v or 0) for v in sums[0]] if sums else [0] * 6
        evidence.money[name] = [pl.DataFrame([row], schema=["n", "ps", "cs", "pw", "cw", "plain"], orient="row")]
    ST.verify_formats(plan, evidence, data_candidates, settings)


def _multi_line_orders(data: Any, plan: ST.ReadPlan) -> bool:
    """streaming._multi_line_orders on Spark: do data rows share order ids, and would the eager
    path read them as they are (no order-level field copied between lines, no blank line amount,
    a line-amount column that some order's lines prove)?"""
    from pyspark.sql import functions as sf

    lines = data.filter(sf.col("order_id").isNotNull())
    per_order = lines.groupBy("order_id").agg(
        sf.count(sf.lit(1)).alias("lines"),
        sf.bit_and("__gap__").alias("all"), sf.bit_or("__gap__").alias("any"),
        # two different non-null line amounts (Polars' n_unique() > 1 on them): min ≠ max
        (sf.min("line_amount") != sf.max("line_amount")).alias("differ"),
    ).filter(sf.col("lines") > 1)
    summary = per_order.agg(
        sf.count(sf.lit(1)).alias("orders"),
        sf.max(((sf.col("all") != sf.col("any")) | ((sf.col("any").bitwiseAND(ST.AMOUNT_GAP)) != 0)).cast("int")).alias("copied"),
        sf.max(sf.col("differ").cast("int")).alias("differ"),
    ).collect()[0]
    if not summary["orders"]:
        return False
    if not plan.multi_line:
        raise _MultiLine
    if summary["copied"]:
        raise NotNative("some lines of an order leave order-level fields (or the amount) blank that another line "
                        "writes: custinv's reader copies them within the order")
    if plan.amount_mode == "line" and not summary["differ"]:
        raise NotNative("every multi-line order repeats one amount on its lines: an order-total column, "
                        "which custinv's reader counts once per order")
    return True


def _status_counts(plan: ST.ReadPlan, tally: pl.DataFrame) -> pl.DataFrame:
    """Data rows per (trimmed, blank→null) status, as streaming._status_counts."""
    if plan.mapping.column("status") is None:
        return pl.DataFrame({"raw_status": [None], "n": [int(tally["n"].sum())]},
                            schema={"raw_status": pl.String, "n": pl.UInt32})
    return tally.group_by("raw_status").agg(pl.col("n").sum().cast(pl.UInt32)).filter(pl.col("n") > 0)


def _currency_counts(plan: ST.ReadPlan, tally: pl.DataFrame) -> pl.DataFrame:
    if "currency" not in plan.used_cols:
        return pl.DataFrame(schema={"currency": pl.String, "rows": pl.UInt32})
    return tally.filter(pl.col("currency").is_not_null()).group_by("currency").agg(
        pl.col("n").sum().cast(pl.UInt32).alias("rows"))


def _orders(used: Any, plan: ST.ReadPlan, file_plan: R.FilePlan, multi_line: bool) -> Any:
    """Used lines → orders in the executors (rules.orders_from_lines), with ``row`` = first line.
    ``multi_line``: some orders have several lines (shared ids, or customer-days of lines without an id)."""
    lines = used.select(*[c for c in plan.used_cols if c not in ("raw_status", "currency")], "__line__")
    empty = pl.DataFrame(schema={c: t for c, t in _used_schema(plan).items()})
    template = R.orders_from_lines(empty, [file_plan], one_line=not multi_line)
    columns = [(n, _arrow_type(t)) for n, t in template.schema.items()] + [(ROW, pa.int64())]
    ddl = reading.spark_schema(columns)
    if multi_line:
        lines = lines.withColumn("__key__", reading.order_key()).repartition("customer_id") \
            .sortWithinPartitions("customer_id", "__key__", "__line__")
    return lines.mapInArrow(reading.orders_partitions([file_plan], not multi_line, columns), ddl)


def _used_schema(plan: ST.ReadPlan) -> dict[str, pl.DataType]:
    """The Polars types of the used lines the executors hand over (reading.decided_columns's)."""
    out: dict[str, pl.DataType] = {}
    for c in plan.used_cols:
        if c in ("raw_status", "currency"):
            continue
        out[c] = pl.Date() if c == "order_date" else pl.Float64() if c in reading.FLOATS else pl.String()
    return out


def _arrow_type(dtype: pl.DataType) -> pa.DataType:
    if dtype == pl.Date:
        return pa.date32()
    if dtype == pl.Float64:
        return pa.float64()
    if dtype.is_integer():
        return pa.int64()
    return pa.string()
