"""Ticket / feedback exports (Zendesk, Freshdesk, CRM service modules; en + zh headers).

Read with the same readers and synonym machinery as orders (:data:`fields.TICKET_TABLE`),
one clean row per ticket, every row accounted for:

- excluded: ``footer`` / ``repeated_header``, ``duplicate`` (a ticket id already read),
  ``after_as_of`` (created after the stocktake date);
- rejected: ``missing_date`` / ``bad_date`` (no readable created time: the ticket cannot
  be placed in a period), ``bad_resolved`` (a resolved time that cannot be read, or is
  before the created time), ``bad_score`` (CSAT not 1–5, NPS not 0–10);
- used: everything else. A ticket without a customer id is used (it counts in tickets,
  resolution times, CSAT and NPS) and counted as ``anonymous_tickets`` by the analytics.

Times keep the clock as written (no time-zone conversion, like order dates); a value with
a date only is read as midnight. Clean columns: ticket_id, customer_id, created, resolved
(Datetime), kind (complaint / inquiry / return / other), ticket_type (as written), channel,
status, is_resolved, csat_score (Float64, 1–5), satisfied (Boolean, null = no response),
nps (Int64, 0–10).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError
from custinv.ingest import fields as F
from custinv.ingest import parse
from custinv.ingest.sources import Source
from custinv.ingest.master import USED, customer_id_expr, file_report, read_side_table
from custinv.models import InputFileReport

TICKET_EXCLUDED = ("footer", "repeated_header", "duplicate", "after_as_of")
TICKET_REJECTED = ("missing_date", "bad_date", "bad_resolved", "bad_score")
TICKET_COLUMNS = ("ticket_id", "customer_id", "created", "resolved", "kind", "ticket_type", "channel", "status",
                  "is_resolved", "csat_score", "satisfied", "nps")

# Ticket kinds, matched as whole normalised values (lower case, trimmed).
KINDS: dict[str, tuple[str, ...]] = {
    "complaint": ("complaint", "complaints", "complain", "grievance", "投诉", "客诉", "客户投诉", "投诉单", "投诉建议"),
    "inquiry": ("question", "inquiry", "enquiry", "query", "咨询", "询问", "问题咨询", "产品咨询"),
    "return": ("return", "returns", "refund", "exchange", "rma", "退货", "退款", "退换货", "换货", "售后"),
}
RESOLVED_STATUSES = ("solved", "closed", "resolved", "done", "completed", "已解决", "已关闭", "已完成", "已处理",
                     "已办结", "办结", "关闭", "完成", "已结案")
SATISFIED_WORDS = ("good", "satisfied", "very satisfied", "positive", "满意", "非常满意", "好评", "很满意")
UNSATISFIED_WORDS = ("bad", "unsatisfied", "dissatisfied", "very dissatisfied", "very unsatisfied", "negative",
                     "neutral", "不满意", "非常不满意", "差评", "一般", "中评", "很不满意")
NO_RESPONSE_WORDS = ("offered", "unoffered", "not offered", "no response", "未评价", "未评分", "未回复", "n/a", "-")

_TIME = r"(\d{1,2})[:时](\d{2})(?:[:分](\d{2}))?\s*([AaPp][Mm])?"


@dataclass
class Tickets:
    tickets: pl.DataFrame
    report: InputFileReport


def _norm(col: str) -> pl.Expr:
    return parse.fold_width_expr(col).str.strip_chars().str.to_lowercase()


def datetime_expr(col: str, fmt: parse.DateFormat) -> pl.Expr:
    """The date read with the column's date format plus the first hh:mm[:ss][ am/pm] after it."""
    date = parse.date_expr(col, fmt)
    parts = parse.fold_width_expr(col).str.extract_groups(_TIME)
    hour = parts.struct.field("1").cast(pl.Int64, strict=False)
    ampm = parts.struct.field("4").str.to_lowercase()
    hour = (pl.when(ampm == "pm").then(hour % 12 + 12).when(ampm == "am").then(hour % 12).otherwise(hour))
    clock = pl.duration(
        hours=hour.fill_null(0),
        minutes=parts.struct.field("2").cast(pl.Int64, strict=False).fill_null(0),
        seconds=parts.struct.field("3").cast(pl.Int64, strict=False).fill_null(0),
    )
    return date.cast(pl.Datetime("us")) + clock


def kind_expr(col: str) -> pl.Expr:
    """complaint / inquiry / return / other (null type → other)."""
    value = _norm(col)
    expr: pl.Expr = pl.lit("other")
    for kind, words in reversed(list(KINDS.items())):
        expr = pl.when(value.is_in(list(words))).then(pl.lit(kind)).otherwise(expr)
    return expr


