"""Personal data in display outputs: emails and phone numbers are masked by default.

``mask`` keeps enough to recognise a customer (``j***@example.com``, ``138****5678``);
``hash`` replaces the value with a stable keyed hash (HMAC-SHA256 with ``CUSTINV_PII_KEY``, so
the same customer gets the same token in every report of one organisation; without it, a
random per-installation key, see :func:`pii_key`); ``show`` leaves it. A value counts as
personal when it *holds* an email anywhere (``Jane <jane@x.com>``, ``mailto:``) or is a phone
number once a ``tel:`` prefix or an extension (``ext. 12``) is set aside. JSON and ``custinv customers`` never pass through here: they keep ids as they are so
results can be joined back.

The rule exists twice on purpose, with one definition of what counts: :func:`protect` for one
value (console cells) and :func:`protect_expr` for a whole Polars column (the report's
customer sheet, 100k+ rows), whose regular expressions are the same constants. A test checks
that both agree on every case.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from custinv.errors import ConfigError

if TYPE_CHECKING:
    from custinv.ingest.ledger import Ledger

PiiMode = Literal["mask", "show", "hash"]

KEY_ENV = "CUSTINV_PII_KEY"
KEY_FILE = "pii.key"

# What counts as personal data (shared by the scalar and the column versions)
_EMAIL_CHAR = r"[^@\s<>\"'(),;:\[\]]"
EMAIL_ANYWHERE = rf"({_EMAIL_CHAR}){_EMAIL_CHAR}*@({_EMAIL_CHAR}+\.{_EMAIL_CHAR}+)"
"""An email anywhere in a value: ``jane@x.com``, ``Jane Doe <jane@x.com>``, ``mailto:jane@x.com``.
Group 1 is the local part's first character, group 2 the domain (what the mask keeps)."""
PHONE_DECORATION = (r"(?i)^\s*(?:tel:|callto:|phone:?|tel\.?:?|mobile:?|电话[:：]?|手机[:：]?)\s*"
                    r"|\s*(?:,|;)?\s*(?:ext\.?|extension|x|#|转|分机)\s*[0-9]{1,6}\s*$")
"""A ``tel:`` prefix or an extension (``ext. 12``, ``x12``, ``转 12``): stripped before the
phone test, so they cannot hide a number from the mask."""
PHONE_SHAPE = r"^\+?[0-9(][0-9 ().\-]{5,22}[0-9]$"
"""Digits with the usual separators, optionally a leading + (``+86 138-1234-5678``, ``(555) 123-4567``)."""
DATE_SHAPE = r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$"
"""Dates written with separators look like phone numbers; they are not personal data."""
MOBILE_CN = r"^1[3-9][0-9]{9}$"
"""A bare 11-digit mainland mobile number. Other bare digit strings are ids, not phones."""
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15

_EMAIL = re.compile(EMAIL_ANYWHERE)
_DECORATION = re.compile(PHONE_DECORATION)
_PHONE = re.compile(PHONE_SHAPE)
_DATE = re.compile(DATE_SHAPE)
_MOBILE = re.compile(MOBILE_CN)


def has_email(value: str) -> bool:
    """Does the value hold an email address anywhere (``Name <a@b.c>`` too)?"""
    return bool(_EMAIL.search(value))


def _phone_core(value: str) -> str:
    return _DECORATION.sub("", value.strip())


def is_phone(value: str) -> bool:
    """A phone number: a mainland mobile, or 7–15 digits written with phone separators or +,
    after a ``tel:`` prefix or an extension is set aside."""
    text = _phone_core(value)
    if _MOBILE.match(text):
        return True
    if text.isdigit() or not _PHONE.match(text) or _DATE.match(text):
        return False
    return MIN_PHONE_DIGITS <= sum(ch.isdigit() for ch in text) <= MAX_PHONE_DIGITS


def is_personal(value: str) -> bool:
    return has_email(value) or is_phone(value)


