"""Service quality: ticket reading (en/zh headers, accounting) and every KPI against a
plain-Python reference on generated tickets and orders."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
from pathlib import Path

import jsonschema
import polars as pl
import pytest
from conftest import EXAMPLES, run_cli

from custinv.analytics.service import GROUP, churn_by_complaint, overall_kpis, period_rows, service_table
from custinv.config import Settings
from custinv.ingest.tickets import read_tickets

AS_OF = dt.date(2024, 3, 31)
END = dt.datetime(2024, 4, 1)


# ----------------------------------------------------------------------------- generated data


def _tickets(seed: int, n: int = 60) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        created = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=rng.randrange(0, 91 * 24 * 60))
        resolved = created + dt.timedelta(minutes=rng.randrange(0, 6 * 24 * 60)) if rng.random() < 0.7 else None
        if resolved is not None and resolved > END:
            resolved = None
        rows.append({
            "customer_id": rng.choice([None, *[f"c{k}" for k in range(12)]]),
            "created": created,
            "resolved": resolved,
            "kind": rng.choice(["complaint", "inquiry", "return", "other"]),
            "is_resolved": resolved is not None or rng.random() < 0.2,
            "satisfied": rng.choice([None, True, False]),
            "nps": rng.choice([None, *range(11)]),
        })
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "created": pl.Datetime("us"),
                                      "resolved": pl.Datetime("us"), "kind": pl.String, "is_resolved": pl.Boolean,
                                      "satisfied": pl.Boolean, "nps": pl.Int64})


def _orders(seed: int, n: int = 80) -> pl.DataFrame:
    rng = random.Random(seed + 1)
    return pl.DataFrame({
        "customer_id": [f"c{rng.randrange(15)}" for _ in range(n)],
        "order_date": [dt.date(2023, 12, 1) + dt.timedelta(days=rng.randrange(122)) for _ in range(n)],
    })


def reference(tickets: list[dict], orders: list[dict], sla_hours: float) -> dict:
    """Every KPI by the definitions in the module docstring, one ticket at a time."""
    complaints = [t for t in tickets if t["kind"] == "complaint"]
    complainers = {t["customer_id"] for t in complaints if t["customer_id"] is not None}
    active = {o["customer_id"] for o in orders} | {t["customer_id"] for t in tickets if t["customer_id"]}
    hours = [(t["resolved"] - t["created"]).total_seconds() / 3600 for t in tickets if t["resolved"]]
    sla = dt.timedelta(hours=sla_hours)
    known = [t for t in tickets if t["resolved"] or (not t["is_resolved"] and t["created"] + sla <= END)]
    met = [t for t in known if t["resolved"] and t["resolved"] - t["created"] <= sla]
    answers = [t["satisfied"] for t in tickets if t["satisfied"] is not None]
    nps = [t["nps"] for t in tickets if t["nps"] is not None]
    return {
        "tickets": len(tickets),
        "complaints": len(complaints),
        "customers_with_complaints": len(complainers),
        "active_customers": len(active),
        "complaint_rate": len(complainers) / len(active) if active else None,
        "orders": len(orders),
        "tickets_per_100_orders": 100 * len(tickets) / len(orders) if orders else None,
        "resolved_tickets": sum(t["is_resolved"] for t in tickets),
        "median_resolution_hours": statistics.median(hours) if hours else None,
        "sla_tickets": len(known),
        "sla_rate": len(met) / len(known) if known else None,
        "csat_responses": len(answers),
        "csat": sum(answers) / len(answers) if answers else None,
        "nps_responses": len(nps),
        "nps": 100 * (sum(v >= 9 for v in nps) - sum(v <= 6 for v in nps)) / len(nps) if nps else None,
    }


def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("sla_hours", [4.0, 48.0])
def test_overall_kpis_match_reference(seed, sla_hours):
    tickets, orders = _tickets(seed), _orders(seed)
    got = dict(overall_kpis(tickets, orders, AS_OF, sla_hours))  # raw values (model_dump rounds)
    start = tickets["created"].min().date()
    window = [o for o in orders.to_dicts() if start <= o["order_date"] <= AS_OF]
    want = reference(tickets.to_dicts(), window, sla_hours)
    assert set(got) == set(want)
    for key in want:
        assert _close(got[key], want[key]), (key, got[key], want[key])


@pytest.mark.parametrize("seed", range(4))
def test_period_rows_match_reference(seed):
    tickets, orders = _tickets(seed), _orders(seed)
    rows = period_rows(tickets, orders, AS_OF, 48.0, period="month", periods=12)
    assert [r.period for r in rows] == ["2024-01", "2024-02", "2024-03"]
    assert not any(r.partial for r in rows)  # 31 March is the last day of its month
    for r in rows:
        year, month = map(int, r.period.split("-"))
        mine = [t for t in tickets.to_dicts() if (t["created"].year, t["created"].month) == (year, month)]
        their = [o for o in orders.to_dicts() if (o["order_date"].year, o["order_date"].month) == (year, month)]
        want = reference(mine, their, 48.0)
        got = dict(r)
        for key in want:
            assert _close(got[key], want[key]), (r.period, key, got[key], want[key])


def test_partial_period_flag():
    tickets, orders = _tickets(1), _orders(1)
    rows = period_rows(tickets, orders, dt.date(2024, 3, 15), 48.0)
    assert rows[-1].period == "2024-03" and rows[-1].partial
    assert not rows[0].partial


def test_service_table_groups_are_independent():
    """Grouping by a column gives each group exactly its own reference numbers."""
    tickets, orders = _tickets(3), _orders(3)
    t = tickets.with_columns((pl.col("created").dt.day() % 2).cast(pl.String).alias(GROUP))
    o = orders.with_columns((pl.col("order_date").dt.day() % 2).cast(pl.String).alias(GROUP))
    table = {r[GROUP]: r for r in service_table(t, o, end=END, sla_hours=24).iter_rows(named=True)}
    for g in ("0", "1"):
        want = reference(t.filter(pl.col(GROUP) == g).to_dicts(), o.filter(pl.col(GROUP) == g).to_dicts(), 24)
        for key in want:
            assert _close(table[g][key], want[key]), (g, key)


def test_churn_by_complaint_matches_reference():
    rng = random.Random(5)
    customers = pl.DataFrame({
        "customer_id": [f"c{k}" for k in range(12)] + ["p1"],
        "orders": [rng.randrange(1, 5) for _ in range(12)] + [0],
        "recency_days": [rng.randrange(0, 300) for _ in range(12)] + [None],
    })
    tickets = _tickets(5)
    got = {g.group: g for g in churn_by_complaint(tickets, customers, churn_days=120)}
    complaints = [t for t in tickets.to_dicts() if t["kind"] == "complaint" and t["customer_id"]]
    unresolved = {t["customer_id"] for t in complaints if not t["is_resolved"]}
    complained = {t["customer_id"] for t in complaints}
    buyers = {r["customer_id"]: r["recency_days"] > 120 for r in customers.to_dicts() if r["orders"] >= 1}
    groups = {
        "complained": [c for c in buyers if c in complained],
        "no_complaint": [c for c in buyers if c not in complained],
        "unresolved_complaint": [c for c in buyers if c in unresolved],
        "resolved_complaint": [c for c in buyers if c in complained and c not in unresolved],
    }
    for name, members in groups.items():
        churned = sum(buyers[c] for c in members)
        assert got[name].customers == len(members)
        assert got[name].churned == churned
        assert _close(got[name].churn_rate, churned / len(members) if members else None)


# ----------------------------------------------------------------------------- reading exports


def test_read_english_ticket_export():
    t = read_tickets(EXAMPLES / "tickets.csv", Settings(), dt.date(2024, 3, 28))
    r = t.report
    assert r.mapping["customer_id"] == "Organization ID"  # an id beats the requester's email
    assert r.mapping["resolved"] == "Solved at"
    assert (r.rows_read, r.rows_used, r.rows_excluded, r.reject_reasons) == (16, 14, {"duplicate": 1},
                                                                              {"bad_resolved": 1})
    assert r.rows_read == r.rows_used + sum(r.rows_excluded.values()) + r.rows_rejected
    frame = t.tickets
    assert frame["kind"].value_counts().sort("kind").rows() == [("complaint", 6), ("inquiry", 5), ("other", 3)]
    first = frame.row(0, named=True)
    assert first["created"] == dt.datetime(2023, 5, 2, 9, 14) and first["resolved"] == dt.datetime(2023, 5, 2, 15, 40)
    assert first["satisfied"] is True and first["nps"] == 9
    assert frame.filter(pl.col("ticket_id") == "5106")["is_resolved"].item() is False
    assert frame.filter(pl.col("ticket_id") == "5114")["customer_id"].item() is None


def test_read_chinese_ticket_export():
    t = read_tickets(EXAMPLES / "tickets_zh.csv", Settings(), dt.date(2024, 3, 28))
    r = t.report
    assert r.mapping == {"ticket_id": "工单编号", "customer_id": "客户编号", "created": "创建时间", "resolved": "解决时间",
                         "ticket_type": "工单类型", "status": "处理状态", "channel": "受理渠道", "satisfaction": "满意度",
                         "nps": "推荐意愿"}
    assert (r.rows_read, r.rows_used, r.rows_excluded, r.reject_reasons) == (16, 14, {"after_as_of": 1},
                                                                              {"bad_score": 1})
    frame = t.tickets
    assert frame.filter(pl.col("kind") == "complaint").height == 7
    assert frame.filter(pl.col("ticket_id") == "T2024021411")["satisfied"].item() is True  # 满意
    assert frame.filter(pl.col("ticket_id") == "T2023102105")["is_resolved"].item() is False  # 处理中
    assert frame.filter(pl.col("ticket_id") == "T2023111206")["created"].item() == dt.datetime(2023, 11, 12, 0, 30)


def test_twelve_hour_clock_and_date_only(write):
    path = write("t.csv", "Ticket ID,Customer ID,Type,Created,Resolved\n"
                          "1,A,Complaint,3/5/2024 2:15 PM,3/6/2024 9:00 AM\n"
                          "2,B,Question,3/15/2024,3/16/2024\n")
    frame = read_tickets(path, Settings()).tickets
    assert frame["created"].to_list() == [dt.datetime(2024, 3, 5, 14, 15), dt.datetime(2024, 3, 15)]
    assert frame["resolved"].to_list() == [dt.datetime(2024, 3, 6, 9, 0), dt.datetime(2024, 3, 16)]


# ----------------------------------------------------------------------------- end to end


def test_audit_with_tickets_end_to_end():
    proc = run_cli("audit", str(EXAMPLES / "crm_orders_zh.csv"), "--tickets", str(EXAMPLES / "tickets_zh.csv"),
                   "--sla-hours", "24", "--no-clv", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    from custinv.render.tabular import json_schema

    jsonschema.validate(data, json_schema())
    svc = data["service"]
    assert svc["sla_hours"] == 24
    k = svc["kpis"]
    assert (k["tickets"], k["complaints"], k["customers_with_complaints"]) == (14, 7, 7)
    # known outcomes at the end of 2024-03-28: 11 resolved with a time + 3 open past 24 h
    assert k["sla_tickets"] == 14
    assert k["csat_responses"] == 11 and k["nps_responses"] == 10
    assert svc["anonymous_tickets"] == 1
    groups = {g["group"]: g for g in svc["churn_by_complaint"]}
    assert groups["complained"]["customers"] + groups["no_complaint"]["customers"] == data["kpis"]["customers"]
    table = run_cli("audit", str(EXAMPLES / "crm_orders_zh.csv"), "--tickets", str(EXAMPLES / "tickets_zh.csv"),
                    "--lang", "zh", "--no-clv")
    assert table.returncode == 0, table.stderr
    assert "服务质量" in table.stdout and "投诉与流失" in table.stdout


def test_missing_ticket_file_is_exit_66():
    proc = run_cli("audit", str(EXAMPLES / "shopify_orders.csv"), "--tickets", "nope.csv", "--format", "json")
    assert proc.returncode == 66
    assert json.loads(proc.stderr)["error"]["exit_code"] == 66


def test_example_files_exist():
    for name in ("tickets.csv", "tickets_zh.csv", "crm_accounts.csv", "crm_accounts_zh.csv"):
        assert (EXAMPLES / name).is_file()
    assert Path(EXAMPLES / "tickets_zh.csv").read_bytes().startswith(b"\xef\xbb\xbf")
