"""Shared maximum-likelihood machinery for the CLV models.

Every model here is fitted the same way, so the rules live in one place:

* parameters are optimised on the log scale (they are all positive, and log scale makes
  the problem far better conditioned than box constraints at zero);
* the objective is the *mean* negative log-likelihood over customers, so tolerances mean
  the same thing for 300 customers and for 3 million;
* several starting points are tried and the best optimum is kept, because these
  likelihoods have long flat ridges where a single start can stop early; once two starts
  agree on the optimum the remaining ones are skipped (they would only cost time);
* a fit whose best optimum is not finite raises :class:`ModelNotIdentifiable` instead of
  returning NaN parameters, and a fit that stops on a bound or with a large gradient is
  reported as ``converged=False`` so a caller can fall back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import minimize

FloatArray = npt.NDArray[np.float64]
_In = TypeVar("_In")
_Out = TypeVar("_Out")

#: Rows per block of the per-row likelihood work: a block's temporaries stay in cache, and
#: blocks run on several cores. The split depends on the data only, never on the machine, so
#: every machine adds the same partial sums in the same order (reproducible fits).
BLOCK_ROWS = 1 << 16
_pool: ThreadPoolExecutor | None = None
#: Up to this many values numpy's sort finds the distinct values and rows (dense_codes,
#: group_rfm) faster than Polars' hash group_by and join, whose fixed cost per call (≈ 0.3 ms)
#: made a 100-customer fit spend a fifth of its time there. Both give the same result.
SMALL_ARRAY = 20_000

#: Log-parameter box: e^±15 is far beyond any sensible value in days, weeks or months; an
#: optimum on this box means the data push a parameter to 0 or infinity (not identified).
LOG_BOUND = 15.0
#: Largest absolute gradient of the mean log-likelihood (in log-parameters) still called converged.
GRADIENT_TOLERANCE = 1e-4


class ModelNotIdentifiable(ValueError):
    """The data cannot identify the model (e.g. no repeat buyers, too few customers).

    A ``ValueError`` so callers that only know "bad input" still catch it; the message says
    which condition failed so it can be shown to people as the reason for a fallback.
    """


@dataclass(frozen=True)
class FitResult:
    """Outcome of one maximum-likelihood fit.

    ``log_likelihood`` is the *total* over customers (the number the papers publish);
    ``iterations`` is the optimiser's iteration count of the winning start. ``log_params`` and
    ``information`` (the observed information in log-parameters) feed
    :mod:`custinv.analytics.clv.intervals`.
    """

    model: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    iterations: int
    n_customers: int
    message: str = ""
    starts: int = 1
    gradient_max: float = float("nan")
    extra: dict[str, float | int | str | None] = field(default_factory=dict)
    log_params: FloatArray | None = field(default=None, repr=False, compare=False)
    information: FloatArray | None = field(default=None, repr=False, compare=False)
    """Observed information in log-parameters at the optimum (None for a fit built by hand)."""
    penalizer: float = 0.0


@dataclass(frozen=True)
class Grouped:
    """Unique (x, t_x, T) rows with their multiplicities.

    Customers with the same summary contribute identical likelihood terms, so fitting on the
    unique rows with counts as weights gives the same optimum at a fraction of the cost.
    """

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray

    @property
    def n_customers(self) -> int:
        return int(round(float(self.weight.sum())))


def as_float_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """Coerce to a 1-D float array and reject non-finite values with a clear message."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def group_rfm(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> Grouped:
    """Validate per-customer (x, t_x, T) and collapse them to unique rows with counts."""
    xa, ta, Ta = as_float_array(x, "x"), as_float_array(t_x, "t_x"), as_float_array(T, "T")
    if not (xa.shape == ta.shape == Ta.shape):
        raise ValueError("x, t_x and T must have the same length")
    if np.any(xa < 0) or np.any(xa != np.floor(xa)):
        raise ValueError("x must be non-negative integers")
    if np.any(ta < 0) or np.any(ta > Ta * (1 + 1e-12) + 1e-12):
        raise ValueError("t_x must satisfy 0 <= t_x <= T")
    if np.any((xa == 0) & (ta != 0)):
        raise ValueError("t_x must be 0 when x is 0")
    w = np.ones_like(xa) if weights is None else as_float_array(weights, "weights")
    if w.shape != xa.shape or np.any(w < 0):
        raise ValueError("weights must be non-negative and match x")
    if weights is not None and not np.all(w > 0):
        keep = w > 0
        xa, ta, Ta, w = xa[keep], ta[keep], Ta[keep], w[keep]
    if xa.size <= SMALL_ARRAY:
        rows = np.stack([xa + 0.0, ta + 0.0, Ta + 0.0], axis=1)  # + 0.0: -0.0 and 0.0 are one value
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=w, minlength=unique.shape[0])
        return Grouped(np.ascontiguousarray(unique[:, 0]), np.ascontiguousarray(unique[:, 1]),
                       np.ascontiguousarray(unique[:, 2]), counts.astype(np.float64))
    # a hash group_by (multi-threaded) is several times faster than sorting rows with numpy;
    # sorting the unique rows afterwards (same query) keeps the fit reproducible
    grouped = (
        pl.DataFrame({"x": xa, "t_x": ta, "T": Ta, "w": w})
        .lazy()
        .group_by("x", "t_x", "T")
        .agg(pl.col("w").sum())
        .sort("x", "t_x", "T")
        .collect()
    )
    return Grouped(
        grouped["x"].to_numpy().astype(np.float64),
        grouped["t_x"].to_numpy().astype(np.float64),
        grouped["T"].to_numpy().astype(np.float64),
        grouped["w"].to_numpy().astype(np.float64),
    )