def _number(col: str) -> pl.Expr:
    return parse.fold_width_expr(col).str.strip_chars().str.extract(r"^(\d+(?:\.\d+)?)").cast(pl.Float64)


def read_tickets(path: Source, settings: Settings, as_of: dt.date | None = None) -> Tickets:
    """Read a ticket export into one row per ticket (see module docstring for the buckets)."""
    side = read_side_table(path, settings, F.TICKET_TABLE, "ticket export")
    if side.mapping.column("created") is None:
        raise DataError(f"{path}: cannot find the created date/time column of the tickets",
                        hint=(f"columns found: {', '.join(repr(c) for c in side.raw.columns)}; rename it to a "
                              "recognised header such as 'Created at' or '创建时间'"))
    frame = side.frame
    data = frame.filter(pl.col("__struct__").is_null())
    try:
        created_fmt = parse.detect_date_format(data["raw_created"].drop_nulls())
        resolved_fmt = parse.detect_date_format(data["raw_resolved"].drop_nulls())
    except parse.AmbiguousDateFormat as exc:
        raise DataError(f"{path}: {exc}") from exc
    raw_sat = _norm("raw_satisfaction")
    sat_number = _number("raw_satisfaction")
    words_answer = raw_sat.is_in(list(SATISFIED_WORDS + UNSATISFIED_WORDS))
    no_answer = raw_sat.is_null() | raw_sat.is_in(list(NO_RESPONSE_WORDS))
    nps_number = _number("raw_nps")
    parsed = frame.with_columns(
        parse.id_expr("raw_ticket_id").alias("ticket_id"),
        customer_id_expr(side.mapping).alias("customer_id"),
        datetime_expr("raw_created", created_fmt).alias("created"),
        datetime_expr("raw_resolved", resolved_fmt).alias("resolved"),
        kind_expr("raw_ticket_type").alias("kind"),
        pl.col("raw_ticket_type").alias("ticket_type"),
        pl.col("raw_channel").alias("channel"),
        pl.col("raw_status").alias("status"),
        pl.when(sat_number.is_between(1, 5)).then(sat_number).alias("csat_score"),
        pl.when(sat_number.is_between(1, 5)).then(sat_number >= 4)
        .when(words_answer).then(raw_sat.is_in(list(SATISFIED_WORDS)))
        .alias("satisfied"),
        pl.when(nps_number.is_between(0, 10) & (nps_number == nps_number.floor())).then(nps_number)
        .cast(pl.Int64).alias("nps"),
    )
    bad_sat = ~no_answer & ~words_answer & ~sat_number.is_between(1, 5).fill_null(False)
    bad_nps = pl.col("raw_nps").is_not_null() & ~parse.missing_token_expr("raw_nps") & pl.col("nps").is_null()
    rules: list[tuple[pl.Expr, str | pl.Expr]] = [
        (pl.col("__struct__").is_not_null(), pl.col("__struct__")),
        (pl.col("raw_created").is_null() | parse.missing_token_expr("raw_created"), "missing_date"),
        (pl.col("created").is_null(), "bad_date"),
        ((pl.col("raw_resolved").is_not_null() & ~parse.missing_token_expr("raw_resolved")
          & pl.col("resolved").is_null()) | (pl.col("resolved") < pl.col("created")), "bad_resolved"),
        (bad_sat | bad_nps, "bad_score"),
    ]
    if as_of is not None:
        rules.append((pl.col("created").dt.date() > as_of, "after_as_of"))
    decision: pl.Expr = pl.lit(USED)
    for condition, reason in reversed(rules):
        value = pl.lit(reason) if isinstance(reason, str) else reason
        decision = pl.when(condition.fill_null(False)).then(value).otherwise(decision)
    parsed = parsed.with_columns(decision.alias("__decision__"))
    repeat = ((pl.col("__decision__") == USED) & pl.col("ticket_id").is_not_null()
              & (pl.int_range(pl.len()).over(["ticket_id", "__decision__"]) > 0))
    parsed = parsed.with_columns(
        pl.when(repeat).then(pl.lit("duplicate")).otherwise(pl.col("__decision__")).alias("__decision__")
    )
    status = _norm("status")
    tickets = (
        parsed.filter(pl.col("__decision__") == USED)
        .with_columns((pl.col("resolved").is_not_null() | status.is_in(list(RESOLVED_STATUSES)).fill_null(False))
                      .alias("is_resolved"))
        .select(TICKET_COLUMNS)
    )
    report = file_report(side, parsed["__decision__"], TICKET_EXCLUDED, TICKET_REJECTED)
    return Tickets(tickets=tickets, report=report)
