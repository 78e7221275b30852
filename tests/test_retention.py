"""First-purchase cohorts against a brute-force reference in plain Python."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
from conftest import ledger_of
from hypothesis import given, settings
from hypothesis import strategies as st

from custinv.analytics.retention import cohort_matrix_frame, retention_section

ONE = dt.timedelta(days=1)
Order = tuple[str, dt.date, float]


def ref_start(d: dt.date, period: str) -> dt.date:
    if period == "week":
        return d - dt.timedelta(days=d.weekday())
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    return dt.date(d.year, d.month - (d.month - 1) % months, 1)


def ref_label(start: dt.date, period: str) -> str:
    if period == "week":
        y, w, _ = start.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}" if period == "month" else str(start.year)


def ref_cohorts(orders: list[Order], as_of: dt.date, period: str) -> list[dict]:
    """Walk the periods from the first order to as_of; count members and revenue per cell."""
    orders = [o for o in orders if o[1] <= as_of]
    starts = [ref_start(min(d for _, d, _ in orders), period)]
    while True:  # the next period starts the day after this one's last day
        step = {"week": 7, "month": 32, "quarter": 100, "year": 400}[period]  # lands in the next
        nxt = ref_start(starts[-1] + dt.timedelta(days=step), period)
        if nxt > as_of:
            break
        starts.append(nxt)
    pos = {s: i for i, s in enumerate(starts)}
    first: dict[str, int] = {}
    for c, d, _ in sorted(orders, key=lambda o: o[1]):
        first.setdefault(c, pos[ref_start(d, period)])
    members: dict[tuple[int, int], set[str]] = defaultdict(set)
    revenue: dict[tuple[int, int], float] = defaultdict(float)
    for c, d, a in orders:
        k = pos[ref_start(d, period)] - first[c]
        members[first[c], k].add(c)
        revenue[first[c], k] += a
    width = len(starts)
    out = []
    for i in sorted(set(first.values())):
        reached = width - i
        size = len(members[i, 0])
        out.append(
            {
                "cohort": ref_label(starts[i], period),
                "size": size,
                "customers": [len(members[i, k]) for k in range(reached)] + [None] * i,
                "revenue": [revenue[i, k] for k in range(reached)] + [None] * i,
                "retention": [len(members[i, k]) / size for k in range(reached)] + [None] * i,
            }
        )
    return out



def assert_matches(orders: list[Order], as_of: dt.date, period: str) -> list[dict]:
    section = retention_section(ledger_of(orders), as_of, period=period)
    assert section.period == period
    got = {"cohorts": [dict(c) for c in section.cohorts]}  # raw values, not serialised (rounded)
    ref = ref_cohorts(orders, as_of, period)
    assert [c["cohort"] for c in got["cohorts"]] == [c["cohort"] for c in ref]
    for g, r in zip(got["cohorts"], ref, strict=True):
        assert g["size"] == r["size"] == g["customers"][0]
        assert g["customers"] == r["customers"]
        for key in ("revenue", "retention"):
            assert [v is None for v in g[key]] == [v is None for v in r[key]]
            assert [v for v in g[key] if v is not None] == pytest.approx(
                [v for v in r[key] if v is not None], rel=1e-12, abs=1e-9
            )
    return got["cohorts"]


@pytest.mark.parametrize("period", ["month", "quarter", "week", "year"])
def test_seeded_ledger_matches_brute_force(period: str) -> None:
    rng = random.Random(11)
    start = dt.date(2023, 1, 2)
    orders: list[Order] = [("solo", dt.date(2022, 6, 15), 9.5)]  # a cohort nobody returns from
    for i in range(150):
        day = start + dt.timedelta(days=rng.randrange(560))
        for _ in range(rng.choice([1, 1, 2, 4, 6])):
            orders.append((f"c{i:03d}", day, round(rng.uniform(1, 99), 2)))
            day += dt.timedelta(days=rng.choice([0, 5, 30, 70, 150]))
    as_of = dt.date(2024, 8, 14)  # inside a period: the last column is the partial period
    cohorts = assert_matches(orders, as_of, period)
    solo = cohorts[0]
    assert solo["size"] == 1
    assert solo["customers"][1:] == [0] * (len(solo["customers"]) - 1)  # 0, never null
    assert cohorts[-1]["customers"][-1] is None  # a younger cohort has unreached periods
    assert len({len(c["customers"]) for c in cohorts}) == 1  # padded to one width


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 500), st.integers(0, 40)),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["month", "quarter", "week"]),
    st.integers(0, 520),
)
def test_property_matches_brute_force(raw, period, as_of_offset) -> None:
    base = dt.date(2023, 12, 27)
    orders = [(f"c{c}", base + dt.timedelta(days=d), float(a)) for c, d, a in raw]
    as_of = max(base + dt.timedelta(days=as_of_offset), min(o[1] for o in orders))
    assert_matches(orders, as_of, period)


def test_csv_matrix_frame() -> None:
    d = dt.date
    orders = [("a", d(2024, 1, 5), 10.0), ("a", d(2024, 3, 5), 20.0), ("b", d(2024, 2, 1), 5.0)]
    section = retention_section(ledger_of(orders), d(2024, 3, 10))
    frame = cohort_matrix_frame(section)
    assert frame.columns == ["cohort", "size", "p0", "p1", "p2"]
    assert frame.rows() == [("2024-01", 1, 1, 0, 1), ("2024-02", 1, 1, 0, None)]
    revenue = cohort_matrix_frame(section, "revenue")
    assert revenue.row(0) == ("2024-01", 1, 10.0, 0.0, 20.0)
    csv = cohort_matrix_frame(section, "retention").write_csv()
    assert csv.splitlines()[2] == "2024-02,1,1.0,0.0,"
    with pytest.raises(ValueError):
        cohort_matrix_frame(section, "margin")  # type: ignore[arg-type]
