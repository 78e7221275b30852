"""Holdout validation: fit on a calibration period, predict the next, compare with what happened.

This is the check of the papers: customers first seen by the end of calibration are
summarised on calibration orders only; the model predicts each one's repeat purchase days in
the holdout (the day after calibration end .. ``as_of`` inclusive); predictions are compared with
the actual purchase days in total, per calibration frequency bucket (x = 0..6, 7+: the
"conditional expectations" table) and per customer (MAE). Spend is checked the same way:
Gamma-Gamma's conditional expected spend per purchase for calibration repeat buyers versus
their actual mean spend per holdout purchase day, for those who bought in the holdout.
Customers first seen in the holdout are outside the calibration cohort and not counted.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from custinv.engine import OrderEngine, as_engine

from . import gammagamma, historical, purchase
from ._mle import FitResult, ModelNotIdentifiable
from .fit import _finite_or_none
from .inputs import TimeUnit, clv_inputs, unit_days
from .select import bucket_table


@dataclass(frozen=True)
class SpendCheck:
    """Predicted vs actual mean spend per purchase for calibration repeat buyers who bought again."""

    customers: int
    predicted_mean: float | None
    actual_mean: float | None
    mae: float | None


@dataclass(frozen=True)
class HoldoutValidation:
    """Outcome of :func:`validate_holdout`; ``table`` is the conditional-expectations table."""

    model: str
    calibration_end: dt.date
    as_of: dt.date
    holdout_length: float
    time_unit: str
    fit: FitResult | None
    customers: int
    actual_total: float
    predicted_total: float
    mae: float
    bucket_mae: float
    table: pl.DataFrame
    spend: SpendCheck | None
    correlation: float | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``validation`` block (no NaN)."""
        return {
            "model": self.model,
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_start": (self.calibration_end + dt.timedelta(days=1)).isoformat(),
            "holdout_end": self.as_of.isoformat(),
            "holdout_length": self.holdout_length,
            "time_unit": self.time_unit,
            "customers": self.customers,
            "actual_purchases": self.actual_total,
            "predicted_purchases": self.predicted_total,
            "mae": _finite_or_none(self.mae),
            "bucket_mae": _finite_or_none(self.bucket_mae),
            "correlation": _finite_or_none(self.correlation),
            "warnings": list(self.warnings),
            "by_frequency": [
                {k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.table.iter_rows(named=True)
            ],
            "spend": None
            if self.spend is None
            else {
                "customers": self.spend.customers,
                "predicted_mean": _finite_or_none(self.spend.predicted_mean),
                "actual_mean": _finite_or_none(self.spend.actual_mean),
                "mae": _finite_or_none(self.spend.mae),
            },
        }


def _holdout_actuals(engine: OrderEngine, calibration_end: dt.date) -> pl.LazyFrame:
    """Per customer: holdout purchase days and mean spend per holdout purchase day."""
    return (
        engine.holdout_purchases(calibration_end).lazy()
        .select("customer_id", "actual", (pl.col("revenue") / pl.col("actual")).alias("actual_spend"))
    )


def _spend_check(joined: pl.DataFrame, penalizer: float) -> SpendCheck | None:
    x = joined["x"].to_numpy().astype(np.float64)
    m = joined["monetary_value"].to_numpy().astype(np.float64)
    try:
        gg = gammagamma.fit(x, m, penalizer=penalizer)
    except ModelNotIdentifiable:
        return None
    predicted = gammagamma.conditional_expected_spend(gg.params, x, m)
    actual = joined["actual_spend"].to_numpy().astype(np.float64)
    keep = (x > 0) & np.isfinite(actual) & np.isfinite(predicted)
    if not np.any(keep):
        return SpendCheck(0, None, None, None)
    return SpendCheck(
        customers=int(keep.sum()),
        predicted_mean=float(predicted[keep].mean()),
        actual_mean=float(actual[keep].mean()),
        mae=float(np.abs(predicted[keep] - actual[keep]).mean()),
    )


def validate_holdout(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    holdout_end_of_calibration: dt.date,
    as_of: dt.date,
    model: str = "bgnbd",
    time_unit: TimeUnit = "week",
    *,
    penalizer: float = 0.0,
) -> HoldoutValidation:
    """Fit ``model`` (nbd, bgnbd, mbgnbd, paretonbd, historical; auto = bgnbd) on calibration and
    score the holdout.

    The table has one row per calibration frequency (0..6, 7+) with numeric totals and means;
    the per-customer MAE and the correlation of predicted with actual purchases are reported.
    Every Python warning raised on the way is returned in ``warnings``, not emitted. Raises
    ``ValueError`` when the holdout is empty and ``ModelNotIdentifiable`` when the calibration
    data cannot identify the model.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _validate(ledger, holdout_end_of_calibration, as_of, model, time_unit, penalizer)
    result.warnings.extend(dict.fromkeys(str(w.message) for w in caught))
    return result


def _validate(
    ledger: pl.DataFrame | pl.LazyFrame | OrderEngine,
    holdout_end_of_calibration: dt.date,
    as_of: dt.date,
    model: str,
    time_unit: TimeUnit,
    penalizer: float,
) -> HoldoutValidation:
    cal_end = holdout_end_of_calibration
    if as_of <= cal_end:
        raise ValueError(f"the holdout is empty: as_of {as_of} is not after the calibration end {cal_end}")
    name = "bgnbd" if model == "auto" else model
    engine = as_engine(ledger, as_of)
    inputs = clv_inputs(engine, cal_end, time_unit)
    joined = (
        inputs.lazy()
        .join(_holdout_actuals(engine, cal_end), on="customer_id", how="left", maintain_order="left")  # the inputs' order: sums below add alike
        .with_columns(pl.col("actual").fill_null(0))
        .collect()
    )
    x = joined["x"].to_numpy().astype(np.float64)
    t_x = joined["t_x"].to_numpy().astype(np.float64)
    T = joined["T"].to_numpy().astype(np.float64)
    actual = joined["actual"].to_numpy()
    length = (as_of - cal_end).days / unit_days(time_unit)
    fit: FitResult | None = None
    if name == "historical":
        predicted = historical.cumulative_purchases(x, T)(length)
    else:
        fit = purchase.fit(name, x, t_x, T, penalizer=penalizer)
        predicted = purchase.Predictor(name, fit.params, x, t_x, T).expected(length)
    actual = actual.astype(np.float64)
    table = pl.DataFrame(bucket_table(x, actual, predicted), schema={
        "frequency": pl.String, "customers": pl.Int64, "actual_total": pl.Float64, "predicted_total": pl.Float64,
        "actual_mean": pl.Float64, "predicted_mean": pl.Float64})
    gap = table.select((pl.col("predicted_mean") - pl.col("actual_mean")).abs().mean()).item()
    bucket_mae = float(gap) if gap is not None else math.nan
    correlation = (float(np.corrcoef(predicted, actual)[0, 1])
                   if actual.size > 1 and np.ptp(actual) > 0 and np.ptp(predicted) > 0 else None)
    return HoldoutValidation(
        model=name,
        calibration_end=cal_end,
        as_of=as_of,
        holdout_length=length,
        time_unit=time_unit,
        fit=fit,
        customers=joined.height,
        actual_total=float(actual.sum()),
        predicted_total=float(predicted.sum()),
        mae=float(np.abs(predicted - actual).mean()) if actual.size else math.nan,
        bucket_mae=bucket_mae,
        table=table,
        spend=_spend_check(joined, penalizer),
        correlation=correlation,
    )
