"""Machine keys, display labels (en/zh) and recommended actions for every classification axis.

This is the one place that lists the stable machine values the JSON contract carries
(``high_frequency``, ``high``, ``champions``, ``important_value``, ``at_risk`` …), the order in
which tables show them, and what people read instead of them. Analytics emits keys only;
renderers translate them with :func:`label` and :func:`action`, so a wording change never
touches a number.

A key that appears on two axes (``new``, ``at_risk``, ``loyal`` are both RFM segments and
lifecycle stages) does *not* mean the same thing on both — the RFM segment is a score pattern,
the lifecycle stage a rule on recency and tenure — and their counts differ, so each axis has
its own words (:data:`AXIS_LABELS`; the glossary): lifecycle "Lapsing" / "Core" vs RFM
"At risk" / "Loyal". The Chinese words form families that never cross: lifecycle 流失预警 /
沉睡 / 已流失, RFM 需挽回 / 休眠 / 已失去.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

FREQUENCY_CLASSES: tuple[str, ...] = ("high_frequency", "low_frequency", "one_time")
VALUE_TIERS: tuple[str, ...] = ("high", "medium", "low")
RFM_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
)
CN8_SEGMENTS: tuple[str, ...] = (
    "important_value",
    "important_development",
    "important_retention",
    "important_winback",
    "general_value",
    "general_development",
    "general_retention",
    "general_winback",
)
LIFECYCLE_STAGES: tuple[str, ...] = (
    "prospect",
    "new",
    "churned",
    "at_risk",
    "loyal",
    "active",
    "dormant",
)

LABELS: dict[str, dict[str, str]] = {
    # purchase-frequency classes
    "high_frequency": {"en": "High frequency", "zh": "高频客户"},
    "low_frequency": {"en": "Low frequency", "zh": "低频客户"},
    "one_time": {"en": "One-time", "zh": "一次性客户"},
    # value tiers
    "high": {"en": "High value", "zh": "高价值客户"},
    "medium": {"en": "Medium value", "zh": "中价值客户"},
    "low": {"en": "Low value", "zh": "低价值客户"},
    # RFM segments (11-segment scheme)
    "champions": {"en": "Champions", "zh": "冠军客户"},
    "loyal": {"en": "Loyal", "zh": "忠诚客户"},
    "potential_loyalist": {"en": "Potential loyalists", "zh": "潜力忠诚客户"},
    "new": {"en": "New", "zh": "新客户"},
    "promising": {"en": "Promising", "zh": "有潜力客户"},
    "need_attention": {"en": "Need attention", "zh": "需关注客户"},
    "about_to_sleep": {"en": "About to sleep", "zh": "即将休眠客户"},
    "at_risk": {"en": "At risk", "zh": "需挽回客户"},
    "cant_lose": {"en": "Can't lose them", "zh": "不能失去的客户"},
    "hibernating": {"en": "Hibernating", "zh": "休眠客户"},
    "lost": {"en": "Lost", "zh": "已失去客户"},
    # RFM eight-segment scheme (cn8)
    "important_value": {"en": "Important value", "zh": "重要价值客户"},
    "important_development": {"en": "Important development", "zh": "重要发展客户"},
    "important_retention": {"en": "Important retention", "zh": "重要保持客户"},
    "important_winback": {"en": "Important win-back", "zh": "重要挽留客户"},
    "general_value": {"en": "General value", "zh": "一般价值客户"},
    "general_development": {"en": "General development", "zh": "一般发展客户"},
    "general_retention": {"en": "General retention", "zh": "一般保持客户"},
    "general_winback": {"en": "General win-back", "zh": "一般挽留客户"},
    # lifecycle stages (new, at_risk and loyal are shared with the RFM segments above)
    "prospect": {"en": "Prospect", "zh": "潜在客户"},
    "churned": {"en": "Churned", "zh": "已流失客户"},
    "active": {"en": "Active", "zh": "活跃客户"},
    "dormant": {"en": "Dormant", "zh": "沉睡客户"},
}

AXIS_LABELS: dict[str, dict[str, dict[str, str]]] = {
    # lifecycle stages whose keys are also RFM segments: their own names on the lifecycle axis
    "lifecycle": {
        "at_risk": {"en": "Lapsing", "zh": "流失预警客户"},
        "loyal": {"en": "Core", "zh": "核心客户"},
        "new": {"en": "New", "zh": "新客户"},
    },
    "rfm": {
        "new": {"en": "Recent first-timers", "zh": "新近首购客户"},
    },
}
"""Per-axis names for keys shared by two axes (``axis`` is ``lifecycle`` or ``rfm``)."""

AXIS_OF_FIELD: dict[str, str] = {"stage": "lifecycle", "lifecycle_stage": "lifecycle", "segment": "rfm",
                                 "rfm_segment": "rfm"}
"""The axis a model field or customer column holds, for :func:`label`'s ``axis``."""

