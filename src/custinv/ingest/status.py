"""Order / deal status → keep or exclude, from ONE vocabulary (English + Chinese).

Statuses are matched as whole normalised values, never substrings:
``partially_refunded`` is not ``refunded`` and ``卖家已发货，等待买家确认`` (shipped,
awaiting the buyer's confirmation) is not ``等待买家付款`` (awaiting payment).
A value outside the vocabulary is *used* (design.md): excluding revenue on a
guess is worse than counting it, and ``custinv inspect`` lists every status
seen with its decision so a person can check.

The one exception is a deal / opportunity export (Salesforce, 销售易, 纷享销客):
there only won stages are sales (the issue's rule), so unknown values — the
custom stage names every CRM admin invents ("Verbal Commit", "Contract Sent")
— are ``open``. Counting a pipeline stage as revenue would be the worse error.
"""

from __future__ import annotations

import polars as pl

from custinv.ingest.parse import IntoCol, _col, _named, empty_to_null, fold_width_expr, lookup_expr

__all__ = [
    "DEAL_STAGES",
    "EXCLUSION_REASONS",
    "STATUS_VOCABULARY",
    "TRANSACTION_TYPES",
    "USED",
    "is_deal_export",
    "known_status_decisions",
    "normalise_status",
    "normalise_status_expr",
    "status_decision_expr",
    "status_overrides",
    "status_report",
    "transaction_decision_expr",
]

#: Decision for a known-good value.
USED = "used"
#: Reason of a value the user excluded that no vocabulary lists as an exclusion.
USER_EXCLUDED = "excluded_status"
#: Exclusion reason codes (``rows_excluded`` keys in the JSON contract).
EXCLUSION_REASONS: tuple[str, ...] = (
    "cancelled", "refunded", "voided", "closed", "lost", "unpaid", "open", "draft", USER_EXCLUDED,
)

# Raw vocabulary, written as people write it; keys are normalised at import
# time by the very expression used on the data, so the two can never disagree.
_RAW_VOCABULARY: dict[str, tuple[str, ...]] = {
    "cancelled": (
        "cancelled", "canceled", "cancel", "order cancelled", "order canceled",
        "已取消", "取消", "交易取消", "订单取消", "已撤销", "キャンセル確定", "キャンセル確定待ち", "キャンセル",
    ),
    "refunded": (
        "refunded", "refund", "fully refunded", "returned",
        "已退款", "退款成功", "退款完成", "全额退款", "已退货", "reversed",
        "付款以后用户退款成功，交易自动关闭", "退货", "全额退款成功",
    ),
    "voided": ("voided", "void", "removed", "trash", "deleted", "已作废", "作废"),
    "closed": ("closed", "交易关闭", "已关闭", "关闭", "订单关闭"),
    "lost": ("closed lost", "lost", "closed/lost", "closedlost", "closed lost to competition", "输单", "丢单", "已输单"),
    "unpaid": (
        "pending", "unpaid", "awaiting payment", "pending payment", "payment pending",
        "not paid", "failed", "payment failed", "on hold",
        "authorized", "partially_paid", "expired", "unshipped", "declined", "manual verification required", "disputed", "payment review", "suspected fraud",
        "付款失敗", "未付款", "礼物待收下", "凑单买凑团中", "已锁定", "锁定", "暂停", "denied", "unclaimed", "held", "uncaptured",
        "requires_payment_method", "requires_action", "requires_confirmation", "requires_capture",
        "等待买家付款", "待付款", "未付款", "待支付", "未支付", "等待付款",
    ),
    "draft": (
        "draft", "checkout-draft", "incomplete", "awaiting approval", "submitted", "quotation", "quotation sent", "checkout draft", "drafted", "saved", "草稿", "暂存", "创建", "新建", "审核中",
        "待审核", "未审核", "重新审核", "提交", "已提交", "未生效", "未审",
    ),
    "open": (
        "open", "prospecting", "qualification", "needs analysis", "value proposition",
        "id. decision makers", "perception analysis", "proposal/price quote",
        "negotiation/review", "proposal", "negotiation", "discovery", "qualified",
        "商机", "初步接洽", "需求确认", "方案报价", "商务谈判", "谈判中", "跟进中", "进行中",
        # HubSpot default pipeline (labels and internal values)
        "appointment scheduled", "appointmentscheduled", "qualified to buy", "qualifiedtobuy",
        "presentation scheduled", "presentationscheduled", "decision maker bought-in", "decisionmakerboughtin",
        "contract sent", "contractsent", "identify decision makers",
    ),
    USED: (
        "paid", "completed", "complete", "shipped", "fulfilled", "delivered", "partially_refunded",
        "partially refunded", "shipping", "partiallyshipped", "partially shipped", "awaiting fulfillment",
        "awaiting shipment", "awaiting pickup",
        "closed won", "closed/won", "closedwon", "won", "success", "successful", "succeeded", "settled",
        "processing", "invoiced",
        "赢单", "已赢单", "已成交", "成交", "交易成功", "交易完成", "已完成", "完成",
        "已发货", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货", "已付款", "已支付",
        "已签收", "已收货",
        "部分发货", "等待卖家发货",
        "sales order", "locked", "已审核", "已审", "未作废", "未关闭", "正常", "变更中",
        "已发货，待签收", "待发货", "备货中", "等待确认收货", "等待出库", "发往配送中心", "配送中心已收货", "收款确认",
        "等待发货",
        # after-sale statuses that leave the sale standing (no refund, or one not completed / withdrawn)
        "无售后或售后取消", "售后处理中", "处理中", "退货退款中", "售后关闭", "售后中", "退款中", "待商家收货",
        "没有申请退款", "无售后", "退款关闭", "退款失败", "用户取消申请", "商家受理中", "商家拒绝退款", "待买家退货",
        "部分退款中", "全额退款中", "部分退款成功", "待收货", "待成团", "待接单",
        "部分退款", "處理中", "已確認", "已付款", "已完成", "已發貨",  # 繁體 (已付款/已完成 as written in zh-TW too)
        "注文確認待ち", "楽天処理中", "発送待ち", "変更確定待ち", "発送済", "支払手続き中", "支払手続き済",  # 日本語
    ),
}

