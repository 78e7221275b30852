"""One entry point over the purchase models, with expectations per distinct (x, T) pair.

NBD, BG/NBD, MBG/NBD and Pareto/NBD expose the same functions (``fit``, ``p_alive``,
``expected_purchases``, ``expected_purchases_if_alive``, ``conditional_expected_purchases``),
so callers pick a model by name here instead of branching everywhere. Expectations are
computed once per distinct (x, T) and broadcast back: the hypergeometric functions dominate
the cost and customers share summaries.

Two per-customer predictions beyond the papers' expectations live here because they follow
from the same posterior in every model. Given a customer is alive at T, their purchase rate
is λ ~ Gamma(R, A) with R = r + x, A = α + T (FHL 2005, Schmittlein et al. 1987), and:

* P(at least one purchase in (T, T+t]) = P(alive) · ∫_0^t R/A · (A/(A+u))^(R+1) · S(u) du,
  the chance that the first purchase comes before t and before dropout. S(u) is the chance
  of still being alive u after T *before any further purchase*: 1 in the BG family and the NBD
  (their dropout happens only at purchases), (B/(B+u))^s with B = β + T in Pareto/NBD. With
  S = 1 the integral is 1 − (A/(A+t))^R in closed form; for Pareto/NBD it is taken by
  Gauss–Legendre quadrature per distinct (x, T) pair.
* the next-purchase window: quantiles of the waiting time to the next purchase of a customer
  who is still active, t_q = A · ((1−q)^(−1/R) − 1) (the Gamma-mixed exponential, i.e. a
  Lomax distribution); :data:`NEXT_PURCHASE_QUANTILES` gives the window's ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np
import numpy.typing as npt

from . import bgnbd, mbgnbd, nbd, paretonbd
from ._mle import FitResult, FloatArray, distinct_pairs, map_blocks
from .discount import Schedule, discounted_purchases

MODELS: dict[str, ModuleType] = {"nbd": nbd, "bgnbd": bgnbd, "mbgnbd": mbgnbd, "paretonbd": paretonbd}
LABELS: dict[str, str] = {"nbd": "NBD", "bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "paretonbd": "Pareto/NBD",
                          "historical": "historical"}
#: The next-purchase window is the middle half of the waiting-time distribution.
NEXT_PURCHASE_QUANTILES = (0.25, 0.75)
_LEGENDRE = np.polynomial.legendre.leggauss(32)


def module(name: str) -> ModuleType:
    """The model module for ``name``; ``ValueError`` for unknown names."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"purchase model must be one of {sorted(MODELS)}, got {name!r}") from None


def fit(name: str, x: FloatArray, t_x: FloatArray, T: FloatArray, *, penalizer: float = 0.0) -> FitResult:
    """Fit the named model (raises ``ModelNotIdentifiable`` when the data cannot identify it)."""
    return module(name).fit(x, t_x, T, penalizer=penalizer)


def waiting_time_quantile(params: Mapping[str, float], x: FloatArray, T: FloatArray, q: float) -> FloatArray:
    """Quantile q of the time to the next purchase of a still-active customer (module docstring)."""
    R = float(params["r"]) + x
    A = float(params["alpha"]) + T
    return np.asarray(A * np.expm1(-np.log1p(-q) / R), dtype=np.float64)


