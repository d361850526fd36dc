"""Error metrics of demand forecasts."""

from __future__ import annotations

import numpy as np


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, WAPE (sum |error| / sum actual) and bias (mean error)."""
    actual = np.asarray(actual, dtype="float64")
    predicted = np.asarray(predicted, dtype="float64")
    error = predicted - actual
    total = float(np.abs(actual).sum())
    return {
        "rmse": float(np.sqrt(np.mean(error**2))) if error.size else float("nan"),
        "mae": float(np.mean(np.abs(error))) if error.size else float("nan"),
        "wape": float(np.abs(error).sum() / total) if total > 0 else float("nan"),
        "bias": float(np.mean(error)) if error.size else float("nan"),
    }
