"""The analytics' explanations (the churn window's basis, a CLV model's fallback reason, a
blank dimension value) in the reader's language.

Analytics state how they decided in one English sentence (it is part of the JSON contract and
stays English there). A report in Chinese must not show it raw, so each known sentence shape
is matched here and rewritten with its numbers; a sentence no pattern knows is shown as it is
(and ``tests/test_chinese_complete.py`` fails, which is how a new one gets its translation).
"""

from __future__ import annotations

import re
from typing import Literal

from custinv.analytics.breakdowns import BLANK
from custinv.render.i18n import label

Lang = Literal["en", "zh"]

_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"([\d.]+)th percentile of ([\d,]+) inter-purchase gaps \(days between a customer's consecutive "
                r"purchase dates\) = ([\d.]+), rounded up"),
     r"\2 个购买间隔（同一客户相邻两次购买日期相隔的天数）的第 \1 百分位数 = \3，向上取整"),
    (re.compile(r"([\d.]+)th percentile of ([\d,]+) repeat buyers' mean inter-purchase days = ([\d.]+), rounded up"),
     r"\2 位复购客户平均购买间隔的第 \1 百分位数 = \3，向上取整"),
    (re.compile(r"; raised to the floor of (\d+) days"), r"；低于下限，取 \1 天"),
    (re.compile(r"no repeat purchases in the data; default of (\d+) days"), r"数据中没有复购；取默认值 \1 天"),
    (re.compile(r"set by --churn-days"), r"由 --churn-days 指定"),
    (re.compile(r"only (\d+) repeat buyers \(auto needs (\d+) to trust BG/NBD; --model bgnbd forces it\)"),
     r"复购客户仅 \1 位（自动选择至少需要 \2 位才采用 BG/NBD；可用 --model bgnbd 强制）"),
    (re.compile(r"BG/NBD did not converge: (.*)"), r"BG/NBD 未收敛：\1"),
    (re.compile(r"BG/NBD ran to a limiting case \((.*?)\): the data cannot tell customers' purchase rates and "
                r"dropout apart \(--model bgnbd forces it\)"),
     r"BG/NBD 参数趋于极限（\1）：数据无法区分购买频率与流失（可用 --model bgnbd 强制）"),
    (re.compile(r"Gamma-Gamma did not converge"), r"Gamma-Gamma 未收敛"),
    (re.compile(r"Gamma-Gamma q <= 1 \(infinite mean spend\)"), r"Gamma-Gamma q ≤ 1（平均消费无穷大）"),
    (re.compile(r"historical CLV uses each customer's average order value"), r"历史法 CLV 采用每位客户的平均订单金额"),
    # the CLV model ladder (issue 17): fragments joined by "; "
    (re.compile(r"historical CLV \(last resort\): "), r"历史法 CLV（兜底）："),
    (re.compile(r"only (\d+) repeat buyers before the holdout \(([\d-]+)\); choosing a model by holdout needs (\d+)"),
     r"留出期（\2）之前复购客户仅 \1 位，按留出期选择模型至少需要 \3 位"),
    (re.compile(r"only (\d+) repeat buyers in all \(a model needs (\d+) to be trusted; --model bgnbd forces one\)"),
     r"全部复购客户仅 \1 位（模型至少需要 \2 位才可信，可用 --model bgnbd 强制）"),
    (re.compile(r"(?:[\w/-]+: )?no repeat buyers, so purchase rates and dropout cannot be separated"),
     r"没有复购客户，无法区分购买频率与流失"),
    (re.compile(r"needs at least 3 customers, got (\d+)"), r"至少需要 3 位客户，实际 \1 位"),
    (re.compile(r"Gamma-Gamma: needs at least 3 repeat buyers with positive spend, got (\d+)"),
     r"Gamma-Gamma：至少需要 3 位消费为正的复购客户，实际 \1 位"),
    (re.compile(r"no candidate could be scored on the holdout"), r"没有候选模型能在留出期上评分"),
    (re.compile(r"chosen by holdout: (.*?) predicted the held-out purchases best \(RMSE per customer: (.*?)\)"),
     r"按留出期选择：\1 对留出期购买的预测最好（每客户 RMSE：\2）"),
    (re.compile(r" \(reduced to (.*?)\)"), r"（简化为 \1）"),
    (re.compile(r"chosen by BIC on all customers: (.*?) \(BIC ([-\d.]+)\)"), r"按全部客户的 BIC 选择：\1（BIC \2）"),
    (re.compile(r"; "), r"；"),
)


def sentence(text: str | None, lang: Lang) -> str:
    """An analytics explanation in ``lang`` (English passes through)."""
    if not text:
        return ""
    if lang == "en":
        return text
    out = text
    for pattern, replacement in _ZH:
        out = pattern.sub(replacement, out)
    return out


def model_name(model: str | None, lang: Lang) -> str:
    """A CLV model's name in ``lang`` ("—" when none was fitted)."""
    return label("model:" + model, lang) if model else "—"


def dimension_value(value: str, lang: Lang) -> str:
    """A breakdown's value; the blank-value bucket in the reader's words."""
    if value == BLANK:
        return "（空白）" if lang == "zh" else BLANK
    return value