class Predictor:
    """Per-customer P(alive) and E[Y(t)] for fitted parameters.

    E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) · E[Y(t) | alive, x, T] in every model. The
    second factor holds the costly hypergeometric/power terms and depends on (x, T) only, so it
    is evaluated once per distinct (x, T) pair (a million customers share a few tens of
    thousands) and multiplied by each customer's P(alive), which is computed once.
    """

    def __init__(self, name: str, params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
        self.name = name
        self._mod = module(name)
        self._params = dict(params)
        self._alive: FloatArray = np.asarray(self._mod.p_alive(self._params, x, t_x, T), dtype=np.float64)
        self._x, self._T, self._inverse = distinct_pairs(np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64))
        self.n = self._alive.size
        self._cache: tuple[Schedule, tuple[FloatArray, FloatArray]] | None = None

    def with_params(self, params: Mapping[str, float], x: FloatArray, t_x: FloatArray, T: FloatArray) -> Predictor:
        """The same customers under other parameters, reusing the distinct (x, T) pairs.

        The delta method evaluates the predictions at a few parameter points; finding the
        pairs again each time would cost more than the predictions.
        """
        other = object.__new__(Predictor)
        other.name, other._mod, other._params = self.name, self._mod, dict(params)
        other._alive = np.asarray(self._mod.p_alive(other._params, x, t_x, T), dtype=np.float64)
        other._x, other._T, other._inverse, other.n = self._x, self._T, self._inverse, self.n
        other._cache = None
        return other

    @property
    def pair_count(self) -> int:
        """How many distinct (x, T) pairs the customers share."""
        return int(self._x.size)

    @property
    def inverse(self) -> npt.NDArray[np.intp]:
        """Each customer's index into the distinct (x, T) pairs."""
        return self._inverse

    def p_alive(self) -> FloatArray:
        return self._alive.copy()

    def expected(self, t: float) -> FloatArray:
        """Expected purchases in (T, T + t] per customer."""
        return self._per_customer(self._if_alive(t))

    def discounted(self, sched: Schedule) -> tuple[FloatArray, FloatArray]:
        """(expected purchases by the horizon, discounted expected purchases) per customer."""
        expected, discounted = self.discounted_pairs(sched)
        return self._per_customer(expected), self._per_customer(discounted)

    def discounted_pairs(
        self, sched: Schedule, params: Mapping[str, float] | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`discounted` per distinct (x, T) pair, before the P(alive) factor (at ``params``
        instead of the fitted ones when given: the delta method's perturbed points).

        :func:`~custinv.analytics.clv.discount.discounted_purchases`'s rule applied to
        E[Y(t) | alive] per (x, T) pair: the P(alive) factor is the same at every step, so it
        comes out of the discounted sum and the steps run on the few pairs.
        """
        if params is None and self._cache is not None and self._cache[0] is sched:
            return self._cache[1]
        at = self._params if params is None else dict(params)

        def if_alive(t: float) -> FloatArray:
            return np.asarray(self._mod.expected_purchases_if_alive(at, t, self._x, self._T), dtype=np.float64)

        ahead = dict(zip(map(float, sched.times), map_blocks(if_alive, [float(t) for t in sched.times])))
        out = discounted_purchases(lambda t: ahead[float(t)], sched, self._x.size)
        if params is None:
            self._cache = (sched, out)
        return out

    def p_purchase(self, t: float) -> FloatArray:
        """P(at least one purchase in (T, T + t]) per customer (module docstring)."""
        return self._per_customer(self._p_any_if_alive(t))

    def next_purchase_window(self) -> tuple[FloatArray, FloatArray]:
        """(earliest, latest) time after T of the next purchase of a still-active customer."""
        lo, hi = (waiting_time_quantile(self._params, self._x, self._T, q)[self._inverse] for q in NEXT_PURCHASE_QUANTILES)
        return lo, hi

    def _p_any_if_alive(self, t: float) -> FloatArray:
        R = float(self._params["r"]) + self._x
        A = float(self._params["alpha"]) + self._T
        if self.name != "paretonbd":
            return np.asarray(-np.expm1(-R * np.log1p(t / A)), dtype=np.float64)
        s, B = float(self._params["s"]), float(self._params["beta"]) + self._T
        nodes, weights = _LEGENDRE
        u = 0.5 * t * (nodes[:, None] + 1.0)  # (nodes, pairs)
        integrand = R / A * np.exp(-(R + 1) * np.log1p(u / A) - s * np.log1p(u / B))
        return np.asarray(0.5 * t * (weights @ integrand), dtype=np.float64)

    def _if_alive(self, t: float) -> FloatArray:
        """E[Y(t) | alive] per distinct (x, T) pair."""
        return np.asarray(self._mod.expected_purchases_if_alive(self._params, t, self._x, self._T), dtype=np.float64)

    def _per_customer(self, if_alive: FloatArray) -> FloatArray:
        return if_alive[self._inverse] * self._alive
