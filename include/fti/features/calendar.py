"""Calendar and public-holiday columns of any period starts: a pure function of the periods and the spec.

The feature engine uses it for the feature period of every row; the model inputs use it again for the
target period of every horizon, so the same period always gets the same values.

Conventions (all columns ``int64``):

* ``hour`` 0-23; ``day_of_week`` 0 = Monday .. 6 = Sunday; ``day_of_month`` 1-31;
  ``day_of_year`` 1-366; ``week_of_year`` the ISO 8601 week 1-53; ``month`` 1-12 -- each of the
  period's *start*.
* holidays (``fti.specs.rules.holiday_feature``): ``is_holiday`` (hour and day grains) is 1 when the
  period's date is a public holiday of ``features.holidays`` (observed days off included, as the
  ``holidays`` package lists them), else 0; ``holiday_days`` (week and month grains) counts the
  holiday dates inside the period.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from fti.specs.rules import holiday_feature

if TYPE_CHECKING:
    from fti.specs.model import DatasetSpec, Holidays

IntArray = np.ndarray


class CalendarInputError(ValueError):
    """The periods given are not period starts of the spec's grain, or are not timestamps at all."""


def calendar_columns(periods: np.ndarray, spec: DatasetSpec) -> dict[str, np.ndarray]:
    """The spec's calendar features and its holiday feature for each period start.

    Args:
        periods: period starts (``datetime64``, naive wall clock in the spec's time zone).
        spec: the data set; ``features.calendar`` and ``features.holidays`` say which columns.

    Returns:
        Feature name -> ``int64`` array as long as ``periods``: the calendar features in spec order,
        then the holiday feature when the spec has one.

    Raises:
        CalendarInputError: a value is missing (NaT) or is not the start of a period of the grain.
    """
    starts = _period_starts(periods, spec)
    columns: dict[str, np.ndarray] = {name: _CALENDAR[name](starts) for name in spec.features.calendar}
    if spec.features.holidays is not None:
        columns[holiday_feature(spec)] = _holiday_column(starts, spec)
    return columns


def _period_starts(periods: np.ndarray, spec: DatasetSpec) -> np.ndarray:
    try:
        starts = np.asarray(periods, dtype="datetime64[us]")
    except (TypeError, ValueError) as exc:
        raise CalendarInputError(f"periods must be datetime64 period starts: {exc}") from None
    if np.isnat(starts).any():
        raise CalendarInputError(f"{int(np.isnat(starts).sum())} of the periods are missing (NaT)")
    cal = spec.calendar
    off = starts != cal.floor(starts)
    if off.any():
        seen = starts[off][0]
        raise CalendarInputError(
            f"{int(off.sum())} value(s) are not {cal.describe()} period starts, e.g. {seen} "
            f"(its period starts {cal.floor(seen)})"
        )
    return starts


def _days(starts: np.ndarray) -> np.ndarray:
    return starts.astype("datetime64[D]")


def _hour(starts: np.ndarray) -> IntArray:
    return (starts.astype("datetime64[h]").astype("int64") % 24).astype("int64")


def _day_of_week(starts: np.ndarray) -> IntArray:
    # 1970-01-01 was a Thursday (3 with Monday = 0).
    return ((_days(starts).astype("int64") + 3) % 7).astype("int64")


def _day_of_month(starts: np.ndarray) -> IntArray:
    days = _days(starts)
    return (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype("int64") + 1


def _day_of_year(starts: np.ndarray) -> IntArray:
    days = _days(starts)
    return (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype("int64") + 1


def _week_of_year(starts: np.ndarray) -> IntArray:
    # ISO 8601: the week belongs to the year of its Thursday; week 1 holds the year's first Thursday.
    days = _days(starts)
    thursday = days - _day_of_week(starts) + 3
    first_day = thursday.astype("datetime64[Y]").astype("datetime64[D]")
    return (thursday - first_day).astype("int64") // 7 + 1


def _month(starts: np.ndarray) -> IntArray:
    return (_days(starts).astype("datetime64[M]").astype("int64") % 12 + 1).astype("int64")


_CALENDAR: dict[str, Callable[[np.ndarray], IntArray]] = {
    "hour": _hour,
    "day_of_week": _day_of_week,
    "day_of_month": _day_of_month,
    "day_of_year": _day_of_year,
    "week_of_year": _week_of_year,
    "month": _month,
}


def _holiday_column(starts: np.ndarray, spec: DatasetSpec) -> IntArray:
    """Holiday dates inside each period: 0/1 for hours and days, a count for weeks and months."""
    assert spec.features.holidays is not None
    cal = spec.calendar
    ends = cal.start(cal.index(starts) + 1).astype("datetime64[D]")
    first = _days(starts)
    # A period starting at 00:00 of a date holds that date; hours start and end on the same date.
    ends = np.maximum(ends, first + np.timedelta64(1, "D"))
    dates = holiday_dates(spec.features.holidays, first.min(), ends.max()) if len(starts) else first[:0]
    count = np.searchsorted(dates, ends, side="left") - np.searchsorted(dates, first, side="left")
    return count.astype("int64")


def holiday_dates(holidays_spec: Holidays, first: np.datetime64, last: np.datetime64) -> np.ndarray:
    """Sorted public-holiday dates (``datetime64[D]``) of the spec's country from ``first`` to ``last``."""
    import holidays

    first_year, last_year = (int(d.astype("datetime64[Y]").astype("int64")) + 1970 for d in (first, last))
    years = range(first_year, last_year + 1)
    found = holidays.country_holidays(holidays_spec.country, subdiv=holidays_spec.subdivision, years=years)
    return np.array(sorted(found), dtype="datetime64[D]")