ACTIONS: dict[str, dict[str, str]] = {
    "champions": {
        "en": "Reward them; ask for reviews and referrals; give early access to new products.",
        "zh": "给予回馈与专属权益，邀请评价和转介绍，新品优先体验。",
    },
    "loyal": {
        "en": "Upsell higher-value products and enrol them in the loyalty programme.",
        "zh": "推荐更高价值的产品，邀请加入会员/积分计划。",
    },
    "potential_loyalist": {
        "en": "Offer membership or a loyalty programme and recommend related products.",
        "zh": "引导加入会员，推荐相关商品，培养复购习惯。",
    },
    "new": {
        "en": "Onboard well: welcome series, first-use support, a reason for a second order.",
        "zh": "做好新客引导：欢迎礼、使用指导，并给出第二单的理由。",
    },
    "promising": {
        "en": "Build awareness of the range with targeted offers and free trials.",
        "zh": "通过定向优惠和试用加深品牌认知，提升购买频次。",
    },
    "need_attention": {
        "en": "Reactivate with limited-time offers and recommendations from their history.",
        "zh": "用限时优惠和基于购买记录的推荐重新激活。",
    },
    "about_to_sleep": {
        "en": "Share popular products and a modest discount before they go quiet.",
        "zh": "在其沉睡前推送热门商品和适度折扣。",
    },
    "at_risk": {
        "en": "Win-back offer before they lapse: personal outreach and a renewal incentive.",
        "zh": "在流失前发起挽回：一对一联系并提供续购激励。",
    },
    "cant_lose": {
        "en": "Win them back personally: talk to them, learn why they left, make it right.",
        "zh": "重点挽回：主动沟通了解流失原因并针对性解决。",
    },
    "hibernating": {
        "en": "Low-cost reactivation: relevant products and special offers; do not overspend.",
        "zh": "低成本唤醒：推送相关商品和特价，控制投入。",
    },
    "lost": {
        "en": "Try one reactivation campaign; otherwise stop spending on them.",
        "zh": "尝试一次召回活动，无效则停止投入。",
    },
    "important_value": {
        "en": "Keep them delighted: VIP service, exclusive benefits, personal contact.",
        "zh": "重点维护：VIP服务、专属权益、一对一关怀。",
    },
    "important_development": {
        "en": "Raise purchase frequency: cross-sell, bundles, membership benefits.",
        "zh": "提升购买频次：交叉销售、组合套餐、会员权益。",
    },
    "important_retention": {
        "en": "Re-engage high spenders who buy often but lately less: reach out, find out why.",
        "zh": "主动联系近期未购买的高价值常客，了解原因并唤回。",
    },
    "important_winback": {
        "en": "Win back high spenders who are drifting away: targeted offers and personal outreach.",
        "zh": "重点挽留正在流失的高消费客户：定向优惠与人工回访。",
    },
    "general_value": {
        "en": "Lift basket size with upsell and bundles.",
        "zh": "通过追加销售与组合优惠提升客单价。",
    },
    "general_development": {
        "en": "Nurture with promotions and content to build the habit.",
        "zh": "通过促销和内容运营培养购买习惯。",
    },
    "general_retention": {
        "en": "Remind them with automated campaigns and small incentives.",
        "zh": "用自动化营销和小额激励提醒回购。",
    },
    "general_winback": {
        "en": "Low-cost mass reactivation only; accept some will be lost.",
        "zh": "仅做低成本批量唤醒，接受部分流失。",
    },
    "prospect": {
        "en": "Convert: first-purchase offer and follow-up by the account owner.",
        "zh": "促成首单：首购优惠并由负责人跟进。",
    },
    "churned": {
        "en": "Run a win-back campaign for the valuable ones; learn why they left.",
        "zh": "对有价值的流失客户开展召回，并了解流失原因。",
    },
    "active": {
        "en": "Keep the relationship warm and grow share of wallet.",
        "zh": "保持互动，提升客户钱包份额。",
    },
    "dormant": {
        "en": "Reactivate with a reminder and a reason to come back.",
        "zh": "发送提醒并给出回归理由以唤醒。",
    },
}


def label(key: str, lang: Lang = "en", axis: str | None = None) -> str:
    """The display label of a machine key on ``axis`` (``lifecycle``/``rfm``; None = the key's
    common name); an unknown key is shown as itself (never fails)."""
    entry = AXIS_LABELS.get(axis or "", {}).get(key) or LABELS.get(key)
    return entry[lang] if entry else key


def action(key: str, lang: Lang = "en") -> str | None:
    """The one-line recommended action for a segment or stage, or None when there is none."""
    entry = ACTIONS.get(key)
    return entry[lang] if entry else None
