"""Historical CLV: average order value × purchase rate × margin × expected lifetime.

For data too small or too flat for the probability models (e.g. no repeat buyers yet). Each
customer is assumed to stay for the whole horizon (expected lifetime = horizon) and to keep
buying at their past repeat rate, spending their own average per purchase day (first
purchase included, since small data have few repeat purchases). A customer seen for two weeks
says little about their yearly rate, so the rate is credibility-weighted towards the pooled
rate λ̄ = Σx / ΣT: rate = (x + λ̄ T̄) / (T + T̄), T̄ the mean observation time — a customer
observed for T̄ gets half their own rate and half the pooled one. It has no notion of
dropout, so P(alive) is unknown (null) and the estimate is optimistic for lapsed customers;
with no repeat buyers at all the pooled rate is 0 and so is every CLV.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._mle import FloatArray


def purchase_rate(x: FloatArray, T: FloatArray) -> FloatArray:
    """Credibility-weighted repeat purchases per time unit (see the module docstring)."""
    if x.size == 0 or float(T.sum()) <= 0:
        return np.zeros_like(x)
    pooled = float(x.sum() / T.sum())
    prior_time = float(T.mean())
    return (x + pooled * prior_time) / (T + prior_time)


def average_order_value(revenue: FloatArray, x: FloatArray) -> FloatArray:
    """Mean spend per purchase day over all x + 1 purchase days."""
    return revenue / (x + 1.0)


def cumulative_purchases(x: FloatArray, T: FloatArray) -> Callable[[float], FloatArray]:
    """E[purchases in (T, T+t]] = rate × t, as a function of t (for :mod:`.discount`)."""
    rate = purchase_rate(x, T)
    return lambda t: rate * t
