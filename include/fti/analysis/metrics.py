"""Error metrics of demand forecasts.

Every metric is defined on ``error = predicted - actual`` per row, so signs agree everywhere:
a positive bias means the forecast sold more than the shop did. WAPE divides by total demand,
which can be zero (a quiet slice, a day without sales); it is then undefined and reported as NaN,
never as a division error or a misleading 0 or inf.
"""

from __future__ import annotations

import numpy as np


def safe_ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or NaN when the denominator is 0, negative or not finite.

    Used for WAPE, whose denominator (total actual demand) is legitimately 0 for quiet slices.
    """
    if not np.isfinite(denominator) or denominator <= 0:
        return float("nan")
    return float(numerator / denominator)


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted absolute percentage error: ``sum |predicted - actual| / sum |actual|``.

    NaN when actual demand sums to 0 (also when both are all zero: a perfect forecast of nothing
    has no relative error to speak of).
    """
    actual, predicted = _as_pair(actual, predicted)
    return safe_ratio(float(np.abs(predicted - actual).sum()), float(np.abs(actual).sum()))


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, WAPE and bias of a forecast, each NaN when undefined.

    - ``rmse``: ``sqrt(mean((predicted - actual)**2))``, in units per row.
    - ``mae``: ``mean(|predicted - actual|)``, in units per row.
    - ``wape``: :func:`wape`; NaN when actual demand sums to 0.
    - ``bias``: ``mean(predicted - actual)``, the mean signed error in units per row (not a ratio):
      positive means over-forecasting, negative under-forecasting.

    All four are NaN for no rows.

    Raises:
        ValueError: ``actual`` and ``predicted`` differ in length.
    """
    actual, predicted = _as_pair(actual, predicted)
    if not actual.size:
        return {"rmse": float("nan"), "mae": float("nan"), "wape": float("nan"), "bias": float("nan")}
    error = predicted - actual
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "wape": safe_ratio(float(np.abs(error).sum()), float(np.abs(actual).sum())),
        "bias": float(np.mean(error)),
    }


def _as_pair(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as flat float64 arrays of one length; a length mismatch is a caller's bug, not a metric."""
    a = np.asarray(actual, dtype="float64").ravel()
    p = np.asarray(predicted, dtype="float64").ravel()
    if a.shape != p.shape:
        raise ValueError(f"actual has {a.size} values but predicted {p.size}; they must pair up row by row")
    return a, p
