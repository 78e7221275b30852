"""The key message: three to five sentences a manager reads first, generated from the Stocktake.

Every report (HTML, Excel Summary, terminal) opens with the same sentences, built here once:

1. the base — customers, revenue and how many bought recently;
2. the risk — customers lapsing (lifecycle "Lapsing") and churned, with the revenue involved;
3. the change — since the compared snapshot when there is one, else the last complete period
   against the one before (revenue, and the period churn rate with its direction);
4. the cohorts — the best and worst first-purchase cohort by retention after the same number
   of periods, among cohorts big enough to mean something (:data:`MIN_COHORT`);
5. what to do first — the recommended action of the RFM segment with the most revenue among
   the segments that are slipping away.

A sentence whose inputs are missing is left out (never filled with a placeholder). Nothing is
computed that the Stocktake does not already hold, except picking, ranking and one division.
"""

from __future__ import annotations

from typing import Literal

from custinv.analytics import actions
from custinv.models import Comparison, Stocktake
from custinv.render import digest

Lang = Literal["en", "zh"]

MIN_COHORT = 20
"""Cohorts smaller than this (or than half the median cohort) are not named best or worst: noise."""
COHORT_LAG = 3
"""Cohorts are compared on retention this many periods after the first order (fewer when the data is short)."""
SLIPPING = ("cant_lose", "at_risk", "about_to_sleep", "important_retention", "important_winback", "need_attention")
"""RFM segments whose customers are slipping away, in order of urgency (ties in revenue keep this order)."""


def sentences(st: Stocktake, lang: Lang = "en", comparison: Comparison | None = None) -> list[str]:
    """The key message of one stocktake (3–5 sentences when the data allows)."""
    out = [s for s in (_base(st, lang), _risk(st, lang), _change(st, lang, comparison), _cohorts(st, lang),
                       _first_action(st, lang)) if s]
    return out


def _money(st: Stocktake, value: float | None, lang: Lang) -> str:
    return digest.compact_money(value, st.currency, lang)


def _base(st: Stocktake, lang: Lang) -> str | None:
    k = st.kpis
    if k is None:
        return None
    date = digest.date_text(st.as_of, lang)
    if lang == "zh":
        text = f"截至 {date}，共有 {digest.count(k.customers)} 位客户，累计销售额 {_money(st, k.revenue, lang)}"
        if k.active_customers is not None:
            text += f"；最近 {k.active_window_days} 天有 {digest.count(k.active_customers)} 位客户下单"
        return text + "。"
    text = f"{digest.count(k.customers)} customers have bought {_money(st, k.revenue, lang)} up to {date}"
    if k.active_customers is not None:
        text += f"; {digest.count(k.active_customers)} of them ordered in the last {k.active_window_days} days"
    return text + "."


def _risk(st: Stocktake, lang: Lang) -> str | None:
    lapsing = next((r for r in st.lifecycle or [] if r.stage == "at_risk"), None)
    churn = st.churn
    if lapsing is None and churn is None:
        return None
    parts_en: list[str] = []
    parts_zh: list[str] = []
    if lapsing is not None and lapsing.customers:
        parts_en.append(f"{digest.count(lapsing.customers)} customers ({digest.rate(lapsing.share)}) are lapsing — "
                        f"silent for over twice their usual interval — with {_money(st, lapsing.revenue, lang)} "
                        f"of lifetime revenue")
        parts_zh.append(f"{digest.count(lapsing.customers)} 位客户（{digest.rate(lapsing.share)}）处于流失预警——"
                        f"沉默已超过其平常购买间隔的两倍，累计贡献 {_money(st, lapsing.revenue, lang)}")
    if churn is not None:
        window = churn.definition.get("inactive_days")
        parts_en.append(f"{digest.count(churn.churned_customers)} ({digest.rate(churn.churn_rate)}) have churned "
                        f"(no order in {window} days)")
        parts_zh.append(f"{digest.count(churn.churned_customers)} 位（{digest.rate(churn.churn_rate)}）已流失"
                        f"（超过 {window} 天未下单）")
        if churn.churned_revenue:
            parts_en[-1] += f", taking {_money(st, churn.churned_revenue, lang)} a year of business with them"
            parts_zh[-1] += f"，带走每年约 {_money(st, churn.churned_revenue, lang)} 的业务"
    if lang == "zh":
        return "；".join(parts_zh) + "。"
    text = "; ".join(parts_en)
    return text[0].upper() + text[1:] + "."


