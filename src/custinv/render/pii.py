"""Personal data in display outputs: emails and phone numbers are masked by default.

``mask`` keeps enough to recognise a customer (``j***@example.com``, ``138****5678``);
``hash`` replaces the value with a stable keyed hash (HMAC-SHA256 with ``CUSTINV_PII_KEY``, so
the same customer gets the same token in every report of one organisation); ``show`` leaves
it. JSON and ``custinv customers`` never pass through here: they keep ids as they are so
results can be joined back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Literal

PiiMode = Literal["mask", "show", "hash"]

_EMAIL = re.compile(r"^(?P<first>[^@\s])[^@\s]*@(?P<domain>[^@\s]+\.[^@\s]+)$")
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,20}$")
DEFAULT_KEY = "custinv-default-pii-key"


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value.strip()))


def is_phone(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return bool(_PHONE.match(value.strip())) and 7 <= len(digits) <= 15 and not value.strip().isdigit() or (
        value.strip().isdigit() and len(value.strip()) == 11 and value.strip().startswith("1")
    )


def mask(value: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com``; ``13812345678`` → ``138****5678``."""
    text = value.strip()
    m = _EMAIL.match(text)
    if m:
        return f"{m['first']}***@{m['domain']}"
    if is_phone(text):
        digits = re.sub(r"\D", "", text)
        return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]
    return value


def keyed_hash(value: str, key: str | None = None) -> str:
    secret = (key or os.environ.get("CUSTINV_PII_KEY") or DEFAULT_KEY).encode()
    return "h:" + hmac.new(secret, value.strip().encode(), hashlib.sha256).hexdigest()[:16]


def protect(value: str | None, mode: PiiMode = "mask") -> str | None:
    """Apply the PII mode to one displayed value (only emails and phone numbers change)."""
    if value is None or mode == "show":
        return value
    if not (is_email(value) or is_phone(value)):
        return value
    return mask(value) if mode == "mask" else keyed_hash(value)
