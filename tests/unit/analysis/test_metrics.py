"""Tests of the forecast error metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fti.analysis.metrics import regression_metrics


def test_metrics_equal_hand_computed_values() -> None:
    # errors (predicted - actual): +1, 0, -2, 0
    metrics = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 4.0]))

    assert metrics == pytest.approx({"rmse": math.sqrt(5 / 4), "mae": 3 / 4, "wape": 3 / 10, "bias": -1 / 4})


def test_perfect_forecast_has_zero_error() -> None:
    actual = np.array([0.0, 3.0, 7.0])

    assert regression_metrics(actual, actual.copy()) == {"rmse": 0.0, "mae": 0.0, "wape": 0.0, "bias": 0.0}


def test_over_forecast_has_positive_bias() -> None:
    metrics = regression_metrics(np.array([2, 2]), np.array([3, 5]))

    assert metrics["bias"] == 2.0
    assert metrics["wape"] == 1.0


def test_wape_is_nan_when_actual_demand_sums_to_zero() -> None:
    metrics = regression_metrics(np.array([0.0, 0.0]), np.array([1.0, 2.0]))

    assert math.isnan(metrics["wape"])
    assert metrics["mae"] == 1.5


def test_metrics_of_no_rows_are_nan() -> None:
    metrics = regression_metrics(np.array([]), np.array([]))

    assert all(math.isnan(v) for v in metrics.values())
