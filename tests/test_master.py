"""The customer master: reading and accounting, prospects, conversion (against a
plain-Python reference on generated books), dimensions from the master, buyers missing
from it, and the whole thing through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics

import jsonschema
import polars as pl
import pytest
from conftest import EXAMPLES, run_cli

from custinv.analytics.master import (
    book_section,
    conversion_section,
    fill_dimensions,
    missing_from_master,
    prospect_ids,
)
from custinv.config import Settings
from custinv.ingest.master import read_master
from custinv.models import InputFileReport

AS_OF = dt.date(2024, 6, 30)


def _book(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Random accounts (some without a signup date) and buyers (some not in the master)."""
    rng = random.Random(seed)
    accounts, buyers = [], []
    for k in range(40):
        signup = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(560)) if rng.random() < 0.9 else None
        accounts.append({"customer_id": f"a{k}", "signup_date": signup})
        if rng.random() < 0.6:
            base = signup or dt.date(2023, 6, 1)
            first = base + dt.timedelta(days=rng.randrange(-20, 200))
            if first <= AS_OF:
                buyers.append({"customer_id": f"a{k}", "first_order": first, "orders": rng.randrange(1, 5),
                               "revenue": float(rng.randrange(10, 900))})
    for k in range(5):
        buyers.append({"customer_id": f"x{k}", "first_order": dt.date(2024, 1, 1), "orders": k + 1,
                       "revenue": 100.0 * (k + 1)})
    return (pl.DataFrame(accounts, schema={"customer_id": pl.String, "signup_date": pl.Date}),
            pl.DataFrame(buyers, schema={"customer_id": pl.String, "first_order": pl.Date, "orders": pl.Int64,
                                         "revenue": pl.Float64}))


def conversion_reference(accounts: list[dict], buyers: list[dict], within: int) -> dict:
    first = {b["customer_id"]: b["first_order"] for b in buyers}
    signed = [a for a in accounts if a["signup_date"] is not None and a["signup_date"] <= AS_OF]
    eligible = [a for a in signed if a["signup_date"] + dt.timedelta(days=within) <= AS_OF]

    def converted(a: dict) -> bool:
        f = first.get(a["customer_id"])
        return f is not None and (f - a["signup_date"]).days <= within

    days = [(first[a["customer_id"]] - a["signup_date"]).days for a in signed if a["customer_id"] in first]
    periods: dict[str, list[dict]] = {}
    for a in signed:
        periods.setdefault(a["signup_date"].strftime("%Y-%m"), []).append(a)
    return {
        "accounts": len(signed),
        "accounts_eligible": len(eligible),
        "converted": sum(converted(a) for a in eligible),
        "conversion_rate": sum(converted(a) for a in eligible) / len(eligible) if eligible else None,
        "median": statistics.median([d for d in days if d >= 0]) if any(d >= 0 for d in days) else None,
        "mean": statistics.fmean([d for d in days if d >= 0]) if any(d >= 0 for d in days) else None,
        "before": sum(d < 0 for d in days),
        "periods": {p: (len(rows), sum(converted(a) for a in rows),
                        all(a["signup_date"] + dt.timedelta(days=within) <= AS_OF for a in rows))
                    for p, rows in periods.items()},
    }


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("within", [30, 90])
def test_conversion_matches_reference(seed, within):
    accounts, buyers = _book(seed)
    got = conversion_section(accounts, buyers, AS_OF, within_days=within)
    want = conversion_reference(accounts.to_dicts(), buyers.to_dicts(), within)
    assert (got.accounts, got.accounts_eligible, got.converted) == (want["accounts"], want["accounts_eligible"],
                                                                     want["converted"])
    assert got.conversion_rate == pytest.approx(want["conversion_rate"]) if want["conversion_rate"] is not None \
        else got.conversion_rate is None
    assert got.median_days_to_first_order == pytest.approx(want["median"])
    assert got.mean_days_to_first_order == pytest.approx(want["mean"])
    assert got.ordered_before_signup == want["before"]
    assert {p.period: (p.accounts, p.converted, p.complete) for p in got.periods} == want["periods"]
    assert [p.period for p in got.periods] == sorted(want["periods"])


