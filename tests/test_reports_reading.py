"""What a reader is told, checked against numbers worked out by hand: the key message, the
cohort view (grouped oldest cohorts, weighted average, partial cells), round chart ticks,
colours by meaning, and the terminal at 80 columns (no number cut, columns dropped first)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from _report_data import hostile_result
from rich.console import Console
from typer.testing import CliRunner

from custinv.cli import app
from custinv.models import Cohort, RetentionSection, Stocktake
from custinv.render import charts, digest, key_message
from custinv.render.cohort_view import cohort_view
from custinv.render.console import customer_preview, render_stocktake
from custinv.stocktake import AuditResult

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return hostile_result(tmp_path_factory.mktemp("reading"))


def _with_cohorts(st: Stocktake, cohorts: list[Cohort], as_of: dt.date, period: str = "month") -> Stocktake:
    return st.model_copy(update={"retention": RetentionSection(period=period, cohorts=cohorts), "as_of": as_of})


def test_cohort_view_groups_the_oldest_and_weights_the_average(result: AuditResult) -> None:
    # three cohorts by hand; as-of 2024-03-15, so March (the newest cell of each cohort) is running
    cohorts = [
        Cohort(cohort="2024-01", size=10, customers=[10, 4, 3], revenue=[100.0, 40.0, 30.0]),
        Cohort(cohort="2024-02", size=30, customers=[30, 6, None], revenue=[300.0, 90.0, None]),
        Cohort(cohort="2024-03", size=20, customers=[20, None, None], revenue=[200.0, None, None]),
    ]
    st = _with_cohorts(result.stocktake, cohorts, dt.date(2024, 3, 15))
    view = cohort_view(st, rows=2, first_label="≤ {cohort} ({n})", average_label="avg")
    assert view is not None
    assert [r.label for r in view.rows] == ["≤ 2024-02 (2)", "2024-03", "avg"]
    grouped, newest, avg = view.rows
    # grouped: k=0 (10+30)/(10+30); k=1 only complete cells: 2024-01's (Feb, complete) and
    # 2024-02's k=1 is March — running, left out → 4/10; k=2 is 2024-01's March — running → none
    assert grouped.size == 40 and grouped.retention[:3] == [1.0, 0.4, None]
    assert newest.partial == [True, False, False]  # its only cell is March
    # weighted average over all three, complete cells only: k=0 without the running 2024-03
    assert avg.retention[0] == pytest.approx((10 + 30) / 40)
    assert avg.retention[1] == pytest.approx(4 / 10)
    # LTV chains the weighted increments: k0 (100+300)/40 = 10, k1 + 40/10 = 14
    assert avg.ltv[:2] == [pytest.approx(10.0), pytest.approx(14.0)]
    # the single cohort row's own LTV is its cumulative revenue per customer, partial or not
    assert newest.ltv[0] == pytest.approx(10.0)
    # every customer is in the view
    assert sum(r.size for r in view.rows if r.kind != "average") == avg.size == 60


def test_cohort_view_period_end_is_complete(result: AuditResult) -> None:
    cohorts = [Cohort(cohort="2024-03", size=5, customers=[5], revenue=[50.0])]
    st = _with_cohorts(result.stocktake, cohorts, dt.date(2024, 3, 31))
    view = cohort_view(st)
    assert view is not None and view.rows[0].partial == [False]


@pytest.mark.parametrize(("lo", "hi", "ticks"), [
    (0, 548, [0, 200, 400, 600]),
    (0, 366, [0, 100, 200, 300, 400]),
    (0, 0.172, [0, 0.05, 0.1, 0.15, 0.2]),
    (-30, 70, [-50, -25, 0, 25, 50, 75]),
])
def test_chart_ticks_are_round(lo: float, hi: float, ticks: list[float]) -> None:
    assert charts.nice_ticks(lo, hi) == pytest.approx(ticks)


def test_colours_by_meaning() -> None:
    assert digest.tone("churn_rate", 0.076) == "bad"  # "Churn rate +7.6 pp" is red
    assert digest.tone("churn_rate", -0.01) == "good"
    assert digest.tone("revenue", 100.0) == "good"
    assert digest.tone("customers_lost", 3) == "bad"
    assert digest.tone("mean_interpurchase_days", 5) == "flat"


def test_key_message_states_the_stocktake(result: AuditResult) -> None:
    st = result.stocktake
    sentences = key_message.sentences(st, "en")
    assert 3 <= len(sentences) <= 5
    k = st.kpis
    assert k is not None
    assert sentences[0].startswith(f"{k.customers:,} customers have bought {digest.compact_money(k.revenue, st.currency)}")
    pair = digest.comparison_periods(st)
    assert pair is not None
    latest, previous = pair
    change = (latest.revenue - previous.revenue) / previous.revenue
    word = "up" if change > 0 else "down"
    assert any(f"In {latest.period} revenue was" in s and f"{word} {abs(change) * 100:.1f}% on {previous.period}" in s
               for s in sentences)
    zh = key_message.sentences(st, "zh")
    assert len(zh) == len(sentences) and all(not re.search(r"[A-Za-z]{4,}", s.replace("RFM", "")) for s in zh)


def test_terminal_at_80_columns_never_cuts_a_number(tmp_path: Path) -> None:
    from custinv.config import Settings
    from custinv.stocktake import audit

    res = audit([EXAMPLES / "salesforce_opportunities.csv"], Settings())
    buf = io.StringIO()
    render_stocktake(res.stocktake, console=Console(file=buf, width=80, color_system=None, legacy_windows=False))
    text = buf.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    churn = res.stocktake.churn
    assert churn is not None
    for row in churn.at_risk[:5]:  # the value at risk is printed whole
        assert f"{row.value_at_risk:,.2f}" in text
    assert "hidden at this width" in text  # low-value columns went first, and the reader is told


def test_customers_preview_is_a_table(result: AuditResult) -> None:
    buf = io.StringIO()
    Console(file=buf, width=80, color_system=None).print(customer_preview(result.customers, "en", "mask", 80))
    text = buf.getvalue()
    assert "top 8 of 8 customers by revenue" in text
    assert "j***@example.com" in text and "jane.doe@example.com" not in text
    top = result.customers.sort("revenue", descending=True).row(0, named=True)
    assert f"{top['revenue']:,.2f}" in text


def test_help_has_panels_and_teaching_metavars() -> None:
    out = CliRunner().invoke(app, ["audit", "--help"], env={"COLUMNS": "120"})
    assert out.exit_code == 0
    for panel in ("Reading", "Classification", "Lifetime value", "Outputs", "Run"):
        assert f"─ {panel} " in out.output
    for metavar in ("FIELD=COLUMN", "DATE|today", "month|quarter|week|year", "PATH.xlsx", "mask|show|hash"):
        assert metavar in out.output
    completion = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "--install-completion" in completion.output


def test_report_writing_is_timed(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["audit", str(EXAMPLES / "shopify_orders.csv"), "--excel", str(tmp_path / "s.xlsx"),
                                   "--html", str(tmp_path / "s.html"), "--timings", "-f", "json", "-q"])
    assert out.exit_code == 0, out.output
    assert "report_excel" in out.stderr and "report_html" in out.stderr


def test_kpi_kinds_come_from_the_model() -> None:
    from custinv.render.formatting import kpi_kind

    # Money / Rate annotations decide; Measure (hours, points) reads as a number, not a percentage
    assert kpi_kind("revenue") == kpi_kind("churned_revenue") == kpi_kind("value_at_risk") == "money"
    assert kpi_kind("churn_rate") == kpi_kind("top20_revenue_share") == kpi_kind("net_revenue_retention") == "rate"
    assert kpi_kind("customers") == kpi_kind("churned_customers") == "count"
    assert kpi_kind("average_orders_per_customer") == "number"
    assert kpi_kind("service.nps") == kpi_kind("service.median_resolution_hours") == "number"
    assert kpi_kind("service.sla_rate") == kpi_kind("book.prospect_share") == "rate"
    assert kpi_kind("book.missing_revenue") == "money"
