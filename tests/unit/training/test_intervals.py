"""Prediction intervals: quantiles that never cross, conformal offsets that reach the nominal coverage."""

from __future__ import annotations

import numpy as np
import pytest

from fti.analysis.metrics import coverage
from fti.training.intervals import conformal_offsets, level_names, ordered

LEVELS = (0.1, 0.5, 0.9)


def test_crossing_quantiles_are_put_in_order_per_row() -> None:
    crossing = np.array([[3.0, 2.0, 5.0], [1.0, 1.0, 0.5]])

    np.testing.assert_array_equal(ordered(crossing), [[2.0, 3.0, 5.0], [0.5, 1.0, 1.0]])


def test_an_interval_that_covers_too_little_is_widened_to_its_nominal_coverage() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(10.0, 2.0, 2000)
    narrow = np.column_stack([np.full(2000, 9.0), np.full(2000, 10.0), np.full(2000, 11.0)])

    offsets = conformal_offsets(LEVELS, narrow, actual)

    assert offsets[0] < 0 < offsets[2] and offsets[1] == 0.0
    assert offsets[0] == -offsets[2]
    calibrated = narrow + offsets
    assert coverage(actual, narrow[:, 0], narrow[:, 2]) < 0.5
    assert coverage(actual, calibrated[:, 0], calibrated[:, 2]) == pytest.approx(0.8, abs=0.01)


def test_an_interval_that_covers_too_much_is_narrowed() -> None:
    rng = np.random.default_rng(1)
    actual = rng.normal(10.0, 1.0, 2000)
    wide = np.column_stack([np.full(2000, 0.0), np.full(2000, 10.0), np.full(2000, 20.0)])

    offsets = conformal_offsets(LEVELS, wide, actual)

    assert offsets[0] > 0 > offsets[2]
    calibrated = wide + offsets
    assert coverage(actual, calibrated[:, 0], calibrated[:, 2]) == pytest.approx(0.8, abs=0.01)


def test_on_new_rows_of_the_same_distribution_the_coverage_holds() -> None:
    rng = np.random.default_rng(2)
    calibration, fresh = rng.poisson(4.0, 3000).astype(float), rng.poisson(4.0, 3000).astype(float)
    guess = np.column_stack([np.full(3000, 3.0), np.full(3000, 4.0), np.full(3000, 5.0)])

    offsets = conformal_offsets(LEVELS, guess, calibration)

    covered = coverage(fresh, guess[:, 0] + offsets[0], guess[:, 2] + offsets[2])
    assert covered >= 0.8 - 0.02  # finite-sample guarantee, up to sampling noise


def test_without_calibration_rows_the_offsets_are_zero() -> None:
    np.testing.assert_array_equal(conformal_offsets(LEVELS, np.empty((0, 3)), np.array([])), [0.0, 0.0, 0.0])


def test_levels_are_named_as_percentiles() -> None:
    assert level_names([0.1, 0.5, 0.9]) == ["p10", "p50", "p90"]
    assert level_names([0.025, 0.975]) == ["p2.5", "p97.5"]
