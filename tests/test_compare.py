"""Comparing two stocktakes: migration matrices, gained/lost and movers against plain-Python
references on generated customer frames; KPI deltas; no change when nothing changed."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import polars as pl
import pytest
from conftest import EXAMPLES, run_cli
from hypothesis import given
from hypothesis import strategies as st

from custinv.analytics.compare import (
    AXES,
    LOST,
    NEW,
    gained_and_lost,
    kpi_deltas,
    migration_matrix,
    movers,
)

SEGMENTS = ["champions", "loyal", "at_risk", "lost"]
TIERS = ["high", "medium", "low"]
STAGES = ["prospect", "new", "active", "churned"]


def _frame(seed: int, ids: list[str]) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for cid in ids:
        buyer = rng.random() < 0.85
        rows.append({
            "customer_id": cid,
            "orders": rng.randrange(1, 6) if buyer else 0,
            "revenue": float(rng.randrange(0, 5000)) / 4 if buyer else 0.0,
            "rfm_segment": rng.choice(SEGMENTS) if buyer else None,
            "value_tier": rng.choice(TIERS) if buyer else None,
            "lifecycle_stage": rng.choice(STAGES[1:]) if buyer else "prospect",
            "clv": rng.choice([None, float(rng.randrange(0, 900))]) if buyer else None,
        })
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "orders": pl.Int64, "revenue": pl.Float64,
                                      "rfm_segment": pl.String, "value_tier": pl.String, "lifecycle_stage": pl.String,
                                      "clv": pl.Float64})


def _pair(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    ids = [f"c{k}" for k in range(60)]
    old_ids = [c for c in ids if rng.random() < 0.8]
    new_ids = [c for c in ids if rng.random() < 0.8]
    return _frame(seed, old_ids), _frame(seed + 100, new_ids)


def migration_reference(old: list[dict], new: list[dict], axis: str) -> dict[tuple[str, str], tuple[int, float]]:
    before = {r["customer_id"]: r for r in old if r[axis] is not None}
    after = {r["customer_id"]: r for r in new if r[axis] is not None}
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for cid in before.keys() | after.keys():
        frm = before[cid][axis] if cid in before else NEW
        to = after[cid][axis] if cid in after else LOST
        revenue = after[cid]["revenue"] if cid in after else before[cid]["revenue"]
        cells[(frm, to)].append(revenue)
    return {k: (len(v), sum(v)) for k, v in cells.items()}


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("axis", AXES)
def test_migration_matrix_matches_reference(seed, axis):
    old, new = _pair(seed)
    got = {(r["from"], r["to"]): (r["customers"], r["revenue"])
           for r in migration_matrix(old, new, axis).iter_rows(named=True)}
    want = migration_reference(old.to_dicts(), new.to_dicts(), axis)
    assert got.keys() == want.keys()
    for key, (n, revenue) in want.items():
        assert got[key][0] == n
        assert got[key][1] == pytest.approx(revenue)


def _live(rows: list[dict]) -> dict[str, dict]:
    return {r["customer_id"]: r for r in rows if r["orders"] >= 1 and r["lifecycle_stage"] != "churned"}


@pytest.mark.parametrize("seed", range(10))
def test_gained_and_lost_match_reference(seed):
    old, new = _pair(seed)
    n_gained, n_lost, gained, lost = gained_and_lost(old, new, top=5)
    before, after = _live(old.to_dicts()), _live(new.to_dicts())
    want_gained = after.keys() - before.keys()
    want_lost = before.keys() - after.keys()
    assert (n_gained, n_lost) == (len(want_gained), len(want_lost))

    def value(r: dict) -> float:
        return r["clv"] if r["clv"] is not None else r["revenue"]

    top_gained = sorted(want_gained, key=lambda c: (-value(after[c]), c))[:5]
    top_lost = sorted(want_lost, key=lambda c: (-value(before[c]), c))[:5]
    assert [g.customer_id for g in gained] == top_gained
    assert [x.customer_id for x in lost] == top_lost
    old_buyers = {r["customer_id"] for r in old.to_dicts() if r["orders"] >= 1}
    new_ids = set(new["customer_id"])
    for g in gained:
        assert g.reason == ("reactivated" if g.customer_id in old_buyers else "new")
    for x in lost:
        assert x.reason == ("churned" if x.customer_id in new_ids else "missing")


def test_movers_are_changed_customers_by_value():
    old, new = _pair(4)
    got = movers(old, new, top=100)
    before = {r["customer_id"]: r for r in old.to_dicts()}
    after = {r["customer_id"]: r for r in new.to_dicts()}
    want = [c for c in before.keys() & after.keys() if any(before[c][a] != after[c][a] for a in AXES)]

    def value(r: dict) -> float:
        return r["clv"] if r["clv"] is not None else r["revenue"]

    assert [m.customer_id for m in got] == sorted(want, key=lambda c: (-value(after[c]), c))
    for m in got:
        assert m.changes == {a: [before[m.customer_id][a], after[m.customer_id][a]] for a in AXES
                             if before[m.customer_id][a] != after[m.customer_id][a]}


@given(st.dictionaries(st.sampled_from(["customers", "revenue", "churn_rate", "label"]),
                       st.one_of(st.none(), st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))),
       st.dictionaries(st.sampled_from(["customers", "revenue", "churn_rate"]),
                       st.one_of(st.none(), st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))))
def test_kpi_deltas(old, new):
    deltas = kpi_deltas(old, new)
    assert set(deltas) == set(old) | set(new)
    for key, d in deltas.items():
        a, b = old.get(key), new.get(key)
        assert d.old == (None if a is None else float(a)) and d.new == (None if b is None else float(b))
        assert d.delta == (None if a is None or b is None else float(b) - float(a))


def test_non_numbers_are_not_kpis():
    assert kpi_deltas({"x": "text", "y": 1}, {"x": "other", "y": 3, "z": [1]}).keys() == {"y"}


def test_same_frames_mean_no_change():
    old, _ = _pair(2)
    n_gained, n_lost, gained, lost = gained_and_lost(old, old)
    assert (n_gained, n_lost, gained, lost) == (0, 0, [], [])
    for axis in AXES:
        assert all(r["from"] == r["to"] for r in migration_matrix(old, old, axis).iter_rows(named=True))
    assert movers(old, old) == []


# ----------------------------------------------------------------------------- through the CLI


def _snapshot(root, *extra: str) -> None:
    proc = run_cli("audit", str(EXAMPLES / "salesforce_opportunities.csv"), "--customers-file",
                   str(EXAMPLES / "crm_accounts.csv"), "--tickets", str(EXAMPLES / "tickets.csv"),
                   "--snapshot", str(root), "--no-clv", "-q", "--format", "json", *extra)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def snaps(tmp_path_factory):
    """One folder with two stocktakes of the Salesforce example: as of 2023-12-31 and as of its end."""
    root = tmp_path_factory.mktemp("compare") / "snaps"
    _snapshot(root, "--as-of", "2023-12-31")
    _snapshot(root)
    return root


def test_compare_same_data_twice_reports_zero_change(snaps, tmp_path):
    folder = snaps / "2024-03-28"
    (tmp_path / "copy").mkdir()
    for f in folder.iterdir():
        (tmp_path / "copy" / f.name).write_bytes(f.read_bytes())
    proc = run_cli("compare", str(folder), str(tmp_path / "copy"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data)[:2] == ["schema_version", "old"]
    assert {"customers_gained", "customers_lost", "gained_customers", "lost_customers", "kpi_deltas",
            "migrations"} <= set(data)
    assert (data["customers_gained"], data["customers_lost"]) == (0, 0)
    assert data["gained_customers"] == data["lost_customers"] == data["movers"] == []
    assert data["kpi_deltas"]["revenue"] == {"old": 593100.0, "new": 593100.0, "delta": 0.0}
    assert all(d["delta"] in (0, None) for d in data["kpi_deltas"].values())
    assert set(data["migrations"]) == set(AXES)
    for cells in data["migrations"].values():
        assert cells and all(c["from"] == c["to"] for c in cells)
        assert set(cells[0]) == {"from", "to", "customers", "revenue"}
    assert sum(c["customers"] for c in data["migrations"]["lifecycle_stage"]) == 17  # 12 buyers + 5 prospects


def test_compare_since_against_the_newest(snaps):
    proc = run_cli("compare", str(snaps), "--since", "2024-01-15", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["old"]["as_of"], data["new"]["as_of"]) == ("2023-12-31", "2024-03-28")
    # Oceanic Airlines' first deal closed on 2024-01-10: a prospect then, a buyer now
    assert data["customers_gained"] == 1
    assert data["gained_customers"][0]["customer_id"] == "0018c00002Vd6PwAAJ"
    assert data["gained_customers"][0]["reason"] == "new"
    assert data["kpi_deltas"]["revenue"]["delta"] == pytest.approx(593100.0 - data["kpi_deltas"]["revenue"]["old"])
    assert {"from": "prospect", "to": "active", "customers": 1, "revenue": 46650.0} in \
        data["migrations"]["lifecycle_stage"]
    table = run_cli("compare", str(snaps), "--since", "2024-01-15")
    assert table.returncode == 0, table.stderr
    assert "Migration" in table.stdout and "Customers gained" in table.stdout


@pytest.mark.parametrize(("args", "code"), [
    (["missing-a", "missing-b"], 66),
    (["only-one"], 2),
    (["a", "b", "--since", "2024-01-01"], 2),
    (["DIR", "--since", "not-a-date"], 2),
    (["DIR", "--since", "2020-01-01"], 66),
    (["DIR", "--since", "2024-06-30"], 66),  # the newest is the one before: nothing to compare
])
def test_compare_errors(snaps, tmp_path, args, code):
    args = [str(snaps) if a == "DIR" else a for a in args]
    proc = run_cli("compare", *args, "--format", "json", cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    if code != 2:
        assert json.loads(proc.stderr)["error"]["exit_code"] == code
