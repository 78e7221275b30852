"""Display labels in English and Chinese. Machine values (JSON keys, segment keys) never change;
only what people read is translated here. One table per kind of label."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

LABELS: dict[str, dict[str, str]] = {
    # kpis
    "customers": {"en": "Customers", "zh": "客户数"},
    "orders": {"en": "Orders", "zh": "订单数"},
    "revenue": {"en": "Revenue", "zh": "销售额"},
    "returns": {"en": "Returns", "zh": "退货金额"},
    "average_order_value": {"en": "Average order value", "zh": "客单价"},
    "revenue_per_customer": {"en": "Revenue per customer", "zh": "人均消费"},
    "repeat_purchase_rate": {"en": "Repeat purchase rate", "zh": "复购率"},
    "one_time_customers": {"en": "One-time customers", "zh": "一次性客户"},
    "active_customers": {"en": "Active customers", "zh": "活跃客户"},
    "new_customers": {"en": "New customers", "zh": "新客户"},
    "churned_customers": {"en": "Churned customers", "zh": "流失客户"},
    "churn_rate": {"en": "Churn rate", "zh": "流失率"},
    "retention_rate": {"en": "Retention rate", "zh": "留存率"},
    "customer_growth_rate": {"en": "Customer growth rate", "zh": "客户增长率"},
    "top20_revenue_share": {"en": "Top 20% revenue share", "zh": "前20%客户销售占比"},
    "average_orders_per_customer": {"en": "Orders per customer", "zh": "人均订单数"},
    "mean_interpurchase_days": {"en": "Mean days between orders", "zh": "平均购买间隔(天)"},
    # accounting
    "rows_read": {"en": "Rows read", "zh": "读取行数"},
    "rows_used": {"en": "Rows used", "zh": "使用行数"},
    "rows_excluded": {"en": "Rows excluded", "zh": "排除行数"},
    "rows_rejected": {"en": "Rows rejected", "zh": "拒绝行数"},
    "anonymous_revenue": {"en": "Anonymous revenue", "zh": "匿名订单金额"},
    "source": {"en": "Source", "zh": "数据来源"},
    "as_of": {"en": "As of", "zh": "盘点日期"},
    "currency": {"en": "Currency", "zh": "币种"},
    "kpis": {"en": "Key figures", "zh": "关键指标"},
    "value": {"en": "Value", "zh": "数值"},
    "file": {"en": "File", "zh": "文件"},
    "mapping": {"en": "Column mapping", "zh": "字段映射"},
    "frequency_classes": {"en": "Purchase frequency", "zh": "购买频次分类"},
    "value_tiers": {"en": "Value tiers", "zh": "价值分层"},
    "rfm": {"en": "RFM segments", "zh": "RFM 客户分群"},
    "lifecycle": {"en": "Lifecycle stages", "zh": "生命周期阶段"},
    "breakdown": {"en": "Breakdown by", "zh": "维度分析："},
    "churn": {"en": "Churn", "zh": "客户流失"},
    "at_risk_list": {"en": "At risk (by value at risk)", "zh": "流失风险客户（按风险价值排序）"},
    "win_back_list": {"en": "Win back (high value, churned)", "zh": "待召回的高价值流失客户"},
    "trend": {"en": "KPI trend", "zh": "指标趋势"},
    "cohorts": {"en": "Cohort retention", "zh": "同期群留存"},
    "clv": {"en": "Customer lifetime value", "zh": "客户终身价值"},
    "share": {"en": "Share", "zh": "占比"},
    "revenue_share": {"en": "Revenue share", "zh": "销售额占比"},
    "threshold": {"en": "Threshold", "zh": "阈值"},
    "action": {"en": "Recommended action", "zh": "建议行动"},
    "segment": {"en": "Segment", "zh": "分群"},
    "period": {"en": "Period", "zh": "期间"},
    "customers_start": {"en": "Start", "zh": "期初客户"},
    "customers_end": {"en": "End", "zh": "期末客户"},
    "reactivated_customers": {"en": "Back", "zh": "回流客户"},
    "net_revenue_retention": {"en": "Net revenue retention", "zh": "净收入留存率"},
    "recency_days": {"en": "Days since last order", "zh": "距上次购买(天)"},
    "usual_interval_days": {"en": "Usual interval (days)", "zh": "平均间隔(天)"},
    "last_order": {"en": "Last order", "zh": "最近下单"},
    "value_at_risk": {"en": "Value at risk", "zh": "风险价值"},
    "customer_id": {"en": "Customer", "zh": "客户"},
    "p_alive": {"en": "P(alive)", "zh": "存活概率"},
    "expected_purchases": {"en": "Expected purchases", "zh": "预计购买次数"},
    "avg_recency_days": {"en": "Avg recency (days)", "zh": "平均最近购买(天)"},
    "avg_frequency": {"en": "Avg orders", "zh": "平均订单数"},
    "avg_monetary": {"en": "Avg revenue", "zh": "平均消费额"},
    "size": {"en": "Size", "zh": "人数"},
    "region": {"en": "Region", "zh": "地区"},
    "country": {"en": "Country", "zh": "国家"},
    "city": {"en": "City", "zh": "城市"},
    "industry": {"en": "Industry", "zh": "行业"},
    "channel": {"en": "Channel", "zh": "渠道"},
    "segment_dim": {"en": "Customer segment", "zh": "客户类型"},
    "owner": {"en": "Owner", "zh": "负责人"},
}


REASON_LABELS: dict[str, dict[str, str]] = {
    "footer": {"en": "report footer", "zh": "报表页脚"},
    "repeated_header": {"en": "repeated header", "zh": "重复表头"},
    "duplicate": {"en": "duplicate of another file", "zh": "跨文件重复"},
    "anonymous": {"en": "no customer id", "zh": "无客户标识"},
    "cancelled": {"en": "cancelled", "zh": "已取消"},
    "refunded": {"en": "refunded", "zh": "已退款"},
    "voided": {"en": "voided", "zh": "已作废"},
    "closed": {"en": "closed", "zh": "交易关闭"},
    "lost": {"en": "lost deal", "zh": "输单"},
    "unpaid": {"en": "unpaid / pending", "zh": "未付款"},
    "open": {"en": "open deal", "zh": "未成交商机"},
    "other_currency": {"en": "other currency", "zh": "其他币种"},
    "return": {"en": "return", "zh": "退货"},
    "void_line": {"en": "void line (0 × 0)", "zh": "空行(数量金额为0)"},
    "after_as_of": {"en": "after as-of date", "zh": "晚于盘点日期"},
    "ragged_row": {"en": "wrong number of cells", "zh": "列数不符"},
    "missing_date": {"en": "missing date", "zh": "缺少日期"},
    "bad_date": {"en": "unreadable date", "zh": "日期无法解析"},
    "bad_id": {"en": "unreadable customer id", "zh": "客户标识无法解析"},
    "missing_amount": {"en": "missing amount", "zh": "缺少金额"},
    "bad_amount": {"en": "unreadable amount", "zh": "金额无法解析"},
    "bad_quantity": {"en": "unreadable quantity", "zh": "数量无法解析"},
    "bad_price": {"en": "unreadable unit price", "zh": "单价无法解析"},
}
"""Why a row was excluded or rejected (kept apart: ``lost`` is a deal status here, an RFM segment there)."""


def label(key: str, lang: Lang = "en") -> str:
    """The display label of a machine key (KPIs, then classification keys); the key itself if unknown."""
    entry = LABELS.get(key)
    if entry is not None:
        return entry.get(lang) or entry["en"]
    from custinv.analytics.actions import label as class_label

    return class_label(key, lang)


def reason_label(key: str, lang: Lang = "en") -> str:
    entry = REASON_LABELS.get(key)
    return key if entry is None else entry.get(lang) or entry["en"]