def test_prospects_and_missing_buyers():
    accounts, buyers = _book(3)
    ids_with_orders = set(buyers["customer_id"])
    assert set(prospect_ids(accounts, buyers)["customer_id"]) == set(accounts["customer_id"]) - ids_with_orders
    missing = missing_from_master(buyers, accounts)
    assert missing["customer_id"].to_list() == ["x4", "x3", "x2", "x1", "x0"]  # by revenue, largest first
    report = InputFileReport(path="m.csv", format="csv", mapping={}, rows_read=40, rows_used=40)
    book = book_section(accounts, report, buyers, AS_OF, top=2)
    assert book.accounts == 40 and book.prospects + book.buyers == 40
    assert book.customers_missing_from_master == 5 and book.missing_orders == 15
    assert book.missing_revenue == pytest.approx(1500.0)
    assert [m.customer_id for m in book.missing_customers] == ["x4", "x3"]


def test_dimensions_come_from_the_master_only_where_orders_lack_them():
    customers = pl.DataFrame({"customer_id": ["a", "b", "c"], "orders": [1, 2, 0], "region": ["N", None, None]})
    accounts = pl.DataFrame({"customer_id": ["a", "b", "c"], "region": ["S", "E", "W"], "industry": ["x", None, "z"],
                             "channel": [None, None, None]}, schema_overrides={"channel": pl.String})
    out, filled = fill_dimensions(customers, accounts, ["region", "industry", "channel", "owner"])
    assert out["region"].to_list() == ["N", "E", "W"]  # the orders' value wins
    assert out["industry"].to_list() == ["x", None, "z"]
    assert "channel" not in out.columns or out["channel"].null_count() == 3
    assert filled == ["region", "industry"]


def test_read_chinese_master_accounting():
    master = read_master(EXAMPLES / "crm_accounts_zh.csv", Settings())
    r = master.report
    assert r.encoding == "gb18030"
    assert r.mapping["customer_id"] == "客户编号" and r.mapping["signup_date"] == "注册时间"
    assert r.mapping["segment"] == "客户类型"
    assert (r.rows_read, r.rows_used, r.rows_excluded, r.reject_reasons) == (
        19, 16, {"anonymous": 1, "duplicate": 1}, {"bad_date": 1})
    accounts = master.accounts
    assert accounts.height == accounts["customer_id"].n_unique() == 16
    assert accounts.filter(pl.col("customer_id") == "20003")["status"].item() == "正常"  # the first row wins


def test_read_salesforce_master():
    master = read_master(EXAMPLES / "crm_accounts.csv", Settings())
    assert master.report.rows_used == 17
    assert master.accounts.filter(pl.col("customer_id") == "0018c00002KpQzXAAV")["signup_date"].item() \
        == dt.date(2023, 2, 14)


def test_master_without_an_id_column_is_exit_65(write):
    path = write("m.csv", "Name Of Thing,Other\nx,y\n")
    proc = run_cli("audit", str(EXAMPLES / "shopify_orders.csv"), "--customers-file", str(path), "--no-clv")
    assert proc.returncode == 65, proc.stderr


def test_audit_with_customer_master_end_to_end():
    proc = run_cli("audit", str(EXAMPLES / "crm_orders_zh.csv"), "--customers-file",
                   str(EXAMPLES / "crm_accounts_zh.csv"), "--no-clv", "--conversion-days", "60", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    from custinv.render.tabular import json_schema

    jsonschema.validate(data, json_schema())
    book = data["customer_book"]
    # 16 accounts; 20013 (only a cancelled order), 20014 (only unpaid), 20016, 20017 never bought
    assert (book["accounts"], book["buyers"], book["prospects"]) == (16, 12, 4)
    # 20015 (the tea company, 2 orders 12,600 + 8,800) is not in the master: reported, still counted
    assert book["customers_missing_from_master"] == 1
    assert book["missing_customers"] == [{"customer_id": "20015", "orders": 2, "revenue": 21400.0}]
    assert data["kpis"]["customers"] == 13 and data["kpis"]["revenue"] == 47267.10
    assert book["dimensions_from_master"] == ["segment"]
    assert {b["dimension"] for b in data["breakdowns"]} >= {"segment"}
    stages = {r["stage"]: r["customers"] for r in data["lifecycle"]}
    assert stages["prospect"] == 4 and sum(stages.values()) == 17
    conv = book["conversion"]
    assert conv["within_days"] == 60
    assert conv["accounts"] == 16 and conv["ordered_before_signup"] == 0
