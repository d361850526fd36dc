"""Tests of the baselines on hand-built histories whose right answers are known period by period."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fti.analysis.baselines import (
    BASELINES,
    SEASON,
    baseline_forecasts,
    baseline_names,
    history,
    moving_average,
    naive_scale,
    naive_season,
    seasonal_naive,
)
from fti.features.model_inputs import expand_horizons
from fti.periods import Grain
from fti.specs import DatasetSpec

FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2024, 1, 21)
FEATURE_DAY = date(2024, 1, 10)


def make_spec(grain: str = "day", absent: str = "zero", horizon: int = 9, gap: int = 0) -> DatasetSpec:
    """Units per shop of ``grain``; one lag and a 3-period window, so the activity window is 3 periods."""
    document: dict[str, Any] = {
        "spec_version": 2,
        "name": "shop",
        "source": {"columns": [{"name": "shop", "type": "string"}, {"name": "at", "type": "datetime"},
                               {"name": "qty", "type": "float"}]},
        "entity": {"columns": ["shop"]},
        "time": {"column": "at", "grain": grain},
        "target": {"name": "units", "column": "qty", "aggregation": "sum", "absent": absent},
        "features": {"lags": [1], "rolling": [{"window": 3, "stats": ["mean"]}]},
        "forecast": {"horizon": horizon, "gap": gap},
        "model": {"training_window": 200},
    }  # fmt: skip
    return DatasetSpec.model_validate(document)


def _day(n: int) -> date:
    """Day ``n`` of January 2024."""
    return date(2024, 1, n)


def _actuals() -> pd.DataFrame:
    """Entity A sells 10 x the day of month every day but Jan 5 (no row); entity B sells 1 every day."""
    days = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    a = [("A", d, 10.0 * d.day) for d in days if d != _day(5)]
    b = [("B", d, 1.0) for d in days]
    frame = pd.DataFrame(a + b, columns=["entity", "period", "units"])
    return frame.assign(period=pd.to_datetime(frame["period"]).astype("datetime64[us]"))


def _rows(spec: DatasetSpec, feature_period: str, entity: str = "A") -> pd.DataFrame:
    """Expanded rows of ``entity`` at ``feature_period``, one per forecast step of ``spec``."""
    features = pd.DataFrame(
        {"entity": [entity], "period": np.array([feature_period], dtype="datetime64[us]")}
    )
    return expand_horizons(features, spec)


def _seasonal(rows: pd.DataFrame, actuals: pd.DataFrame, spec: DatasetSpec) -> np.ndarray:
    past = history(actuals, spec)
    return seasonal_naive(rows, past, spec, moving_average(rows, past, spec))


# ----- seasonal naive -------------------------------------------------------------------------------
def test_seasonal_naive_takes_the_same_weekday_one_or_two_weeks_before_the_target() -> None:
    spec = make_spec(horizon=9)
    rows = _rows(spec, "2024-01-10")

    predicted = _seasonal(rows, _actuals(), spec)

    # targets Jan 11..17 look back one week (Jan 4..10), targets Jan 18, 19 two weeks (Jan 4, 5);
    # Jan 5 has no row of A: with absent zero it sold nothing that day.
    np.testing.assert_array_equal(predicted, [40.0, 0.0, 60.0, 70.0, 80.0, 90.0, 100.0, 40.0, 0.0])


def test_seasonal_naive_source_period_is_never_after_the_feature_period() -> None:
    spec = make_spec(horizon=14)
    rows = _rows(spec, "2024-01-10")
    actuals = _actuals()
    later = actuals["period"] > pd.Timestamp(FEATURE_DAY)
    changed_future = actuals.assign(units=np.where(later, 999.0, actuals["units"]))

    np.testing.assert_array_equal(_seasonal(rows, changed_future, spec), _seasonal(rows, actuals, spec))
    assert (_seasonal(rows, changed_future, spec) != 999.0).all()


@pytest.mark.parametrize(("grain", "season"), [("hour", 24), ("day", 7), ("week", 52), ("month", 12)])
def test_the_season_is_a_day_of_hours_a_week_of_days_and_a_year_of_weeks_or_months(
    grain: str, season: int
) -> None:
    spec = make_spec(grain=grain, horizon=1)
    cal = spec.calendar
    feature = int(cal.index(np.datetime64("2024-06-03")))  # a Monday, the 1st hour of a day, a month's 3rd
    periods = np.arange(feature - 2 * season, feature + 1)
    actuals = pd.DataFrame({"entity": "A", "period": cal.start(periods), "units": (periods - feature) * 1.0})
    rows = _rows(spec, str(cal.start(feature)))

    # target = feature + 1; one season back is feature + 1 - season, valued 1 - season
    assert SEASON[Grain(grain)] == season
    np.testing.assert_array_equal(_seasonal(rows, actuals, spec), [1.0 - season])


def test_an_hourly_forecast_after_a_gap_looks_back_whole_days_from_the_target_hour() -> None:
    spec = make_spec(grain="hour", absent="missing", horizon=2, gap=15)  # 16:00 -> next day 08:00, 09:00
    cal = spec.calendar
    hours = cal.index(np.array(["2024-01-01T00:00", "2024-01-02T16:00"], dtype="datetime64[us]"))
    periods = np.arange(hours[0], hours[1] + 1)
    actuals = pd.DataFrame({"entity": "A", "period": cal.start(periods), "units": (periods % 24) * 1.0})
    rows = _rows(spec, "2024-01-02T16:00")

    # targets Jan 3 08:00 and 09:00 -> Jan 2 08:00 and 09:00 (one day back is before the feature hour)
    np.testing.assert_array_equal(_seasonal(rows, actuals, spec), [8.0, 9.0])


def test_seasonal_naive_falls_back_to_the_moving_average_before_the_history_starts() -> None:
    spec = make_spec(horizon=1)
    rows = _rows(spec, "2024-01-02")  # target Jan 3 -> Dec 27, before the history

    # the moving average over Dec 31 .. Jan 2 knows Jan 1 (10) and Jan 2 (20) only
    np.testing.assert_array_equal(_seasonal(rows, _actuals(), spec), [15.0])


def test_with_absent_missing_an_unobserved_seasonal_period_falls_back_to_the_moving_average() -> None:
    spec = make_spec(absent="missing", horizon=2)
    rows = _rows(spec, "2024-01-06")  # targets Jan 7 -> Dec 31 (outside), Jan 8 -> Jan 1 (10)
    actuals = _actuals()

    # window Jan 4 .. 6 of A: Jan 5 unobserved, so the mean of 40 and 60
    np.testing.assert_array_equal(_seasonal(rows, actuals, spec), [50.0, 10.0])
    rows = _rows(spec, "2024-01-11")  # target Jan 12 -> Jan 5, unobserved: the window Jan 9 .. 11
    np.testing.assert_array_equal(_seasonal(rows, actuals, spec)[:1], [100.0])


def test_seasonal_naive_is_zero_for_an_entity_never_seen() -> None:
    spec = make_spec(horizon=1)

    np.testing.assert_array_equal(_seasonal(_rows(spec, "2024-01-10", "NEW"), _actuals(), spec), [0.0])


def test_periods_in_nanoseconds_give_the_same_baselines_as_in_microseconds() -> None:
    spec = make_spec(horizon=9)
    rows, actuals = _rows(spec, "2024-01-10"), _actuals()
    as_ns = {c: "datetime64[ns]" for c in ("period", "target_period")}

    got = baseline_forecasts(rows.astype(as_ns), actuals.astype({"period": "datetime64[ns]"}), spec)

    want = baseline_forecasts(rows, actuals, spec)
    assert list(got) == list(want) == baseline_names(spec)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def test_a_history_that_repeats_an_entity_and_period_is_rejected() -> None:
    actuals = _actuals()

    with pytest.raises(ValueError, match="one row per entity and period"):
        history(pd.concat([actuals, actuals.head(1)]), make_spec())


# ----- moving average -------------------------------------------------------------------------------
def test_moving_average_is_the_mean_over_the_activity_window_for_every_horizon() -> None:
    spec = make_spec(horizon=3)
    assert spec.features.activity_window == 3
    rows = _rows(spec, "2024-01-10")

    # Jan 8, 9, 10 of A: 80, 90, 100
    np.testing.assert_array_equal(moving_average(rows, history(_actuals(), spec), spec), [90.0] * 3)


def test_with_absent_zero_a_period_without_a_row_counts_as_zero_in_the_moving_average() -> None:
    rows_zero = _rows(make_spec(horizon=1), "2024-01-06")
    rows_missing = _rows(make_spec(absent="missing", horizon=1), "2024-01-06")

    # Jan 4, 5, 6 of A: 40, (none), 60
    zero, missing = make_spec(), make_spec(absent="missing")
    assert moving_average(rows_zero, history(_actuals(), zero), zero) == pytest.approx([100.0 / 3])
    assert moving_average(rows_missing, history(_actuals(), missing), missing) == pytest.approx([50.0])


def test_moving_average_never_reads_after_the_feature_period() -> None:
    spec = make_spec(horizon=3)
    rows = _rows(spec, "2024-01-10")
    actuals = _actuals()
    changed_future = actuals.assign(units=np.where(actuals["period"] > pd.Timestamp(FEATURE_DAY), 999.0, 1.0))

    np.testing.assert_array_equal(moving_average(rows, history(changed_future, spec), spec), [1.0] * 3)


def test_baselines_are_named_for_their_metrics_and_all_computed() -> None:
    spec = make_spec(horizon=9)
    rows, actuals = _rows(spec, "2024-01-10"), _actuals()

    forecasts = baseline_forecasts(rows, actuals, spec)

    assert list(BASELINES)[:3] == ["zero", "seasonal_naive", "moving_average"]
    every = ["zero", "seasonal_naive", "moving_average", "croston_optimized", "tsb", "adida"]
    assert list(forecasts) == baseline_names(spec) == every
    assert set(forecasts) <= set(BASELINES)
    np.testing.assert_array_equal(forecasts["zero"], np.zeros(len(rows)))
    np.testing.assert_array_equal(forecasts["seasonal_naive"], _seasonal(rows, actuals, spec))
    np.testing.assert_array_equal(
        forecasts["moving_average"], moving_average(rows, history(actuals, spec), spec)
    )


def test_the_zero_forecast_is_a_baseline_only_where_an_absent_period_means_zero() -> None:
    spec = make_spec(absent="missing", horizon=9)
    rows, actuals = _rows(spec, "2024-01-10"), _actuals()

    forecasts = baseline_forecasts(rows, actuals, spec)

    assert list(forecasts) == baseline_names(spec) == ["seasonal_naive", "moving_average", "autoets"]


def test_the_naive_scale_is_the_in_sample_seasonal_naive_mae_up_to_the_training_end() -> None:
    spec = make_spec()
    past = history(_actuals(), spec)
    last = spec.calendar.index(np.array(["2024-01-14"], dtype="datetime64[us]"))[0]

    # A: 10 x day, Jan 5 absent (0): |d - (d-7)| = 70 except the pairs with Jan 5 (50, 120); B: 0.
    # Up to Jan 14: A's pairs (t = Jan 8..14) are 70 70 70 70 70 70 70 but Jan 12 (120 - 0 = 120)
    a = [70, 70, 70, 70, 120, 70, 70]
    assert naive_scale(past, last, 7) == pytest.approx((sum(a) + 0 * 7) / 14)
    assert np.isnan(naive_scale(past, past.first + 3, 7))


def test_mase_falls_back_to_the_previous_period_when_the_window_is_not_longer_than_a_season() -> None:
    spec = make_spec()
    past = history(_actuals(), spec)

    assert naive_season(past, past.first + 7, 7) == 7  # 8 periods: one pair a season apart
    assert naive_season(past, past.first + 6, 7) == 1  # 7 periods: none, so the previous period's
    assert np.isnan(naive_scale(past, past.first + 6, 7))
    assert naive_scale(past, past.first + 6, naive_season(past, past.first + 6, 7)) > 0
