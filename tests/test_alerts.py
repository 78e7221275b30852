"""Alert rules: parsing, name resolution (kpis vs the last complete period) and evaluation."""

from __future__ import annotations

import datetime as dt

import pytest

from custinv.alerts import (
    AlertRuleError,
    any_breached,
    evaluate_alerts,
    known_kpis,
    parse_rule,
    parse_rules,
)
from custinv.models import Kpis, PeriodKpis

KPIS = {"customers": 120, "orders": 300, "revenue": 5000.0, "churn_rate": 0.1,
        "repeat_purchase_rate": 0.3, "retention_rate": None}
PERIOD = {"period": "2024-05", "partial": False, "churn_rate": 0.02,
          "net_revenue_retention": 0.85, "customers_start": 40, "revenue": 700.0}


@pytest.mark.parametrize(
    ("text", "name", "scope", "op", "threshold"),
    [
        ("churn_rate > 0.08", "churn_rate", "kpis", ">", 0.08),
        ("  repeat_purchase_rate<0.25 ", "repeat_purchase_rate", "kpis", "<", 0.25),
        ("customers >= 100", "customers", "kpis", ">=", 100.0),
        ("revenue <= 1e4", "revenue", "kpis", "<=", 10000.0),
        ("churned_customers == 0", "churned_customers", "kpis", "==", 0.0),
        ("customer_growth_rate != -.5", "customer_growth_rate", "kpis", "!=", -0.5),
        ("churn_rate > 8%", "churn_rate", "kpis", ">", 0.08),
        ("net_revenue_retention < 1", "net_revenue_retention", "period", "<", 1.0),
        ("period.churn_rate > 0.05", "churn_rate", "period", ">", 0.05),
        ("kpis.churn_rate > 0.05", "churn_rate", "kpis", ">", 0.05),
    ],
)
def test_parse(text: str, name: str, scope: str, op: str, threshold: float) -> None:
    rule = parse_rule(text)
    assert (rule.name, rule.scope, rule.op) == (name, scope, op)
    assert rule.threshold == pytest.approx(threshold)
    assert rule.text == text.strip()


@pytest.mark.parametrize(
    "text",
    ["churn_rate", "churn_rate > ", "> 0.1", "churn_rate => 0.1", "churn_rate > abc",
     "churn_rate > 0.1 extra", "churn_rate = 0.1", ""],
)
def test_malformed_rules_are_usage_errors(text: str) -> None:
    with pytest.raises(AlertRuleError, match="expected '<kpi> <op> <number>'"):
        parse_rule(text)


def test_unknown_kpi_names_the_known_ones() -> None:
    with pytest.raises(AlertRuleError) as info:
        parse_rule("churn > 0.1")
    message = str(info.value)
    assert "unknown KPI 'churn'" in message
    assert "churn_rate" in message and "period.net_revenue_retention" in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(AlertRuleError, match="unknown KPI 'period.customers'"):
        parse_rule("period.customers > 1")  # customers is not a period key
    with pytest.raises(AlertRuleError, match="unknown KPI 'kpis.customers_start'"):
        parse_rule("kpis.customers_start > 1")
    with pytest.raises(AlertRuleError):
        parse_rules(["churn_rate > 0.1", "bogus < 2"])


def test_known_kpis_come_from_the_models() -> None:
    names = known_kpis()
    assert {"customers", "churn_rate", "repeat_purchase_rate", "revenue"} <= set(names)
    assert all(n in Kpis.model_fields for n in names if not n.startswith("period."))
    assert "period.reactivated_customers" in names
    assert "period.partial" not in names and "period.period" not in names
    assert all(
        f"period.{n}" in names
        for n in PeriodKpis.model_fields
        if n not in ("period", "start", "end", "partial")
    )


def test_evaluate_reads_kpis_first_then_the_last_complete_period() -> None:
    alerts = evaluate_alerts(
        [
            "churn_rate > 0.08",  # kpis 0.1 -> breached
            "period.churn_rate > 0.08",  # period 0.02 -> fine
            "repeat_purchase_rate < 0.25",  # 0.3 -> fine
            "net_revenue_retention < 0.9",  # period only -> 0.85 breached
            "retention_rate < 0.5",  # null -> reported, not breached
            "customers_start == 40",
            "revenue >= 5000",
        ],
        KPIS,
        PERIOD,
    )
    got = [(a.kpi, a.value, a.breached) for a in alerts]
    assert got == [
        ("churn_rate", 0.1, True),
        ("period.churn_rate", 0.02, False),
        ("repeat_purchase_rate", 0.3, False),
        ("period.net_revenue_retention", 0.85, True),
        ("retention_rate", None, False),
        ("period.customers_start", 40.0, True),
        ("revenue", 5000.0, True),
    ]
    assert alerts[0].rule == "churn_rate > 0.08"
    assert any_breached(alerts)
    assert not any_breached(alerts[1:3])
    assert evaluate_alerts([], KPIS, PERIOD) == []


def test_evaluate_accepts_models_and_missing_period() -> None:
    kpis = Kpis(customers=10, orders=12, revenue=100.0, churn_rate=0.2)
    period = PeriodKpis(
        period="2024-05", start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 31), partial=False,
        customers_start=5, new_customers=1, reactivated_customers=0, churned_customers=1,
        customers_end=5, active_customers=3, orders=4, revenue=50.0, average_order_value=12.5,
        customer_growth_rate=0.0, retention_rate=0.8, churn_rate=0.2,
        repeat_purchase_rate=0.5, net_revenue_retention=None,
    )
    alerts = evaluate_alerts(["churn_rate >= 0.2", "period.retention_rate < 0.9"], kpis, period)
    assert [a.breached for a in alerts] == [True, True]
    (missing,) = evaluate_alerts(["period.churn_rate > 0"], kpis, None)  # no complete period
    assert (missing.value, missing.breached) == (None, False)
    assert missing.model_dump(mode="json") == {
        "rule": "period.churn_rate > 0", "kpi": "period.churn_rate", "value": None,
        "breached": False,
    }
