"""``--engine spark`` ingest gives exactly the Polars ledger: orders (collected, sorted by ``row``),
as-of, currency, the source report, statuses, rejects and samples — on the examples, the platform
fixtures, every shape of the line-item benchmark, messy generated files and random ledgers.

Inputs Spark reads natively (plain UTF-8 CSV, Parquet, catalog tables) must be read in the
executors (no driver note); the others are read on the driver with a note saying why, and
otherwise equal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _scripts import load_script
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from test_streaming_ingest import write_messy

from custinv.config import Settings
from custinv.errors import DataError, InputError, UsageError
from custinv.ingest import ledger as L
from custinv.ingest.rules import Ledger
from custinv.spark.ingest import build_ledger_spark, collect_orders_for_analytics
from custinv.spark.inputs import RemoteInput, SparkTable

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PLATFORMS = Path(__file__).resolve().parent / "fixtures" / "platforms"
DRIVER_NOTE = "read on the Spark driver"


def _without_driver_note(ledger: Ledger) -> Ledger:
    source = ledger.source.model_copy(deep=True)
    for f in source.files:
        f.notes = [n for n in f.notes if not n.startswith(DRIVER_NOTE)]
    return dataclasses.replace(ledger, source=source)


def read_natively(ledger: Ledger) -> bool:
    return not any(n.startswith(DRIVER_NOTE) for f in ledger.source.files for n in f.notes)


def both(inputs: list[Any], settings: Settings, spark: Any, polars_inputs: list[Any] | None = None
         ) -> tuple[Ledger, Ledger, bool]:
    """(Polars ledger, Spark ledger with its orders collected, read in the executors?)."""
    expected = L.build_ledger(polars_inputs or inputs, settings)
    built = build_ledger_spark(inputs, settings, spark)
    native = read_natively(built)
    return expected, _without_driver_note(collect_orders_for_analytics(built)), native


def assert_same(a: Ledger, b: Ledger) -> None:
    assert a.source.model_dump() == b.source.model_dump()
    assert (a.as_of, a.currency) == (b.as_of, b.currency)
    assert a.orders.schema == b.orders.schema
    assert a.orders.equals(b.orders)
    assert a.rejects.equals(b.rejects)
    assert a.statuses.equals(b.statuses)
    if a.samples is not None and b.samples is not None:
        assert a.samples.cast({c: pl.String for c in a.samples.columns}).equals(
            b.samples.cast({c: pl.String for c in b.samples.columns}))


ORDER_EXAMPLES = ["shopify_orders.csv", "crm_orders_zh.csv", "salesforce_opportunities.csv", "sales_ledger.xlsx"]


@pytest.mark.parametrize("name", ORDER_EXAMPLES)
def test_every_example_gives_the_polars_ledger(name: str, spark: Any) -> None:
    a, b, _ = both([EXAMPLES / name], Settings(), spark)
    assert_same(a, b)


def _platform_files() -> list[Path]:
    return sorted(p for d in PLATFORMS.iterdir() if d.is_dir() for p in d.iterdir()
                  if p.suffix.lower() in (".csv", ".xlsx", ".txt", ".tsv"))


@pytest.mark.parametrize("path", _platform_files(), ids=lambda p: p.parent.name)
def test_platform_fixtures_give_the_polars_ledger(path: Path, spark: Any) -> None:
    settings = Settings(max_reject_rate=1.0)
    try:
        expected = L.build_ledger([path], settings)
    except DataError as exc:  # an export custinv refuses (Amazon: no buyer): refused alike
        with pytest.raises(DataError) as refused:
            build_ledger_spark([path], settings, spark)
        assert refused.value.message == exc.message
        return
    built = collect_orders_for_analytics(build_ledger_spark([path], settings, spark))
    assert_same(expected, _without_driver_note(built))


def _lineitems() -> Any:
    return load_script("benchmarks/lineitems.py")


SHAPES = {
    "lines.csv": [],
    "lines_mdy.csv": ["--date-format", "mdy"],
    "lines_dollar.csv": ["--money", "dollar"],
    "lines_status.csv": ["--status"],
    "lines_all.csv": ["--date-format", "mdy", "--money", "dollar", "--status"],
    "lines.parquet": [],
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_benchmark_shape_is_read_in_the_executors(name: str, tmp_path: Path, spark: Any) -> None:
    path = tmp_path / name
    _lineitems().main(["3000", str(path), "--seed", "11", *SHAPES[name]])
    a, b, native = both([path], Settings(), spark)
    assert native, "a benchmark shape must not need the driver"
    assert_same(a, b)
    assert b.orders["lines"].max() > 1  # line items grouped into orders  # type: ignore[operator]


@pytest.mark.parametrize("seed", range(4))
def test_messy_files_give_the_polars_ledger(seed: int, tmp_path: Path, spark: Any) -> None:
    """Blank lines, footers, repeated headers, ragged and short rows, bad dates, returns, statuses."""
    path = write_messy(tmp_path / "orders.csv", seed, statuses=seed % 2 == 0, footer=seed % 3 != 0)
    a, b, native = both([path], Settings(max_reject_rate=1.0), spark)
    assert native
    assert_same(a, b)
    assert b.rejects.height > 0  # the rejects are reported as the Polars path reports them


def test_a_quoted_line_break_is_read_on_the_driver_with_a_note(tmp_path: Path, spark: Any) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('order_id,customer_id,order_date,amount,note\n1,C1,2024-01-02,10.5,"two\nlines"\n'
                    "2,C2,2024-01-03,3,x\n", encoding="utf-8")
    a, b, native = both([path], Settings(), spark)
    assert not native
    assert_same(a, b)
    noted = build_ledger_spark([path], Settings(), spark).source.files[0].notes
    assert any("line break" in n for n in noted)


def test_a_remote_input_is_read_in_the_executors_from_its_head(tmp_path: Path, spark: Any) -> None:
    """A location only Spark opens (here a file: URL standing in for hdfs:// or s3a://): the
    driver sniffs the first lines Spark hands it, and the numbers are the local file's."""
    path = write_messy(tmp_path / "orders.csv", 3)
    settings = Settings(max_reject_rate=1.0)
    expected = L.build_ledger([path], settings)
    heads_before = set(Path(tempfile.gettempdir()).glob("custinv-head-*"))
    built = build_ledger_spark([RemoteInput(path.as_uri())], settings, spark)
    assert set(Path(tempfile.gettempdir()).glob("custinv-head-*")) == heads_before  # the head's copy is gone
    assert read_natively(built)
    got = collect_orders_for_analytics(built)
    assert got.orders.equals(expected.orders)
    assert got.source.rows_excluded == expected.source.rows_excluded
    assert got.source.reject_reasons == expected.source.reject_reasons
    assert got.source.files[0].path == path.as_uri()


def test_a_remote_input_spark_cannot_read_as_custinv_is_refused(spark: Any) -> None:
    gbk = EXAMPLES / "crm_orders_zh.csv"  # GB18030 text: only custinv's reader decodes it
    heads_before = set(Path(tempfile.gettempdir()).glob("custinv-head-*"))
    with pytest.raises(DataError, match="not a plain UTF-8 CSV") as refused:
        build_ledger_spark([RemoteInput(gbk.as_uri())], Settings(), spark)
    assert refused.value.exit_code == 65
    assert set(Path(tempfile.gettempdir()).glob("custinv-head-*")) == heads_before


def test_a_catalog_table_gives_the_parquet_ledger(tmp_path: Path, spark: Any) -> None:
    path = tmp_path / "lines.parquet"
    _lineitems().main(["2000", str(path), "--seed", "5"])
    spark.read.parquet(path.resolve().as_uri()).createOrReplaceTempView("custinv_test_orders")
    expected = L.build_ledger([path], Settings())
    got = collect_orders_for_analytics(build_ledger_spark([SparkTable("custinv_test_orders")], Settings(), spark))
    assert got.orders.equals(expected.orders)
    assert got.source.rows_used == expected.source.rows_used
    assert got.source.files[0].path == "custinv_test_orders"


def test_a_missing_table_is_exit_66(spark: Any) -> None:
    with pytest.raises(InputError, match="not found") as missing:
        build_ledger_spark([SparkTable("nowhere.orders")], Settings(), spark)
    assert missing.value.exit_code == 66


def test_orders_carry_their_first_line_as_row(tmp_path: Path, spark: Any) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,order_date,amount\nA,c1,2024-01-01,1\nB,c2,2024-01-01,2\n"
                    "A,c1,2024-01-01,3\nC,c1,2024-01-02,4\n", encoding="utf-8")
    orders = build_ledger_spark([path], Settings(), spark).orders
    rows = {r["order_id"]: (r["row"], r["amount"], r["lines"]) for r in orders.collect()}
    assert rows == {"A": (2, 4.0, 2), "B": (3, 2.0, 1), "C": (5, 4.0, 1)}  # file lines, header on line 1


