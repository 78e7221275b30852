"""Personal data in display outputs: emails and phone numbers are masked by default.

``mask`` keeps enough to recognise a customer (``j***@example.com``, ``138****5678``);
``hash`` replaces the value with a stable keyed hash (HMAC-SHA256 with ``CUSTINV_PII_KEY``, so
the same customer gets the same token in every report of one organisation); ``show`` leaves
it. JSON and ``custinv customers`` never pass through here: they keep ids as they are so
results can be joined back.

The rule exists twice on purpose, with one definition of what counts: :func:`protect` for one
value (console cells) and :func:`protect_expr` for a whole Polars column (the report's
customer sheet, 100k+ rows), whose regular expressions are the same constants. A test checks
that both agree on every case.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Literal

import polars as pl

PiiMode = Literal["mask", "show", "hash"]

DEFAULT_KEY = "custinv-default-pii-key"

# What counts as personal data (shared by the scalar and the column versions)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_SHAPE = r"^\+?[0-9(][0-9 ().\-]{5,22}[0-9]$"
"""Digits with the usual separators, optionally a leading + (``+86 138-1234-5678``, ``(555) 123-4567``)."""
DATE_SHAPE = r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$"
"""Dates written with separators look like phone numbers; they are not personal data."""
MOBILE_CN = r"^1[3-9][0-9]{9}$"
"""A bare 11-digit mainland mobile number. Other bare digit strings are ids, not phones."""
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15

_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_SHAPE)
_DATE = re.compile(DATE_SHAPE)
_MOBILE = re.compile(MOBILE_CN)


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value.strip()))


def is_phone(value: str) -> bool:
    """A phone number: a mainland mobile, or 7–15 digits written with phone separators or +."""
    text = value.strip()
    if _MOBILE.match(text):
        return True
    if text.isdigit() or not _PHONE.match(text) or _DATE.match(text):
        return False
    return MIN_PHONE_DIGITS <= sum(ch.isdigit() for ch in text) <= MAX_PHONE_DIGITS


def mask(value: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com``; ``13812345678`` → ``138****5678``."""
    text = value.strip()
    if is_email(text):
        local, domain = text.rsplit("@", 1)
        return f"{local[0]}***@{domain}"
    if is_phone(text):
        digits = re.sub(r"\D", "", text)
        return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]
    return value


def keyed_hash(value: str, key: str | None = None) -> str:
    """A stable token for one value: the same input and key give the same token in every report."""
    secret = (key or os.environ.get("CUSTINV_PII_KEY") or DEFAULT_KEY).encode()
    return "h:" + hmac.new(secret, value.strip().encode(), hashlib.sha256).hexdigest()[:16]


def protect(value: str | None, mode: PiiMode = "mask") -> str | None:
    """Apply the PII mode to one displayed value (only emails and phone numbers change)."""
    if value is None or mode == "show":
        return value
    if not (is_email(value) or is_phone(value)):
        return value
    return mask(value) if mode == "mask" else keyed_hash(value)


# ----------------------------------------------------------------------------- whole columns


def is_email_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.contains(EMAIL_PATTERN)


def is_phone_expr(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars()
    digits = text.str.count_matches(r"[0-9]")
    shaped = (
        text.str.contains(PHONE_SHAPE)
        & ~text.str.contains(r"^[0-9]+$")
        & ~text.str.contains(DATE_SHAPE)
        & digits.is_between(MIN_PHONE_DIGITS, MAX_PHONE_DIGITS)
    )
    return text.str.contains(MOBILE_CN) | shaped


def mask_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`mask` as a column expression."""
    text = expr.str.strip_chars()
    digits = text.str.replace_all(r"[^0-9]", "")
    n = digits.str.len_chars()
    masked_phone = pl.concat_str(
        digits.str.slice(0, 3),
        pl.lit("*").repeat_by((n - 7).clip(lower_bound=1)).list.join(""),
        digits.str.slice(-4),
    )
    masked_email = text.str.replace(r"^([^@\s])[^@\s]*@", "${1}***@")
    return (
        pl.when(is_email_expr(expr)).then(masked_email)
        .when(is_phone_expr(expr)).then(masked_phone)
        .otherwise(expr)
    )


def protect_expr(expr: pl.Expr, mode: PiiMode, *, values: pl.Series | None = None) -> pl.Expr:
    """:func:`protect` as a column expression.

    ``hash`` needs an HMAC, which Polars has no expression for: the distinct personal values
    (``values``, the column itself) are hashed once each in Python and mapped back with
    ``replace`` — the work grows with the number of distinct emails, not with rows.
    """
    if mode == "show":
        return expr
    if mode == "mask":
        return mask_expr(expr)
    if values is None:
        raise ValueError("protect_expr(mode='hash') needs the column's values")
    personal = (
        values.to_frame("v").lazy().unique()
        .filter(is_email_expr(pl.col("v")) | is_phone_expr(pl.col("v")))
        .collect()["v"].to_list()
    )
    return expr.replace(personal, [keyed_hash(v) for v in personal])


def protect_frame(frame: pl.DataFrame, columns: list[str], mode: PiiMode) -> pl.DataFrame:
    """Protect the named string columns of a frame (missing columns are skipped)."""
    present = [c for c in columns if c in frame.columns and frame.schema[c] == pl.String]
    if mode == "show" or not present:
        return frame
    return frame.with_columns(protect_expr(pl.col(c), mode, values=frame[c]).alias(c) for c in present)


PII_COLUMNS: tuple[str, ...] = ("customer_id", "customer_name", "email", "phone")
"""Columns of per-customer frames that may hold personal data in display outputs."""
