"""Tests of the forecast error metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fti.analysis.metrics import METRICS, coverage, mase, pinball, regression_metrics, safe_ratio, wape


def test_metrics_equal_hand_computed_values() -> None:
    # errors (predicted - actual): +1, 0, -2, 0
    metrics = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 4.0]))

    assert metrics == pytest.approx(
        {
            "rmse": math.sqrt(5 / 4),
            "mae": 3 / 4,
            "wape": 3 / 10,
            "mape": (1 / 1 + 2 / 3) / 4,
            "bias": -1 / 4,
            "bias_pct": -1 / 10,
        }
    )
    assert list(metrics) == list(METRICS)


def test_perfect_forecast_has_zero_error() -> None:
    actual = np.array([0.0, 3.0, 7.0])

    assert regression_metrics(actual, actual.copy()) == dict.fromkeys(METRICS, 0.0)


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


def test_bias_is_the_mean_signed_error_in_units_not_a_ratio() -> None:
    # errors +10 and -4 on a large and a small row: mean +3 units, whatever the actual sizes
    metrics = regression_metrics(np.array([100.0, 5.0]), np.array([110.0, 1.0]))

    assert metrics["bias"] == 3.0


def test_wape_of_all_zero_actuals_is_nan_even_for_a_perfect_forecast() -> None:
    assert math.isnan(wape(np.zeros(3), np.zeros(3)))
    assert math.isnan(wape(np.zeros(3), np.ones(3)))


def test_wape_divides_absolute_errors_by_total_demand() -> None:
    assert wape(np.array([2.0, 8.0]), np.array([4.0, 7.0])) == pytest.approx(3 / 10)


@pytest.mark.parametrize("denominator", [0.0, -1.0, math.nan, math.inf])
def test_safe_ratio_is_nan_for_a_denominator_that_is_not_positive_and_finite(denominator: float) -> None:
    assert math.isnan(safe_ratio(1.0, denominator))


def test_safe_ratio_divides_by_a_positive_denominator() -> None:
    assert safe_ratio(3.0, 4.0) == 0.75


def test_actual_and_predicted_of_different_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="actual has 3 values but predicted 2"):
        regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0]))


def test_mape_averages_over_the_rows_that_sold_something_only() -> None:
    # the zero-actual row would divide by zero: it is left out, as the public benchmarks do
    metrics = regression_metrics(np.array([0.0, 2.0, 4.0]), np.array([5.0, 3.0, 3.0]))

    assert metrics["mape"] == pytest.approx((1 / 2 + 1 / 4) / 2)


def test_mape_and_bias_pct_are_nan_when_nothing_sold() -> None:
    metrics = regression_metrics(np.zeros(2), np.array([1.0, 2.0]))

    assert math.isnan(metrics["mape"])
    assert math.isnan(metrics["bias_pct"])
    assert metrics["bias"] == 1.5


def test_bias_pct_is_what_summed_forecasts_are_off_by_as_a_share_of_demand() -> None:
    # +10 and -4 over a total demand of 105: the planner's total is 6 units (5.7 %) too high
    metrics = regression_metrics(np.array([100.0, 5.0]), np.array([110.0, 1.0]))

    assert metrics["bias_pct"] == pytest.approx(6 / 105)


def test_mase_scales_the_mean_absolute_error_by_the_naive_in_sample_error() -> None:
    assert mase(np.array([1.0, 3.0]), np.array([2.0, 1.0]), scale=3.0) == pytest.approx(1.5 / 3.0)
    assert math.isnan(mase(np.array([1.0]), np.array([2.0]), scale=0.0))


def test_pinball_loss_weighs_under_and_over_forecasts_by_the_level() -> None:
    # a 0.9 quantile 2 below the actual costs 0.9 * 2; 2 above it costs 0.1 * 2
    assert pinball(np.array([5.0]), np.array([3.0]), 0.9) == pytest.approx(1.8)
    assert pinball(np.array([5.0]), np.array([7.0]), 0.9) == pytest.approx(0.2)
    assert pinball(np.array([5.0, 5.0]), np.array([3.0, 7.0]), 0.5) == pytest.approx(1.0)


def test_coverage_is_the_share_of_actuals_inside_the_interval_bounds_included() -> None:
    actual = np.array([1.0, 2.0, 3.0, 10.0])

    assert coverage(actual, np.full(4, 1.0), np.full(4, 3.0)) == 0.75
    assert math.isnan(coverage(np.array([]), np.array([]), np.array([])))
