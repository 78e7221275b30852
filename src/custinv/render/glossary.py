"""What every headline number means and over which window it is measured, in en and zh.

One table for the reports' definitions: the HTML shows them as hover titles on the KPI cards,
the workbook as its Definitions sheet, the terminal as the footnote under Key figures. A
definition names its window (all time to the as-of date, the last N days, one period), so a
card can never put a lifetime number beside a last-month change without saying so.

The placeholders are filled from the Stocktake: ``{as_of}``, ``{active}`` / ``{new}`` (the
active and new windows in days), ``{window}`` (the churn window W in days), ``{period}`` (the
last complete period).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from custinv.models import Stocktake
from custinv.render.i18n import label

Lang = Literal["en", "zh"]
Window = Literal["all_time", "active", "new", "churn", "period"]


@dataclass(frozen=True)
class Definition:
    window: Window
    en: str
    zh: str

    def text(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


DEFINITIONS: dict[str, Definition] = {
    "customers": Definition("all_time", "Distinct customers with at least one counted order up to {as_of}.",
                            "截至 {as_of} 至少有一笔有效订单的不同客户数。"),
    "orders": Definition("all_time", "Orders counted (after exclusions such as cancellations) up to {as_of}.",
                         "截至 {as_of} 的有效订单数（已排除取消、退款等）。"),
    "revenue": Definition("all_time", "Sum of the counted orders' amounts up to {as_of}; returns are shown apart.",
                          "截至 {as_of} 有效订单金额合计；退货单列。"),
    "returns": Definition("all_time", "Amount of return and refund lines up to {as_of}.",
                          "截至 {as_of} 的退货与退款金额。"),
    "average_order_value": Definition("all_time", "Revenue ÷ orders, all time to {as_of}.",
                                      "销售额 ÷ 订单数（截至 {as_of} 全部历史）。"),
    "revenue_per_customer": Definition("all_time", "Revenue ÷ customers, all time to {as_of}.",
                                       "销售额 ÷ 客户数（截至 {as_of} 全部历史）。"),
    "repeat_purchase_rate": Definition("all_time", "Share of customers with two or more orders, all time to {as_of}.",
                                       "下单两次及以上的客户占全部客户的比例（截至 {as_of}）。"),
    "one_time_customers": Definition("all_time", "Customers with exactly one order up to {as_of}.",
                                     "截至 {as_of} 只下过一单的客户数。"),
    "active_customers": Definition("active", "Customers who ordered in the {active} days up to {as_of}.",
                                   "截至 {as_of} 最近 {active} 天内下过单的客户数。"),
    "new_customers": Definition("new", "Customers whose first order is in the {new} days up to {as_of}.",
                                "截至 {as_of} 最近 {new} 天内首次下单的客户数。"),
    "churned_customers": Definition("churn", "Customers with no order in the {window} days up to {as_of} "
                                             "(the churn window, from the data's buying cycle).",
                                    "截至 {as_of} 已超过 {window} 天未下单的客户数（流失判定期由购买周期推算）。"),
    "churn_rate": Definition("churn", "Churned customers ÷ all customers: no order in the {window} days up to {as_of}.",
                             "已流失客户 ÷ 全部客户：截至 {as_of} 超过 {window} 天未下单。"),
    "retention_rate": Definition("period", "Customers counted at the start of {period} still counted at its end "
                                           "(CRR; new and returning customers excluded).",
                                 "{period} 期初客户中到期末仍未流失的比例（CRR，不含新增与回流客户）。"),
    "customer_growth_rate": Definition("period", "(Customers at the end of {period} − at its start) ÷ at its start.",
                                       "（{period} 期末客户数 − 期初客户数）÷ 期初客户数。"),
    "top20_revenue_share": Definition("all_time", "Share of all revenue up to {as_of} from the top 20% of customers.",
                                      "截至 {as_of} 销售额最高的 20% 客户贡献的销售额占比。"),
    "average_orders_per_customer": Definition("all_time", "Orders ÷ customers, all time to {as_of}.",
                                              "订单数 ÷ 客户数（截至 {as_of}）。"),
    "mean_interpurchase_days": Definition("all_time", "Mean days between a repeat buyer's consecutive purchase dates.",
                                          "复购客户相邻两次购买日期之间的平均天数。"),
    "clv": Definition("all_time", "Expected discounted future value of today's customers over the CLV horizon.",
                      "现有客户在预测期内的预期未来价值（已折现）。"),
    # period metrics: what the "last period" line under a card compares
    "period.customers_end": Definition("period", "Customers counted at the end of the period (ordered within "
                                                 "the churn window).", "期末仍未流失的客户数（流失判定期内下过单）。"),
    "period.revenue": Definition("period", "Revenue of the period's orders.", "本期订单销售额。"),
    "period.orders": Definition("period", "Orders placed in the period.", "本期订单数。"),
    "period.average_order_value": Definition("period", "The period's revenue ÷ its orders.", "本期销售额 ÷ 本期订单数。"),
    "period.active_customers": Definition("period", "Customers who ordered in the period.", "本期下过单的客户数。"),
    "period.new_customers": Definition("period", "Customers whose first order is in the period.", "本期首次下单的客户数。"),
    "period.repeat_purchase_rate": Definition("period", "Among the period's buyers, the share with two or more orders "
                                                        "by its end.", "本期下单客户中累计下单两次及以上的比例。"),
    "period.churn_rate": Definition("period", "Customers counted at the period's start who lapsed in it ÷ customers "
                                              "at its start.", "期初客户中本期流失的比例。"),
    "period.retention_rate": Definition("period", "Customers at the period's start still counted at its end.",
                                        "期初客户中到期末仍未流失的比例。"),
}

def _fill(st: Stocktake, lang: Lang) -> dict[str, str]:
    from custinv.render.digest import comparison_periods, date_text

    k = st.kpis
    pair = comparison_periods(st)
    window = st.churn.definition.get("inactive_days") if st.churn else None
    return {
        "as_of": date_text(st.as_of, lang),
        "active": str(k.active_window_days if k and k.active_window_days is not None else "—"),
        "new": str(k.new_customer_window_days if k and k.new_customer_window_days is not None else "—"),
        "window": str(window if window is not None else "—"),
        "period": pair[0].period if pair else "—",
    }


def definition(key: str, st: Stocktake, lang: Lang) -> str | None:
    """The one-line definition of a KPI with this stocktake's windows filled in, or None."""
    entry = DEFINITIONS.get(key)
    return None if entry is None else entry.text(lang).format(**_fill(st, lang))


def window_text(key: str, st: Stocktake, lang: Lang) -> str | None:
    """The window a KPI is measured over, as a short phrase ("last 90 days", "2024-11")."""
    entry = DEFINITIONS.get(key)
    return None if entry is None else label("window:" + entry.window, lang, **_fill(st, lang))


def definition_rows(st: Stocktake, lang: Lang, keys: list[str]) -> list[tuple[str, str]]:
    """(key, definition) for every key that has one, in the order given; for the Definitions sheet."""
    return [(key, text) for key in keys if (text := definition(key, st, lang)) is not None]
