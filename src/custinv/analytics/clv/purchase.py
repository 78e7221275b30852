"""One entry point over the two purchase models, evaluated on unique (x, t_x, T) rows.

BG/NBD and Pareto/NBD expose the same functions (``fit``, ``p_alive``,
``conditional_expected_purchases``), so callers pick a model by name here instead of
branching everywhere. Predictions are computed once per distinct (x, t_x, T) and broadcast
back: the hypergeometric functions dominate the cost and customers share summaries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

import numpy as np

from . import bgnbd, paretonbd
from ._mle import FitResult, FloatArray

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
    """Per-customer P(alive) and E[Y(t)] for fitted parameters, computed on unique rows."""

    def __init__(self, name: str, params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
        self._mod = module(name)
        self._params = dict(params)
        stacked = np.stack([x, t_x, T], axis=1)
        if stacked.shape[0]:
            uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        else:
            uniq, inverse = stacked, np.zeros(0, dtype=np.int64)
        self._u = uniq
        self._inverse = inverse.reshape(-1)
        self.n = x.size

    def p_alive(self) -> FloatArray:
        u = self._u
        return self._mod.p_alive(self._params, u[:, 0], u[:, 1], u[:, 2])[self._inverse]

    def expected(self, t: float) -> FloatArray:
        """Expected purchases in (T, T + t] per customer."""
        u = self._u
        return self._mod.conditional_expected_purchases(self._params, t, u[:, 0], u[:, 1], u[:, 2])[self._inverse]

    def cumulative(self) -> Callable[[float], FloatArray]:
        return self.expected
