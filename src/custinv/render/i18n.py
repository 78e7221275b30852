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
    # exclusion / reject reasons
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


def label(key: str, lang: Lang = "en") -> str:
    """The display label of a machine key; the key itself when there is none."""
    entry = LABELS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]
