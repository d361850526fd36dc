"""Prediction intervals: quantiles that never cross, per-level one-sided offsets that reach each
level's nominal share on fresh rows, and a median that calibration never moves."""

from __future__ import annotations

import numpy as np
import pytest

from fti.analysis.metrics import coverage
from fti.training.intervals import apply_offsets, conformal_offsets, level_names, ordered

LEVELS = (0.1, 0.5, 0.9)


def below_and_above(actual: np.ndarray, served: np.ndarray) -> tuple[float, float]:
    """Share of actuals strictly below the lowest level and strictly above the highest."""
    return float(np.mean(actual < served[:, 0])), float(np.mean(actual > served[:, -1]))


def test_crossing_quantiles_are_put_in_order_per_row() -> None:
    crossing = np.array([[3.0, 2.0, 5.0], [1.0, 1.0, 0.5]])

    np.testing.assert_array_equal(ordered(crossing), [[2.0, 3.0, 5.0], [0.5, 1.0, 1.0]])


def test_outer_levels_biased_by_known_constants_get_those_constants_back() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 1.0, (2, 4000))
    z = 1.2815515655446004  # the standard normal's 90 % quantile
    true = np.column_stack([np.full(4000, 10.0 - z), np.full(4000, 10.0), np.full(4000, 10.0 + z)])
    biased = true + [0.8, 0.0, 2.0]  # P10 0.8 units too high, P90 2 units too high, median right

    offsets = conformal_offsets(LEVELS, biased, 10.0 + noise[0])

    np.testing.assert_allclose(offsets, [-0.8, 0.0, -2.0], atol=0.1)
    served = apply_offsets(LEVELS, biased, offsets)
    below, above = below_and_above(10.0 + noise[1], served)
    assert below == pytest.approx(0.1, abs=0.02) and above == pytest.approx(0.1, abs=0.02)


def test_too_narrow_and_too_wide_sides_are_each_moved_to_their_own_share() -> None:
    rng = np.random.default_rng(1)
    calibration, fresh = rng.exponential(4.0, 3000), rng.exponential(4.0, 3000)
    skewed = np.column_stack([np.full(3000, 0.0), np.full(3000, 3.0), np.full(3000, 5.0)])  # P10 low, P90 low

    offsets = conformal_offsets(LEVELS, skewed, calibration, floor=0.0)

    assert offsets[0] > 0 and offsets[2] > 0  # one offset per side, not one symmetric widening
    below, above = below_and_above(fresh, apply_offsets(LEVELS, skewed, offsets, 0.0))
    assert below == pytest.approx(0.1, abs=0.02) and above == pytest.approx(0.1, abs=0.02)


def test_with_a_floor_at_zero_and_mostly_zero_actuals_the_interval_covers_its_nominal_share() -> None:
    rng = np.random.default_rng(2)

    def draw(n: int) -> np.ndarray:  # intermittent counts: 60 % zeros, else Poisson(3)
        return np.where(rng.random(n) < 0.6, 0.0, rng.poisson(3.0, n)).astype(float)

    calibration, fresh = draw(5000), draw(5000)
    guess = np.column_stack([np.zeros(5000), np.full(5000, 1.0), np.full(5000, 9.0)])  # too wide above

    offsets = conformal_offsets(LEVELS, guess, calibration, floor=0.0)
    served = apply_offsets(LEVELS, guess, offsets, 0.0)

    assert coverage(fresh, guess[:, 0], guess[:, 2]) > 0.95
    assert (served >= 0).all()
    assert float(np.mean(fresh > served[:, 2])) == pytest.approx(0.1, abs=0.03)
    # discrete counts: the share above can't hit 10 % exactly, but the step is the smallest that reaches it
    assert float(np.mean(fresh >= served[:, 2])) > 0.1


def test_the_median_keeps_offset_zero_and_is_never_moved_by_calibration() -> None:
    rng = np.random.default_rng(3)
    actual = rng.poisson(2.0, 2000).astype(float)
    guess = np.column_stack([np.full(2000, 1.5), np.full(2000, 2.0), np.full(2000, 2.5)])

    offsets = conformal_offsets(LEVELS, guess, actual, floor=0.0)

    assert offsets[1] == 0.0
    np.testing.assert_array_equal(apply_offsets(LEVELS, guess, offsets, 0.0)[:, 1], guess[:, 1])


