"""Error metrics of demand forecasts.

Every metric is defined on ``error = predicted - actual`` per row, so signs agree everywhere:
a positive bias means the forecast sold more than the shop did. The primary metric a data set is
judged on is its spec's ``model.metric``. WAPE divides by total demand,
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


METRICS = ("wape", "mape", "mae", "rmse", "bias", "bias_pct")
"""Every point metric, in report order; all but the two biases are errors (lower is better)."""


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The point metrics of :data:`METRICS`, each NaN when undefined.

    - ``wape``: :func:`wape`; NaN when actual demand sums to 0.
    - ``mape``: ``mean(|predicted - actual| / actual)`` over the rows with ``actual > 0``, as the public
      benchmarks compute it (a ratio, 0.40 = 40 %); NaN without such rows.
    - ``mae``: ``mean(|predicted - actual|)``, in units per row.
    - ``rmse``: ``sqrt(mean((predicted - actual)**2))``, in units per row.
    - ``bias``: ``mean(predicted - actual)``, units per row: positive means over-forecasting.
    - ``bias_pct``: ``sum(predicted - actual) / sum(actual)``: what a planner who sums the forecasts
      is off by, as a share of actual demand; NaN when actual demand sums to 0.

    All are NaN for no rows.

    Raises:
        ValueError: ``actual`` and ``predicted`` differ in length.
    """
    actual, predicted = _as_pair(actual, predicted)
    if not actual.size:
        return dict.fromkeys(METRICS, float("nan"))
    error = predicted - actual
    positive = actual > 0
    total = float(np.abs(actual).sum())
    return {
        "wape": safe_ratio(float(np.abs(error).sum()), total),
        "mape": float(np.mean(np.abs(error[positive]) / actual[positive])) if positive.any() else np.nan,
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "bias": float(np.mean(error)),
        "bias_pct": float(error.sum() / total) if total > 0 else float("nan"),
    }


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float:
    """Mean absolute error over ``scale``: the in-sample MAE of the seasonal naive forecast on the
    training window, as the M5 competition scales its errors (1.0: as good as that naive forecast).
    NaN when ``scale`` is 0 or not finite."""
    actual, predicted = _as_pair(actual, predicted)
    if not actual.size:
        return float("nan")
    return safe_ratio(float(np.mean(np.abs(predicted - actual))), scale)


def pinball(actual: np.ndarray, quantile: np.ndarray, level: float) -> float:
    """Mean pinball (quantile) loss of a ``level`` quantile forecast, units per row."""
    actual, quantile = _as_pair(actual, quantile)
    if not actual.size:
        return float("nan")
    diff = actual - quantile
    return float(np.mean(np.maximum(level * diff, (level - 1) * diff)))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of rows whose actual falls inside ``[lower, upper]``."""
    actual, lower = _as_pair(actual, lower)
    _, upper = _as_pair(actual, upper)
    if not actual.size:
        return float("nan")
    return float(np.mean((actual >= lower) & (actual <= upper)))


def _as_pair(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as flat float64 arrays of one length; a length mismatch is a caller's bug, not a metric."""
    a = np.asarray(actual, dtype="float64").ravel()
    p = np.asarray(predicted, dtype="float64").ravel()
    if a.shape != p.shape:
        raise ValueError(f"actual has {a.size} values but predicted {p.size}; they must pair up row by row")
    return a, p
