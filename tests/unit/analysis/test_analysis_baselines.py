"""Tests of the baselines on hand-built rows whose right answers are known day by day."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from fti.analysis.baselines import BASELINES, day_numbers, moving_average, seasonal_naive
from fti.features.model_inputs import expand_horizons

FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2024, 1, 21)
FEATURE_DAY = date(2024, 1, 10)


def _day(n: int) -> date:
    """Day ``n`` of January 2024."""
    return date(2024, 1, n)


def _demand_by_day() -> pd.DataFrame:
    """Entity A sells 10 x the day of month every day but Jan 5; entity B sells 1 every day."""
    days = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    a = [(("A", d, 10.0 * d.day)) for d in days if d != _day(5)]
    b = [("B", d, 1.0) for d in days]
    return pd.DataFrame(a + b, columns=["entity", "date", "demand"])


def _rows(feature_day: date, horizons: int, rolling_mean_7: float = 0.5) -> pd.DataFrame:
    """Expanded rows of entity A on ``feature_day`` for horizons 1..``horizons``."""
    features = pd.DataFrame(
        {"entity": ["A"], "date": [feature_day], "rolling_mean_7": [rolling_mean_7], "rolling_mean_28": [2.5]}
    )
    return expand_horizons(features, horizons)


def test_seasonal_naive_takes_the_same_weekday_one_or_two_weeks_before_the_target() -> None:
    rows = _rows(FEATURE_DAY, 9)

    predicted = seasonal_naive(rows, _demand_by_day())

    # targets Jan 11..17 look back one week (Jan 4..10), targets Jan 18, 19 two weeks (Jan 4, 5);
    # Jan 5 has no row of A: it sold nothing that day.
    expected = [40.0, 0.0, 60.0, 70.0, 80.0, 90.0, 100.0, 40.0, 0.0]
    np.testing.assert_array_equal(predicted, expected)


def test_seasonal_naive_source_day_is_never_after_the_feature_day() -> None:
    rows = _rows(FEATURE_DAY, 14)
    demand = _demand_by_day()
    changed_future = demand.assign(demand=np.where(demand["date"] > FEATURE_DAY, 999.0, demand["demand"]))

    np.testing.assert_array_equal(seasonal_naive(rows, changed_future), seasonal_naive(rows, demand))
    assert (seasonal_naive(rows, changed_future) != 999.0).all()


def test_seasonal_naive_uses_the_season_length_given() -> None:
    rows = _rows(FEATURE_DAY, 2)

    # season of 3 days: target Jan 11 -> Jan 8, target Jan 12 -> Jan 9
    np.testing.assert_array_equal(seasonal_naive(rows, _demand_by_day(), season_days=3), [80.0, 90.0])


def test_seasonal_naive_falls_back_to_rolling_mean_7_before_the_demand_history_starts() -> None:
    rows = _rows(_day(2), 1, rolling_mean_7=3.25)  # target Jan 3 -> Dec 27, not in demand_by_day

    np.testing.assert_array_equal(seasonal_naive(rows, _demand_by_day()), [3.25])


def test_seasonal_naive_is_zero_for_an_entity_never_seen_on_a_covered_day() -> None:
    rows = _rows(FEATURE_DAY, 1).assign(entity="NEW")

    np.testing.assert_array_equal(seasonal_naive(rows, _demand_by_day()), [0.0])


def test_seasonal_naive_reads_datetime64_days_like_date_objects() -> None:
    rows = _rows(FEATURE_DAY, 9)
    demand = _demand_by_day()
    as_timestamps = demand.assign(date=pd.to_datetime(demand["date"]))
    rows_as_timestamps = rows.assign(
        date=pd.to_datetime(rows["date"]), target_date=pd.to_datetime(rows["target_date"])
    )

    np.testing.assert_array_equal(
        seasonal_naive(rows_as_timestamps, as_timestamps), seasonal_naive(rows, demand)
    )


def test_seasonal_naive_rejects_a_repeated_entity_and_day() -> None:
    demand = _demand_by_day()
    with pytest.raises(ValueError, match="at most one row per entity and date"):
        seasonal_naive(_rows(FEATURE_DAY, 1), pd.concat([demand, demand.head(1)]))


def test_seasonal_naive_rejects_a_season_of_no_days() -> None:
    with pytest.raises(ValueError, match="season_days"):
        seasonal_naive(_rows(FEATURE_DAY, 1), _demand_by_day(), season_days=0)


def test_moving_average_predicts_the_stored_rolling_mean_for_every_horizon() -> None:
    rows = _rows(FEATURE_DAY, 3, rolling_mean_7=0.5)

    np.testing.assert_array_equal(moving_average(rows), [2.5, 2.5, 2.5])
    np.testing.assert_array_equal(moving_average(rows, column="rolling_mean_7"), [0.5, 0.5, 0.5])


def test_moving_average_names_a_missing_column() -> None:
    with pytest.raises(KeyError, match="rolling_mean_14"):
        moving_average(_rows(FEATURE_DAY, 1), column="rolling_mean_14")


def test_baselines_are_named_for_their_metrics() -> None:
    assert list(BASELINES) == ["seasonal_naive", "moving_average"]


def test_day_numbers_count_days_since_the_epoch_and_reject_missing_days() -> None:
    np.testing.assert_array_equal(
        day_numbers(pd.Series([date(1970, 1, 2), date(1970, 1, 1), date(1970, 1, 2)])), [1, 0, 1]
    )
    with pytest.raises(ValueError, match="missing"):
        day_numbers(pd.Series([date(1970, 1, 2), None]))
