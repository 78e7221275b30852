"""Discounting expected purchases over the CLV horizon.

CLV is expected *discounted* margin. Purchases are spread over the horizon, so the horizon is
cut into monthly steps t_1 < … < t_K (the last one the horizon itself) and each step's
expected purchases E[Y(t_k)] − E[Y(t_{k−1})] are discounted at (1 + d)^(−t_k / year), i.e.
as if paid at the end of the month in which they happen. With a non-negative rate every factor
is at most 1 and falls as d rises, so CLV cannot increase with the discount rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._mle import FloatArray
from .inputs import months_to_units


@dataclass(frozen=True)
class Schedule:
    """Step end points in model time units and their discount factors."""

    times: FloatArray
    factors: FloatArray

    @property
    def horizon(self) -> float:
        return float(self.times[-1]) if self.times.size else 0.0


def schedule(horizon_months: float, discount_rate: float, time_unit: str) -> Schedule:
    """Monthly steps over ``horizon_months`` (a fractional last step when not a whole number)."""
    if not math.isfinite(horizon_months) or horizon_months < 0:
        raise ValueError(f"horizon_months must be a non-negative number, got {horizon_months}")
    if not math.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(f"discount_rate must be a number above -1, got {discount_rate}")
    months = np.minimum(np.arange(1, math.ceil(horizon_months) + 1, dtype=np.float64), horizon_months)
    times = np.array([months_to_units(m, time_unit) for m in months], dtype=np.float64)
    factors = (1.0 + discount_rate) ** (-months / 12.0)
    return Schedule(times, factors)


def discounted_purchases(
    cumulative: Callable[[float], npt.NDArray[np.float64]], sched: Schedule, n: int
) -> tuple[FloatArray, FloatArray]:
    """(expected purchases by the horizon, discounted expected purchases) per customer.

    ``cumulative(t)`` returns each customer's E[Y(t)] (expected purchases in (T, T+t]).
    """
    previous = np.zeros(n)
    discounted = np.zeros(n)
    for t, factor in zip(sched.times, sched.factors):
        current = np.asarray(cumulative(float(t)), dtype=np.float64)
        discounted += (current - previous) * factor
        previous = current
    return previous, discounted
