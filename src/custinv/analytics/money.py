"""Money as a ranking key: rounded to cents, so float noise never splits a tie.

A customer's revenue is a float sum of order amounts, and the order of additions changes the
last bits: 1237.22 + 1237.22 + 1237.24 can come out as 3711.6800000000003 for one customer and
3711.68 for another who spent exactly the same. Ranked on the raw floats, the first outranks
the second — an ABC tier or an M score split that the README promises never happens. Every
rule that *ranks or compares* money (value tiers, M scores, above/below the mean) does it on
:func:`cents`; the amounts reported are not rounded.
"""

from __future__ import annotations

import polars as pl

CENT_DIGITS = 2


def cents(money: pl.Expr) -> pl.Expr:
    """``money`` rounded to cents: equal spend is equal, whatever the order of additions."""
    return money.cast(pl.Float64).round(CENT_DIGITS)
