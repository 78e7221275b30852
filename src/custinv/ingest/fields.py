"""Canonical fields and the one synonym table (English + Chinese) that maps export headers to them.

Headers are compared after normalisation (NFKC, case-folded, bracketed units such as
``(USD)`` or ``（元）`` dropped, spaces/underscores/hyphens/dots removed), as whole values —
never substrings, so ``Subtotal`` is not ``Total`` and ``Fulfillment Status`` is not
``Status`` unless the table says so.

Each synonym has a *rank*: when several columns match one field, the highest rank wins
(for customer_id an id/number column beats an email, which beats a name; ``Total`` beats
``Lineitem price``). Ties go to the leftmost column. ``--map field=column`` overrides only
the fields it names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from custinv.errors import DataError, UsageError

REQUIRED = ("customer_id", "order_date")
"""Plus ``amount`` or ``quantity`` × ``unit_price``."""

DIMENSIONS = ("region", "country", "city", "industry", "channel", "segment", "owner")

# field -> [(rank, synonyms...)]; higher rank wins. One table, edit here only.
SYNONYMS: dict[str, list[tuple[int, tuple[str, ...]]]] = {
    "customer_id": [
        (30, ("customer id", "customerid", "customer_id", "cust id", "customer no", "customer number",
              "customer code", "client id", "client no", "account id", "buyer id", "member id", "user id",
              "contact id", "shopper id", "customer key", "客户编号", "客户id", "客户代码", "客户号", "客户编码",
              "会员编号", "会员id", "会员号", "买家id", "用户id", "账户id", "客户账号", "往来单位编码",
              "客戶編號", "客戶id", "客戶代碼", "顧客id", "顧客編號", "會員編號", "會員id",  # 繁體
              "顧客番号", "会員id", "会員番号", "顧客コード", "得意先コード",  # 日本語
              "associated company ids", "associated company id", "company id", "contactid")),
        (20, ("email", "e-mail", "customer email", "email address", "buyer email", "邮箱", "电子邮件",
              "电子邮箱", "客户邮箱", "電郵", "電子郵件", "注文者メールアドレス", "メールアドレス", "from email address", "billing email", "buyer-email", "payer email",
              "customer e-mail", "买家手机号", "会员手机号", "客户手机号")),
        (15, ("买家会员名", "买家账号", "会员名", "旺旺号", "买家昵称", "buyer username", "buyer user id", "下单帐号", "下单账号", "用户账号")),
        (10, ("customer name", "customer", "account name", "account", "client", "client name", "buyer",
              "company", "company name", "contactname", "contact name", "associated company", "客户名称", "客户", "客户姓名", "公司名称", "往来单位", "购买单位",
              "客戶名稱", "客戶", "顧客", "顧客名", "得意先名", "客户简称",
              "单位名称")),
    ],
    "order_id": [
        (30, ("order id", "orderid", "order no", "order number", "order #", "invoice", "invoice no",
              "invoiceno", "invoice number", "invoice id", "transaction id", "receipt no", "receipt number",
              "document no", "sales order", "订单编号", "订单号", "单据编号", "订单id", "交易号", "发票号",
              "单号", "销售单号", "出库单号", "opportunity id", "amazon order id", "销售订单编号", "订单编码", "主订单编号", "发货单号", "sales record number", "order reference",
              "訂單編號", "訂單號碼", "訂單號", "注文番号", "受注番号")),
        (20, ("num", "no.", "doc no", "transaction no", "record id", "deal id")),
        # Shopify's order name (#1001), Magento's ID (000000101): only when the values look like order numbers
        (5, ("name", "id")),
    ],
    "order_date": [
        (30, ("order date", "orderdate", "invoice date", "invoicedate", "purchase date", "transaction date",
              "order time", "订单创建时间", "下单时间", "订单日期", "订单时间", "成交日期", "成交时间", "交易时间",
              "交易日期", "销售日期", "单据日期", "开票日期", "发票日期", "date of purchase", "下单日期", "订单成交时间", "订单提交时间", "发货日期", "訂單日期", "下單日期", "下單時間", "訂單時間", "成交日期",
              "注文日", "注文日時", "受注日", "transaction date",
              "purchase-date")),
        (25, ("创建时间", "close date", "closed date", "closing date", "created at", "created", "order created", "sale date", "出库日期",
              "created date", "date created")),
        (15, ("date", "日期", "paid at", "付款时间", "支付时间", "payment date")),
    ],
    "amount": [
        # what the customer paid beats a gross / list total (design: revenue is the paid amount)
        (35, ("实付金额", "买家实际支付金额", "实收金额", "实付款", "实付", "实收款", "买家实付", "total collected",
              "amount paid", "paid amount", "n. revenue", "order total paid", "用户实付金额", "订单应付金额", "订单实付金额", "付款總金額", "优惠后金额",
              "實付金額")),
        # 应付金额 (what the buyer must pay, 京东) ranks with 订单金额 (before discounts in some exports,
        # the sale in others): two such columns are a tie, and a tie is a warning naming the other
        (30, ("应付金额", "销售订单金额", "訂單金額", "銷售額", "合計金額", "total", "order total", "total amount",
              "grand total", "total price", "amount", "sales", "revenue", "sales amount", "order amount",
              "订单金额", "销售额", "销售金额", "成交金额", "合计金额", "总金额", "价税合计", "含税金额")),
        (20, ("金额", "金額", "請求金額", "net sales", "gross sales", "gross", "value", "order value", "line total", "line amount",
              "total sales", "amount (converted)", "expected revenue")),
    ],
    "quantity": [
        (30, ("quantity", "qty", "lineitem quantity", "units", "数量", "购买数量", "商品数量", "销售数量", "件数",
              "订购数量", "商品数量(件)", "數量", "個数")),
    ],
    "unit_price": [
        (30, ("unit price", "unitprice", "price", "sales price", "lineitem price", "单价", "商品单价", "销售单价", "含税单价",
              "价格")),
    ],
    "status": [
        (30, ("order status", "financial status", "stage", "payment status", "订单状态", "交易状态", "销售阶段",
              "生命状态", "訂單狀態", "受注ステータス", "审核状态",
              "商机阶段", "阶段", "opportunity stage", "deal stage")),
        (25, ("付款状态", "付款狀態", "支付状态")),
        (20, ("status", "状态", "单据状态", "transaction status", "狀態", "ステータス")),
    ],
    "after_sale_status": [
        (30, ("售后状态", "退款状态", "退货状态", "售后", "作废状态", "订单退款状态", "付款状态", "付款狀態",
              "售後狀態", "退款狀態", "refund status", "return status",
              "after-sale status", "after sale status")),
    ],
    "transaction_type": [
        (30, ("transaction type", "event type", "交易类型", "收支类型")),
        # PayPal/Stripe "Type", 畅捷通/用友 业务类型, 精斗云 业务类别: only when the values are transaction types
        (5, ("type", "业务类型", "业务类别")),
    ],
    "refunded_amount": [
        (30, ("refunded amount", "refund amount", "amount refunded", "total refunded", "退款金额", "已退款金额",
              "退款总金额", "订单已退款金额", "已退款金額", "退款金額", "refunded total",
              "refunded_total")),
    ],
    # who approved (audited) the document: empty = not approved, a draft (用友 U8 审核人). Named by
    # profiles only (not in FIELD_ORDER): an empty approver column means nothing in a book without auditing.
    "approved_by": [(30, ("审核人", "審核人", "approved by", "approver"))],
    # when the order was paid: empty = never paid (eBay's committed but unpaid sales). Profiles only.
    "paid_at": [(30, ("paid on date", "paid at", "paid date", "payment date", "付款时间", "支付时间", "订单付款时间"))],
    "cancelled_at": [(30, ("cancelled at", "canceled at", "cancellation date", "cancelled date", "取消时间"))],
    "refund_reference": [(30, ("reference txn id", "original transaction id", "原订单号", "原订单编号", "源单编号"))],
    "currency": [(30, ("currency", "currency code", "币种", "货币", "币别", "幣別", "幣種", "通貨", "order currency code",
                             "order currency", "order_currency"))],
    "customer_name": [
        (30, ("customer name", "billing name", "bill-to name", "account name", "client name", "客户名称", "客户姓名", "收货人姓名",
              "买家姓名", "company name", "公司名称")),
    ],
    "email": [(30, ("email", "e-mail", "customer email", "email address", "邮箱", "电子邮件", "电子邮箱", "電郵",
                    "電子郵件", "注文者メールアドレス",
                    "from email address", "billing email", "buyer-email", "payer email"))],
    "phone": [(30, ("phone", "mobile", "telephone", "phone number", "billing phone", "手机", "电话", "手机号",
                    "联系电话", "联系手机", "手机号码"))],
    "region": [(30, ("region", "province", "state", "billing province", "billing state", "省份", "地区", "区域",
                     "省", "所在地区", "大区", "收货地址省份"))],
    "country": [(30, ("country", "billing country", "shipping country", "国家", "国家/地区"))],
    "city": [(30, ("city", "billing city", "shipping city", "城市", "市"))],
    "industry": [(30, ("industry", "行业", "所属行业"))],
    "channel": [(30, ("channel", "sales channel", "source", "lead source", "渠道", "来源", "销售渠道", "订单来源", "订单渠道"))],
    "segment": [(30, ("segment", "customer segment", "customer type", "客户类型", "客户分类", "客户类别"))],
    "owner": [(30, ("owner", "sales rep", "salesperson", "opportunity owner", "account owner", "sales owner",
                    "负责人", "销售员", "业务员", "销售代表", "客户经理", "销售负责人", "deal owner", "salesperson"))],
    "signup_date": [(30, ("signup date", "customer since", "registration date", "注册时间", "注册日期"))],
    "cost": [(30, ("cost", "cogs", "cost of goods", "cost of goods sold", "成本", "成本金额", "销售成本"))],
    "margin": [(30, ("margin", "profit", "gross profit", "毛利", "利润", "毛利额"))],
}

# Fields that may reuse a column already taken by another field (a name or email column can
# be both the identity and the display name).
SHAREABLE = frozenset({"customer_name", "email", "phone"})

# Assignment order: the fields whose choice matters most go first.
FIELD_ORDER = (
    "customer_id", "order_id", "order_date", "amount", "quantity", "unit_price", "status", "currency",
    "after_sale_status", "transaction_type", "refunded_amount", "cancelled_at", "refund_reference",
    "cost", "margin", "signup_date", *DIMENSIONS, "customer_name", "email", "phone",
)
ALL_FIELDS = frozenset(SYNONYMS)

_BRACKETS = re.compile(r"[\(\[（【][^\)\]）】]*[\)\]）】]")
_SEPARATORS = re.compile(r"[\s_\-\.:：/·#]+")
_ORDER_NUMBER = re.compile(r"^#?[A-Za-z]{0,4}-?\d{2,}$")


def normalise_header(header: str) -> str:
    """The comparison key of a header (or synonym)."""
    text = unicodedata.normalize("NFKC", str(header)).casefold().strip()
    without_units = _BRACKETS.sub("", text).strip()
    text = without_units or text
    return _SEPARATORS.sub("", text)


Synonyms = dict[str, list[tuple[int, tuple[str, ...]]]]


def _build_index(synonyms: Synonyms) -> dict[str, list[tuple[str, int]]]:
    index: dict[str, list[tuple[str, int]]] = {}
    for field_name, groups in synonyms.items():
        for rank, names in groups:
            for name in names:
                index.setdefault(normalise_header(name), []).append((field_name, rank))
    return index


_INDEX = _build_index(SYNONYMS)


def matches(header: str) -> list[tuple[str, int]]:
    """(field, rank) pairs a header matches."""
    return _INDEX.get(normalise_header(header), [])


@dataclass(frozen=True)
class FieldTable:
    """A synonym table with its assignment order, for files that are not order exports
    (customer master, tickets). Same matching machinery as the order table; a separate
    table so that adding e.g. ``created`` → ticket ``created`` never changes how an
    order file is mapped."""

    synonyms: Synonyms
    order: tuple[str, ...]
    shareable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _build_index(self.synonyms))

    def matches(self, header: str) -> list[tuple[str, int]]:
        """(field, rank) pairs a header matches in this table."""
        index: dict[str, list[tuple[str, int]]] = self._index  # type: ignore[attr-defined]
        return index.get(normalise_header(header), [])


def _order_subset(*names: str) -> Synonyms:
    return {n: SYNONYMS[n] for n in names}


MASTER_SYNONYMS: Synonyms = {
    **_order_subset("customer_id", "customer_name", "email", "phone", *DIMENSIONS),
    "signup_date": [
        (30, ("signup date", "customer since", "registration date", "created date", "account created",
              "date created", "created on", "created at", "注册时间", "注册日期", "创建日期", "创建时间", "建档日期",
              "开户日期", "入库时间", "建档时间")),
        (20, ("created", "first seen", "创建")),
    ],
    "status": [(30, ("status", "account status", "type", "account type", "customer status", "lifecycle status",
                     "状态", "客户状态", "客户阶段"))],
}
MASTER_TABLE = FieldTable(
    MASTER_SYNONYMS,
    ("customer_id", "signup_date", "status", *DIMENSIONS, "customer_name", "email", "phone"),
    frozenset({"customer_name", "email", "phone"}),
)

TICKET_SYNONYMS: Synonyms = {
    "ticket_id": [(30, ("ticket id", "ticket", "ticket #", "ticket no", "ticket number", "case number", "case id",
                        "case no", "request id", "id", "工单编号", "工单号", "工单id", "投诉编号", "服务单号",
                        "反馈编号", "单号", "编号"))],
    "customer_id": [
        *SYNONYMS["customer_id"][:1],
        (25, ("requester id", "requester external id", "organization id", "org id", "提交人id")),
        *SYNONYMS["customer_id"][1:],
        (20, ("requester email", "提交人邮箱")),
        (12, ("requester", "organization", "organisation", "提交人", "联系人")),
    ],
    "created": [
        (30, ("created", "created at", "created date", "date created", "opened", "opened date", "date opened",
              "submitted at", "创建时间", "提交时间", "受理时间", "投诉时间", "反馈时间", "登记时间", "创建日期")),
        (15, ("date", "日期", "时间")),
    ],
    "resolved": [
        (30, ("resolved", "resolved at", "solved at", "solved", "resolution date", "resolved date", "date resolved",
              "first resolved at", "first resolution at", "解决时间", "首次解决时间", "处理完成时间", "办结时间",
              "完成时间", "结案时间")),
        (20, ("closed", "closed at", "closed date", "date closed", "关闭时间", "关闭日期")),
    ],
    "ticket_type": [(30, ("type", "ticket type", "category", "issue type", "case type", "case reason", "reason",
                          "工单类型", "类型", "问题类型", "反馈类型", "服务类型", "工单分类", "类别"))],
    "channel": [(30, ("channel", "via", "source", "ticket channel", "origin", "case origin", "渠道", "来源",
                      "受理渠道", "反馈渠道"))],
    "satisfaction": [(30, ("satisfaction", "satisfaction score", "satisfaction rating", "csat", "csat score",
                           "rating", "customer rating", "满意度", "满意度评分", "评分", "客户评分", "满意度评价"))],
    "nps": [(30, ("nps", "nps score", "likelihood to recommend", "recommend score", "recommendation score",
                  "推荐意愿", "推荐度", "nps评分", "推荐评分", "净推荐值"))],
    "status": [(30, ("status", "ticket status", "state", "case status", "状态", "工单状态", "处理状态"))],
}
TICKET_TABLE = FieldTable(
    TICKET_SYNONYMS,
    ("ticket_id", "customer_id", "created", "resolved", "ticket_type", "status", "channel", "satisfaction", "nps"),
)


def header_score(cells: Sequence[str | None]) -> float:
    """How much a row looks like a header of an export: the number of cells naming a known field.

    Used by the sniffer to pick the header row and the encoding.
    """
    return float(sum(1 for c in cells if c and matches(c)))


@dataclass(frozen=True)
class FieldChoice:
    field: str
    column: str
    reason: str


@dataclass(frozen=True)
class Mapping:
    choices: dict[str, FieldChoice]

    def column(self, field: str) -> str | None:
        choice = self.choices.get(field)
        return choice.column if choice else None

    def as_dict(self) -> dict[str, str]:
        return {f: c.column for f, c in self.choices.items()}

    @property
    def customer_id_is_email(self) -> bool:
        col = self.column("customer_id")
        return col is not None and any(f == "email" for f, _ in matches(col))

    @property
    def amount_from_price(self) -> bool:
        return self.column("amount") is None


def map_columns(
    columns: Sequence[str],
    overrides: dict[str, str] | None = None,
    *,
    looks_like_order_numbers: dict[str, bool] | None = None,
    table: FieldTable | None = None,
    looks_like_transaction_types: dict[str, bool] | None = None,
    pinned: dict[str, tuple[str, str]] | None = None,
    empty: set[str] | frozenset[str] = frozenset(),
    sparse: set[str] | frozenset[str] = frozenset(),
) -> Mapping:
    """Choose a column for every canonical field the header offers.

    ``overrides`` (``--map``) pins the fields it names; a named column that does not exist is
    a usage error listing the columns. ``looks_like_order_numbers`` tells, per column, whether
    its values look like order numbers (``#1001``) — the weak ``Name`` synonym needs it.
    ``table`` maps another kind of file (:data:`MASTER_TABLE`, :data:`TICKET_TABLE`).
    ``looks_like_transaction_types`` does the same for the weak ``Type`` synonym of
    transaction_type. Columns in ``empty`` (no value in the sample) are never matched, and columns
    in ``sparse`` (mostly blank) are never the order id. ``pinned`` (field → (column, reason)) are choices made before matching
    (an export profile's columns); ``overrides`` still win over them.
    """
    overrides = dict(overrides or {})
    known, order, shareable, match = (
        (ALL_FIELDS, FIELD_ORDER, SHAREABLE, matches) if table is None
        else (frozenset(table.synonyms), table.order, table.shareable, table.matches)
    )
    unknown_fields = [f for f in overrides if f not in known]
    if unknown_fields:
        raise UsageError(
            f"--map names unknown field(s): {', '.join(unknown_fields)}",
            hint=f"known fields: {', '.join(sorted(known))}",
        )
    choices: dict[str, FieldChoice] = {}
    taken: set[str] = set()
    by_norm = {normalise_header(c): c for c in reversed(columns)}  # leftmost wins on duplicates
    for field, column in overrides.items():
        actual = column if column in columns else by_norm.get(normalise_header(column))
        if actual is None:
            raise UsageError(
                f"--map {field}={column}: no column named {column!r}",
                hint=f"columns found: {', '.join(columns)}",
            )
        choices[field] = FieldChoice(field, actual, f"set by --map / config ({field}={column})")
        taken.add(actual)
    for field, (column, reason) in (pinned or {}).items():
        if field in choices or column not in columns or (column in taken and field not in shareable):
            continue
        choices[field] = FieldChoice(field, column, reason)
        if field not in shareable:
            taken.add(column)

    order_numbers = looks_like_order_numbers or {}
    transaction_like = looks_like_transaction_types or {}
    # a column with no value in the rows looked at (Shopify's Receipt Number on web orders) is never
    # matched: an empty order id column would silently turn orders into customer-days
    for field in order:
        if field in choices:
            continue
        best: tuple[int, int, str] | None = None
        for position, column in enumerate(columns):
            if (column in taken and field not in shareable) or column in empty:
                continue
            if field == "order_id" and column in sparse:  # mostly blank: not what groups lines into orders
                continue
            for matched_field, rank in match(column):
                if matched_field != field:
                    continue
                if field == "order_id" and rank < 10 and not order_numbers.get(column, False):
                    continue
                if field == "transaction_type" and rank < 10 and not transaction_like.get(column, False):
                    continue
                candidate = (rank, -position, column)
                if best is None or candidate > best:
                    best = candidate
        if best is not None:
            rank, _, column = best
            kind = _rank_kind(field, rank)
            choices[field] = FieldChoice(field, column, f"header {column!r} is a {kind} synonym of {field}")
            if field not in shareable:
                taken.add(column)
    return Mapping(choices)


def _rank_kind(field: str, rank: int) -> str:
    if field == "customer_id":
        return {30: "id/number", 20: "email", 15: "member-name", 10: "name"}.get(rank, "weak")
    return "strong" if rank >= 30 else ("medium" if rank >= 20 else "weak")


def order_number_like(values: Iterable[str | None]) -> bool:
    """True when most non-empty sample values look like order numbers (``#1001``, ``SO-2041``)."""
    sample = [v.strip() for v in values if v and v.strip()]
    if not sample:
        return False
    hits = sum(1 for v in sample if _ORDER_NUMBER.match(v))
    return hits / len(sample) >= 0.9


class MissingFields(DataError):
    """A required field has no column (exit 65); carries the partial mapping for ``inspect``."""

    def __init__(self, mapping: Mapping, columns: list[str], path: str, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.mapping = mapping
        self.columns = columns
        self.path = path


def require_fields(mapping: Mapping, columns: Sequence[str], path: str) -> None:
    """Exit 65 with the columns found when a required field cannot be mapped."""
    missing = [f for f in REQUIRED if mapping.column(f) is None]
    if mapping.column("amount") is None and not (mapping.column("quantity") and mapping.column("unit_price")):
        missing.append("amount (or quantity and unit_price)")
    if missing:
        raise MissingFields(
            mapping, list(columns), path,
            f"{path}: cannot find column(s) for {', '.join(missing)}",
            hint=(
                f"columns found: {', '.join(repr(c) for c in columns[:40])}"
                f"{f' … and {len(columns) - 40} more' if len(columns) > 40 else ''}; "
                "name them with --map field=column (e.g. --map customer_id='Buyer') "
                "or in custinv.toml [map]"
            ),
        )