#: Normalised values that mark a deal / opportunity pipeline (won, lost and
#: open stages). A status column dominated by these is a deal export.
_RAW_DEAL_STAGES: tuple[str, ...] = (
    *_RAW_VOCABULARY["lost"], *_RAW_VOCABULARY["open"],
    "closed won", "closed/won", "closedwon", "won", "赢单", "已赢单", "已成交",
)


def normalise_status_expr(col: IntoCol) -> pl.Expr:
    """Status text → its matching key: full-width folded to half-width, trimmed,
    case-folded, runs of whitespace/``_``/``-`` → one space, no space around
    ``, . : ; / ( )``. Blank → null."""
    t = (
        fold_width_expr(col)
        .str.to_lowercase()
        .str.replace_all(r"[\s_\-]+", " ")
        .str.replace_all(r"\s*([,.:;/()])\s*", "$1")
        .str.strip_chars()
    )
    return _named(empty_to_null(t), col)  # t named once (see parse.empty_to_null)


def _normalise(values: tuple[str, ...] | list[str]) -> list[str]:
    return (
        pl.DataFrame({"v": list(values)}, schema={"v": pl.String})
        .select(normalise_status_expr("v"))
        .to_series()
        .to_list()
    )


def _build_vocabulary(raw_table: dict[str, tuple[str, ...]], what: str) -> dict[str, str]:
    """Normalised value → decision; a value listed under two decisions is a bug in the table."""
    vocab: dict[str, str] = {}
    for decision, raws in raw_table.items():
        for raw, key in zip(raws, _normalise(raws), strict=True):
            if vocab.get(key, decision) != decision:
                raise AssertionError(f"{what} {raw!r} listed under two decisions")
            vocab[key] = decision
    return vocab


_BLANK = "\x00blank"  # stands in for a blank status; no real status holds a NUL
#: Normalised whole value → decision (an exclusion reason code or ``used``).
STATUS_VOCABULARY: dict[str, str] = _build_vocabulary(_RAW_VOCABULARY, "status")
#: Normalised values that only a deal / opportunity export uses.
DEAL_STAGES: frozenset[str] = frozenset(_normalise(_RAW_DEAL_STAGES))