def _change(st: Stocktake, lang: Lang, comparison: Comparison | None) -> str | None:
    if comparison is not None:
        old = digest.date_text(comparison.old.as_of, lang)
        gained, lost = digest.count(comparison.customers_gained), digest.count(comparison.customers_lost)
        if lang == "zh":
            return f"与 {old} 的盘点相比，新增 {gained} 位客户，流失 {lost} 位。"
        return f"Since the stocktake of {old}, {gained} customers were gained and {lost} lost."
    pair = digest.comparison_periods(st)
    if pair is None:
        return None
    latest, previous = pair
    revenue = digest.period_change(st, "revenue", "revenue")
    churn = digest.period_change(st, "churn_rate", "churn_rate")
    if revenue is None or revenue.delta is None:
        return None
    up = revenue.delta > 0
    if lang == "zh":
        text = (f"{latest.period} 销售额 {_money(st, latest.revenue, lang)}，较 {previous.period} "
                f"{'增长' if up else '下降'} {abs(revenue.delta) * 100:.1f}%")
        if churn is not None and churn.delta is not None and latest.churn_rate is not None:
            text += (f"；本期流失率 {digest.rate(latest.churn_rate)}（"
                     f"{'上升' if churn.delta > 0 else '下降'} {abs(churn.delta) * 100:.1f} 个百分点）")
        return text + "。"
    text = (f"In {latest.period} revenue was {_money(st, latest.revenue, lang)}, "
            f"{'up' if up else 'down'} {abs(revenue.delta) * 100:.1f}% on {previous.period}")
    if churn is not None and churn.delta is not None and latest.churn_rate is not None:
        text += (f"; the period churn rate was {digest.rate(latest.churn_rate)} "
                 f"({'up' if churn.delta > 0 else 'down'} {abs(churn.delta) * 100:.1f} pp)")
    return text + "."


def _cohorts(st: Stocktake, lang: Lang) -> str | None:
    ret = st.retention
    if ret is None:
        return None
    sizes = sorted(c.size for c in ret.cohorts)
    floor = max(MIN_COHORT, sizes[len(sizes) // 2] // 2) if sizes else MIN_COHORT
    big = [c for c in ret.cohorts if c.size >= floor]
    lags = [sum(1 for n in c.customers if n is not None) - 1 for c in big]
    reached = sorted({lag for lag in lags if lag >= 1})
    if not reached:
        return None
    lag = COHORT_LAG if COHORT_LAG in reached else reached[-1] if reached[-1] < COHORT_LAG else min(
        (x for x in reached if x >= COHORT_LAG), default=reached[-1])
    # only cohorts whose lag period is complete: a partial period would look like a fall
    ranked = [((c.customers[lag] or 0) / c.size, c) for c, n in zip(big, lags, strict=True) if n > lag]
    if len(ranked) < 2:
        return None
    ranked.sort(key=lambda x: x[0])
    (worst_rate, worst), (best_rate, best) = ranked[0], ranked[-1]
    unit = {"month": ("months", "个月"), "quarter": ("quarters", "个季度"), "week": ("weeks", "周"),
            "year": ("years", "年")}.get(ret.period, (ret.period, ret.period))
    if lang == "zh":
        return (f"同期群中，{best.cohort}（{digest.count(best.size)} 人）首购 {lag} {unit[1]}后仍有 "
                f"{digest.rate(best_rate)} 回购，表现最好；{worst.cohort}（{digest.count(worst.size)} 人）仅 "
                f"{digest.rate(worst_rate)}。")
    return (f"Of the first-purchase cohorts, {best.cohort} ({digest.count(best.size)} customers) kept the most: "
            f"{digest.rate(best_rate)} bought again {lag} {unit[0]} later; {worst.cohort} "
            f"({digest.count(worst.size)}) kept the fewest, {digest.rate(worst_rate)}.")


def _first_action(st: Stocktake, lang: Lang) -> str | None:
    if st.rfm is None:
        return None
    slipping = [s for s in st.rfm.segments if s.segment in SLIPPING and s.customers]
    if not slipping:
        return None
    top = max(slipping, key=lambda s: (s.revenue, -SLIPPING.index(s.segment)))
    act = actions.action(top.segment, lang)
    name = actions.label(top.segment, lang)
    if act is None:
        return None
    if lang == "zh":
        return (f"首先处理 RFM 分群“{name}”的 {digest.count(top.customers)} 位客户"
                f"（占销售额 {digest.rate(top.revenue_share)}）：{act}")
    return (f"Start with the {digest.count(top.customers)} RFM “{name}” customers "
            f"({digest.rate(top.revenue_share)} of revenue): {act[0].lower() + act[1:]}")
