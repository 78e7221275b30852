"""Display labels in English and Chinese. Machine values (JSON keys, segment keys) never change;
only what people read is translated here. One table per kind of label."""

from __future__ import annotations

from typing import Any, Literal

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
    "export_profile": {"en": "Export profile", "zh": "导出格式"},
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
    "group_header": {"en": "group header row", "zh": "分组标题行"},
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
    "draft": {"en": "draft / not approved", "zh": "草稿/未审核"},
    "excluded_status": {"en": "status excluded by you", "zh": "按设置排除的状态"},
    "non_sale": {"en": "not a sale (fee, payout, transfer)", "zh": "非销售(手续费/提现/转账)"},
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


def _word(table: dict[str, dict[str, str]], key: str, lang: Lang) -> str | None:
    """One table's word for ``key`` in ``lang`` (English when that language lacks it), or None."""
    entry = table.get(key)
    return None if entry is None else entry.get(lang) or entry["en"]


def label(key: str, lang: Lang = "en") -> str:
    """The display label of a machine key (KPIs, then classification keys); the key itself if unknown."""
    word = _word(LABELS, key, lang)
    if word is not None:
        return word
    from custinv.analytics.actions import label as class_label

    return class_label(key, lang)


def reason_label(key: str, lang: Lang = "en") -> str:
    return _word(REASON_LABELS, key, lang) or key