def status_decision_expr(
    col: IntoCol, *, deal_export: bool = False, overrides: dict[str, str] | None = None,
    known: pl.Series | None = None,
) -> pl.Expr:
    """Status text → reason code, ``used`` for known-good, null for blank.

    Unknown values are null (the caller treats null as used) — except in a deal
    export (``deal_export=True``, see :func:`is_deal_export`), where every
    non-blank value that is not a known stage is ``open``: only won stages are
    sales there. Blank stays null either way: no information, row default.
    ``overrides`` (:func:`status_overrides`: ``--status-used`` / ``--status-excluded``)
    take precedence over the vocabulary.

    ``known``: values the column is expected to hold (the streaming ingest passes its first
    rows' distinct values). They are decided once, here, and looked up per row (a hash lookup
    per distinct decision, however many values); only rows
    holding another value run the normaliser (the looked-up rows are masked to null for it,
    which costs nothing). The result is the same either way; every part of it streams (no
    ``Expr.replace``), so a status first written late in a big file is decided in the same pass.
    """
    if known is not None and known.len():
        decisions = known_status_decisions(known, deal_export=deal_export, overrides=overrides)
        c = _col(col)
        by_decision: dict[str, list[str]] = {}
        for value, decision in decisions.items():
            if decision is not None:
                by_decision.setdefault(decision, []).append(value)
        looked_up = pl.lit(None, dtype=pl.String)
        for decision, values in sorted(by_decision.items()):  # one test per decision, however many values
            hit = c == values[0] if len(values) == 1 else c.is_in(pl.Series(values, dtype=pl.String).implode())
            looked_up = pl.when(hit).then(pl.lit(decision)).otherwise(looked_up)
        hit = c.is_in(pl.Series(list(decisions), dtype=pl.String).implode())
        return _named(pl.coalesce(looked_up, _decide(pl.when(~hit).then(c), deal_export, overrides)), col)
    return _named(_decide(col, deal_export, overrides), col)


def known_status_decisions(known: pl.Series, *, deal_export: bool = False,
                           overrides: dict[str, str] | None = None) -> dict[str, str | None]:
    """Each distinct non-null value of ``known`` → its decision (status_decision_expr's rule)."""
    values = known.cast(pl.String).unique().drop_nulls().sort()
    table = pl.DataFrame({"v": values}).select(pl.col("v"), _decide(pl.col("v"), deal_export, overrides).alias("d"))
    return dict(zip(table["v"].to_list(), table["d"].to_list(), strict=True))


def _decide(col: IntoCol, deal_export: bool, overrides: dict[str, str] | None) -> pl.Expr:
    """status_decision_expr on every row (unnamed)."""
    key = normalise_status_expr(col)
    vocabulary = {**STATUS_VOCABULARY, **(overrides or {})}
    if deal_export:
        # One pass: blank → a sentinel that maps back to null; unknown → open.
        mapping: dict[str, str | None] = {**vocabulary, _BLANK: None}
        decision = lookup_expr(key.fill_null(_BLANK), mapping, default="open")
    else:
        decision = lookup_expr(key, vocabulary)
    return decision


def normalise_status(value: str) -> str | None:
    """One status value's matching key (the data's own normaliser, on one value)."""
    return _normalise([value])[0]