_cells = st.sampled_from(["", " ", "N/A", "x"])


@hsettings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), pad=_cells, statuses=st.booleans(), footer=st.booleans())
def test_random_messy_ledgers_give_the_polars_ledger(seed: int, pad: str, statuses: bool, footer: bool,
                                                     tmp_path_factory: pytest.TempPathFactory, spark: Any) -> None:
    path = write_messy(tmp_path_factory.mktemp("prop") / "orders.csv", seed, statuses=statuses, footer=footer)
    if pad:  # an odd cell somewhere in the middle: the plan must see it, or hand the file over
        lines = path.read_text(encoding="utf-8").splitlines()
        rng = random.Random(seed)
        i = rng.randrange(1, len(lines))
        cells = lines[i].split(",")
        cells[rng.randrange(len(cells))] = pad
        lines[i] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(max_reject_rate=1.0)
    try:
        expected = L.build_ledger([path], settings)
    except DataError:
        with pytest.raises(DataError):
            build_ledger_spark([path], settings, spark)
        return
    assert_same(expected, _without_driver_note(collect_orders_for_analytics(build_ledger_spark([path], settings, spark))))


def test_more_distinct_dates_than_the_format_sample_go_to_the_driver(tmp_path: Path, spark: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond parse.SAMPLE_LIMIT distinct values a date format is decided from a sample of all of
    them; the executors hand over only the first ones, so the driver reads the file (a note
    says so) — the numbers are custinv's reader's."""
    from custinv.ingest import parse

    monkeypatch.setattr(parse, "SAMPLE_LIMIT", 50)
    rows = [f"{1000 + i},C{i % 37},{1 + i % 12:02d}/{1 + i % 28:02d}/2024 {i % 24:02d}:{i % 60:02d}:00,{i % 90}.50"
            for i in range(1500)]
    path = tmp_path / "stamps.csv"
    path.write_text("order_id,customer_id,order_date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    a, b, native = both([path], Settings(), spark)
    assert not native
    assert_same(a, b)


def _read_plain_file_with(tmp_path: Path, spark: Any, amount: Callable[[int], str], odd: dict[int, str]) -> L.Ledger:
    """1,500 plain rows (``amount``: row i's amount) with the ``odd`` lines put in far down, read
    by both readers: in the executors (native), with custinv's reader's ledger."""
    rows = [f"{1000 + i},C{i % 37},2024-{1 + i % 12:02d}-{1 + i % 28:02d}," + amount(i) for i in range(1500)]
    for at, line in odd.items():
        rows[at] = line
    path = tmp_path / "odd.csv"
    path.write_text("order_id,customer_id,order_date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    a, b, native = both([path], Settings(), spark)
    assert native
    assert_same(a, b)
    return b


def test_odd_money_and_date_cells_are_decided_from_every_row(tmp_path: Path, spark: Any) -> None:
    """Plain first rows, then 'N/A' amounts, '$1,234.50' and a d.m.Y date far down: the plan
    takes those columns out of the plain keys and decides them from every row, as custinv's
    reader does from the whole column — still in the executors."""
    b = _read_plain_file_with(tmp_path, spark, lambda i: f"{i % 90}.{i % 100:02d}", {
        1200: "3200,C1,2024-05-06,N/A", 1300: '3300,C2,2024-05-07,"$1,234.50"', 1400: "3400,C3,07.05.2024,12.00"})
    assert b.source.reject_reasons == {"missing_amount": 1}  # N/A is a blank-like token
    assert b.orders.filter(pl.col("order_id") == "3300")["amount"].to_list() == [1234.5]
    assert str(b.orders.filter(pl.col("order_id") == "3400")["order_date"][0]) == "2024-05-07"


def test_odd_ids_take_the_general_id_rules_in_the_executors(tmp_path: Path, spark: Any) -> None:
    """Plain ids in the first rows, then a name, a padded id, a blank-like one and Excel's
    ="…" guard far down: the id columns leave the plain keys and every row takes the general id
    rules (row by row, as custinv's reader) — still in the executors."""
    b = _read_plain_file_with(tmp_path, spark, lambda i: f"{i % 90}.50", {
        1200: "3200,张三,2024-05-06,10.00", 1300: "3300,  C2 ,2024-05-07,11.00", 1400: "3400,N/A,2024-05-08,12.00",
        1450: '"=""3450""",C3,2024-05-09,13.00'})
    assert b.source.reject_reasons == {"bad_id": 1}
    customers = dict(b.orders.filter(pl.col("order_id").is_in(["3200", "3300", "3450"])).select("order_id", "customer_id").rows())
    assert customers == {"3200": "张三", "3300": "C2", "3450": "C3"}


@pytest.mark.parametrize("name", ["messy.csv", "lines.parquet"])
def test_inputs_split_into_many_partitions_keep_their_line_numbers(name: str, tmp_path: Path, spark: Any) -> None:
    """Spark splits a file into partitions (here 8 KiB each: dozens); rows are numbered by
    their partition's offset and place, so rejects, first lines and ties come out as on one machine."""
    path = tmp_path / name
    if name.endswith(".csv"):
        write_messy(path, 5)
    else:
        _lineitems().main(["20000", str(path), "--seed", "3"])
        pl.read_parquet(path).write_parquet(path, row_group_size=1000)  # Spark splits Parquet by row group
    spark.conf.set("spark.sql.files.maxPartitionBytes", "8192")
    try:
        a, b, native = both([path], Settings(max_reject_rate=1.0), spark)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert native
    assert_same(a, b)


def test_every_reject_is_written_as_a_parquet_dataset(tmp_path: Path, spark: Any) -> None:
    path = write_messy(tmp_path / "orders.csv", 7)
    target = tmp_path / "rejects"
    settings = Settings(max_reject_rate=1.0, spark_rejects=str(target))
    expected = L.build_ledger([path], Settings(max_reject_rate=1.0))
    build_ledger_spark([path], settings, spark)
    written = pl.read_parquet(target / "*.parquet").sort("file", "line")
    assert written.equals(expected.rejects)
    with pytest.raises(UsageError, match="already exists"):  # never replaces a folder
        build_ledger_spark([path], settings, spark)


def test_a_status_first_seen_after_the_first_rows_is_decided_in_the_executors(tmp_path: Path, spark: Any) -> None:
    """The plan sees the first rows' statuses only; a Refunded and a Cancelled first written far
    below them must still exclude their orders exactly as the Polars reader does (never left
    undecided and counted as sales)."""
    lines = ["Order ID,Customer ID,Order Date,Amount,Status"]
    lines += [f"{i},C{i % 97},2024-0{1 + i % 9}-1{i % 10},{10 + i % 50}.25,Paid" for i in range(1, 2001)]
    lines += [f"{i},C{i % 97},2024-10-1{i % 10},{10 + i % 50}.75,{'Refunded' if i % 2 else 'Cancelled'}"
              for i in range(2001, 2041)]
    path = tmp_path / "late_statuses.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, got, native = both([path], Settings(), spark)
    assert native
    assert_same(expected, got)
    assert got.orders.height == 2000  # the 40 late refunds and cancellations are not orders


@pytest.mark.parametrize("ids", ["no column", "some blank"])
def test_lines_without_an_order_id_are_grouped_into_customer_days(ids: str, tmp_path: Path, spark: Any) -> None:
    """Without an order id a customer's lines of one day are one order (rules.orders_from_lines),
    whether the file has no order id column or leaves some ids blank — never one order per line."""
    header = "Customer ID,Order Date,Amount" if ids == "no column" else "Order ID,Customer ID,Order Date,Amount"
    lines = [header]
    for i in range(1500):
        order = "" if ids == "no column" else ("," if i % 10 == 0 else f"{i},")
        lines.append(f"{order}C{i % 50},2024-01-{1 + i % 20:02d},{10 + i % 7}.50")
    path = tmp_path / "customer_days.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, got, native = both([path], Settings(), spark)
    assert native
    assert_same(expected, got)
    assert got.orders["lines"].max() > 1  # type: ignore[operator]


def test_a_bare_id_column_of_order_numbers_is_the_order_id(tmp_path: Path, spark: Any) -> None:
    """'ID' is a weak order-id header, taken when its values look like order numbers — as
    custinv's reader maps it (mapping_plan.plan_mapping), so two lines of order 1000 are one order."""
    lines = ["ID,Customer,Order Date,Amount"]
    lines += [f"{1000 + i // 2},C{(i // 2) % 50},2024-01-{1 + i % 20:02d},{10 + i % 7}.50" for i in range(1500)]
    path = tmp_path / "bare_id.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, got, native = both([path], Settings(), spark)
    assert native
    assert_same(expected, got)
    assert got.mappings[0].column("order_id") == "ID"
    assert got.orders.height == 750


def test_a_carriage_return_inside_a_cell_does_not_split_its_line(tmp_path: Path, spark: Any) -> None:
    """A lone CR in an unquoted cell of an LF file is part of the cell for custinv's reader;
    Spark's text reader must not end the line there (an extra row, two rejects, shifted lines)."""
    lines = ["Order ID,Customer ID,Note,Order Date,Amount"]
    lines += [f"{i},C{i % 50},n{i},2024-01-{1 + i % 20:02d},{10 + i % 7}.50" for i in range(1, 1500)]
    lines[700] = "700,C7,two\rparts,2024-01-05,12.50"
    lines[900] += "\r"  # and a CRLF line end among LF ones
    path = tmp_path / "cr.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    expected, got, native = both([path], Settings(max_reject_rate=1.0), spark)
    assert native
    assert_same(expected, got)
    assert got.source.rows_rejected == 0


@pytest.mark.parametrize("flag", ["query", "where", "since"])
def test_database_filters_on_a_file_are_refused_as_on_one_machine(flag: str, tmp_path: Path, spark: Any) -> None:
    """--query, --where and --since apply to a database source: the Polars reader refuses them on
    a file (exit 2); Spark must not read the whole file as if the filter had been applied."""
    path = write_messy(tmp_path / "orders.csv", 2)
    settings = Settings(**{flag: "2024-06-01" if flag == "since" else "x"})
    with pytest.raises(UsageError) as expected:
        L.build_ledger([path], settings)
    with pytest.raises(UsageError) as refused:
        build_ledger_spark([path], settings, spark)
    assert refused.value.message == expected.value.message
    with pytest.raises(DataError, match="apply to a database source"):  # nor read a whole table
        build_ledger_spark([SparkTable("sales.orders")], settings, spark)


def test_zoned_timestamps_of_a_parquet_file_keep_their_dates(tmp_path: Path, spark: Any) -> None:
    """Order times written in Asia/Shanghai: custinv's reader takes the date of the wall-clock time
    the file declares; Spark hands them over in its session's zone (UTC), half an hour past
    midnight in Shanghai being the day before — every order's date must stay the file's."""
    n = 1500
    frame = pl.DataFrame({
        "order_id": [str(i) for i in range(n)], "customer_id": [f"C{i % 60}" for i in range(n)],
        "order_date": [dt.datetime(2024, 1, 1, 0, 30) + dt.timedelta(days=i % 200) for i in range(n)],
        "amount": [10 + i % 37 + 0.25 for i in range(n)],
    }).with_columns(pl.col("order_date").dt.replace_time_zone("Asia/Shanghai"))
    path = tmp_path / "zoned.parquet"
    frame.write_parquet(path)
    expected, got, native = both([path], Settings(), spark)
    assert native
    assert_same(expected, got)
    assert str(got.orders["order_date"][0]) == "2024-01-01"