# Words of the Excel and HTML reports (sheet names, section titles, notes with {placeholders}).
REPORT_LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Customer stocktake", "zh": "客户盘点报告"},
    "summary": {"en": "Summary", "zh": "概览"},
    "customers_sheet": {"en": "Customers", "zh": "客户明细"},
    "segments": {"en": "Segments", "zh": "客户分群"},
    "trends": {"en": "Trends", "zh": "趋势"},
    "breakdowns": {"en": "Breakdowns", "zh": "维度分析"},
    "at_risk": {"en": "At risk", "zh": "流失风险"},
    "rejects": {"en": "Rejects", "zh": "拒绝行"},
    "data_quality": {"en": "Data quality", "zh": "数据质量"},
    "customer_base": {"en": "The customer base", "zh": "客户构成"},
    "rfm_map": {"en": "RFM segment map", "zh": "RFM 分群图"},
    "clv_distribution": {"en": "CLV by segment", "zh": "各分群终身价值"},
    "top_customers": {"en": "Top customers by CLV", "zh": "终身价值最高的客户"},
    "first_order": {"en": "First order", "zh": "首次下单"},
    "tenure_days": {"en": "Tenure (days)", "zh": "客户年龄(天)"},
    "orders_per_year": {"en": "Orders per year", "zh": "年均订单数"},
    "frequency_class": {"en": "Frequency class", "zh": "频次分类"},
    "value_tier": {"en": "Value tier", "zh": "价值分层"},
    "r_score": {"en": "R", "zh": "R"},
    "f_score": {"en": "F", "zh": "F"},
    "m_score": {"en": "M", "zh": "M"},
    "rfm_code": {"en": "RFM code", "zh": "RFM 代码"},
    "rfm_segment": {"en": "RFM segment", "zh": "RFM 分群"},
    "lifecycle_stage": {"en": "Lifecycle stage", "zh": "生命周期"},
    "clv_value": {"en": "CLV", "zh": "终身价值"},
    "customer_value": {"en": "Customer value", "zh": "客户价值"},
    "customer_name": {"en": "Name", "zh": "客户名称"},
    "email": {"en": "Email", "zh": "邮箱"},
    "phone": {"en": "Phone", "zh": "电话"},
    "line": {"en": "Line", "zh": "行号"},
    "column": {"en": "Column", "zh": "列"},
    "reason": {"en": "Reason", "zh": "原因"},
    "metric": {"en": "Metric", "zh": "指标"},
    "previous": {"en": "Previous", "zh": "上期"},
    "latest": {"en": "Latest", "zh": "本期"},
    "change": {"en": "Change", "zh": "变化"},
    "vs": {"en": "vs", "zh": "对比"},
    "partial": {"en": "partial", "zh": "未完整"},
    "parameter": {"en": "Parameter", "zh": "参数"},
    "model": {"en": "Model", "zh": "模型"},
    "horizon_months": {"en": "Horizon (months)", "zh": "预测期(月)"},
    "discount_rate": {"en": "Discount rate", "zh": "折现率"},
    "margin": {"en": "Margin", "zh": "毛利率"},
    "total": {"en": "Total", "zh": "合计"},
    "holdout": {"en": "Holdout check", "zh": "留出期验证"},
    "axis": {"en": "Axis", "zh": "维度"},
    "clv_share": {"en": "CLV share", "zh": "价值占比"},
    "clv_per_customer": {"en": "CLV per customer", "zh": "人均终身价值"},
    "mean_p_alive": {"en": "Mean P(alive)", "zh": "平均存活概率"},
    "historical_revenue": {"en": "Historical revenue", "zh": "历史销售额"},
    "churn_window": {"en": "Churn window (days)", "zh": "流失判定(天)"},
    "churned_revenue": {"en": "Churned revenue", "zh": "流失客户销售额"},
    "at_risk_customers": {"en": "Customers at risk", "zh": "风险客户数"},
    "excluded_reasons": {"en": "Excluded, by reason", "zh": "排除原因"},
    "reject_reasons": {"en": "Rejected, by reason", "zh": "拒绝原因"},
    "control_chars": {"en": "Control characters replaced", "zh": "已替换的控制字符"},
    "pii_note": {"en": "Emails and phone numbers: {mode}", "zh": "邮箱与电话：{mode}"},
    "pii_mask": {"en": "masked", "zh": "已脱敏"},
    "pii_hash": {"en": "replaced by a keyed hash", "zh": "已替换为哈希"},
    "pii_show": {"en": "shown in full", "zh": "完整显示"},
    "capped_note": {
        "en": "Showing the top {shown:,} of {total:,} customers by revenue (Excel's row limit); "
              "the full list: custinv audit … --customers-out FILE.parquet",
        "zh": "按销售额显示前 {shown:,} 位客户（共 {total:,} 位，受 Excel 行数上限限制）；"
              "完整名单请用 custinv audit … --customers-out 文件.parquet",
    },
    "all_customers_note": {"en": "{total:,} customers, sorted by revenue", "zh": "共 {total:,} 位客户，按销售额排序"},
    "generated": {"en": "Generated by custinv {version}", "zh": "由 custinv {version} 生成"},
    "no_rows": {"en": "None", "zh": "无"},
    "cohort": {"en": "Cohort", "zh": "同期群"},
    "periods_after": {"en": "Periods after first order", "zh": "首购后期数"},
    "files": {"en": "Files", "zh": "文件"},
    "encoding": {"en": "Encoding", "zh": "编码"},
    "format": {"en": "Format", "zh": "格式"},
    "field": {"en": "Field", "zh": "字段"},
    "alerts": {"en": "Alerts", "zh": "预警"},
    "breached": {"en": "Breached", "zh": "已触发"},
    "ok": {"en": "OK", "zh": "正常"},
    "predicted": {"en": "Predicted", "zh": "预测"},
    "actual": {"en": "Actual", "zh": "实际"},
    "warnings": {"en": "Warnings", "zh": "提示"},
    # CLV model choice, intervals and diagnostics (issue 17)
    "clv_choice": {"en": "Model choice (holdout)", "zh": "模型选择（留出期）"},
    "clv_candidate": {"en": "Candidate", "zh": "候选模型"},
    "clv_rmse": {"en": "RMSE per customer", "zh": "每客户均方根误差"},
    "clv_mae": {"en": "MAE per customer", "zh": "每客户平均绝对误差"},
    "clv_note": {"en": "Note", "zh": "说明"},
    "clv_interval_80": {"en": "80% interval", "zh": "80% 区间"},
    "clv_interval_95": {"en": "95% interval", "zh": "95% 区间"},
    "clv_intervals_note": {
        "en": "Intervals show how precisely the data pin down the model (parameter uncertainty, delta method); "
              "one customer's actual purchases scatter more widely.",
        "zh": "区间反映数据对模型参数的约束程度（参数不确定性，delta 方法）；单个客户的实际购买波动更大。",
    },
    "clv_by_frequency": {"en": "Holdout purchases by calibration frequency", "zh": "按校准期购买次数的留出期购买"},
    "clv_p_alive_hist": {"en": "P(alive) distribution", "zh": "存活概率分布"},
    "clv_tracking": {"en": "Cumulative repeat purchases: actual vs model", "zh": "累计复购：实际与模型"},
    "clv_repeat_purchases": {"en": "Repeat purchases in calibration", "zh": "校准期复购次数"},
    "clv_parameters": {"en": "Parameters", "zh": "参数"},
    "clv_estimate": {"en": "Estimate", "zh": "估计值"},
    "clv_penalizer": {"en": "Penalizer", "zh": "正则化系数"},
}