def status_overrides(used: list[str] | tuple[str, ...], excluded: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The user's ``--status-used`` / ``--status-excluded`` (or ``[status]`` in custinv.toml) as
    normalised value → decision. An excluded value keeps its vocabulary reason when the
    vocabulary knows it as an exclusion, else it is ``excluded_by_user``."""
    out: dict[str, str] = {}
    for value in used:
        key = normalise_status(value)
        if key is not None:
            out[key] = USED
    for value in excluded:
        key = normalise_status(value)
        if key is None:
            continue
        if key in out:
            raise ValueError(f"status {value!r} is both --status-used and --status-excluded")
        known = STATUS_VOCABULARY.get(key)
        out[key] = known if known not in (None, USED) else USER_EXCLUDED
    return out


def is_deal_export(statuses: pl.Series, rows: pl.Series | None = None) -> bool:
    """True when a status column is a deal pipeline, not an order status.

    Counts rows whose value is a won / lost / open stage against rows whose
    value is a recognised order status (paid, shipped, refunded, 待付款…);
    ``closed`` and unknown values are neutral. Deal export when the stages
    outnumber the order statuses. ``rows``: the row count of each value when
    ``statuses`` are a column's distinct values (the streaming ingest's counts).
    """
    weight = rows.cast(pl.Int64) if rows is not None else pl.Series([1] * statuses.len(), dtype=pl.Int64)
    keyed = pl.DataFrame({"s": statuses.cast(pl.String), "w": weight}).select(
        normalise_status_expr("s").alias("k"), pl.col("w")
    ).drop_nulls("k")
    known = keyed.filter(pl.col("k").is_in(list(STATUS_VOCABULARY)) & (pl.col("k") != "closed"))
    deal = int(known.filter(pl.col("k").is_in(sorted(DEAL_STAGES)))["w"].sum() or 0)
    return deal > 0 and deal > int(known["w"].sum() or 0) - deal


def status_report(statuses: pl.Series, *, deal_export: bool | None = None) -> pl.DataFrame:
    """Every distinct status seen, with its decision, for ``custinv inspect``.

    Columns: ``status`` (as written, trimmed; blank cells are one null row), ``normalised``, ``decision``
    (the final one: reason code or ``used``), ``recognised`` (in the
    vocabulary), ``rows``. Most frequent first. ``deal_export`` defaults to
    :func:`is_deal_export` on the same values.
    """
    if deal_export is None:
        deal_export = is_deal_export(statuses)
    stripped = pl.col("status").str.strip_chars()
    frame = pl.DataFrame({"status": statuses.cast(pl.String)}).select(
        pl.when(stripped.str.len_chars() > 0).then(stripped).alias("status")  # blank → null
    )
    return (
        frame.group_by("status")
        .agg(rows=pl.len())
        .with_columns(
            normalised=normalise_status_expr("status"),
            decision=status_decision_expr("status", deal_export=deal_export).fill_null(USED),
            recognised=normalise_status_expr("status").is_in(list(STATUS_VOCABULARY)).fill_null(False),
        )
        .select("status", "normalised", "decision", "recognised", "rows")
        .sort(["rows", "status"], descending=[True, False], nulls_last=True)
    )



# --- transaction types ------------------------------------------------------------------------
# A transaction-type column (PayPal "Type", Square "Event Type", Stripe balance "Type",
# 交易类型) says what a row IS: a sale (an order), a refund (a return, reported beside the
# revenue), or money moving for another reason (fees, payouts, transfers, currency
# conversion, holds): not a sale at all. ONE vocabulary, normalised like the statuses.

SALE = "sale"
REFUND = "refund"
NON_SALE = "non_sale"

_RAW_TRANSACTION_TYPES: dict[str, tuple[str, ...]] = {
    SALE: (
        "sale", "sales", "payment", "charge", "order", "purchase", "invoice", "sales invoice",
        "express checkout payment", "website payment", "mobile payment", "subscription payment",
        "shopping cart payment", "general payment", "payment received", "invoice payment",
        "sales receipt", "statement charge", "sales invoice",
        "pos payment", "web accept payment", "virtual terminal payment", "recurring payment",
        "ebay auction payment", "mass pay payment",
        "donation payment", "pre-approved payment bill user payment", "preapproved payment bill user payment",
        "销售", "销售单", "收款", "订单", "销售出库", "销售出库单", "销售发票", "普通销售", "销货", "标准销售",
        "直运销售", "分期收款", "委托代销", "寄售",
    ),
    REFUND: (
        "refund", "payment refund", "refunds", "return", "returns", "chargeback", "payment reversal",
        "reversal", "credit note", "credit memo", "refund receipt", "sales credit note", "payment_refund", "dispute",
        "退款", "退货", "销售退货", "销售退货单", "红字发票", "售后退款",
    ),
    NON_SALE: (
        "fee", "fees", "stripe fee", "stripe_fee", "application fee", "application_fee", "payout",
        "payout_cancel", "payout_failure", "transfer", "transfer_cancel", "transfer_failure",
        "withdrawal", "general withdrawal", "general currency conversion", "currency conversion",
        "adjustment", "tax", "deposit", "general credit card deposit", "bank deposit to pp account",
        "general credit card withdrawal", "hold on balance for dispute investigation",
        "reversal of general account hold", "account hold for open authorization",
        "reversal of ach deposit", "user initiated withdrawal", "connected_account_transfer",
        "contribution", "topup", "reserve_transaction", "reserved_funds", "issuing_authorization_hold",
        "sales overpayment", "sales prepayment", "chargeback reversal", "fee reversal", "cancellation of hold for dispute resolution", "temporary hold",
        "general card withdrawal", "network_cost", "payout_reversal", "other_adjustment", "risk_reserved_funds",
        "connect_reserved_funds", "dispute_reversal", "refund_failure", "charge_failure",
        "手续费", "提现", "转账", "充值", "服务费", "佣金",
    ),
}


#: Normalised transaction type → ``sale`` / ``refund`` / ``non_sale``.
TRANSACTION_TYPES: dict[str, str] = _build_vocabulary(_RAW_TRANSACTION_TYPES, "transaction type")


def transaction_decision_expr(col: IntoCol) -> pl.Expr:
    """Transaction type text → ``sale`` / ``refund`` / ``non_sale``; null when blank or unknown."""
    key = normalise_status_expr(col)
    return _named(lookup_expr(key, TRANSACTION_TYPES), col)
