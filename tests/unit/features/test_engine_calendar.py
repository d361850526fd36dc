"""Calendar and public-holiday columns of period starts, checked on dates whose answers are known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fti.features.calendar import CalendarInputError, calendar_columns
from fti.specs import DatasetSpec


def spec_of(grain: str, calendar: list[str], week_start: str = "monday") -> DatasetSpec:
    document: dict[str, Any] = {
        "spec_version": 2,
        "name": "cal",
        "source": {"columns": [{"name": "k", "type": "string"}, {"name": "t", "type": "datetime"},
                               {"name": "y", "type": "float"}]},
        "entity": {"columns": ["k"]},
        "time": {"column": "t", "grain": grain, "week_start": week_start, "timezone": "Europe/London"},
        "target": {"column": "y", "absent": "zero"},
        "features": {"calendar": calendar, "holidays": {"country": "GB", "subdivision": "ENG"}},
        "forecast": {"horizon": 1},
        "model": {"training_window": 300},
    }  # fmt: skip
    return DatasetSpec.model_validate(document)


def stamps(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[us]")


def test_daily_calendar_of_known_dates() -> None:
    spec = spec_of("day", ["day_of_week", "day_of_month", "day_of_year", "week_of_year", "month"])
    # Christmas 2011 (a Sunday, ISO week 51), leap day 2016, 3 Jan 2021 (ISO week 53 of 2020).
    days = stamps("2011-12-25", "2016-02-29", "2021-01-03", "2021-01-04")

    got = calendar_columns(days, spec)

    assert list(got) == ["day_of_week", "day_of_month", "day_of_year", "week_of_year", "month", "is_holiday"]
    assert got["day_of_week"].tolist() == [6, 0, 6, 0]
    assert got["day_of_month"].tolist() == [25, 29, 3, 4]
    assert got["day_of_year"].tolist() == [359, 60, 3, 4]
    assert got["week_of_year"].tolist() == [51, 9, 53, 1]
    assert got["month"].tolist() == [12, 2, 1, 1]
    assert all(v.dtype == np.int64 for v in got.values())


def test_is_holiday_flags_english_bank_holidays_including_observed_days_off() -> None:
    spec = spec_of("day", [])
    # Boxing Day 2016 (Monday), Christmas observed (Tuesday 27th), an ordinary Wednesday.
    got = calendar_columns(stamps("2016-12-26", "2016-12-27", "2016-12-28", "2016-08-29"), spec)

    assert got["is_holiday"].tolist() == [1, 1, 0, 1]


def test_hourly_periods_take_the_hour_and_their_date_s_holiday() -> None:
    spec = spec_of("hour", ["hour", "day_of_week"])

    got = calendar_columns(stamps("2016-12-26T08:00", "2016-12-26T23:00", "2016-12-28T16:00"), spec)

    assert got["hour"].tolist() == [8, 23, 16]
    assert got["day_of_week"].tolist() == [0, 0, 2]
    assert got["is_holiday"].tolist() == [1, 1, 0]


@pytest.mark.parametrize(
    ("week_start", "start", "count"),
    [
        ("sunday", "2016-12-25", 3),  # Christmas (Sunday), Boxing Day, Christmas observed (27th)
        ("monday", "2016-12-26", 3),  # 26th, 27th and New Year's Day 2017 (a Sunday): across the year end
        ("monday", "2016-12-12", 0),
    ],
)
def test_weekly_periods_count_the_holiday_dates_they_hold(week_start: str, start: str, count: int) -> None:
    spec = spec_of("week", ["week_of_year", "month"], week_start=week_start)

    got = calendar_columns(stamps(start, "2016-11-07" if week_start == "monday" else "2016-11-06"), spec)

    assert got["holiday_days"].tolist() == [count, 0]


def test_monthly_periods_count_the_holiday_dates_of_the_month() -> None:
    spec = spec_of("month", ["month"])

    got = calendar_columns(stamps("2016-12-01", "2016-11-01", "2016-05-01"), spec)

    assert got["holiday_days"].tolist() == [3, 0, 2]  # Dec: 25 (Sun), 26, 27 (observed); May: 2, 30
    assert got["month"].tolist() == [12, 11, 5]


def test_the_columns_are_a_pure_function_of_each_period_start() -> None:
    spec = spec_of("day", ["day_of_week", "week_of_year"])
    days = np.datetime64("2015-12-20", "us") + np.arange(40) * np.timedelta64(1, "D")

    forward, backward = calendar_columns(days, spec), calendar_columns(days[::-1], spec)

    assert all((forward[k][::-1] == backward[k]).all() for k in forward)
    alone = calendar_columns(days[17:18], spec)
    assert all(alone[k][0] == forward[k][17] for k in forward)


def test_stamps_that_are_not_period_starts_are_refused_with_an_example() -> None:
    with pytest.raises(CalendarInputError, match="not week \\(Monday\\) period starts, e.g. 2016-12-27"):
        calendar_columns(stamps("2016-12-26", "2016-12-27"), spec_of("week", ["month"]))
