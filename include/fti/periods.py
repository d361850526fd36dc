"""Time grains: what a period is, how periods are counted, and how they group into partitions.

A data set declares its grain (``hour``, ``day``, ``week`` starting on a given weekday, ``month``).
Every step works with *period numbers* (:meth:`Calendar.index`): whole periods since the Unix epoch,
so that "7 periods earlier", "the next 9 periods" and "every period from a to b" are integer
arithmetic whatever the grain. Period *starts* are naive wall-clock timestamps in the data set's
time zone (``datetime64``).

The feature store commits, and the feature pipeline runs, per *partition*: a day for hourly and daily
data, a week for weekly data, a month for monthly data. A partition is named by the date it starts on.

numpy is imported by the methods that need it, never at import time: DAG files import this module
(through the spec models) while they are parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


class Grain(StrEnum):
    """The length of one period of a data set."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_NUMPY_UNIT = {Grain.HOUR: "h", Grain.DAY: "D", Grain.WEEK: "D", Grain.MONTH: "M"}


@dataclass(frozen=True)
class Calendar:
    """A grain and, for weeks, the weekday they start on (``0`` = Monday).

    Example:
        >>> cal = Calendar(Grain.WEEK, week_start=0)
        >>> cal.format(cal.start(cal.index(np.datetime64("2024-03-07"))))
        '2024-03-04'
    """

    grain: Grain
    week_start: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.week_start <= 6:
            raise ValueError(f"week_start must be 0 (Monday) .. 6 (Sunday), got {self.week_start}")

    # ----- period numbers -------------------------------------------------------------------------
    def index(self, stamps: Any) -> Any:
        """Period number of each timestamp (int64): the period it falls into, counted from the epoch."""
        import numpy as np

        values = np.asarray(stamps, dtype="datetime64[us]")
        if self.grain is Grain.WEEK:
            days = values.astype("datetime64[D]").astype("int64")
            numbers = (days + _EPOCH_WEEKDAY - self.week_start) // 7
        else:
            numbers = values.astype(f"datetime64[{_NUMPY_UNIT[self.grain]}]").astype("int64")
        return numbers[()] if numbers.ndim == 0 else numbers  # a scalar in, a scalar out

    def start(self, index: Any) -> Any:
        """Start of period number ``index`` (``datetime64[us]``, naive wall clock)."""
        import numpy as np

        numbers = np.asarray(index, dtype="int64")
        if self.grain is Grain.WEEK:
            days = numbers * 7 - _EPOCH_WEEKDAY + self.week_start
            starts = days.astype("datetime64[D]").astype("datetime64[us]")
        else:
            starts = numbers.astype(f"datetime64[{_NUMPY_UNIT[self.grain]}]").astype("datetime64[us]")
        return starts[()] if starts.ndim == 0 else starts  # a scalar in, a scalar out

    def floor(self, stamps: Any) -> Any:
        """Start of the period each timestamp falls into."""
        return self.start(self.index(stamps))

    # ----- partitions -----------------------------------------------------------------------------
    @property
    def partition_calendar(self) -> Calendar:
        """The calendar of partitions: days for hourly data, else the grain itself."""
        return Calendar(Grain.DAY) if self.grain is Grain.HOUR else self

    def partition_of(self, stamps: Any) -> Any:
        """The start date (``datetime64[D]``) of the partition each timestamp falls into."""
        return self.partition_calendar.floor(stamps).astype("datetime64[D]")

    def partition_start(self, day: date) -> date:
        """The start date of the partition holding ``day``."""
        import numpy as np

        found = self.partition_of(np.datetime64(day, "D"))
        return _as_date(found)

    def partitions(self, first: date, last: date) -> list[date]:
        """Start dates of every partition from the one holding ``first`` to the one holding ``last``."""
        import numpy as np

        if last < first:
            return []
        cal = self.partition_calendar
        a, b = cal.index(np.datetime64(first, "D")), cal.index(np.datetime64(last, "D"))
        return [_as_date(s) for s in cal.start(np.arange(int(a), int(b) + 1))]

    def next_partition(self, day: date, n: int = 1) -> date:
        """The start date of the partition ``n`` partitions after the one holding ``day``."""
        import numpy as np

        cal = self.partition_calendar
        return _as_date(cal.start(cal.index(np.datetime64(day, "D")) + n))

    def partition_end(self, day: date) -> datetime:
        """The instant the partition holding ``day`` ends (exclusive), naive wall clock."""
        end = self.next_partition(day)
        return datetime(end.year, end.month, end.day)

    def periods_of_partition(self, day: date) -> tuple[int, int]:
        """First and last period number inside the partition holding ``day``."""
        import numpy as np

        start = np.datetime64(self.partition_start(day), "us")
        end = np.datetime64(self.partition_end(day), "us") - np.timedelta64(1, "us")
        return int(self.index(start)), int(self.index(end))

    def partitions_for_periods(self, periods: int) -> int:
        """Whole partitions that surely hold ``periods`` consecutive periods before a partition starts."""
        if periods <= 0:
            return 0
        if self.grain is Grain.HOUR:
            return -(-periods // 24)
        return periods

    # ----- text -----------------------------------------------------------------------------------
    def format(self, stamp: Any) -> str:
        """A period start as text: ``2016-12-19T16:00`` for hours, the ISO date otherwise."""
        import numpy as np

        value = np.datetime64(stamp, "m")
        if self.grain is Grain.HOUR:
            return str(value)
        return str(value.astype("datetime64[D]"))

    def parse(self, text: str) -> np.datetime64:
        """The period start named by ``text`` (as :meth:`format` writes it; ``2011-12`` for a month too).

        Raises:
            ValueError: ``text`` is not such a period start, e.g. a time of day for daily data, or a
                date that is not the first day of its week or month.
        """
        import numpy as np

        value = text.strip()
        try:
            if self.grain is Grain.HOUR:
                stamp = np.datetime64(datetime.strptime(value.replace(" ", "T"), "%Y-%m-%dT%H:%M"), "us")
            elif self.grain is Grain.MONTH and len(value) == 7:
                stamp = np.datetime64(datetime.strptime(value, "%Y-%m"), "us")
            else:
                stamp = np.datetime64(datetime.strptime(value, "%Y-%m-%d"), "us")
        except ValueError:
            raise ValueError(
                f"{text!r} is not a {self.grain.value} period: expected {self.example}"
            ) from None
        if self.floor(stamp) != stamp:
            raise ValueError(
                f"{text!r} is not the start of a {self.grain.value} period "
                f"(that period starts {self.format(self.floor(stamp))}); expected {self.example}"
            )
        return stamp

    @property
    def example(self) -> str:
        """What a period looks like as text, for messages."""
        return {
            Grain.HOUR: "YYYY-MM-DDTHH:00, e.g. 2016-12-19T08:00",
            Grain.DAY: "YYYY-MM-DD, e.g. 2011-12-10",
            Grain.WEEK: f"YYYY-MM-DD of a {WEEKDAYS[self.week_start].title()}",
            Grain.MONTH: "YYYY-MM-01 (or YYYY-MM)",
        }[self.grain]

    def describe(self) -> str:
        """``week (Monday)``, ``day``, ..."""
        if self.grain is Grain.WEEK:
            return f"week ({WEEKDAYS[self.week_start].title()})"
        return self.grain.value


def default_crons(cal: Calendar) -> dict[str, str]:
    """Cron lines of the three pipelines for a grain: features when a partition ends, then inference.

    Hourly and daily data: features at 00:00 for the day that ended, inference at 04:00, training
    Sundays 03:00. Weekly data: the same hours on the day a week starts. Monthly: on the 1st.
    """
    if cal.grain is Grain.MONTH:
        return {"features": "0 0 1 * *", "training": "0 3 1 * *", "inference": "0 4 1 * *"}
    if cal.grain is Grain.WEEK:
        weekday = (cal.week_start + 1) % 7  # cron: 0 = Sunday
        return {
            "features": f"0 0 * * {weekday}",
            "training": f"0 3 * * {weekday}",
            "inference": f"0 4 * * {weekday}",
        }
    return {"features": "0 0 * * *", "training": "0 3 * * 0", "inference": "0 4 * * *"}


def as_dates(values: Iterable[Any]) -> list[date]:
    """``datetime64``/``Timestamp``/``date`` values as ``datetime.date`` objects."""
    return [_as_date(v) for v in values]


def _as_date(value: Any) -> date:
    import numpy as np

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    days = int(np.datetime64(value, "D").astype("int64"))
    return date(1970, 1, 1) + timedelta(days=days)
