"""Export profiles: what custinv knows about one platform's export, as data.

One TOML file per platform export in ``custinv/profiles/`` (loaded with :mod:`tomllib`)::

    name = "shopify"
    title = "Shopify — Orders › Export (CSV, one row per line item)"
    sources = ["https://help.shopify.com/..."]
    signature = ["Name", "Email", "Financial Status", "Lineitem name"]   # all must be present

    [columns]                 # field = header, or a list of headers (first present wins)
    customer_id = "Email"
    amount = "Total"

    [status]                  # the platform's documented vocabulary, as written
    values = ["paid", "partially_refunded", "refunded", "voided", "pending"]

    [transactions]            # a transaction-type column's documented values
    values = ["Express Checkout Payment", "Payment Refund", "General Withdrawal"]

A profile never holds a rule of its own: every header it names must be a synonym of that
field in the ONE synonym table (:mod:`custinv.ingest.fields`), and every status / transaction
value must be in the ONE vocabulary (:mod:`custinv.ingest.status`) — the tests check both. What a
profile adds is *certainty*: the signature recognises the export, so the mapping is the
documented one instead of a rank contest, and ``inspect`` / the Source panel / ``source.profile``
name it. ``--profile NAME`` forces one; ``--profile none`` turns recognition off.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from custinv.errors import UsageError
from custinv.ingest.fields import normalise_header

__all__ = ["Profile", "all_profiles", "choose_profile", "get_profile"]

NO_PROFILE = "none"


@dataclass(frozen=True)
class Profile:
    """One platform export's documented layout (see the module docstring)."""

    name: str
    title: str
    signature: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]
    statuses: tuple[str, ...] = ()
    transactions: tuple[str, ...] = ()
    date_format: str | None = None
    currency: str | None = None  # the export's currency when no column or symbol writes one
    refusal: str | None = None  # why a required field is absent from this export, said when refusing it
    group_column: str | None = None  # grouped report: the customer is on group header rows (layout.py)
    composite_customer: tuple[str, ...] = ()  # no buyer id: these columns together tell customers apart
    marker_columns: tuple[str, ...] = ()  # free text where a status word (Voided) marks a non-sale
    anonymous: tuple[str, ...] = ()  # customer values that mean "no customer" (QuickBooks: Not Specified)
    refund_by_status: bool = False  # refunds are only a status: a refunded order's amount is the return
    footer_patterns: tuple[str, ...] = ()  # regexes on a row's cells joined by "," that mark report footers
    continuation_key: str | None = None  # a blank here: the row continues the order above (Odoo order lines)
    child_prefix: str | None = None  # columns of the child rows ("Order Lines/"); the others are filled down
    unique_customer_names: bool = False  # the platform enforces unique customer names (QuickBooks display names)
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def matches(self, columns: list[str]) -> bool:
        """Every signature header is among the columns (compared normalised)."""
        present = {normalise_header(c) for c in columns}
        return all(normalise_header(s) in present for s in self.signature)

    def pinned(self, columns: list[str]) -> dict[str, tuple[str, str]]:
        """field → (the file's column, reason) for every profile column the file has."""
        by_norm: dict[str, str] = {}
        for c in reversed(columns):  # leftmost wins on duplicate headers
            by_norm[normalise_header(c)] = c
        exact = {c.strip(): c for c in reversed(columns)}
        out: dict[str, tuple[str, str]] = {}
        for fld, headers in self.columns.items():
            for header in headers:  # as written first: 'Order Total (inc tax)' is not '(ex tax)'
                actual = exact.get(header.strip()) or by_norm.get(normalise_header(header))
                if actual is not None:
                    out[fld] = (actual, f"export profile {self.name!r}: {fld} is {header!r}")
                    break
        return out


def _tuple(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{where}: expected a string or a list of strings")


def _optional_str(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{where}: expected a string")


def parse_profile(data: dict[str, object], origin: str) -> Profile:
    """A profile from its TOML table (``origin`` names the file in errors)."""
    columns_raw = data.get("columns", {})
    if not isinstance(columns_raw, dict):
        raise TypeError(f"{origin}: [columns] must be a table")
    status_raw = data.get("status", {})
    txn_raw = data.get("transactions", {})
    if not isinstance(status_raw, dict) or not isinstance(txn_raw, dict):
        raise TypeError(f"{origin}: [status] and [transactions] must be tables")
    name = data.get("name")
    title = data.get("title")
    if not isinstance(name, str) or not isinstance(title, str):
        raise TypeError(f"{origin}: name and title are required strings")
    date_format = _optional_str(data.get("date_format"), f"{origin}: date_format")
    currency = _optional_str(data.get("currency"), f"{origin}: currency")
    refusal = _optional_str(data.get("refusal"), f"{origin}: refusal")
    return Profile(
        name=name,
        title=title,
        signature=_tuple(data.get("signature", []), f"{origin}: signature"),
        columns={str(k): _tuple(v, f"{origin}: columns.{k}") for k, v in columns_raw.items()},
        statuses=_tuple(status_raw.get("values", []), f"{origin}: status.values"),
        transactions=_tuple(txn_raw.get("values", []), f"{origin}: transactions.values"),
        date_format=date_format,
        currency=currency,
        refusal=refusal,
        group_column=_optional_str(data.get("group_column"), f"{origin}: group_column"),
        composite_customer=_tuple(data.get("composite_customer", []), f"{origin}: composite_customer"),
        marker_columns=_tuple(data.get("marker_columns", []), f"{origin}: marker_columns"),
        anonymous=_tuple(data.get("anonymous", []), f"{origin}: anonymous"),
        refund_by_status=bool(data.get("refund_by_status", False)),
        unique_customer_names=bool(data.get("unique_customer_names", False)),
        footer_patterns=_tuple(data.get("footer_patterns", []), f"{origin}: footer_patterns"),
        continuation_key=_optional_str(data.get("continuation_key"), f"{origin}: continuation_key"),
        child_prefix=_optional_str(data.get("child_prefix"), f"{origin}: child_prefix"),
        sources=_tuple(data.get("sources", []), f"{origin}: sources"),
        notes=_tuple(data.get("notes", []), f"{origin}: notes"),
    )


@cache
def all_profiles() -> tuple[Profile, ...]:
    """Every shipped profile, by name."""
    out: list[Profile] = []
    folder = resources.files("custinv") / "profiles"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append(parse_profile(tomllib.loads(entry.read_text(encoding="utf-8")), entry.name))
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise AssertionError(f"duplicate profile names: {names}")
    return tuple(out)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a usage error listing them when there is none."""
    for profile in all_profiles():
        if profile.name == name.strip().casefold():
            return profile
    raise UsageError(
        f"no export profile named {name!r}",
        hint="`custinv profiles` lists them: " + ", ".join(p.name for p in all_profiles()),
    )


def choose_profile(columns: list[str], forced: str | None) -> Profile | None:
    """The profile of a file: the forced one, else the matching profile with the longest
    signature (the most specific), else None (the generic synonym matcher alone)."""
    if forced is not None:
        if forced.strip().casefold() == NO_PROFILE:
            return None
        return get_profile(forced)
    matching = [p for p in all_profiles() if p.matches(columns)]
    if not matching:
        return None
    return max(matching, key=lambda p: (len(p.signature), p.name))