def mask(value: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com`` (also inside ``Jane <…>``);
    ``13812345678`` or ``tel:138…`` → ``138****5678`` (an extension is dropped)."""
    if has_email(value):
        return _EMAIL.sub(r"\1***@\2", value.strip())
    if is_phone(value):
        digits = re.sub(r"\D", "", _phone_core(value))
        return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]
    return value


def key_path() -> Path:
    """Where the per-installation key lives: ``$XDG_CONFIG_HOME/custinv/pii.key`` (``~/.config``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "custinv" / KEY_FILE


_key_cache: dict[str, str] = {}


def pii_key() -> str:
    """``CUSTINV_PII_KEY``, else this installation's own key, created on first use.

    A key published in the source would let anyone with the code reverse a hashed email by
    trying candidates; so without the variable a random key is generated once, stored with
    mode 0600 (folder 0700) and announced on stderr. When that file cannot be created the
    run is refused (exit 78) rather than hashing with a guessable key."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env
    path = key_path()
    if str(path) in _key_cache:
        return _key_cache[str(path)]
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = ""
    except OSError as exc:
        raise ConfigError(f"--pii hash needs a key: {KEY_ENV} is not set and {path} cannot be read "
                          f"({exc.strerror or exc})", hint=f"set {KEY_ENV} to a secret of your organisation") from exc
    if not key:
        key = secrets.token_hex(32)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
        except FileExistsError:  # another run created it meanwhile: use theirs
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--pii hash needs a key: {KEY_ENV} is not set and {path} cannot be created "
                              f"({exc.strerror or exc})", hint=f"set {KEY_ENV} to a secret of your organisation") from exc
        else:
            sys.stderr.write(f"custinv: --pii hash: generated this installation's key in {path} (mode 0600); "
                             f"set {KEY_ENV} to share tokens across machines\n")
    _key_cache[str(path)] = key
    return key


def keyed_hash(value: str, key: str | None = None) -> str:
    """A stable token for one value: the same input and key give the same token in every report."""
    secret = (key or pii_key()).encode()
    return "h:" + hmac.new(secret, value.strip().encode(), hashlib.sha256).hexdigest()[:16]


def protect(value: str | None, mode: PiiMode = "mask") -> str | None:
    """Apply the PII mode to one displayed value (only values holding an email or phone change)."""
    if value is None or mode == "show":
        return value
    if not is_personal(value):
        return value
    return mask(value) if mode == "mask" else keyed_hash(value)


# ----------------------------------------------------------------------------- whole columns


def has_email_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.contains(EMAIL_ANYWHERE)


def is_phone_expr(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars().str.replace_all(PHONE_DECORATION, "")
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
    core = expr.str.strip_chars().str.replace_all(PHONE_DECORATION, "")
    digits = core.str.replace_all(r"[^0-9]", "")
    n = digits.str.len_chars()
    masked_phone = pl.concat_str(
        digits.str.slice(0, 3),
        pl.lit("*").repeat_by((n - 7).clip(lower_bound=1)).list.join(""),
        digits.str.slice(-4),
    )
    masked_email = expr.str.strip_chars().str.replace_all(EMAIL_ANYWHERE, "${1}***@${2}")
    return (
        pl.when(has_email_expr(expr)).then(masked_email)
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
        .filter(has_email_expr(pl.col("v")) | is_phone_expr(pl.col("v")))
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


def protect_strings(frame: pl.DataFrame, mode: PiiMode) -> pl.DataFrame:
    """Protect every text column of a frame shown to people (inspect's samples and rejects)."""
    return protect_frame(frame, [c for c, d in frame.schema.items() if d == pl.String], mode)


def protect_inspection(ledger: Ledger, mode: PiiMode) -> Ledger:
    """The ledger as ``custinv inspect`` shows it: sample rows and rejected values protected."""
    if mode == "show":
        return ledger
    samples = protect_strings(ledger.samples, mode) if ledger.samples is not None else None
    return dataclasses.replace(ledger, samples=samples, rejects=protect_strings(ledger.rejects, mode))