_Scalar = TypeVar("_Scalar", bound=np.generic)


def dense_codes(values: npt.NDArray[_Scalar]) -> tuple[npt.NDArray[_Scalar], npt.NDArray[np.intp]]:
    """(sorted distinct values, each value's index into them) of a 1-D numeric array.

    The distinct values come from a hash ``unique`` and the indices from a hash join, several
    times faster on a million values than ``np.unique(return_inverse=True)``'s sort (or a
    binary search per value). ``-0.0`` and ``0.0`` are one value; NaN must not occur.
    """
    arr = np.ascontiguousarray(values).reshape(-1)
    if arr.dtype.kind == "f":
        arr = arr + 0.0  # -0.0 + 0.0 is 0.0: equal numbers get one code
    if arr.size <= SMALL_ARRAY:
        distinct, inverse = np.unique(arr, return_inverse=True)
        return distinct, inverse.reshape(-1).astype(np.intp)
    distinct = np.sort(pl.Series(arr).unique().to_numpy())
    table = pl.DataFrame({"v": distinct, "c": np.arange(distinct.size, dtype=np.int64)})
    codes = pl.DataFrame({"v": arr}).join(table, on="v", how="left", maintain_order="left")["c"]
    return distinct, codes.to_numpy().astype(np.intp)


