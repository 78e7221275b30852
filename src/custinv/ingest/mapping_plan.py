"""The read plan's column half: which profile, which column for each field, and every guess.

A profile that recognises the export pins its documented columns; the generic synonym
matcher fills the rest (and everything when no profile matches). Each decision taken on
weak evidence becomes a warning that names the alternative and the flag that overrides it
(design.md: "Every guess is a warning in ``source.warnings``"):

* two columns of equal rank for the amount, the customer or the date;
* a name used as the customer key (two customers with one name become one);
* two profiles recognising the same header, or a forced profile whose signature is absent.

``--strict`` turns any warning into exit 65 (:func:`check_strict`).
"""

from __future__ import annotations

import polars as pl

from custinv.config import Settings
from custinv.errors import DataError, UsageError
from custinv.ingest import fields as F
from custinv.ingest import status
from custinv.ingest.profiles import Profile, all_profiles, choose_profile
from custinv.models import SourceReport

__all__ = ["check_strict", "empty_and_sparse", "guess_warnings", "plan_mapping", "profile_currency", "profile_label", "recognise", "require_fields", "status_overrides_of", "transaction_type_like", "type_like_columns"]

_TIE_FIELDS = ("customer_id", "order_date", "amount")
_NAME_RANK = 10


def status_overrides_of(settings: Settings) -> dict[str, str]:
    """``--status-used`` / ``--status-excluded`` (and ``[status]`` in custinv.toml) as decisions."""
    try:
        return status.status_overrides(settings.status_used, settings.status_excluded)
    except ValueError as exc:
        raise UsageError(str(exc), hint="a value is either used or excluded") from exc


def transaction_type_like(values: pl.Series) -> bool:
    """Most non-blank values of a ``Type`` column are known transaction types (PayPal, Stripe…)."""
    keys = pl.DataFrame({"v": values.cast(pl.String)}).select(status.normalise_status_expr("v")).to_series()
    keys = keys.drop_nulls()
    if keys.len() == 0:
        return False
    return int(keys.is_in(list(status.TRANSACTION_TYPES)).sum()) >= 0.8 * keys.len()


SAMPLE_ROWS = 1000

TYPE_SAMPLE_ROWS = 2000
"""The first values of a ``Type``-like column that tell transaction types from other types."""


def type_like_columns(columns: list[str]) -> list[str]:
    """Columns whose header may name transaction types (``Type``): their values decide
    (:func:`transaction_type_like` on the first TYPE_SAMPLE_ROWS)."""
    return [c for c in columns if any(f == "transaction_type" and r < 10 for f, r in F.matches(c))]


def fill_rates(frame: pl.DataFrame, columns: list[str]) -> dict[str, float]:
    """Share of non-blank values per column in the first rows (the streaming path looks at the same rows)."""
    head = frame.head(SAMPLE_ROWS)
    if head.height == 0 or not columns:
        return {c: 1.0 for c in columns}
    rates = head.select([(pl.col(c).str.strip_chars().str.len_chars() > 0).fill_null(False).mean().alias(c)
                         for c in columns]).row(0)
    return {c: float(r) if isinstance(r, (int, float)) else 0.0 for c, r in zip(columns, rates, strict=True)}


