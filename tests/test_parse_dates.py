"""Date parsing: every layout real exports use, per-column day/month decisions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.ingest.parse import (
    D_MON_Y,
    DMY,
    EPOCH_MILLIS,
    EPOCH_SECONDS,
    EXCEL_SERIAL,
    MDY,
    MON_D_Y,
    YMD,
    YMD_COMPACT,
    AmbiguousDateFormat,
    DateFormat,
    date_expr,
    detect_date_format,
)

MAR5 = dt.date(2024, 3, 5)


def parse_column(values: list[str | None], override: str | None = None) -> list[dt.date | None]:
    series = pl.Series("order_date", values, dtype=pl.String)
    fmt = detect_date_format(series, override)
    return series.to_frame().select(date_expr("order_date", fmt)).to_series().to_list()


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05",
        "2024-03-05 14:22:10",
        "2024-03-05 14:22:10 -0500",  # offset: the date as written, not UTC
        "2024-03-05T23:59:59-08:00",
        "2024-03-05T14:22:10Z",
        "2024-03-05T14:22:10.123+08:00",
        "2024-03-05T00:30:00+1400",
        "2024-03-05 14:22:10 UTC",
        "2024-03-05 2:22 PM",
        "2024-3-5",
        "2024/3/5",
        "2024/03/05 14:22",
        "2024.3.5",
        "2024年3月5日",
        "2024年3月5日 14:22",
        "2024年03月05日 下午2:22:10",
        "２０２４年３月５日",
        "２０２４－０３－０５",
        "  2024-03-05  ",
        "20240305",
        "20240305142210",
        "05.03.2024",  # dots: day first
        "5-Mar-2024",
        "05-MAR-24",
        "5 Mar 2024",
        "05 March 2024",
        "Tue, 05 Mar 2024 14:22:10 GMT",
        "Mar 5, 2024",
        "March 5th, 2024",
        "Mar 5 2024",
        "Tue Mar 05 2024 14:22:10 GMT+0800 (China Standard Time)",
        "45356",  # Excel serial, 1900 system
        "45356.75",  # serial with a time fraction
        "1709596800",  # epoch seconds (2024-03-05T00:00:00Z)
        "1709683199",  # 2024-03-05T23:59:59Z
        "1709596800000",  # epoch millis
    ],
)
def test_single_layouts(text: str) -> None:
    assert parse_column([text]) == [MAR5]


@pytest.mark.parametrize(
    "text",
    ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0024-01-01",
     "2024-03-05 garbage", "not a date", "2024-03", "3/5", "12345", "99999", "1e9",
     "Foo 5, 2024", "2024年3月", "32.01.2024"],
)
def test_invalid_is_null(text: str) -> None:
    assert parse_column([text, "2024-03-05"]) == [None, MAR5]


def test_leap_day_and_blank() -> None:
    assert parse_column(["2024-02-29", "", None, "2000-02-29", "1900-02-28"]) == [
        dt.date(2024, 2, 29), None, None, dt.date(2000, 2, 29), dt.date(1900, 2, 28),
    ]


def test_excel_serial_reference_points() -> None:
    # Excel: =DATE(2024,3,5) is 45356; =DATE(2000,1,1) is 36526; =DATE(1970,1,1) is 25569.
    assert parse_column(["45356", "36526", "25569", "19999", "80001"]) == [
        MAR5, dt.date(2000, 1, 1), dt.date(1970, 1, 1), None, None,
    ]


def test_two_digit_years() -> None:
    assert parse_column(["13/03/24", "01/01/00", "31/12/68", "01/01/69", "05/03/99"]) == [
        dt.date(2024, 3, 13), dt.date(2000, 1, 1), dt.date(2068, 12, 31),
        dt.date(1969, 1, 1), dt.date(1999, 3, 5),
    ]


# --- the per-column day/month decision ---------------------------------------


def test_day_first_proven_by_one_value() -> None:
    assert parse_column(["05/03/2024", "13/03/2024", "01/02/2024"]) == [
        MAR5, dt.date(2024, 3, 13), dt.date(2024, 2, 1),
    ]


def test_month_first_proven_by_one_value() -> None:
    assert parse_column(["3/5/2024", "3/13/2024", "12/1/2024"]) == [
        MAR5, dt.date(2024, 3, 13), dt.date(2024, 12, 1),
    ]


def test_the_decision_is_per_column_not_per_row() -> None:
    """Majority month-first: the day-first outlier is a reject, not re-read."""
    assert parse_column(["3/13/2024", "3/14/2024", "13/3/2024", "3/5/2024"]) == [
        dt.date(2024, 3, 13), dt.date(2024, 3, 14), None, MAR5,
    ]


def test_truly_ambiguous_raises_with_examples_and_hint() -> None:
    with pytest.raises(AmbiguousDateFormat) as info:
        parse_column(["03/05/2024", "04/06/2024", "01/02/2024", "01/02/2024"])
    err = info.value
    assert err.column == "order_date"
    assert err.examples == ["03/05/2024", "04/06/2024", "01/02/2024"]
    assert "--date-format" in str(err) and "order_date" in str(err)
    assert "--date-format" in err.hint


def test_contradicting_evidence_in_equal_measure_raises() -> None:
    with pytest.raises(AmbiguousDateFormat):
        parse_column(["13/03/2024", "03/13/2024"])


def test_ambiguous_resolved_by_override() -> None:
    values = ["03/05/2024", "04/06/2024"]
    assert parse_column(values, "%d/%m/%Y") == [dt.date(2024, 5, 3), dt.date(2024, 6, 4)]
    assert parse_column(values, "%m/%d/%Y") == [MAR5, dt.date(2024, 4, 6)]


def test_override_with_time_and_offset_keeps_date_as_written() -> None:
    assert parse_column(["05/03/2024 23:30 -0500", "bad"], "%d/%m/%Y %H:%M %z") == [MAR5, None]
    assert parse_column(["05/03/2024 23:30"], "%d/%m/%Y %H:%M") == [MAR5]


def test_equal_fields_need_no_decision() -> None:
    assert parse_column(["03/03/2024", "2024-01-01"]) == [dt.date(2024, 3, 3), dt.date(2024, 1, 1)]


def test_mixed_layouts_in_one_column() -> None:
    """Mostly ISO plus some Excel serials and Chinese dates: each row parses."""
    values = ["2024-03-05", "45357", "2024年3月7日", "2024-03-08 10:00", "13/03/2024", "x"]
    fmt = detect_date_format(pl.Series("d", values))
    assert fmt.kind == YMD
    assert set(fmt.kinds) == {YMD, EXCEL_SERIAL, DMY}
    assert parse_column(values) == [
        MAR5, dt.date(2024, 3, 6), dt.date(2024, 3, 7), dt.date(2024, 3, 8),
        dt.date(2024, 3, 13), None,
    ]


def test_evidence_is_reported() -> None:
    fmt = detect_date_format(pl.Series(["13/03/2024", "05/03/2024", "1/2/2024"]))
    counts = dict(fmt.counts)
    assert fmt.kinds == (DMY,)
    assert counts[DMY] == 3 and counts["day_first_evidence"] == 1
    assert counts["month_first_evidence"] == 0


def test_garbage_column_parses_nothing() -> None:
    values = ["not a date", "hello", "", None, "12345", "1.5"]
    fmt = detect_date_format(pl.Series("d", values))
    assert fmt.kinds == () and fmt.kind == "none"
    assert parse_column(values) == [None] * len(values)


def test_empty_and_all_null_columns() -> None:
    assert detect_date_format(pl.Series("d", [], dtype=pl.String)).kinds == ()
    assert parse_column([None, None]) == [None, None]


# --- property: any valid date in any supported layout parses back --------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
EPOCH = dt.date(1970, 1, 1)
EPOCH_LAST = EPOCH + dt.timedelta(days=7_199_999_999 // 86400 - 1)


def _serial(d: dt.date) -> str:
    return str((d - dt.date(1899, 12, 30)).days)


LAYOUTS = {
    # kind: (renderer, earliest date it can express, latest)
    YMD: (lambda d, s: [f"{d:%Y-%m-%d}", f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month}.{d.day}",
                        f"{d.year}年{d.month}月{d.day}日", f"{d:%Y-%m-%d}T{s // 3600:02d}:{s // 60 % 60:02d}:00+08:00",
                        f"{d:%Y-%m-%d} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d} -0500",
                        f"{d:%Y-%m-%d}".translate(FULLWIDTH)][s % 7], None, None),
    YMD_COMPACT: (lambda d, s: f"{d:%Y%m%d}", None, None),
    DMY: (lambda d, s: [f"{d:%d/%m/%Y}", f"{d.day}.{d.month}.{d.year}", f"{d:%d-%m-%Y}"][s % 3], None, None),
    MDY: (lambda d, s: [f"{d:%m/%d/%Y}", f"{d.month}/{d.day}/{d.year}"][s % 2], None, None),
    D_MON_Y: (lambda d, s: [f"{d.day}-{MONTHS[d.month - 1][:3]}-{d.year}",
                            f"{d:%d} {MONTHS[d.month - 1]} {d.year}"][s % 2], None, None),
    MON_D_Y: (lambda d, s: [f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
                            f"{MONTHS[d.month - 1]} {d.day} {d.year}"][s % 2], None, None),
    EXCEL_SERIAL: (lambda d, s: _serial(d) + ("" if s % 2 else f".{s}"),
                   dt.date(1954, 10, 3), dt.date(2119, 1, 10)),
    # the epoch patterns accept instants up to 7,199,999,999 s (early 2198)
    EPOCH_SECONDS: (lambda d, s: str((d - EPOCH).days * 86400 + s), dt.date(2001, 9, 10), EPOCH_LAST),
    EPOCH_MILLIS: (lambda d, s: str(((d - EPOCH).days * 86400 + s) * 1000 + s % 1000),
                   dt.date(2001, 9, 10), EPOCH_LAST),
}


@settings(max_examples=120, deadline=None)
@given(kind=st.sampled_from(sorted(LAYOUTS)),
       dates=st.lists(st.tuples(st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31)),
                                st.integers(0, 86399)), min_size=1, max_size=25))
def test_any_valid_date_round_trips(kind: str, dates: list[tuple[dt.date, int]]) -> None:
    render, lo, hi = LAYOUTS[kind]
    dates = [(d, s) for d, s in dates if (lo is None or d >= lo) and (hi is None or d <= hi)]
    texts = [render(d, s) for d, s in dates]
    fmt = DateFormat(kinds=(kind,))
    got = pl.DataFrame({"d": texts}, schema={"d": pl.String}).select(date_expr("d", fmt))
    assert got.to_series().to_list() == [d for d, _ in dates], texts
    if kind not in (DMY, MDY) and texts:  # detection finds the kind (and the fast ISO path)
        assert parse_column(texts) == [d for d, _ in dates], texts


@settings(max_examples=60, deadline=None)
@given(day_first=st.booleans(),
       dates=st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)), min_size=1, max_size=30))
def test_detection_never_reads_dates_the_wrong_way(day_first: bool, dates: list[dt.date]) -> None:
    """Detection either decides correctly or refuses; it never swaps day and month."""
    texts = [f"{d:%d/%m/%Y}" if day_first else f"{d:%m/%d/%Y}" for d in dates]
    try:
        got = parse_column(texts)
    except AmbiguousDateFormat:
        assert all(d.day <= 12 for d in dates)
        return
    assert got == dates
