"""Customer lifetime value: BG/NBD, Pareto/NBD, Gamma-Gamma and a historical fallback.

Public surface: :func:`clv_inputs` (x, t_x, T, monetary value from the ledger), the model
modules :mod:`.bgnbd`, :mod:`.paretonbd`, :mod:`.gammagamma` (``fit`` plus per-customer
predictions), :func:`fit_clv` (choose, fit and price every customer) and
:func:`validate_holdout` (calibration/holdout check). numpy/scipy only.
"""

from . import bgnbd, gammagamma, paretonbd
from ._mle import FitResult, ModelNotIdentifiable
from .fit import CLVSummary, SpendSummary, fit_clv
from .inputs import clv_inputs
from .validate import HoldoutValidation, validate_holdout

__all__ = [
    "CLVSummary",
    "FitResult",
    "HoldoutValidation",
    "ModelNotIdentifiable",
    "SpendSummary",
    "bgnbd",
    "clv_inputs",
    "fit_clv",
    "gammagamma",
    "paretonbd",
    "validate_holdout",
]