def empty_and_sparse(frame: pl.DataFrame, columns: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(columns with no value, columns less than half filled) in the first rows."""
    rates = fill_rates(frame, columns)
    return (frozenset(c for c, r in rates.items() if r == 0.0), frozenset(c for c, r in rates.items() if r < 0.5))


def recognise(columns: list[str], settings: Settings, path: str) -> tuple[Profile | None, list[str]]:
    """The file's export profile (forced by --profile, or recognised by its header), with warnings."""
    warnings: list[str] = []
    profile = choose_profile(columns, settings.profile)
    if profile is not None and settings.profile is not None and not profile.matches(columns):
        present = {F.normalise_header(c) for c in columns}
        missing = [s for s in profile.signature if F.normalise_header(s) not in present]
        warnings.append(f"{path}: --profile {profile.name} forced, but the file lacks its header(s) "
                        f"{', '.join(repr(m) for m in missing)}")
    if profile is not None and settings.profile is None:
        rivals = [p.name for p in all_profiles()
                  if p is not profile and p.matches(columns) and len(p.signature) == len(profile.signature)]
        if rivals:
            warnings.append(f"{path}: the header fits export profiles {profile.name!r} and "
                            f"{', '.join(repr(r) for r in rivals)}; {profile.name!r} was taken — "
                            f"force one with --profile NAME")
    return profile, warnings


def plan_mapping(
    frame: pl.DataFrame, columns: list[str], settings: Settings, path: str,
    profile: Profile | None, layout_pins: dict[str, tuple[str, str]] | None = None,
) -> tuple[F.Mapping, list[str]]:
    """(mapping, warnings) of one file: the profile's columns pinned, the rest matched."""
    name_like = {c: F.order_number_like(frame[c].head(500).to_list())
                 for c in columns if F.normalise_header(c) in ("name", "id")}
    type_like = {c: transaction_type_like(frame[c].head(TYPE_SAMPLE_ROWS)) for c in type_like_columns(columns)}
    pinned = {**(profile.pinned(columns) if profile is not None else {}), **(layout_pins or {})}
    empty, sparse = empty_and_sparse(frame, columns)
    mapping = F.map_columns(columns, settings.mapping, looks_like_order_numbers=name_like,
                            looks_like_transaction_types=type_like, pinned=pinned, empty=empty, sparse=sparse)
    return mapping, guess_warnings(mapping, columns, path, profile)


def _decided(mapping: F.Mapping, field: str) -> bool:
    """The field was pinned by --map / config or by a profile: not a guess."""
    choice = mapping.choices.get(field)
    return choice is not None and not choice.reason.startswith("header ")


def guess_warnings(mapping: F.Mapping, columns: list[str], path: str, profile: Profile | None) -> list[str]:
    out: list[str] = []
    taken = {c for f, c in mapping.as_dict().items() if f not in F.SHAREABLE}
    for field in _TIE_FIELDS:
        chosen = mapping.column(field)
        if chosen is None or _decided(mapping, field):
            continue
        rank = max((r for f, r in F.matches(chosen) if f == field), default=0)
        rivals = [c for c in columns if c != chosen and c not in taken
                  and any(f == field and r == rank for f, r in F.matches(c))]
        if rivals:
            out.append(f"{path}: {field} could be {chosen!r} or {', '.join(repr(r) for r in rivals)} "
                       f"(equal rank); {chosen!r} was taken (the leftmost) — "
                       f"say which with --map {field}='{rivals[0]}'")
    customer = mapping.column("customer_id")
    if customer is not None and "--map" not in mapping.choices["customer_id"].reason:
        rank = max((r for f, r in F.matches(customer) if f == "customer_id"), default=0)
        if rank == _NAME_RANK and not (profile is not None and profile.unique_customer_names):
            why = f"the export profile {profile.name!r} has no customer id" if profile else "no id or email column"
            out.append(f"{path}: customers are told apart by the name column {customer!r} ({why}): "
                       f"two customers with one name are counted as one — name an id column with "
                       f"--map customer_id=COLUMN if there is one")
    return out


def require_fields(mapping: F.Mapping, columns: list[str], path: str, profile: Profile | None) -> None:
    """fields.require_fields, saying why when the recognised export is known to lack the field."""
    try:
        F.require_fields(mapping, columns, path)
    except F.MissingFields as exc:
        if profile is None or profile.refusal is None:
            raise
        raise F.MissingFields(exc.mapping, exc.columns, path, f"{exc.message} — {profile.title}: {profile.refusal}",
                              hint=exc.hint or "") from exc


def profile_label(profiles: list[str | None]) -> str | None:
    """``source.profile``: the one profile of every file, or the distinct ones joined by ', '."""
    named = [p for p in dict.fromkeys(profiles) if p is not None]
    return ", ".join(named) if named else None


def profile_currency(profiles: list[str | None]) -> str | None:
    """The currency every file's profile implies (Taobao: CNY) when no file writes one."""
    from custinv.ingest.profiles import get_profile

    if not profiles or any(p is None for p in profiles):
        return None
    currencies = {get_profile(p).currency for p in profiles if p is not None}
    return currencies.pop() if len(currencies) == 1 else None


def check_strict(source: SourceReport, settings: Settings) -> None:
    """``--strict``: any warning is exit 65, with the warnings listed."""
    if settings.strict and source.warnings:
        listing = "; ".join(source.warnings)
        raise DataError(f"--strict: {len(source.warnings)} warning(s): {listing}",
                        hint="settle each decision with the flag it names, or run without --strict")