def test_offsets_that_would_cross_the_median_stop_at_it() -> None:
    quantiles = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, 6.0]])

    served = apply_offsets(LEVELS, quantiles, np.array([4.0, 0.0, -4.0]))

    np.testing.assert_array_equal(served, [[2.0, 2.0, 2.0], [4.0, 5.0, 5.0]])


def test_every_level_off_the_median_is_calibrated_and_none_cross() -> None:
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    rng = np.random.default_rng(4)
    calibration, fresh = rng.normal(0.0, 1.0, 4000), rng.normal(0.0, 1.0, 4000)
    flat = np.zeros((4000, 5))  # a model that knows nothing: every level at the median

    offsets = conformal_offsets(levels, flat, calibration)
    served = apply_offsets(levels, flat, offsets)

    assert offsets[2] == 0.0
    assert (np.diff(served, axis=1) >= 0).all()
    for i, level in enumerate(levels):
        side = np.mean(fresh < served[:, i]) if level < 0.5 else np.mean(fresh > served[:, i])
        assert side == pytest.approx(min(level, 1 - level), abs=0.02), level


def test_without_calibration_rows_the_offsets_are_zero() -> None:
    np.testing.assert_array_equal(conformal_offsets(LEVELS, np.empty((0, 3)), np.array([])), [0.0, 0.0, 0.0])


def test_levels_are_named_as_percentiles() -> None:
    assert level_names([0.1, 0.5, 0.9]) == ["p10", "p50", "p90"]
    assert level_names([0.025, 0.975]) == ["p2.5", "p97.5"]


def test_a_zero_actual_under_an_upper_bound_floored_at_zero_counts_as_covered() -> None:
    levels = (0.1, 0.9)  # no median level: the floor alone must keep the 0 rows inside
    rng = np.random.default_rng(5)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:  # half the rows never sell, half sell Gamma(2, 2)
        selling = rng.random(n) < 0.5
        guess = np.column_stack([np.zeros(n), np.where(selling, 9.0, 2.0)])
        return np.where(selling, rng.gamma(2.0, 2.0, n), 0.0), guess

    (calibration, guess), (fresh, fresh_guess) = draw(6000), draw(6000)

    floored = conformal_offsets(levels, guess, calibration, floor=0.0)
    unfloored = conformal_offsets(levels, guess, calibration)

    assert floored[1] < unfloored[1]  # without the floor, the 0 rows look uncovered: a wider bound
    served = apply_offsets(levels, fresh_guess, floored, 0.0)
    assert float(np.mean(fresh > served[:, 1])) == pytest.approx(0.1, abs=0.03)


def test_a_lower_level_pulled_past_a_zero_actual_at_the_floor_is_served_as_exactly_the_floor() -> None:
    # 19 rows at or above the median keep P10's share on its own: P10 is pulled past the one row left,
    # a 0 actual whose P10 is 0, by a hair; at the floor that hair would leave the 0 outside P10.
    guess = np.tile([0.0, 1.0, 2.0], (20, 1))
    actual = np.array([1.0] * 19 + [0.0])

    offsets = conformal_offsets(LEVELS, guess, actual, floor=0.0)
    served = apply_offsets(LEVELS, guess, offsets, 0.0)

    assert 0.0 < offsets[0] < 1e-6
    assert (served[:, 0] == 0.0).all()
    assert coverage(actual, served[:, 0], served[:, 2]) == 1.0


def test_without_a_floor_a_lower_level_keeps_its_pull_past_the_rows() -> None:
    guess = np.tile([0.0, 1.0, 2.0], (20, 1))
    actual = np.array([1.0] * 19 + [0.0])

    offsets = conformal_offsets(LEVELS, guess, actual)

    assert (apply_offsets(LEVELS, guess, offsets)[:, 0] == offsets[0]).all()
