"""Period arithmetic of every grain: numbering, floors, partitions and text, all as integer steps."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from fti.periods import Calendar, Grain, default_crons

WEEK_MON = Calendar(Grain.WEEK, week_start=0)
WEEK_SUN = Calendar(Grain.WEEK, week_start=6)
HOUR, DAY, MONTH = Calendar(Grain.HOUR), Calendar(Grain.DAY), Calendar(Grain.MONTH)


def stamp(text: str) -> np.datetime64:
    return np.datetime64(text, "us")


@pytest.mark.parametrize(
    ("cal", "value", "start"),
    [
        (HOUR, "2016-12-19T16:30:35", "2016-12-19T16:00"),
        (DAY, "2011-12-09T17:45", "2011-12-09"),
        (WEEK_MON, "2024-03-07T12:00", "2024-03-04"),
        (WEEK_SUN, "2024-03-07", "2024-03-03"),
        (MONTH, "2011-12-31T23:59", "2011-12-01"),
    ],
)
def test_floor_gives_the_start_of_the_period(cal: Calendar, value: str, start: str) -> None:
    assert cal.format(cal.floor(stamp(value))) == start


def test_period_numbers_step_by_one_period_in_every_grain() -> None:
    for cal, later in [(HOUR, "2016-12-19T17:00"), (DAY, "2016-12-20"), (WEEK_MON, "2016-12-26")]:
        first = cal.index(cal.floor(stamp("2016-12-19T16:00")))
        assert cal.index(stamp(later)) == first + 1
    assert MONTH.index(stamp("2012-01-01")) == MONTH.index(stamp("2011-12-05")) + 1
    assert MONTH.format(MONTH.start(MONTH.index(stamp("2011-11-01")) + 14)) == "2013-01-01"


def test_hourly_data_is_partitioned_by_day_others_by_their_grain() -> None:
    assert HOUR.partition_start(date(2016, 12, 19)) == date(2016, 12, 19)
    first, last = HOUR.periods_of_partition(date(2016, 12, 19))
    assert last - first == 23 and HOUR.format(HOUR.start(last)) == "2016-12-19T23:00"
    assert WEEK_MON.partition_start(date(2024, 3, 7)) == date(2024, 3, 4)
    assert WEEK_MON.partitions(date(2024, 3, 1), date(2024, 3, 12)) == [
        date(2024, 2, 26),
        date(2024, 3, 4),
        date(2024, 3, 11),
    ]
    assert MONTH.next_partition(date(2011, 12, 9), -2) == date(2011, 10, 1)
    assert DAY.partition_end(date(2011, 12, 9)) == datetime(2011, 12, 10)


def test_look_back_in_periods_becomes_whole_partitions() -> None:
    assert HOUR.partitions_for_periods(168) == 7 and HOUR.partitions_for_periods(25) == 2
    assert DAY.partitions_for_periods(28) == 28 and WEEK_MON.partitions_for_periods(52) == 52
    assert DAY.partitions_for_periods(0) == 0


def test_text_is_parsed_strictly_to_a_period_start() -> None:
    assert HOUR.parse("2016-12-19T08:00") == stamp("2016-12-19T08:00")
    assert MONTH.parse("2011-12") == MONTH.parse("2011-12-01")
    with pytest.raises(ValueError, match="is not the start of a week period .that period starts 2024-03-04"):
        WEEK_MON.parse("2024-03-07")
    with pytest.raises(ValueError, match="is not a day period: expected YYYY-MM-DD"):
        DAY.parse("1323475200")
    with pytest.raises(ValueError, match="is not a day period"):
        DAY.parse("2011-12-10T00:00:00+14:00")
    with pytest.raises(ValueError, match="is not the start of a hour period"):
        HOUR.parse("2016-12-19T08:30")


def test_default_schedules_run_when_a_partition_has_ended() -> None:
    assert default_crons(DAY)["features"] == "0 0 * * *"
    assert default_crons(WEEK_MON) == {
        "features": "0 0 * * 1",
        "training": "0 3 * * 1",
        "inference": "0 4 * * 1",
    }
    assert default_crons(WEEK_SUN)["features"] == "0 0 * * 0"
    assert default_crons(MONTH)["inference"] == "0 4 1 * *"
