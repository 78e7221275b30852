"""Money as a ranking key (rounded to cents) and as an exact sum (integer micro-units).

Ranking: rounded to cents, so float noise never splits a tie.

A customer's revenue is a float sum of order amounts, and the order of additions changes the
last bits: 1237.22 + 1237.22 + 1237.24 can come out as 3711.6800000000003 for one customer and
3711.68 for another who spent exactly the same. Ranked on the raw floats, the first outranks
the second — an ABC tier or an M score split that the README promises never happens. Every
rule that *ranks or compares* money (value tiers, M scores, above/below the mean) does it on
:func:`cents`; the amounts reported are not rounded.

Summing over many customers: :func:`units` — see there; the order engines
(:mod:`custinv.engine`) add cohort, period and churned revenue that way.
"""

from __future__ import annotations

from typing import Final

import polars as pl

CENT_DIGITS = 2


def cents(money: pl.Expr) -> pl.Expr:
    """``money`` rounded to cents: equal spend is equal, whatever the order of additions."""
    return money.cast(pl.Float64).round(CENT_DIGITS)


UNITS_PER_CURRENCY_UNIT: Final[int] = 1_000_000
"""Money is added up in integer micro-units (10⁻⁶ of the currency unit)."""

MAX_EXACT_TOTAL: Final[float] = 9.0e12
"""The largest absolute total (in currency units) an Int64 of micro-units holds with room to spare."""


def units(money: pl.Expr) -> pl.Expr:
    """``money`` as integer micro-units: ⌊x·10⁶ + ½⌋, computed in IEEE doubles exactly as the Spark
    engine computes it (``floor(x * 1e6 + 0.5)``), so both engines hold the same integers.

    Why sums of money go through integers: float addition depends on its order, and no two
    engines (nor two runs of one multi-threaded group_by) add in the same order — 0.1 + 0.2 + 0.3
    is not 0.3 + 0.2 + 0.1. Integer sums are exact in any order, so every engine's per-customer,
    per-cohort and per-period revenue is the same number; and for amounts written with at most
    six decimals (every money column seen) the sum is the exact decimal total, better than any
    float sum. Converted back once, on the driver (:func:`from_units`).
    """
    return (money.cast(pl.Float64) * float(UNITS_PER_CURRENCY_UNIT) + 0.5).floor().cast(pl.Int64)


def from_units(values: pl.Series) -> pl.Series:
    """Integer micro-units back to money (Float64, nulls kept): one correctly rounded division
    (numpy's; Polars multiplies by the reciprocal when dividing by a scalar, which is not)."""
    floats = values.cast(pl.Float64).to_numpy() / float(UNITS_PER_CURRENCY_UNIT)
    return pl.Series(values.name, floats, dtype=pl.Float64, nan_to_null=True)  # NaN only where null


def money_from_units(total: int) -> float:
    """One total of micro-units back to money (Python's division is correctly rounded)."""
    return total / UNITS_PER_CURRENCY_UNIT


def money_columns(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """``frame`` with each units column (key) replaced by its money column (value), in place."""
    out = frame.with_columns(from_units(frame[u]).alias(m) for u, m in columns.items())
    return out.drop([u for u, m in columns.items() if u != m])


def check_exact_total(abs_total: float | None) -> None:
    """Refuse (exit 65) a ledger whose money cannot be summed exactly in micro-units."""
    if abs_total is not None and abs_total >= MAX_EXACT_TOTAL:
        from custinv.errors import DataError

        raise DataError(f"the amounts add up to {abs_total:.3g} in absolute value, beyond the {MAX_EXACT_TOTAL:.0e} "
                        "that custinv sums exactly (in millionths of the currency unit)",
                        hint="split the ledger (e.g. by region or year) and audit each part")