def t(key: str, lang: Lang = "en", **fmt: Any) -> str:
    """A report label: the report's own table, then the shared KPI/classification labels."""
    text = _word(REPORT_LABELS, key, lang) or label(key, lang)
    return text.format(**fmt) if fmt else text


# Words of the comparison, customer-book and service sections.
BOOK_LABELS: dict[str, dict[str, str]] = {
    "comparison": {"en": "Changes since the last stocktake", "zh": "与上次盘点相比的变化"},
    "kpi_deltas": {"en": "Key figures: before → after", "zh": "关键指标变化"},
    "before": {"en": "Before", "zh": "上次"},
    "after": {"en": "After", "zh": "本次"},
    "change": {"en": "Change", "zh": "变化"},
    "migration": {"en": "Migration", "zh": "客户迁移"},
    "(new)": {"en": "(new)", "zh": "（新增）"},
    "(lost)": {"en": "(lost)", "zh": "（已不在）"},
    "customers_gained": {"en": "Customers gained", "zh": "新增客户"},
    "customers_lost": {"en": "Customers lost", "zh": "流失客户"},
    "gained_customers": {"en": "Top customers gained", "zh": "新增的重要客户"},
    "lost_customers": {"en": "Top customers lost", "zh": "流失的重要客户"},
    "movers": {"en": "Biggest movers by value", "zh": "价值最高的变动客户"},
    "reason": {"en": "Reason", "zh": "原因"},
    "value_tier": {"en": "Value tier", "zh": "价值分层"},
    "rfm_segment": {"en": "RFM segment", "zh": "RFM 分群"},
    "lifecycle_stage": {"en": "Lifecycle stage", "zh": "生命周期阶段"},
    "customer": {"en": "Customer", "zh": "客户"},
    "customer_book": {"en": "Customer book", "zh": "客户档案"},
    "accounts": {"en": "Accounts in the master", "zh": "档案客户数"},
    "buyers": {"en": "Accounts with orders", "zh": "已成交客户"},
    "prospects": {"en": "Prospects (never bought)", "zh": "潜在客户（未成交）"},
    "prospect_share": {"en": "Prospect share", "zh": "潜在客户占比"},
    "customers_missing_from_master": {"en": "Buyers missing from the master", "zh": "档案中缺失的成交客户"},
    "missing_revenue": {"en": "Their revenue", "zh": "其销售额"},
    "conversion": {"en": "Conversion of new accounts", "zh": "新客户转化"},
    "conversion_rate": {"en": "Conversion rate", "zh": "转化率"},
    "converted": {"en": "Converted", "zh": "已转化"},
    "median_days_to_first_order": {"en": "Median days to first order", "zh": "首单天数中位数"},
    "service": {"en": "Service quality", "zh": "服务质量"},
    "tickets": {"en": "Tickets", "zh": "工单数"},
    "complaints": {"en": "Complaints", "zh": "投诉数"},
    "customers_with_complaints": {"en": "Customers with complaints", "zh": "投诉客户数"},
    "complaint_rate": {"en": "Complaint rate", "zh": "投诉率"},
    "tickets_per_100_orders": {"en": "Tickets per 100 orders", "zh": "每百单工单数"},
    "median_resolution_hours": {"en": "Median resolution (hours)", "zh": "解决时长中位数（小时）"},
    "sla_rate": {"en": "Resolved within SLA", "zh": "SLA 内解决率"},
    "resolved_tickets": {"en": "Resolved tickets", "zh": "已解决工单"},
    "sla_tickets": {"en": "Tickets with a known SLA outcome", "zh": "可判定 SLA 的工单"},
    "csat_responses": {"en": "CSAT answers", "zh": "满意度回复数"},
    "nps_responses": {"en": "NPS answers", "zh": "NPS 回复数"},
    "csat": {"en": "CSAT (4–5)", "zh": "满意度（4–5分占比）"},
    "nps": {"en": "NPS", "zh": "净推荐值 NPS"},
    "churn_by_complaint": {"en": "Churn by complaint", "zh": "投诉与流失"},
    "complained": {"en": "Complained", "zh": "有投诉"},
    "no_complaint": {"en": "No complaint", "zh": "无投诉"},
    "unresolved_complaint": {"en": "Unresolved complaint", "zh": "投诉未解决"},
    "resolved_complaint": {"en": "Complaints all resolved", "zh": "投诉均已解决"},
    # the report sheets / sections of the three blocks above
    "changes_sheet": {"en": "Changes", "zh": "盘点变化"},
    "book_sheet": {"en": "Customer book", "zh": "客户档案"},
    "service_sheet": {"en": "Service", "zh": "服务质量"},
    "changes_since": {"en": "Changes since {date}", "zh": "自 {date} 以来的变化"},
    "migration_customers": {"en": "customers", "zh": "客户数"},
    "migration_revenue": {"en": "revenue (newer snapshot)", "zh": "销售额（本次盘点）"},
    "migration_note": {"en": "From (older stocktake) down the side, to (newer) across; the diagonal did not move.",
                       "zh": "行为上次盘点的分类，列为本次盘点的分类；对角线为未变化的客户。"},
    "reason.new": {"en": "new buyer", "zh": "新客户"},
    "reason.reactivated": {"en": "reactivated", "zh": "回流"},
    "reason.churned": {"en": "churned", "zh": "已流失"},
    "reason.missing": {"en": "gone from the data", "zh": "数据中已无"},
    "by_type": {"en": "Tickets by type", "zh": "按类型统计工单"},
    "by_period": {"en": "By period", "zh": "按期间"},
    "by_segment": {"en": "By segment", "zh": "按分群"},
    "ticket_type": {"en": "Type", "zh": "类型"},
    "kind.complaint": {"en": "Complaint", "zh": "投诉"},
    "kind.inquiry": {"en": "Inquiry", "zh": "咨询"},
    "kind.return": {"en": "Return", "zh": "退换货"},
    "kind.other": {"en": "Other", "zh": "其他"},
    "sla_hours": {"en": "SLA (hours)", "zh": "SLA（小时）"},
    "anonymous_tickets": {"en": "Tickets without a customer", "zh": "无客户标识的工单"},
    "unknown_customer_tickets": {"en": "Tickets of customers without orders", "zh": "无订单客户的工单"},
    "accounts_eligible": {"en": "Accounts old enough to judge", "zh": "可判定转化的档案"},
    "within_days": {"en": "Window (days)", "zh": "转化窗口（天）"},
    "mean_days_to_first_order": {"en": "Mean days to first order", "zh": "首单天数均值"},
    "ordered_before_signup": {"en": "Ordered before signup", "zh": "建档前已下单"},
    "complete": {"en": "Complete", "zh": "已完整"},
    "missing_orders": {"en": "Their orders", "zh": "其订单数"},
    "missing_customers": {"en": "Buyers missing from the master", "zh": "档案中缺失的成交客户"},
    "dimensions_from_master": {"en": "Dimensions taken from the master", "zh": "取自客户档案的维度"},
}


def book_label(key: str, lang: Lang = "en") -> str:
    """Labels of the comparison / book / service sections, else the shared table's."""
    word = _word(BOOK_LABELS, key, lang)
    if word is not None:
        return word
    if key.startswith("service."):
        return book_label(key.removeprefix("service."), lang) + (" (service)" if lang == "en" else "（服务）")
    if key.startswith("book."):
        return book_label(key.removeprefix("book."), lang)
    return label(key, lang)