def distinct_pairs(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """(a, b of the distinct (a, b) pairs, each row's index into them), pairs in sorted order.

    Expectations that depend on (x, T) but not on t_x are evaluated once per pair: a million
    customers have tens of thousands of such pairs.
    """
    ua, ca = dense_codes(a)
    ub, cb = dense_codes(b)
    keys, inverse = dense_codes(ca.astype(np.int64) * ub.size + cb)
    return ua[keys // ub.size], ub[keys % ub.size], inverse


def block_bounds(starts: npt.NDArray[np.intp], n: int) -> list[tuple[int, int, int, int]]:
    """Split n rows, grouped in segments beginning at ``starts``, into blocks of whole segments.

    Returns (first row, end row, first segment, end segment) per block, each about
    :data:`BLOCK_ROWS` rows (a segment longer than that is a block of its own).
    """
    if n == 0:
        return []
    ends = np.r_[starts[1:], n]
    bounds: list[tuple[int, int, int, int]] = []
    row0 = seg0 = 0
    while seg0 < starts.size:
        # the last segment that still ends within BLOCK_ROWS of row0 (at least one segment)
        seg1 = max(int(np.searchsorted(ends, row0 + BLOCK_ROWS, side="right")), seg0 + 1)
        row1 = int(ends[seg1 - 1])
        bounds.append((row0, row1, seg0, seg1))
        row0, seg0 = row1, seg1
    return bounds


def dot(a: FloatArray, b: FloatArray) -> float:
    """Σ a·b in numpy's own loop rather than BLAS.

    Inside :func:`map_blocks` workers a BLAS ``ddot`` would start its own threads (OpenBLAS
    does above 10,000 elements), which spin against the workers on a busy machine.
    """
    return float(np.einsum("i,i->", a, b))


def row_blocks(n: int) -> list[tuple[int, int]]:
    """(first, end) rows of consecutive blocks of :data:`BLOCK_ROWS` rows covering n rows."""
    return [(lo, min(lo + BLOCK_ROWS, n)) for lo in range(0, n, BLOCK_ROWS)]


def map_blocks(fn: Callable[[_In], _Out], blocks: Iterable[_In]) -> list[_Out]:
    """``[fn(b) for b in blocks]``, on a few threads when there are several blocks.

    numpy releases the GIL inside its loops, so blocks of a million-row likelihood run in
    parallel; results come back in block order.
    """
    items = list(blocks)
    if len(items) <= 1:
        return [fn(b) for b in items]
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="custinv-mle")
    return list(_pool.map(fn, items))


def check_identifiable(data: Grouped, model: str) -> None:
    """Raise :class:`ModelNotIdentifiable` for data that cannot pin down a purchase model."""
    n = data.n_customers
    if n < 3:
        raise ModelNotIdentifiable(f"{model}: needs at least 3 customers, got {n}")
    if not np.any((data.x > 0) & (data.weight > 0)):
        raise ModelNotIdentifiable(f"{model}: no repeat buyers, so purchase rates and dropout cannot be separated")
    if not np.any(data.T > 0):
        raise ModelNotIdentifiable(f"{model}: every customer was first seen at the end of calibration (T = 0)")


def central_gradient(
    f: Callable[[FloatArray], float], theta: FloatArray, step: float = 1e-5
) -> FloatArray:
    """Central-difference gradient; used where analytic gradients are impractical and in tests."""
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        grad[i] = (f(theta + e) - f(theta - e)) / (2 * step)
    return grad


Objective = Callable[[FloatArray], tuple[float, FloatArray]]


def penalised(objective: Objective, penalizer: float, scales: Sequence[float]) -> Objective:
    """``objective`` plus lifetimes' L2 penalty ``penalizer · Σ (θ_i · scale_i)²`` on the parameters.

    lifetimes (``BetaGeoFitter``, ``ParetoNBDFitter``, ``ModifiedBetaGeoFitter``,
    ``GammaGammaFitter``) adds ``penalizer_coef * sum(params ** 2)`` to the *mean* negative
    log-likelihood, with the purchase models' time-scale parameters (α, β) measured after its
    ``_scale_time`` rescaling of the data (longest T = 10). ``scales`` carries that rescaling
    (10 / max T for time scales, 1 for shapes and for Gamma-Gamma), so a given ``--penalizer``
    shrinks the same way as ``penalizer_coef`` there, whatever the time unit. The gradient is in
    log-parameters, like the objective's: d/dθ (e^θ s)² = 2 (e^θ s)².
    """
    if penalizer <= 0:
        return objective
    s = np.asarray(scales, dtype=np.float64)

    def with_penalty(theta: FloatArray) -> tuple[float, FloatArray]:
        value, grad = objective(theta)
        sq = (np.exp(theta) * s) ** 2
        return value + penalizer * float(sq.sum()), grad + 2.0 * penalizer * sq

    return with_penalty


def time_scale(T: FloatArray) -> float:
    """lifetimes' ``_scale_time``: the factor that makes the longest observation 10 units."""
    longest = float(np.max(T)) if T.size else 0.0
    return 10.0 / longest if longest > 0 else 1.0


def observed_information(objective: Objective, theta: FloatArray, total_weight: float) -> FloatArray:
    """Observed information (the Hessian of the *total* negative log-likelihood) in log-parameters.

    Central differences of the objective's gradient (analytic for BG/NBD, MBG/NBD, NBD and
    Gamma-Gamma), symmetrised. The step (1e-4 in log-parameters) balances truncation against
    the gradient's rounding; tests compare it with a second-difference Hessian.
    """
    k = theta.size
    h = 1e-4
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        with np.errstate(all="ignore"):
            hess[:, i] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * h)
    return 0.5 * (hess + hess.T) * total_weight


