"""One entry point over the two purchase models, with expectations per distinct (x, T) pair.

BG/NBD and Pareto/NBD expose the same functions (``fit``, ``p_alive``,
``expected_purchases_if_alive``, ``conditional_expected_purchases``), so callers pick a model
by name here instead of branching everywhere. Expectations are computed once per distinct
(x, T) and broadcast back: the hypergeometric functions dominate the cost and customers share
summaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np

from . import bgnbd, paretonbd
from ._mle import FitResult, FloatArray, distinct_pairs, map_blocks
from .discount import Schedule, discounted_purchases

MODELS: dict[str, ModuleType] = {"bgnbd": bgnbd, "paretonbd": paretonbd}


def module(name: str) -> ModuleType:
    """The model module for ``name``; ``ValueError`` for unknown names."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"purchase model must be one of {sorted(MODELS)}, got {name!r}") from None


def fit(name: str, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FitResult:
    """Fit the named model (raises ``ModelNotIdentifiable`` when the data cannot identify it)."""
    return module(name).fit(x, t_x, T)


class Predictor:
    """Per-customer P(alive) and E[Y(t)] for fitted parameters.

    E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) · E[Y(t) | alive, x, T] in both models. The
    second factor holds the costly hypergeometric/power terms and depends on (x, T) only, so it
    is evaluated once per distinct (x, T) pair (a million customers share a few tens of
    thousands) and multiplied by each customer's P(alive), which is computed once.
    """

    def __init__(self, name: str, params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
        self._mod = module(name)
        self._params = dict(params)
        self._alive: FloatArray = np.asarray(self._mod.p_alive(self._params, x, t_x, T), dtype=np.float64)
        self._x, self._T, self._inverse = distinct_pairs(np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64))
        self.n = self._alive.size

    def p_alive(self) -> FloatArray:
        return self._alive.copy()

    def expected(self, t: float) -> FloatArray:
        """Expected purchases in (T, T + t] per customer."""
        return self._per_customer(self._if_alive(t))

    def discounted(self, sched: Schedule) -> tuple[FloatArray, FloatArray]:
        """(expected purchases by the horizon, discounted expected purchases) per customer.

        :func:`~custinv.analytics.clv.discount.discounted_purchases`'s rule applied to
        E[Y(t) | alive] per (x, T) pair, then times P(alive): the factor is the same at every
        step, so it comes out of the discounted sum and the steps run on the few pairs.
        """
        ahead = dict(zip(map(float, sched.times), map_blocks(self._if_alive, [float(t) for t in sched.times])))
        expected, discounted = discounted_purchases(lambda t: ahead[float(t)], sched, self._x.size)
        return self._per_customer(expected), self._per_customer(discounted)

    def _if_alive(self, t: float) -> FloatArray:
        """E[Y(t) | alive] per distinct (x, T) pair."""
        return np.asarray(self._mod.expected_purchases_if_alive(self._params, t, self._x, self._T), dtype=np.float64)

    def _per_customer(self, if_alive: FloatArray) -> FloatArray:
        return if_alive[self._inverse] * self._alive
