"""The streaming path of ingest: one big plain UTF-8 CSV or Parquet file, read once, in batches.

The eager path (:func:`custinv.ingest.ledger.build_ledger`) holds the whole file as text and
decides every per-column rule from the whole column before parsing. On a 10-million-row
export that costs a second read of the file (the evidence) and gigabytes of text. This path
reads the file **once**, batch by batch, and decides the column rules *before* the first batch
from what a machine-written export looks like:

* every key column (ids, the order date, money) is *plain* — the shapes ``parse.*_are_plain``
  accept, which parse with the short expressions;
* order ids are unique (one line per order) — or, when the first rows already hold orders of
  several lines, every line of a multi-line order carries its order-level fields (so the
  eager path's copy from the first line would change nothing) and its own line amount (some
  order's lines differ: a line-amount column, as ``order_lines.AmountVotes`` decides it); the
  lines are then grouped into orders by the ledger's group_by on the order id;
* the status column is an order status, or a deal pipeline, as the first rows say.

**Fill mode** (``_Plan.fill``) reads platform exports that write an order's fields on its
first line only (Shopify's Financial Status, Total, Refunded Amount, Cancelled at), whose
amount column is an order total, or that have a refund column: the streaming engine reads and
parses, and the batches are cut where an order ends (its lines are a run of its id; the last
order of a batch waits for the next), so each holds whole orders and the rules across an
order's lines (:mod:`custinv.ingest.order_lines`: the first-line fill, the amount-mode vote,
a bad total rejecting its order; refunds once per order) run batch by batch exactly as the
eager path runs them on the whole file. An order whose lines are not one run hands the file
back. Export profiles (:mod:`custinv.ingest.profiles`) whose files are plain tables stream,
a composite customer key (receiver + phone) as a column made row by row, refunds known only
by a status counted from the excluded rows, a profile's footer patterns among the candidate
rows; grouped reports, continuation rows and transaction types stay eager.

Polars' streaming engine parses and decides every row with those rules (one query: reading,
flags, parsing and decisions run together on all cores) and hands the rows over in batches;
every rule is **verified** on every row as the batches go by: a key value of another shape
stops the read at once, and the file is read again with that column decided (ids by the
general id rules, dates and money from the evidence of every row); a status vote or a format
that the whole file decides differently, and a line break inside a quoted cell (the line
numbers must count it), are found at the end and the file is read again with the right
decision; a repeated order id hands the file back (``None``) to the eager path. So the
results are always the eager path's. Rules that look across rows are applied after the last batch, on the
few rows they concern: blank rows and structural rows (footers, repeated headers) are
recognised among the *candidate* rows (an empty first cell, a total label, a banner, at most
one filled cell), whose raw cells are kept as they pass.

Memory: each batch is split at once into used orders (the ledger's columns only) and the
other rows (few, with what the accounting and the rejects need), so the file's text is never
held and no 10M-row frame is copied to drop rows from it. Dimensions are kept as categoricals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError
from custinv.ingest import fields as F
from custinv.ingest import layout, parse, sniff, status
from custinv.ingest import rules as R
from custinv.ingest import sales as S
from custinv.ingest.mapping_plan import (
    TYPE_SAMPLE_ROWS,
    check_strict,
    plan_mapping,
    profile_currency,
    recognise,
    require_fields,
    status_overrides_of,
    type_like_columns,
)
from custinv.ingest.order_lines import AmountVotes, fill_order_level, order_level_decisions
from custinv.ingest.profiles import Profile
from custinv.ingest.readers import (
    RAGGED,
    CsvScan,
    RawTable,
    detect_format,
    float_text,
    is_ragged_error,
    scan_parquet_text,
    scan_plain_csv,
    text_exprs,
    typed_kind,
)

BATCH_ROWS = 500_000
"""Rows per batch: large enough that per-batch overhead vanishes, small enough to stay in cache
of memory (a batch's text is a few tens of MiB)."""

LAZY_MIN_BYTES = 32 << 20
"""Files at least this big that are plain UTF-8 CSVs take this path (small ones gain nothing)."""

RowProgress = Callable[[int, int], None]
"""Called after each batch with (data rows read so far, estimated data rows in the file)."""

_DECISIONS = pl.Enum([R.USED, *R.EXCLUDED_REASONS, *R.REJECTED_REASONS])
#: parse.PLAIN_MONEY_RE without the values that are weak decimal-comma evidence (1.500): on
#: plain values the point-strong and comma-weak patterns are the only evidence that can occur,
#: so a column of these values is read with the decimal point, as detect_money_format decides.
#: (A column that also has 1.500 goes to the eager path, which weighs the evidence.)
_PLAIN_POINT_MONEY = r"^-?(?:[0-9]+(?:\.[0-9]{1,2}|\.[0-9]{4,})?|(?:0|0[0-9]{1,2}|[0-9]{4,})\.[0-9]{3})$"
#: One pass for "not parse.ids_are_plain": a character outside the plain set, a ``#`` after the
#: first character, a first character (after a leading ``#``) that is not a letter or digit,
#: empty, or a blank-like word (parse._MISSING_WORD_RE).
_NOT_PLAIN_ID = r"[^0-9A-Za-z_#-]|.#|^#?[_-]|^#?$|(?i)^(?:na|nan|nil|none|null)$"
_REJECT_RAW = tuple(f"raw_{n}" for n in ("order_date", "amount", "quantity", "unit_price", "customer_id"))


class _HandBack(Exception):
    """The file needs the eager path (a rule assumed before the read did not hold)."""


def _key_fields(mapping: F.Mapping) -> list[str]:
    """Mapped fields that must be plain for this path: ids (not emails), the date, money."""
    keys = []
    for name in R.RAW_FIELDS:
        if mapping.column(name) is None:
            continue
        email_ids = name == "customer_id" and mapping.customer_id_is_email  # parsed as emails, always
        if not email_ids and name in ("customer_id", "order_id", "order_date", *R.MONEY_FIELDS):
            keys.append(name)
    return keys


def _not_plain(mapping: F.Mapping, keys: list[str], typed: dict[str, str] | None = None) -> pl.Expr:
    """Per row: some key cell has a shape other than the plain one (a null cell is fine).
    ``typed``: key fields read typed (field → kind): the same question about their text form."""
    flags: list[pl.Expr] = []
    for name in keys:
        c = pl.col(mapping.column(name))  # type: ignore[arg-type]
        kind = (typed or {}).get(name)
        if kind is not None:
            odd = _typed_not_plain(c, kind)
        elif name in ("customer_id", "order_id"):
            odd = c.str.contains(_NOT_PLAIN_ID)
        elif name == "order_date":
            odd = ~c.str.contains(parse.PLAIN_DATE_RE)
        else:
            odd = ~c.str.contains(_PLAIN_POINT_MONEY)
        flags.append(odd.fill_null(False))
    return pl.any_horizontal(flags) if flags else pl.lit(False)


def _typed_not_plain(c: pl.Expr, kind: str) -> pl.Expr:
    """Does the text form of a typed value (readers.to_text) fail the plain shape _not_plain checks?

    A date's text ``%Y-%m-%d`` is plain exactly when its year is 1900–2199; an integer's always
    is. A Float64's text (its shortest round-trip form, ``.0`` dropped) is plain unless it is
    written in exponent form (below 1e-4, from 1e15 on), not finite, or carries exactly three
    decimals after a 1–3 digit whole part (``12.345``: weak decimal-comma evidence). The values
    that could be one of those — a superset found with arithmetic — have their text built and
    checked; the others (nearly all) are plain by construction."""
    if kind == "date":
        return ~c.dt.year().is_between(1900, 2199)
    if kind == "integer":
        return pl.lit(False)
    size = c.abs()

    def near_whole(x: pl.Expr) -> pl.Expr:
        return (x - x.round()).abs() < 1e-6

    maybe = (
        ~c.is_finite() | (size >= 1e15) | ((size < 1e-4) & (c != 0))
        | ((size >= 1) & (size < 1000) & near_whole(c * 1000) & ~near_whole(c * 100))
    )
    return maybe & ~float_text(pl.when(maybe).then(c)).str.contains(_PLAIN_POINT_MONEY).fill_null(False)


@dataclass
class _Plan:
    """Everything decided before the first batch."""

    mapping: F.Mapping
    keys: list[str]
    plain: frozenset[str]
    amount_mode: str
    deal_export: bool
    used_cols: list[str]
    warnings: list[str] = field(default_factory=list)  # the mapping's guesses (mapping_plan.guess_warnings)
    multi_line: bool = False  # the first rows hold multi-line orders: flag each row's blank order-level fields
    date_fmt: parse.DateFormat | None = None  # a date column that is not plain ISO: its decided format
    money: dict[str, parse.MoneyFormat] = field(default_factory=dict)  # money fields that are not plain
    statuses: pl.Series | None = None  # the first rows' distinct statuses: decided once, looked up per row
    typed_sources: dict[str, str] = field(default_factory=dict)  # key field → kind of its typed Parquet column
    #: order runs: every batch holds whole orders (an order's lines are one run of its id), so the
    #: rules that look across an order's lines (the first-line fill, the amount mode, a bad total,
    #: refunds counted once per order) are applied batch by batch, exactly as the eager reader does
    fill: bool = False
    profile: Profile | None = None  # the export profile that recognised the file
    overrides: dict[str, str] = field(default_factory=dict)  # --status-used / --status-excluded
    after_statuses: pl.Series | None = None  # the first rows' distinct second statuses
    date_format: str | None = None  # --date-format, else the profile's
    type_column: bool = False  # a column could be transaction types (the mapping said no, from TYPE_SAMPLE_ROWS rows)
    derived: list[pl.Expr] = field(default_factory=list)  # columns made from others (a composite customer key)
    #: columns that could decide a field the mapping did not take (a payment date, an approver:
    #: sales.hint_columns); each row carries whether its cell is blank, for sales.hint_warning
    hints: dict[str, str] = field(default_factory=dict)
    #: key fields some cell of which was seen of another shape (an empty quoted cell "" is one:
    #: the plain parse takes values as written): decided, never put back among the plain keys —
    #: an id by the general id rules (row by row, parse.id_expr: nothing to verify), a date or
    #: money column by its format (date_fmt, money)
    seen_odd: frozenset[str] = frozenset()
    #: line items grouped into orders batch by batch (_LineOrders): the first rows hold multi-line
    #: orders, one run per order id, in id order (ascending or newest first) — what the read verifies row by
    #: row (else _Regroup: read again keeping the lines, grouped at the end)
    group_lines: bool = False

    @property
    def mapped(self) -> frozenset[str]:
        return frozenset(self.mapping.as_dict())

    @property
    def needs_driver(self) -> bool:
        """Decisions the Spark reader does not make (it hands such a file to custinv's reader)."""
        return (self.fill or self.profile is not None or bool(self.overrides) or self.type_column or bool(self.hints)
                or any(self.mapping.column(f) is not None for f in S.DECIDING_FIELDS))

    @property
    def hint_flags(self) -> list[pl.Expr]:
        """Per row and hint column: is its cell blank (``__hint_blank_<field>``)."""
        return [S.hint_expr(f, c).is_null().alias(_hint_blank(f)) for f, c in self.hints.items()]

    @property
    def hint_blanks(self) -> list[str]:
        """The names of those flag columns, carried with the used rows until the warning is made."""
        return [_hint_blank(f) for f in self.hints]

    def with_formats(self, date_fmt: parse.DateFormat | None, money: dict[str, parse.MoneyFormat]) -> None:
        """Take these column decisions: a decided field leaves the plain keys (checked per row
        by shape) and is verified by its evidence instead (see _verify_formats)."""
        self.date_fmt, self.money = date_fmt, money
        self.keys = [k for k in self.all_keys if not (k == "order_date" and date_fmt) and k not in money]
        self.plain = frozenset(f"raw_{k}" for k in self.keys)
        self.used_cols = [c for c in self.used_cols if c != "currency"]
        if self.mapping.column("currency") is not None or money:  # a money column may write its currency
            self.used_cols.append("currency")

    @property
    def all_keys(self) -> list[str]:
        """The key fields that may be plain (not an id seen odd: it takes the general id rules)."""
        return [k for k in _key_fields(self.mapping) if k not in self.seen_odd or k not in ("customer_id", "order_id")]

    @property
    def typed(self) -> dict[str, str]:
        """Plain key fields read from a typed Parquet column as they are typed (field → kind):
        their text form is never built, except for the few rows kept raw (others, candidates)."""
        return {f: k for f, k in self.typed_sources.items() if f in self.keys}

    @property
    def untrimmed(self) -> set[str]:
        """Fields taken as written in the batches: the plain keys (no padding by their shape), the
        dimensions (trimmed once at the end, and only when a value needs it: see _trim_dimensions)
        and fields the ledger does not keep. Status and currency decide rows, so they are trimmed."""
        kept_as_written = {"customer_name", "email", "phone", *F.DIMENSIONS}
        if self.fill:  # a blank order-level field takes the order's value: it must read as blank
            kept_as_written -= set(R.ORDER_LEVEL_FIELDS)
        return set(self.keys) | (kept_as_written & set(R.RAW_FIELDS))


@dataclass
class _IdOrder:
    """Are the used rows' order ids in order so far, in one direction (``descending`` or not) —
    as text, or shortest first — strictly, or with equal neighbours?

    Exports usually number orders in file order, ascending or newest first, and strictly
    ordered ids are distinct: followed batch by batch, that proves one line per order without
    hashing ten million strings at the end (and without a 10M-row temporary). Two orders are
    followed: plain text order, and *shortlex* (shorter first, then text) — the order of
    numbers written without leading zeros (…, 9999999, 10000000, …), with no cast to numbers.
    Not strict, they prove that the lines of one order follow each other (line-item exports)."""

    descending: bool = False
    as_text: bool = True
    shortlex: bool = True
    last: str | None = None
    #: the same orders, not strict: the lines of one order follow each other (line-item exports)
    as_text_or_equal: bool = True
    shortlex_or_equal: bool = True

    @property
    def strict(self) -> bool:
        return self.as_text or self.shortlex

    @property
    def monotone(self) -> bool:
        """Equal ids are adjacent: an order's lines are one run (ledger grouping by runs)."""
        return self.as_text_or_equal or self.shortlex_or_equal

    def stop(self) -> None:
        """No order holds any more (a null id, or a test that says so)."""
        self.as_text = self.shortlex = self.as_text_or_equal = self.shortlex_or_equal = False

    def _step(self, a: bytes, b: bytes) -> None:
        """The orders after id ``a`` then id ``b`` (byte order, as Polars compares text)."""
        if self.descending:
            a, b = b, a
        greater, longer, same_size = b > a, len(b) > len(a), len(b) == len(a)
        self.as_text = self.as_text and greater
        self.shortlex = self.shortlex and (longer or (same_size and greater))
        self.as_text_or_equal = self.as_text_or_equal and b >= a
        self.shortlex_or_equal = self.shortlex_or_equal and (longer or (same_size and b >= a))

    def follow(self, ids: pl.Series) -> None:
        if not self.monotone or ids.len() == 0:
            return
        if ids.null_count():
            self.stop()
            return
        if self.last is not None:
            self._step(self.last.encode(), ids[0].encode())
        n = ids.len()
        if n > 1:
            size = ids.str.len_bytes()
            # ids of one size (fixed-width numbers, the common case) are in shortlex order exactly
            # when they are in text order: one sortedness check answers both, and is_sorted is a
            # single pass, where comparing two offset slices of a batch costs several times more
            one_size = size.min() == size.max()
            if self.as_text_or_equal or (one_size and self.shortlex_or_equal):
                ordered = ids.is_sorted(descending=self.descending)
                wants_strict = self.as_text or (one_size and self.shortlex)
                strict = ordered and wants_strict and not (ids.slice(1) == ids.slice(0, n - 1)).any()
                self.as_text, self.as_text_or_equal = self.as_text and strict, self.as_text_or_equal and ordered
                if one_size:
                    self.shortlex, self.shortlex_or_equal = self.shortlex and strict, self.shortlex_or_equal and ordered
            if not one_size and (self.shortlex or self.shortlex_or_equal):
                # each id against the one before it (after it, descending): two slices of the batch, no copy
                cur, prev = ids.slice(1), ids.slice(0, n - 1)
                cur_size, prev_size = size.slice(1), size.slice(0, n - 1)
                if self.descending:
                    cur, prev, cur_size, prev_size = prev, cur, prev_size, cur_size
                longer, same_size = cur_size > prev_size, cur_size == prev_size
                if self.shortlex:
                    self.shortlex = bool((longer | (same_size & (cur > prev))).all())
                if self.shortlex_or_equal:
                    self.shortlex_or_equal = bool((longer | (same_size & (cur >= prev))).all())
        self.last = ids[-1]


@dataclass
class _IdOrders:
    """The order ids followed in both directions (_IdOrder): ascending, or newest first."""

    up: _IdOrder = field(default_factory=_IdOrder)
    down: _IdOrder = field(default_factory=lambda: _IdOrder(descending=True))

    @property
    def distinct(self) -> bool:
        """Strictly ordered, one way or the other: no id twice."""
        return self.up.strict or self.down.strict

    @property
    def adjacent(self) -> bool:
        """Ordered one way or the other: equal ids are neighbours (an order's lines are one run)."""
        return self.up.monotone or self.down.monotone

    def follow(self, ids: pl.Series) -> None:
        self.up.follow(ids)
        self.down.follow(ids)

    def stop(self) -> None:
        self.up.stop()
        self.down.stop()


@dataclass
class _Runs:
    """The multi-line orders among the data rows, followed in file order batch by batch, so
    that _multi_line_orders needs no group_by: while the rows' order ids are in order (_IdOrders), the
    lines of an order are neighbours, and its per-order questions are questions about
    neighbours — do two neighbours share an id (a multi-line order), does their blank-field
    mask differ (a field the eager path copies), is one's amount blank, do their amounts differ.
    Fed with the rows that are not structural candidates (a candidate that turns out to be data
    with an order id makes the caller take the group_by)."""

    ids: _IdOrders = field(default_factory=_IdOrders)
    last: pl.DataFrame | None = None  # the previous batch's last row
    shared: bool = False
    gap_change: bool = False
    amount_gap: bool = False
    differ: bool = False

    def _pair(self, before: tuple[str | None, int, float | None], after: tuple[str | None, int, float | None]) -> None:
        """The checks on two neighbouring rows (order_id, __gap__, line_amount)."""
        if before[0] is None or before[0] != after[0]:
            return
        self.shared = True
        gap0, gap1 = before[1], after[1]
        self.gap_change = self.gap_change or gap0 != gap1
        self.amount_gap = self.amount_gap or bool((gap0 | gap1) & _AMOUNT_GAP)
        self.differ = self.differ or (before[2] is not None and after[2] is not None and before[2] != after[2])

    def follow(self, rows: pl.DataFrame) -> None:
        """``rows``: order_id, __gap__, line_amount of the batch's data rows, in file order."""
        if not self.ids.adjacent or rows.height == 0:
            return
        self.ids.follow(rows["order_id"].drop_nulls())
        if not self.ids.adjacent:
            return
        oid, gap, amount = rows["order_id"], rows["__gap__"], rows["line_amount"]
        if self.last is not None:  # the previous batch's last row and this batch's first
            self._pair(self.last.row(0), rows.row(0))
        if rows.height > 1:  # each row against the one before it: slices of the batch, no copy
            n = rows.height - 1
            same = (oid.slice(1) == oid.slice(0, n)).fill_null(False)
            if not same.any():
                self.last = rows.tail(1)
                return
            self.shared = True
            g1, g0 = gap.slice(1), gap.slice(0, n)
            self.gap_change = self.gap_change or bool((same & (g1 != g0)).any())
            blank = ((g1 & _AMOUNT_GAP) != 0) | ((g0 & _AMOUNT_GAP) != 0)
            self.amount_gap = self.amount_gap or bool((same & blank).any())
            if not self.differ:
                self.differ = bool((same & (amount.slice(1) != amount.slice(0, n)).fill_null(False)).any())
        self.last = rows.tail(1)


@dataclass
class _LineOrders:
    """The used lines of a line-item export grouped into orders as the batches come
    (_Plan.group_lines), so that the read holds orders, not lines: each batch's lines up to its
    last order's first line are grouped (rules.orders_from_runs: the orders, order and sums
    orders_from_lines gives the whole file), the last order's lines wait for the next batch.

    What the end of the read asks of the used lines is kept beside them: ``narrow`` — their
    status, second status, currency and hint flags (and line amounts when one of those is
    there; a column of nulls holds the row count), ``first`` — the first five (the samples),
    ``latest`` — the latest order date (the as-of). Structural candidates are not grouped
    (read.used keeps them): one that turns out to be data raises _Regroup at the end, as does
    an order id seen out of order (neither way), a blank order id, or a customer changing inside an
    order's run — the read is then made again keeping the lines."""

    file_plan: R.FilePlan
    checked: list[str]  # the columns ``narrow`` keeps
    drop: list[str]  # the columns grouping does not use
    orders: list[pl.DataFrame] = field(default_factory=list)
    narrow: list[pl.DataFrame] = field(default_factory=list)
    first: pl.DataFrame | None = None
    latest: dt.date | None = None
    carry: pl.DataFrame | None = None  # the last order's lines so far

    @classmethod
    def of(cls, plan: _Plan, table: RawTable, used_cols: list[str]) -> _LineOrders:
        checks = [c for c in ("raw_status", "raw_after_sale_status", "currency", *plan.hint_blanks) if c in used_cols]
        amounts = ["line_amount"] if any(c != "currency" for c in checks) else []
        return cls(R.FilePlan(table, plan.mapping, plan.amount_mode, plan.plain, unique_ids=False),
                   [*checks, *amounts], ["__cand__", "__gap__", *checks])

    def add(self, lines: pl.DataFrame) -> None:
        """The next used lines (no candidate among them), in file order."""
        if self.carry is None:  # the first batch: what an empty file's orders are made of
            self.carry = _trim_dimensions(lines.head(0).drop(self.drop, strict=False))
        if lines.height == 0:
            return
        if lines["order_id"].null_count():
            raise _Regroup  # customer-days: lines far apart may be one order
        self.narrow.append(lines.select(*self.checked, pl.repeat(None, lines.height, dtype=pl.Null).alias("__rows__")))
        if self.first is None or self.first.height < 5:
            head = lines.head(5)
            self.first = head if self.first is None else pl.concat([self.first, head]).head(5)
        latest = lines["order_date"].max()
        if isinstance(latest, dt.date) and (self.latest is None or latest > self.latest):
            self.latest = latest
        lines = _trim_dimensions(lines.drop(self.drop, strict=False))
        if self.carry is not None and self.carry.height:
            lines = pl.concat([self.carry, lines])
        whole, self.carry = _split_last_order(lines, "order_id")
        self._group(whole)

    def _group(self, lines: pl.DataFrame) -> None:
        if lines.height:
            orders = R.orders_from_runs(lines, [self.file_plan])
            if orders is None:
                raise _Regroup
            self.orders.append(orders)

    def finish(self) -> pl.DataFrame:
        """Every order (the last one's lines grouped now)."""
        if self.carry is not None:
            self._group(self.carry)
            if not self.orders:  # no line at all: the orders' columns, no row
                self.orders.append(R.orders_from_lines(self.carry, [self.file_plan], one_line=True))
            self.carry = None
        return pl.concat(self.orders)

    def checked_lines(self, empty: pl.DataFrame) -> pl.DataFrame:
        """The used lines' checked columns (``empty``: the used lines' schema, for a file with none)."""
        if not self.narrow:
            return empty.select(*self.checked, pl.repeat(None, 0, dtype=pl.Null).alias("__rows__"))
        return pl.concat(self.narrow)


class _Regroup(Exception):
    """Line items grouped batch by batch (_Plan.group_lines) met what only the whole file's
    grouping reads right: read again keeping the lines."""


@dataclass
class _Read:
    """What the batches left behind."""

    used: list[pl.DataFrame] = field(default_factory=list)  # used rows: ledger columns + __cand__
    others: list[pl.DataFrame] = field(default_factory=list)  # every other row, with line and decision
    candidates: list[pl.DataFrame] = field(default_factory=list)  # raw cells of candidate rows
    rows: int = 0
    ids: _IdOrders = field(default_factory=_IdOrders)
    runs: _Runs = field(default_factory=_Runs)  # every data row's order ids (used: only the used rows')
    evidence: _Evidence = field(default_factory=lambda: _Evidence())
    # fill mode (_Plan.fill): what the whole orders of the batches said
    order_hashes: list[pl.Series] = field(default_factory=list)  # each batch's distinct order ids, hashed
    shared: bool = False  # some order has several lines
    votes: AmountVotes = field(default_factory=AmountVotes)
    refunds: list[pl.Series] = field(default_factory=list)  # sales.refunds_per_order of each batch
    lines: _LineOrders | None = None  # _Plan.group_lines: the used lines' orders (read.used: the candidate rows)


def _decide_query(frame: pl.LazyFrame, plan: _Plan, settings: Settings, flags: list[pl.Expr],
                  columns: list[str], cells: list[str]) -> pl.LazyFrame:
    """Parse and decide every row exactly as the eager path decides it (row-local rules), in the
    streaming engine, projected onto ``columns`` plus the flags and the raw ``cells`` (renamed
    ``__cell_<i>__``: kept only for the few candidate rows, see _read_batches)."""
    parsed = _parse_stage(_canonical_query(frame, plan, flags, cells), plan)
    return _decide_stage(parsed, plan, settings, columns, _passed(flags, cells))


def _hint_blank(field: str) -> str:
    return f"__hint_blank_{field}"


def _passed(flags: list[pl.Expr], cells: list[str]) -> list[str]:
    """The columns carried through the read unchanged: the flags and the raw cells."""
    return [f.meta.output_name() for f in flags] + [_cell(i) for i in range(len(cells))]


def _canonical_query(frame: pl.LazyFrame, plan: _Plan, flags: list[pl.Expr], cells: list[str]) -> pl.LazyFrame:
    """The read's first stage: the flags, the raw cells and the canonical ``raw_<field>`` columns."""
    # the raw cells are kept only on flagged rows — candidates, and odd ones (whose cells the
    # Spark reader looks at): the rest are null, no text carried through the batches
    kept = pl.any_horizontal(pl.col(f.meta.output_name()) for f in flags)
    source = frame.with_columns(*flags, *plan.hint_flags).with_columns(
        pl.when(kept).then(pl.col(c)).alias(_cell(i)) for i, c in enumerate(cells))
    return R.canonical_columns(source, plan.mapping, 0, pl.lit(None, dtype=pl.String), plan.untrimmed,
                               keep=[*_passed(flags, cells), *plan.hint_blanks], typed=set(plan.typed))


def _status_expr(plan: _Plan) -> pl.Expr:
    """``status_decision`` (sales.status_decision): the first rows' statuses looked up, any other
    decided by the whole rule in the same pass."""
    known = {c: v for c, v in (("raw_status", plan.statuses), ("raw_after_sale_status", plan.after_statuses))
             if v is not None}
    return S.status_decision(plan.mapped, plan.deal_export, plan.overrides, known)


def _parse_exprs(plan: _Plan) -> list[pl.Expr]:
    return R.parse_exprs(plan.mapping, plan.plain, plan.date_fmt, plan.money, {f"raw_{f}" for f in plan.typed})


def _parse_stage(canonical: pl.LazyFrame, plan: _Plan) -> pl.LazyFrame:
    """The read's second stage: every field parsed (row-local rules) — in fill mode all but the
    few parsed per batch, once per distinct value (_late_parsed)."""
    late = _late_parsed(plan)
    exprs = [e for e in _parse_exprs(plan) if e.meta.output_name() not in late]
    return canonical.with_columns(exprs).with_columns(R.money_sanity())


def _late_parsed(plan: _Plan) -> frozenset[str]:
    """Fields fill mode parses in each batch after the fill, once per distinct value
    (rules.by_distinct_values): emails (a dozen rewrites a value; a customer's email repeats
    on every line of every order: 0.77 s of CPU per million lines in the streaming engine, a
    fifth of that by distinct value) and currency codes (a handful of values)."""
    if not plan.fill:
        return frozenset()
    return frozenset({"currency", *(("customer_id",) if plan.mapping.customer_id_is_email else ())})


def _parsed_from(plan: _Plan) -> dict[str, list[str]]:
    """Raw column → the parsed columns made from it alone (customer_id from raw_customer_id,
    currency from raw_amount when no column names it…), read off the parse expressions; not
    the late ones, parsed from the filled raw values."""
    out: dict[str, list[str]] = {}
    late = _late_parsed(plan)
    for expr in _parse_exprs(plan):
        if expr.meta.output_name() in late:
            continue
        roots = set(expr.meta.root_names())
        name = expr.meta.output_name()
        if len(roots) == 1 and name != (raw := roots.pop()):
            out.setdefault(raw, []).append(name)
    return out


def _decide_stage(parsed: pl.LazyFrame, plan: _Plan, settings: Settings, columns: list[str], passed: list[str],
                  extra: list[str] | None = None) -> pl.LazyFrame:
    """The read's third stage: decide every row, and keep ``columns`` (+ ``extra`` as they are)."""
    decided = parsed.with_columns(_status_expr(plan), pl.lit(False).alias("__duplicate__"))
    decided = decided.with_columns(
        R.other_currency(settings.currency.upper() if settings.currency else None),
        R.line_amount(plan.amount_mode),
    ).with_columns(R.line_decision(plan.amount_mode, plan.plain, settings.credit_note_ids).alias("__decision__"))
    decided = order_level_decisions(decided, plan.amount_mode)  # a bad total rejects its order (fill mode only)
    as_of = settings.as_of_date()
    if as_of is not None:
        decided = decided.with_columns(R.after_as_of(as_of))
    # dimensions as the ledger keeps them: categoricals; status and currency too (a handful of values
    # on every row, only counted at the end: 4 bytes a row instead of a string view of 16)
    kept = [pl.col(c).cast(pl.Categorical) if c in _CATEGORICAL else pl.col(c) for c in columns]
    evidence = [e for name in _decided_fields(plan) for e in _evidence_exprs(plan, name)]
    return decided.select(*kept, *passed, *evidence, _order_level_gap(plan), *(extra or []),
                          pl.col("__decision__").cast(_DECISIONS))


_CATEGORICAL = frozenset({*F.DIMENSIONS, "raw_status", "raw_after_sale_status", "currency"})



def _decided_fields(plan: _Plan) -> list[str]:
    return (["order_date"] if plan.date_fmt is not None else []) + list(plan.money)


def _evidence(name: str) -> str:
    """The column carrying a decided field's text (trimmed, blank → null) through the batches."""
    return f"__text_{name}__"


def _point_evidence(name: str) -> str:
    """A decided money field's rows that are point-strong evidence by their shape alone."""
    return f"__point_{name}__"


def _evidence_columns(plan: _Plan) -> list[str]:
    """The columns carrying the decided fields' evidence through the batches."""
    return [*(_evidence(n) for n in _decided_fields(plan)), *(_point_evidence(n) for n in plan.money)]


def _evidence_exprs(plan: _Plan, name: str) -> list[pl.Expr]:
    """A decided field's evidence columns. A money value of parse.POINT_STRONG_SHORT_RE's shape
    (``$1,234.50``, ``12.5``: most values of a decimal-point column) is point-strong evidence and
    nothing else, so it is counted by a per-row flag (1; 2 when also of the plain shape) and
    its text is not carried (null): only the other values are grouped, batch by batch."""
    raw = pl.col(f"raw_{name}")
    if name not in plan.money:
        return [raw.alias(_evidence(name))]
    short = raw.str.contains(parse.POINT_STRONG_SHORT_RE).fill_null(False)
    flag = pl.when(short).then(pl.when(raw.str.contains(r"[$,]")).then(pl.lit(1, dtype=pl.UInt8))
                                  .otherwise(pl.lit(2, dtype=pl.UInt8))).otherwise(pl.lit(0, dtype=pl.UInt8))
    return [pl.when(~short).then(raw).alias(_evidence(name)), flag.alias(_point_evidence(name))]


@dataclass
class _Evidence:
    """What the batches tell about the decided columns (data rows that are not candidates;
    the candidates that turn out to be data are added at the end)."""

    dates: list[pl.DataFrame] = field(default_factory=list)  # value → rows, per batch
    money: dict[str, list[pl.DataFrame]] = field(default_factory=dict)  # evidence sums, per batch
    #: a decided money column's distinct values, per batch: beyond parse.SAMPLE_LIMIT rows the
    #: eager reader decides the column from its distinct values (parse.decision_sample), unweighted
    money_values: dict[str, list[pl.Series]] = field(default_factory=dict)

    def add(self, plan: _Plan, rows: pl.DataFrame) -> None:
        if plan.date_fmt is not None:
            text = _evidence("order_date")
            self.dates.append(rows.group_by(text).agg(pl.len().alias("n")).rename({text: "v"}))
        for name in plan.money:
            self.money.setdefault(name, []).append(_money_sums(rows, name))
            if f"raw_{name}" in rows.columns:
                self.money_values.setdefault(name, []).append(rows[f"raw_{name}"].drop_nulls().unique())


def _distinct_money_format(evidence: _Evidence, extra: pl.DataFrame, name: str) -> parse.MoneyFormat:
    """A money column of more rows than parse.SAMPLE_LIMIT decided as the eager reader decides it:
    from its distinct values (a seeded sample of them beyond the limit). _HandBack when the
    batches did not gather them (the Spark reader), or a candidate row that is data holds one."""
    parts = evidence.money_values.get(name)
    if not parts or extra.select(pl.col(_evidence(name)).is_not_null().any()
                                 | (pl.col(_point_evidence(name)) > 0).any()).item():
        raise _HandBack
    return parse.detect_money_format(parse.decision_sample(pl.concat(parts).unique()))


def _money_sums(rows: pl.DataFrame, name: str, weight: str | None = None) -> pl.DataFrame:
    """(rows, the four evidence counts of parse.money_evidence_exprs, plain rows) of a money
    column: the rows flagged point-strong by their shape (see _evidence_exprs) counted by their
    flag, the others on their distinct values weighted by their rows (a batch of amounts holds
    twenty times fewer distinct values than rows). ``weight``: a column of row counts, when
    ``rows`` are already distinct (text, flag) pairs (the Spark engine groups them in Spark)."""
    text, point = _evidence(name), _point_evidence(name)
    if weight is None:
        values = rows.select(text).drop_nulls().group_by(text).agg(pl.len().cast(pl.Int64).alias("__w__"))
        rows_of = pl.lit(1, dtype=pl.Int64)
    else:
        values = (rows.filter(pl.col(text).is_not_null())
                  .group_by(text).agg(pl.col(weight).cast(pl.Int64).sum().alias("__w__")))
        rows_of = pl.col(weight).cast(pl.Int64)
    w = pl.col("__w__")
    sums = values.select(
        w.sum().alias("n"), *parse.money_evidence_exprs(text, weight="__w__"),
        (pl.col(text).str.contains(parse.PLAIN_MONEY_RE).cast(pl.Int64) * w).sum().alias("plain"),
    )
    flagged, plain = rows.select(
        ((pl.col(point) > 0).cast(pl.Int64) * rows_of).sum().alias("f"),
        ((pl.col(point) == 2).cast(pl.Int64) * rows_of).sum().alias("p"),
    ).row(0)
    return sums.select(
        pl.col("n") + flagged, pl.col("ps") + flagged, "cs", "pw", "cw", pl.col("plain") + plain,
    ).cast(pl.Int64)


def _verify_formats(plan: _Plan, evidence: _Evidence, extra: pl.DataFrame, settings: Settings) -> None:
    """Decide the date and money columns again from every data row, as ledger._parse_file does
    from the whole column; raise _Redecide when that differs from what the read assumed, _HandBack
    when the eager path's decision cannot be known exactly (a random sample, an ambiguous column).

    ``extra``: the candidate rows that are data, with their evidence columns."""
    if plan.date_fmt is not None:
        text = _evidence("order_date")
        parts = [*evidence.dates, extra.group_by(text).agg(pl.len().alias("n")).rename({text: "v"})]
        counts = pl.concat([p.select("v", pl.col("n").cast(pl.UInt64)) for p in parts]).drop_nulls("v")
        counts = counts.group_by("v").agg(pl.col("n").sum())
        total = int(counts["n"].sum() or 0)
        if total <= parse.SAMPLE_LIMIT:
            values = counts.select(pl.col("v").repeat_by("n").explode()).to_series()
        else:  # the distinct values, as parse.decision_sample takes them from the whole column
            values = parse.decision_sample(counts["v"])
        date_fmt: parse.DateFormat | None = None
        if not parse.dates_are_plain(values) or "order_date" in plan.seen_odd:
            try:
                date_fmt = parse.detect_date_format(values.alias("raw_order_date"), plan.date_format)
            except parse.AmbiguousDateFormat:
                raise _HandBack from None  # the eager path refuses it, with its hint
        if not _same_date_format(date_fmt, plan.date_fmt):
            raise _Redecide(date_fmt, plan.money)
    money = dict(plan.money)
    for name in plan.money:
        sums = pl.concat([*evidence.money.get(name, []), _money_sums(extra, name)]).sum()
        n, ps, cs, pw, cw, plain = (int(x or 0) for x in sums.row(0))
        if n <= parse.SAMPLE_LIMIT or not (cs or cw):  # (point evidence only: a point, whichever values decide)
            fmt = parse.decide_money_format(ps, cs, pw, cw)
        else:
            fmt = _distinct_money_format(evidence, extra, name)
        if fmt.decimal == "." and plain == n and name not in plan.seen_odd:
            raise _Redecide(plan.date_fmt, {k: v for k, v in money.items() if k != name})  # plain after all
        if fmt.decimal != money[name].decimal:
            money[name] = fmt
            raise _Redecide(plan.date_fmt, money)


def _same_date_format(a: parse.DateFormat | None, b: parse.DateFormat | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.kinds, a.strptime, a.iso_strict) == (b.kinds, b.strptime, b.iso_strict)


class _Replan(Exception):
    """Key columns whose cells are not all of the plain shape the first rows showed."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(fields)
        self.fields = fields


def _odd_fields(plan: _Plan, rows: pl.DataFrame) -> list[str]:
    """The plain key fields that some of ``rows`` (raw cells, as text) write in another shape."""
    return [k for k in plan.keys if rows.select(_not_plain(plan.mapping, [k]).any()).item()]


def _replan(plan: _Plan, fields: list[str], head: pl.DataFrame) -> None:
    """Take key fields whose cells are not all plain out of the plain keys. Ids take the general
    id rules (row by row: the eager reader's own for such a column). Date and money columns are
    decided from the first rows (``head``, raw cells), as the eager reader decides from the whole
    column, and verified on every row's evidence (_verify_formats: _Redecide when it differs)."""
    plan.seen_odd |= frozenset(fields)  # the odd ids leave the plain keys in with_formats below

    def values(name: str) -> pl.Series:
        column = plan.mapping.column(name)
        assert column is not None
        return head.select(R.blank_to_null(pl.col(column))).to_series().drop_nulls()

    date_fmt, money = plan.date_fmt, dict(plan.money)
    if "order_date" in fields and date_fmt is None:
        try:
            date_fmt = parse.detect_date_format(values("order_date").alias("raw_order_date"), plan.date_format)
        except parse.AmbiguousDateFormat:  # the first rows cannot tell: every row will
            date_fmt = parse.DateFormat(kinds=(parse.MDY,))
    for name in fields:
        if name in R.MONEY_FIELDS and name not in money:
            money[name] = parse.detect_money_format(values(name))
    plan.with_formats(date_fmt, money)


class _Redecide(Exception):
    """Every data row decides a date or money column otherwise than the first rows did."""

    def __init__(self, date_fmt: parse.DateFormat | None, money: dict[str, parse.MoneyFormat]) -> None:
        super().__init__(date_fmt, money)
        self.date_fmt, self.money = date_fmt, money


_AMOUNT_GAP = 1 << 31
"""The bit of ``__gap__`` for a blank amount (the order-level fields take the low bits)."""


def _order_level_gap(plan: _Plan) -> pl.Expr:
    """``__gap__`` per row: a bit mask of the fields the eager path copies from another line of
    a multi-line order (ledger.ORDER_LEVEL_FIELDS) that are blank on this row, plus _AMOUNT_GAP
    for a blank line amount.

    The eager copy changes a line only where a field is blank on it and written on another line
    of its order, so an order whose lines all have the same mask is read alike on both paths;
    a blank amount in a multi-line order is evidence for an order-total column (first line
    only), which the eager path weighs. See _multi_line_orders. Computed only when the first
    rows showed multi-line orders (else a constant 0; and in fill mode, which copies them)."""
    if not plan.multi_line or plan.fill:
        return pl.lit(0, dtype=pl.UInt32).alias("__gap__")
    names = [n for n in R.ORDER_LEVEL_FIELDS if n in R.RAW_FIELDS and plan.mapping.column(n) is not None]
    bits: list[pl.Expr] = []
    for bit, name in enumerate(names):
        raw = pl.col(f"raw_{name}")
        blank = raw.is_null()
        if name in plan.untrimmed and name not in plan.keys:  # taken as written: blank-like text too
            blank = blank | raw.str.contains(r"^\s*$")
        bits.append(pl.when(blank.fill_null(True)).then(pl.lit(1 << bit, dtype=pl.UInt32)).otherwise(pl.lit(0, dtype=pl.UInt32)))
    if plan.amount_mode == "line":
        bits.append(pl.when(pl.col("raw_amount").is_null()).then(pl.lit(_AMOUNT_GAP, dtype=pl.UInt32))
                    .otherwise(pl.lit(0, dtype=pl.UInt32)))
    return (pl.sum_horizontal(bits).cast(pl.UInt32) if bits else pl.lit(0, dtype=pl.UInt32)).alias("__gap__")


def _cell(i: int) -> str:
    return f"__cell_{i}__"


def _read_batches(scan: CsvScan, plan: _Plan, settings: Settings, on_rows: RowProgress | None,
                  estimate: int) -> _Read:
    """One pass over the file; raises _HandBack as soon as a key cell is not plain."""
    read = _Read()
    decided_cols = _evidence_columns(plan)
    flags = [_candidates(scan, plan.profile).alias("__cand__"),
             _not_plain(plan.mapping, plan.keys, plan.typed).alias("__odd__")]
    typed_fields = _typed_columns(plan, scan)
    typed_cols = {column: dtype for column, dtype in typed_fields.values()}
    # the few rows kept raw (rejects, candidates) get the text form of their typed cells
    typed_raw_text = text_exprs({f"raw_{f}": d for f, (_, d) in typed_fields.items() if f"raw_{f}" in _REJECT_RAW})
    typed_cell_text = text_exprs(typed_cols)
    other_cols = [*plan.used_cols, "__line__", "__file__", *_REJECT_RAW,
                  *(["raw_order_id"] if _refund_by_status(plan) else [])]
    used_cols = [*plan.used_cols, "__cand__", "__gap__"]
    cells = [*scan.cells, RAGGED]
    as_cells = [pl.col(_cell(i)).alias(c) for i, c in enumerate(cells)]
    is_used = pl.col("__decision__").to_physical() == 0  # USED is the Enum's first category
    frame = scan.frame_keeping(set(typed_cols)).with_columns(plan.derived)
    if plan.fill:
        batches = _whole_order_batches(_parse_stage(_canonical_query(frame, plan, flags, cells), plan), plan, settings,
                                       other_cols, _passed(flags, cells), read)
    else:
        batches = _decide_query(frame, plan, settings, flags, other_cols, cells).collect_batches(chunk_size=BATCH_ROWS)
    has_order_ids = plan.mapping.column("order_id") is not None and not plan.fill
    if plan.group_lines and has_order_ids:
        read.lines = _LineOrders.of(plan, scan.table, used_cols)
    for decided in batches:
        cand, odd = decided["__cand__"], decided["__odd__"]
        if (odd & ~cand).any():  # a key cell of another shape: read again with that column decided
            raise _Replan(_odd_fields(plan, decided.filter(odd & ~cand).select(as_cells).with_columns(typed_cell_text)))
        if decided_cols:
            read.evidence.add(plan, decided.filter(~cand) if cand.any() else decided)
        if cand.any():
            read.candidates.append(decided.filter(cand).select(*as_cells, "__line__", "__odd__", *decided_cols)
                                   .with_columns(typed_cell_text))
        if decided.select(is_used.all()).item():
            used = decided[used_cols]  # nothing to filter: no copy (select() copied, 7 ms a batch)
        else:
            used = decided.filter(is_used)[used_cols]
            read.others.append(decided.filter(~is_used)[[*other_cols, "__cand__", "__gap__", "__decision__"]]
                               .with_columns(typed_raw_text))
        # used ids in file order (with other rows their uniqueness is checked by hashing at the end)
        read.ids.follow(used["order_id"])
        if has_order_ids:
            data = decided.filter(~cand) if cand.any() else decided
            read.runs.follow(data.select("order_id", "__gap__", "line_amount"))
        if read.lines is None:
            read.used.append(used)
        else:
            if not read.ids.adjacent:
                raise _Regroup  # an order's lines may come back later: they are grouped at the end
            used_cand = used["__cand__"]
            if used_cand.any():  # kept as lines until _finish knows whether they are structural
                read.used.append(used.filter(used_cand))
                used = used.filter(~used_cand)
            read.lines.add(used)
        read.rows += decided.height
        if on_rows is not None:
            on_rows(read.rows, max(estimate, read.rows))
    return read


def _whole_order_batches(parsed: pl.LazyFrame, plan: _Plan, settings: Settings, columns: list[str],
                         passed: list[str], read: _Read) -> Iterator[pl.DataFrame]:
    """Fill mode: the parsed rows in batches that end where an order ends (the last order's
    lines are held back and put before the next batch), each filled from its orders' first
    lines (raw and parsed values alike: fill_order_level's companions), then decided — the
    eager reader's steps, on whole orders; the parsing runs in the streaming engine, beside
    the deciding of the batch before.

    What the eager reader decides from every order is gathered as the batches go (the amount
    mode's votes, the refunds counted once per order) and checked at the end
    (_whole_order_checks): an order whose lines are not one run would be split between two
    batches, so a file in which one is found is handed back.

    Structural candidates (repeated headers, footers…) are left out of the votes and order ids:
    the eager reader leaves the structural rows out, and one that turns out to be data with an
    order id hands the file back (_finish). They are filled like the others (a structural row
    is excluded whatever it holds) and give their values as the eager reader's do."""
    refunds = plan.mapping.column("refunded_amount") is not None
    extra = [c for c in ("raw_order_id", "refunded_amount", "__struct__") if c not in columns] if refunds else []
    late = _late_parsed(plan)
    steps = _OrderSteps(_parsed_from(plan), [e for e in _parse_exprs(plan) if e.meta.output_name() in late],
                        columns, passed, extra)
    held: pl.DataFrame | None = None
    for batch in parsed.collect_batches(chunk_size=BATCH_ROWS):
        whole, held = _split_last_order(batch if held is None else pl.concat([held, batch]))
        if whole.height:
            yield _decide_whole_orders(whole, plan, settings, steps, read)
    if held is not None and held.height:
        yield _decide_whole_orders(held, plan, settings, steps, read)


@dataclass(frozen=True)
class _OrderSteps:
    """What fill mode does to every batch, made once per read: the parsed columns the fill copies
    with their raw values, the parse expressions it runs after the fill, the columns kept."""

    companions: dict[str, list[str]]
    late: list[pl.Expr]
    columns: list[str]
    passed: list[str]
    extra: list[str]


def _split_last_order(rows: pl.DataFrame, column: str = "raw_order_id") -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(the rows before the last order's lines, those lines): the last order may go on. The
    order ids are ``column`` (fill mode cuts raw rows, _LineOrders parsed lines)."""
    ids = rows[column]
    last = ids[-1] if rows.height else None
    if last is None:
        return rows, None
    tail = (ids == last).fill_null(False)
    if tail.all():
        return rows.head(0), rows
    start = rows.height - int(tail.reverse().cast(pl.UInt8).arg_min() or 0)
    return rows.slice(0, start), rows.slice(start)


def _decide_whole_orders(rows: pl.DataFrame, plan: _Plan, settings: Settings, steps: _OrderSteps,
                         read: _Read) -> pl.DataFrame:
    """One batch of whole orders: its votes and order ids noted, filled, parsed and decided."""
    cand = rows["__cand__"]
    data = rows.filter(~cand) if cand.any() else rows
    ids = data["raw_order_id"].drop_nulls()
    distinct = ids.unique()
    read.order_hashes.append(distinct.hash(seed=11))
    read.shared = read.shared or distinct.len() < ids.len()
    if plan.mapping.column("amount") is not None:
        read.votes.add(data.select("raw_order_id", "raw_amount"))
    filled = fill_order_level(rows, plan.mapping, plan.amount_mode, steps.companions)
    filled = filled.with_columns(R.by_distinct_values(filled, steps.late))
    decided = _decide_stage(filled.lazy(), plan, settings, steps.columns, steps.passed, steps.extra).collect()
    if steps.extra:
        refunds = pl.col("refunded_amount").is_not_null() & (pl.col("refunded_amount") != 0)
        if cand.any() and decided.select((pl.col("__cand__") & refunds).any()).item():
            raise _HandBack  # a refund on a row that may be structural: counted by the eager reader
        read.refunds.append(S.refunds_per_order(decided.filter(~pl.col("__cand__"))))
        decided = decided.drop(steps.extra)
    return decided


def _whole_order_checks(plan: _Plan, read: _Read) -> bool:
    """Fill mode, after the last batch: were the orders whole in their batches (no order id in
    two batches; else _HandBack), and do their votes decide the amount mode the read assumed
    (else _Reamount)? Returns whether some order has several lines."""
    hashes = pl.concat(read.order_hashes) if read.order_hashes else pl.Series([], dtype=pl.UInt64)
    if hashes.n_unique() != hashes.len():
        raise _HandBack  # an order's lines are not one run (or two ids share a hash: the eager reader is right either way)
    if plan.mapping.column("amount") is not None and read.votes.mode != plan.amount_mode:
        raise _Reamount(read.votes.mode)
    return read.shared


class _Reamount(Exception):
    """The whole file's multi-line orders decide the amount mode otherwise than the first rows."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode


class _Recount(Exception):
    """A quoted cell past the first rows holds a line break: read again with line numbers that
    count them (CsvScan.counting_line_breaks), as the eager reader numbers such a file."""


class _Refill(Exception):
    """Multi-line orders the eager reader fills from their first lines, or whose amount mode only
    every order decides, were found after the first rows: read again in fill mode."""


def _concat(frames: list[pl.DataFrame], schema_of: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(frames) if frames else schema_of.head(0)


def _estimate_rows(path: Path, head: pl.DataFrame) -> int:
    """Data rows the file probably holds, from its size and the mean size of the first rows."""
    if head.height == 0:
        return 0
    cells = [c for c in head.columns if not c.startswith("__")]
    text = head.select(pl.sum_horizontal([pl.col(c).str.len_bytes().fill_null(0) + 1 for c in cells]).sum()).item()
    return max(head.height, math.ceil(path.stat().st_size / max(1.0, text / head.height)))


def _plan(scan: CsvScan, settings: Settings, path: Path, head: pl.DataFrame) -> _Plan:
    columns = scan.names
    # the eager path's profile and mapping rules on the first rows
    profile, profile_warnings = recognise(columns, settings, str(path))
    if profile is not None and not _streamable(profile):
        raise _HandBack
    # a customer key made of several columns (拼多多, 抖店, 微信小店): a column of its own, row by row
    composite = layout.composite_customer(profile, columns, str(path)) if profile is not None else None
    derived = [composite.expr] if composite is not None else []
    if composite is not None:
        head, columns = head.with_columns(derived), [*columns, composite.name]
        profile_warnings = [*profile_warnings, composite.warning]
    type_like = bool(type_like_columns(columns))
    mapping_head = _first_rows(scan, TYPE_SAMPLE_ROWS).with_columns(derived) if type_like else head
    mapping, mapping_warnings = plan_mapping(mapping_head, columns, settings, str(path), profile,
                                             {"customer_id": composite.pin} if composite is not None else None)
    if _needs_eager_decisions(mapping):
        raise _HandBack
    require_fields(mapping, columns, str(path), profile)
    keys = _key_fields(mapping)
    status_col = mapping.column("status")
    deal_export = False
    if status_col:
        votes = head.select(R.blank_to_null(pl.col(status_col))).to_series().drop_nulls()
        deal_export = status.is_deal_export(votes)
    dims = [d for d in F.DIMENSIONS if mapping.column(d)]
    cost = ["cost", "margin"] if mapping.column("cost") or mapping.column("margin") else []
    used_cols = ["customer_id", "order_id", "order_date", "line_amount", "quantity", *cost, *dims]
    used_cols.extend(c for c in ("raw_status", "raw_after_sale_status") if mapping.column(c.removeprefix("raw_")))
    if mapping.column("currency"):
        used_cols.append("currency")
    plan = _Plan(mapping, keys, frozenset(f"raw_{k}" for k in keys),
                 "price" if mapping.column("amount") is None else "line", deal_export, used_cols)
    plan.warnings = [*profile_warnings, *mapping_warnings]
    plan.derived = derived
    plan.hints = S.hint_columns(mapping, columns)
    plan.used_cols.extend(plan.hint_blanks)
    plan.type_column = type_like
    plan.profile = profile
    plan.overrides = status_overrides_of(settings)
    plan.date_format = settings.date_format or (profile.date_format if profile is not None else None)
    plan.statuses, plan.after_statuses = (
        head.select(R.blank_to_null(pl.col(c))).to_series().drop_nulls().unique() if c else None
        for c in (status_col, mapping.column("after_sale_status")))
    plan.typed_sources = _typed_sources(mapping, scan)
    data_head = _data_head(scan, head, profile)
    _replan(plan, _odd_fields(plan, data_head), data_head)
    order_col = mapping.column("order_id")
    plan.multi_line = order_col is not None and bool(head[order_col].drop_nulls().is_duplicated().any())
    _decide_fill(plan, data_head)
    plan.group_lines = plan.multi_line and not plan.fill and _ordered_ids(data_head, order_col)
    return plan


def _ordered_ids(head: pl.DataFrame, order_col: str | None) -> bool:
    """The first rows' order ids are all written and in order, ascending or newest first
    (_IdOrders): an order's lines are then one run, and the read can group them as it goes
    (_Plan.group_lines)."""
    if order_col is None or head.height == 0:
        return False
    ids = head.select(R.blank_to_null(pl.col(order_col))).to_series()
    order = _IdOrders()
    order.follow(ids)
    return ids.null_count() == 0 and order.adjacent


def _data_head(scan: CsvScan, head: pl.DataFrame, profile: Profile | None = None) -> pl.DataFrame:
    """The first rows but the structural candidates: what the plan decides columns from."""
    return head.filter(~_candidates(scan, profile))


def _candidates(scan: CsvScan, profile: Profile | None) -> pl.Expr:
    """Rows that may be structural (sniff.structural_candidates), and rows a profile's footer
    patterns name (eBay's ``10,record(s) downloaded``): their cells are kept, and _structural
    decides them."""
    patterns = profile.footer_patterns if profile is not None else ()
    return sniff.structural_candidates(scan.names, scan.table.header_cells) | layout.footer_pattern_hit(scan.names, patterns)


def _line_break_in_a_cell(scan: CsvScan, head: pl.DataFrame) -> bool:
    """A quoted cell of the first rows of a CSV holds a line break (an order note typed over two
    lines): the file's rows are not its lines, and the line numbers must count the breaks."""
    if scan.table.format != "csv" or head.height == 0:
        return False
    text = [c for c in scan.names if head.schema[c] == pl.String]
    return bool(text) and bool(head.select(pl.any_horizontal(pl.col(c).str.contains("\n", literal=True).fill_null(False)
                                                             for c in text).any()).item())


def _refund_by_status(plan: _Plan) -> bool:
    """The export records a refund only as a status (拼多多, 抖店 售后状态 退款成功)."""
    return plan.profile is not None and plan.profile.refund_by_status


def _streamable(profile: Profile) -> bool:
    """A profile whose export is a plain table: no layout the eager reader rewrites first
    (grouped reports, continuation rows, marker columns, anonymous names). A composite customer
    key is a column made row by row (_Plan.derived); a refund known only by its status is
    counted from the excluded rows, which the read keeps (_finish); rows a footer pattern names
    are candidates, decided footer by _structural."""
    return not (profile.group_column or profile.continuation_key or profile.child_prefix
                or profile.marker_columns or profile.anonymous)


def _decide_fill(plan: _Plan, data_head: pl.DataFrame) -> None:
    """Fill mode (whole orders per batch) when the first rows need it: an order-level field or
    total written on an order's first line only (the eager fill would change a line), an
    order-total amount column, or a refund column (counted once per order). The amount mode
    is then what the first rows' orders vote (verified on every order: _whole_order_checks)."""
    mapping = plan.mapping
    if mapping.column("refunded_amount") is not None:
        plan.fill = True  # (without order ids, each row is its own order: counted batch by batch alike)
    if mapping.column("order_id") is None:
        return
    if plan.multi_line:
        canonical = R.canonical_columns(data_head, mapping, 0, pl.lit(None, dtype=pl.String))
        mode = plan.amount_mode
        if mapping.column("amount") is not None:
            votes = AmountVotes()
            votes.add(canonical)
            mode = votes.mode
        filled = fill_order_level(canonical, mapping, mode)
        if mode != plan.amount_mode or not filled.equals(canonical):
            plan.fill, plan.amount_mode = True, mode


def _typed_columns(plan: _Plan, scan: CsvScan) -> dict[str, tuple[str, pl.DataType]]:
    """The plan's typed key fields → (their Parquet column, its dtype)."""
    columns = {f: plan.mapping.column(f) for f in plan.typed}
    return {f: (c, scan.typed[c]) for f, c in columns.items() if c is not None}


def _typed_sources(mapping: F.Mapping, scan: CsvScan) -> dict[str, str]:
    """Key fields whose Parquet column can be read as it is typed: the date from a Date column,
    money from a Float64 or integer one (readers.typed_kind). Not the first column, whose text
    the structural-row test reads on every row."""
    sources = {}
    for name in ("order_date", *R.MONEY_FIELDS):
        column = mapping.column(name)
        kind = typed_kind(scan.typed[column]) if column in scan.typed and column != scan.names[0] else None
        if kind is not None and (kind == "date") == (name == "order_date"):
            sources[name] = kind
    return sources


def _needs_eager_decisions(mapping: F.Mapping) -> bool:
    """Transaction types (refund rows matched to their sales across the file) are decided on the
    eager path only. (A ``Type`` column the mapping did not take as transaction types —
    Salesforce's opportunity type — is decided from the same first rows on both paths:
    _first_rows. Hint columns — a payment date or approver the mapping did not take — stream:
    _Plan.hints.)"""
    return mapping.column("transaction_type") is not None or mapping.column("refund_reference") is not None


def _structural(scan: CsvScan, candidates: pl.DataFrame, footer_patterns: tuple[str, ...] = ()
                ) -> tuple[list[int], pl.DataFrame]:
    """(blank lines, structural codes by line) among the candidate rows, by the eager reader's
    rule (sniff.structural_codes). Its positions — which rows have no other row between them (a
    report name above ``Copyright …`` is footer) — come from the line numbers: a candidate row
    and the next one are neighbours when the next starts on the line after this one's last (a
    row spans 1 + its quoted line breaks), and blank rows, which the eager reader drops before
    it counts, join their neighbours."""
    blank = scan.blank_lines(candidates)
    line = pl.col("__line__")
    span = 1 + pl.sum_horizontal([pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in scan.cells])
    ordered = candidates.sort("__line__").with_columns(
        (line != (line + span).shift(1)).fill_null(True).cum_sum().alias("__segment__"),
        line.is_in(pl.Series(blank, dtype=pl.Int64).implode()).alias("__blank__"))
    rest = ordered.filter(~pl.col("__blank__")).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + pl.col("__segment__")).alias("__pos__"))
    codes = sniff.structural_codes(rest, "__pos__", scan.names, scan.table.header_cells)
    by_line = rest.select("__pos__", "__line__", layout.footer_pattern_hit(scan.names, footer_patterns).alias("__hit__")
                          ).join(codes, on="__pos__", how="left", maintain_order="left")
    # a profile's footer pattern makes a row footer whatever the rule said (layout._footers)
    code = pl.when(pl.col("__hit__")).then(pl.lit("footer")).otherwise(pl.col("structural")).alias("code")
    return blank, by_line.select("__line__", code).filter(pl.col("code").is_not_null())


def _drop_structural_used(
    used: pl.DataFrame, candidates: pl.DataFrame, gone: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Take out of the used rows the candidates that turned out blank or structural.

    Used candidate rows are in file order in both frames, so the k-th used row flagged
    ``__cand__`` is the k-th candidate row whose provisional decision was used.
    Returns (used rows kept, lines + codes of the ones taken out)."""
    used_cands = candidates.filter(pl.col("__provisional_used__"))
    drop = used_cands["__line__"].is_in(gone.implode())
    if not drop.any():
        return used, used_cands.head(0).select("__line__")
    k = pl.col("__cand__").cast(pl.Int64).cum_sum() - 1
    kept = used.filter(~(pl.col("__cand__") & pl.lit(drop).gather(k.clip(0))))
    return kept, used_cands.filter(drop).select("__line__")


def _finish(scan: CsvScan, settings: Settings, plan: _Plan, read: _Read) -> R.Ledger:
    """Everything after the last batch: structural rows, the checks, the accounting."""
    raw = scan.table
    empty_cells = scan.head(0).collect()
    candidates = _concat(read.candidates, empty_cells.with_columns(
        pl.lit(True).alias("__cand__"), pl.lit(True).alias("__odd__"),
        *(pl.lit(None, dtype=pl.String).alias(_evidence(n)) for n in _decided_fields(plan)),
        *(pl.lit(0, dtype=pl.UInt8).alias(_point_evidence(n)) for n in plan.money)))
    blank, codes = _structural(scan, candidates, plan.profile.footer_patterns if plan.profile is not None else ())
    blank_series = pl.Series(blank, dtype=pl.Int64)
    gone = pl.concat([blank_series, codes["__line__"]])
    # a candidate that is not structural is data: its key cells must be plain as well
    odd_data = candidates.filter(pl.col("__odd__") & ~pl.col("__line__").is_in(gone.implode()))
    if odd_data.height:
        raise _Replan(_odd_fields(plan, odd_data))
    if _decided_fields(plan):
        _verify_formats(plan, read.evidence, candidates.filter(~pl.col("__line__").is_in(gone.implode())), settings)
    used = _concat(read.used, pl.DataFrame(schema={c: None for c in [*plan.used_cols, "__cand__", "__gap__"]}))
    others = pl.concat(read.others) if read.others else None
    if candidates.height:
        provisional = pl.col("__line__").is_in(
            others["__line__"].implode()) if others is not None else pl.lit(False)
        candidates = candidates.with_columns((~provisional).alias("__provisional_used__"))
        used, moved = _drop_structural_used(used, candidates, gone)
    used = used.drop("__cand__")
    if read.lines is not None and used.height:
        raise _Regroup  # a row that looked structural is an order's line: grouped in its place at the end
    if others is not None:
        others = others.filter(~pl.col("__line__").is_in(blank_series.implode()))
        others = others.with_columns(
            pl.col("__line__").replace_strict(codes["__line__"], codes["code"], default=None, return_dtype=pl.String)
            .alias("__struct__")
        ).with_columns(
            pl.when(pl.col("__struct__").is_not_null()).then(pl.col("__struct__").cast(_DECISIONS))
            .otherwise(pl.col("__decision__")).alias("__decision__")
        )
    moved_codes = (codes.join(moved, on="__line__", how="semi") if candidates.height else codes.head(0))
    data_others = others.filter(pl.col("__struct__").is_null()) if others is not None else None
    if _refund_by_status(plan) and data_others is not None:  # the refunded orders' amounts are the returns
        read.refunds.append(S.refunds_per_order(data_others.select(
            "__file__", "__line__", "__decision__", "line_amount", "raw_order_id",
            pl.lit(plan.amount_mode).alias("__amount_mode__")), frozenset({0})))

    order_col = plan.mapping.column("order_id")
    data_candidates = candidates.filter(~pl.col("__line__").is_in(gone.implode()))
    if plan.fill:
        if order_col is not None and not data_candidates.select(R.blank_to_null(pl.col(order_col)).is_null().all()).item():
            raise _HandBack  # a row that looked structural is an order's line: left out of the votes
        multi_line = _whole_order_checks(plan, read)
    else:
        runs_hold = read.runs.ids.adjacent and (order_col is None or data_candidates.select(
            R.blank_to_null(pl.col(order_col)).is_null().all()).item())
        if read.lines is not None and not runs_hold:
            raise _Regroup
        multi_line = order_col is not None and _multi_line_orders(
            used, data_others, read.ids, plan, read.runs if runs_hold else None)
    used = used.drop("__gap__")
    if read.lines is not None:  # the used lines are orders already: the checks below read what was kept of them
        used = read.lines.checked_lines(used)
    status_counts = _status_counts(plan, used, data_others)
    if plan.mapping.column("status"):
        voted = status_counts.drop_nulls("raw_status")
        deal_export = status.is_deal_export(voted["raw_status"], voted["n"])  # one row per value, weighted
        if deal_export != plan.deal_export:
            raise _Revote(deal_export)

    decision = pl.col("__decision__")
    file0 = pl.lit(0, dtype=pl.Int32).alias("__file__")
    counted = [
        pl.DataFrame({"__file__": [0], "__decision__": [R.USED], "n": [used.height]},
                     schema={"__file__": pl.Int32, "__decision__": pl.String, "n": pl.UInt32}),
        moved_codes.group_by("code").agg(pl.len().alias("n")).select(
            file0, pl.col("code").alias("__decision__"), pl.col("n").cast(pl.UInt32)),
    ]
    if others is not None:
        counted.append(others.group_by(decision).agg(pl.len().alias("n")).select(
            file0, decision.cast(pl.String), pl.col("n").cast(pl.UInt32)))
    counts = pl.concat(counted).group_by("__file__", "__decision__", maintain_order=True).agg(pl.col("n").sum())
    rows = int(counts["n"].sum())
    if rows != read.rows - len(blank):
        raise AssertionError("streaming ingest lost rows")  # every row has one decision
    if not scan.rows_are_lines(rows + len(blank)):
        raise _Recount  # a quoted cell holds a line break: the line numbers must count them

    reject_cols = ["__file__", "__line__", "__decision__", *_REJECT_RAW]
    if others is not None:
        rejected = others.filter(decision.is_in(list(R.REJECTED_REASONS))).select(reject_cols).with_columns(
            decision.cast(pl.String))
        reported = others.filter(decision.is_in(["anonymous", "return"])).select(
            decision.cast(pl.String), file0, pl.col("order_id").alias("raw_order_id"), "line_amount",
            pl.lit(plan.amount_mode).alias("__amount_mode__"),
        )
    else:
        rejected = pl.DataFrame(
            schema={c: pl.String for c in reject_cols} | {"__file__": pl.Int32, "__line__": pl.Int64})
        reported = pl.DataFrame(schema={"__decision__": pl.String, "__file__": pl.Int32, "raw_order_id": pl.String,
                                        "line_amount": pl.Float64, "__amount_mode__": pl.String})
    currency = R.decide_currency(_currency_counts(used, data_others), settings.currency)
    profile_name = plan.profile.name if plan.profile is not None else None
    currency = currency or profile_currency([profile_name])

    as_of = settings.as_of_date()
    if as_of is None and used.height:
        as_of = read.lines.latest if read.lines is not None else used["order_date"].max()  # type: ignore[assignment]
    raw.rows_read = rows
    raw.skipped_blank += len(blank)
    sample_cols = ["customer_id", "order_id", "order_date", "line_amount", "quantity", "raw_status", "currency"]
    first_lines = read.lines.first if read.lines is not None and read.lines.first is not None else used
    samples = first_lines.head(5).select(
        [(pl.col(c).cast(pl.String) if c in ("raw_status", "currency") else pl.col(c)) if c in first_lines.columns
         else pl.lit(None, dtype=pl.String).alias(c) for c in sample_cols]
    )
    warnings = list(plan.warnings)
    if plan.mapping.column("status"):
        warnings.extend(S.unknown_status_warnings(status_counts, _revenue_by(used, "raw_status"),
                                                  deal_export=plan.deal_export, overrides=plan.overrides))
    if plan.mapping.column("after_sale_status"):
        after_counts = _status_counts(plan, used, data_others, "raw_after_sale_status").rename(
            {"raw_after_sale_status": "raw_status"})
        warnings.extend(S.unknown_status_warnings(
            after_counts, _revenue_by(used, "raw_after_sale_status").rename({"raw_after_sale_status": "raw_status"}),
            deal_export=plan.deal_export, overrides=plan.overrides, column="raw_after_sale_status"))
    data_rows = used.height + (data_others.height if data_others is not None else 0)
    for name, column in plan.hints.items():  # as sales.hint_warnings
        warning = S.hint_warning(str(raw.path), name, column, used.filter(pl.col(_hint_blank(name)))["line_amount"],
                                 data_rows)
        if warning is not None:
            warnings.append(warning)
    used = used.drop("raw_status", "raw_after_sale_status", "currency", *plan.hint_blanks, strict=False)
    used = _trim_dimensions(used)
    file_plan = R.FilePlan(raw, plan.mapping, plan.amount_mode, plan.plain,
                            unique_ids=plan.mapping.column("order_id") is not None and not multi_line)
    source = R.accounting(counts, reported, [file_plan], currency)
    refunded = math.fsum(pl.concat(read.refunds).to_list()) if read.refunds else 0.0  # as sales.refunded_total sums
    if refunded:
        source.returns = (source.returns or 0.0) + refunded
    source.profile = profile_name
    source.warnings = [*source.warnings, *warnings]
    R.check_usable(source, settings)
    check_strict(source, settings)
    return R.Ledger(
        orders=(read.lines.finish() if read.lines is not None else
                R.orders_from_lines(used, [file_plan], one_line=None if not multi_line else False,
                                    adjacent_ids=read.ids.adjacent)),
        as_of=as_of,
        currency=currency,
        source=source,
        rejects=R.rejects_table(rejected, [file_plan]),
        statuses=R.status_report_from_counts(status_counts, plan.deal_export),
        mappings=[plan.mapping],
        raw_tables=[raw],
        samples=samples,
    )


class _Revote(Exception):
    """The whole file votes the status column differently from its first rows."""

    def __init__(self, deal_export: bool) -> None:
        super().__init__(deal_export)
        self.deal_export = deal_export


_PADDED = r"^\s|\s$|^$"  # a value that trimming or blank-to-null would change


def _trim_dimensions(used: pl.DataFrame) -> pl.DataFrame:
    """Trim the dimension columns (blank → null) as the eager path does — only those that need
    it, found on their distinct values (a unique() of categorical codes, cheap) instead of on every row."""
    needs = [d for d in F.DIMENSIONS if d in used.columns
             and used[d].unique().cast(pl.String).str.contains(_PADDED).any()]
    return used.with_columns(R.blank_to_null(pl.col(d).cast(pl.String)).cast(pl.Categorical).alias(d)
                             for d in needs) if needs else used


def _multi_line_orders(used: pl.DataFrame, data_others: pl.DataFrame | None, order: _IdOrders, plan: _Plan,
                       runs: _Runs | None = None) -> bool:
    """Do data rows share order ids? Raises _HandBack when the eager path would read them otherwise.

    Ids seen strictly in order (every row used) are distinct; otherwise distinct hashes ⇒
    distinct ids. Shared ids are read here only when the eager path's decisions about them
    are known to be the identity: no line of a multi-line order has a blank order-level field
    that is written on another of its lines (``__gap__``, gathered when the first rows showed such
    orders) and no line amount is blank, and — for an amount column —
    some multi-line order has two different line amounts, which is exactly when
    ``ledger._amount_mode`` calls the column line amounts once every line has one. (Two
    different parsed amounts ⇒ two different written ones.) Anything else is handed back."""
    if (data_others is None or data_others.height == 0) and order.distinct:
        return False
    if runs is not None:  # every data row followed in file order, ids never decreasing: the same answers
        if not runs.shared:
            return False
        if not plan.multi_line or runs.gap_change or runs.amount_gap:
            raise _Refill
        if plan.amount_mode == "line" and not runs.differ:
            raise _Refill
        return True
    cols = ["order_id", "line_amount", "__gap__"]
    if data_others is None or data_others.height == 0:
        rows = used.select(cols)
    else:
        rows = pl.concat([used.select(cols), data_others.select(cols)])
    rows = rows.filter(pl.col("order_id").is_not_null()) if rows["order_id"].null_count() else rows
    ids = pl.col("order_id")
    if rows.height == used.height and order.adjacent:  # equal ids are neighbours
        shared = (ids == ids.shift(1)).fill_null(False) | (ids == ids.shift(-1)).fill_null(False)
    else:
        shared = ids.is_duplicated()
    multi = rows.filter(shared)
    if multi.height == 0:
        return False
    if not plan.multi_line:
        raise _Refill  # found only at the end: no gap flags were gathered
    per_order = multi.group_by("order_id").agg(
        pl.col("__gap__").bitwise_and().alias("all"), pl.col("__gap__").bitwise_or().alias("any"),
        (pl.col("line_amount").drop_nulls().n_unique() > 1).alias("differ"),
    )
    copied = (pl.col("all") != pl.col("any")) | ((pl.col("any") & _AMOUNT_GAP) != 0)
    if per_order.select(copied.any()).item():
        raise _Refill  # a field the eager path copies from another line, or a blank amount
    if plan.amount_mode == "line" and not per_order["differ"].any():
        raise _Refill  # every order total repeated on its lines: an order-total column
    return True


def _status_counts(plan: _Plan, used: pl.DataFrame, data_others: pl.DataFrame | None,
                   column: str = "raw_status") -> pl.DataFrame:
    """Data rows per (trimmed, blank→null) status (``column``: or the second status)."""
    if plan.mapping.column(column.removeprefix("raw_")) is None:
        n = used.height + (data_others.height if data_others is not None else 0)
        return pl.DataFrame({column: [None], "n": [n]}, schema={column: pl.String, "n": pl.UInt32})
    parts = [f.group_by(column).agg(pl.len().cast(pl.UInt32).alias("n"))
             .with_columns(pl.col(column).cast(pl.String)) for f in (used, data_others) if f is not None]
    return pl.concat(parts).group_by(column).agg(pl.col("n").sum()).filter(pl.col("n") > 0)


def _revenue_by(used: pl.DataFrame, column: str) -> pl.DataFrame:
    """The used rows' revenue per value of a status column."""
    return used.group_by(column).agg(pl.col("line_amount").sum().alias("revenue")).with_columns(
        pl.col(column).cast(pl.String))


def _currency_counts(used: pl.DataFrame, data_others: pl.DataFrame | None) -> pl.DataFrame:
    if "currency" not in used.columns:
        return pl.DataFrame(schema={"currency": pl.String, "rows": pl.UInt32})
    parts = [f.filter(pl.col("currency").is_not_null()).group_by("currency").agg(pl.len().alias("rows"))
             .with_columns(pl.col("currency").cast(pl.String))
             for f in (used, data_others) if f is not None]
    return pl.concat(parts).group_by("currency").agg(pl.col("rows").sum())


HEAD_ROWS = 1000
"""Rows the read plan is decided from (each decision verified on every row)."""

def _first_rows(scan: CsvScan, rows: int | None = None) -> pl.DataFrame:
    """The first ``rows`` rows that are not blank lines (the eager reader's first rows; by
    default HEAD_ROWS, read when called, so a test can make the head small)."""
    rows = HEAD_ROWS if rows is None else rows
    size = rows
    while True:
        head = scan.head(size).collect()
        data = head.filter(~pl.col("__line__").is_in(pl.Series(scan.blank_lines(head), dtype=pl.Int64).implode()))
        if data.height >= rows or head.height < size:
            return data.head(rows)
        size += rows - data.height


def _build(path: Path, settings: Settings, scan: CsvScan, on_rows: RowProgress | None = None) -> R.Ledger | None:
    """The streaming ledger of one plain CSV, or None when the file needs the eager path."""
    head = _first_rows(scan)
    try:
        if _line_break_in_a_cell(scan, head):  # _finish would find it after the last batch: count them now
            scan = scan.counting_line_breaks()
            head = _first_rows(scan)
        plan = _plan(scan, settings, path, head)
        estimate = _estimate_rows(path, head)
        for _ in range(6):  # again only when the whole file decides a column otherwise than its first rows
            try:
                return _finish(scan, settings, plan, _read_batches(scan, plan, settings, on_rows, estimate))
            except _Recount:
                scan = scan.counting_line_breaks()
            except _Replan as replan:
                if not replan.fields:
                    raise _HandBack from None
                _replan(plan, replan.fields, _data_head(scan, head.with_columns(plan.derived), plan.profile))
            except _Revote as revote:
                plan.deal_export = revote.deal_export
            except _Redecide as redecide:
                plan.with_formats(redecide.date_fmt, redecide.money)
            except _Refill:
                plan.fill = plan.multi_line = True
            except _Reamount as reamount:
                plan.amount_mode = reamount.mode
            except _Regroup:
                plan.group_lines = False
        return None
    except _HandBack:
        return None


def build_ledger_streaming(
    path: Path, settings: Settings, *, on_file: Callable[[Path], None] | None = None,
    on_rows: RowProgress | None = None,
) -> R.Ledger | None:
    """The streaming path for one file, or None when the file needs the eager one (same results)."""
    if detect_format(path) == "parquet":
        scan = scan_parquet_text(path)
        if scan is None:
            return None
        if on_file is not None:
            on_file(path)
        return _build(path, settings, scan, on_rows)
    if settings.sheet is not None:
        return None
    # Most exports have no row longer than the header: read without the spare columns that
    # would mark one (a tenth less work), and only if Polars meets one, again with them.
    # A file in another encoding (GB18030, Big5…) is read from a UTF-8 copy, as the eager
    # reader reads it.
    for spare in (False, True):
        scan = scan_plain_csv(path, encoding=settings.encoding, delimiter=settings.delimiter,
                              header_row=settings.header_row, header_score=F.header_score, spare=spare,
                              transcode=True)
        if scan is None:
            return None
        if on_file is not None and not spare:
            on_file(path)
        try:
            return _build(path, settings, scan, on_rows)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as exc:
            if spare or not is_ragged_error(exc):
                return None  # e.g. not UTF-8 past the sniffed sample: the eager reader copes
        finally:
            scan.discard()
    return None


def big_file(path: Path) -> bool:
    """Worth the streaming path; a missing or unreadable file is left to the eager reader's errors.
    Parquet holds about eight times more rows per byte than CSV text: its threshold is smaller."""
    try:
        size = path.stat().st_size if path.is_file() else 0
        return size >= (LAZY_MIN_BYTES // 8 if detect_format(path) == "parquet" else LAZY_MIN_BYTES)
    except (OSError, DataError):  # .xls: refused by the eager reader, with its hint
        return False


# The read plan and its checks, for the Spark engine (custinv.spark.reading / .ingest): the same
# plan, query, evidence and verification, applied to Arrow batches inside Spark's executors.
ReadPlan = _Plan
PlanEvidence = _Evidence
HandBack = _HandBack
Revote = _Revote
Redecide = _Redecide
Replan = _Replan
odd_fields = _odd_fields
replan = _replan
data_head = _data_head
first_rows = _first_rows
plan_from_head = _plan
decide_query = _decide_query
not_plain = _not_plain
decided_fields = _decided_fields
evidence_column = _evidence
evidence_columns = _evidence_columns
point_evidence_column = _point_evidence
cell_column = _cell
money_sums = _money_sums
verify_formats = _verify_formats
structural_lines = _structural
REJECT_RAW = _REJECT_RAW
AMOUNT_GAP = _AMOUNT_GAP