def maximise(
    model: str,
    names: Sequence[str],
    neg_mean_ll_and_grad: Objective,
    starts: Sequence[FloatArray],
    total_weight: float,
    n_customers: int,
    *,
    penalizer: float = 0.0,
    scales: Sequence[float] | None = None,
) -> FitResult:
    """Minimise the mean negative log-likelihood from several log-parameter starts.

    Returns the best optimum; raises :class:`ModelNotIdentifiable` when no start reaches a
    finite likelihood. With ``penalizer`` > 0 the L2 penalty of :func:`penalised` is added
    (``scales`` default to 1); the reported log-likelihood is the unpenalised one at the
    penalised optimum. The observed information at the optimum (of the penalised objective,
    which is what the estimate maximises) is returned in ``information`` for intervals.
    """
    plain = neg_mean_ll_and_grad
    neg_mean_ll_and_grad = penalised(plain, penalizer, scales if scales is not None else [1.0] * len(names))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    best = None
    agreed = 0
    for start in starts:
        if agreed >= 2:
            break  # two starts found the same optimum: further starts only cost time
        with np.errstate(all="ignore"):
            res = minimize(
                neg_mean_ll_and_grad,
                np.asarray(start, dtype=np.float64),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9, "maxls": 50},
            )
        if not np.isfinite(res.fun) or not np.all(np.isfinite(res.x)):
            continue
        # a later start must be meaningfully better: optima equal up to rounding keep the first
        # start's answer, so repeated runs report the same parameters
        if best is None or res.fun < best.fun - 1e-10 * max(1.0, abs(best.fun)):
            same = best is not None and abs(res.fun - best.fun) <= 1e-8 * max(1.0, abs(best.fun))
            best = res
            agreed = agreed + 1 if same else 1
        elif abs(res.fun - best.fun) <= 1e-8 * max(1.0, abs(best.fun)) and np.allclose(res.x, best.x, atol=1e-3):
            agreed += 1
    if best is None:
        raise ModelNotIdentifiable(f"{model}: the likelihood is not finite at any starting point")
    with np.errstate(all="ignore"):
        _, grad = neg_mean_ll_and_grad(best.x)
    grad_max = float(np.max(np.abs(grad))) if np.all(np.isfinite(grad)) else float("inf")
    on_bound = bool(np.any(np.abs(best.x) >= LOG_BOUND - 1e-6))
    converged = bool(grad_max < GRADIENT_TOLERANCE and not on_bound)
    if on_bound:
        message = "a parameter ran to the edge of its range (0 or infinity): not identified by these data"
    elif not converged:
        message = f"optimiser stopped with gradient {grad_max:.2g}: {best.message}"
    else:
        message = "converged"
    params = {name: float(np.exp(v)) for name, v in zip(names, best.x)}
    with np.errstate(all="ignore"):
        plain_value = float(plain(best.x)[0]) if penalizer > 0 else float(best.fun)
    return FitResult(
        model=model,
        params=params,
        log_likelihood=float(-plain_value * total_weight),
        converged=converged,
        iterations=int(best.nit),
        n_customers=n_customers,
        message=message,
        starts=len(starts),
        gradient_max=grad_max,
        log_params=np.asarray(best.x, dtype=np.float64).copy(),
        information=observed_information(neg_mean_ll_and_grad, np.asarray(best.x, dtype=np.float64), total_weight),
        penalizer=penalizer,
    )


def fit_purchase_model(
    model: str,
    label: str,
    names: Sequence[str],
    make_objective: Callable[[Grouped], Objective],
    make_starts: Callable[[Grouped], Sequence[FloatArray]],
    make_scales: Callable[[Grouped], Sequence[float]],
    data: Grouped,
    penalizer: float,
) -> FitResult:
    """The one way every purchase model is fitted: check identifiability, then :func:`maximise`
    the model's objective from its starts with lifetimes' penalty scales."""
    check_identifiable(data, label)
    return maximise(model, names, make_objective(data), make_starts(data), float(data.weight.sum()), data.n_customers,
                    penalizer=penalizer, scales=make_scales(data))
