"""Split labelled rows by time: no row of a later window ever trains an earlier one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from fti.periods import Calendar


class NotEnoughData(ValueError):
    """The snapshot is too small to train and evaluate a model honestly."""


@dataclass(frozen=True)
class TimeSplit:
    """Train, validation and test rows, split on the feature period."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_by_time(
    rows: pd.DataFrame,
    calendar: Calendar,
    validation_periods: int,
    test_periods: int,
    reach: int,
    min_train_rows: int = 100,
) -> TimeSplit:
    """The last ``test_periods`` feature periods are test, the ``validation_periods`` before are validation.

    ``reach`` periods (gap + horizon) separate the windows, so no label of a window falls on a
    feature period of the next one.

    Raises:
        NotEnoughData: a window is empty or the training window has fewer than ``min_train_rows``.
    """
    if rows.empty:
        raise NotEnoughData("the training snapshot has no labelled rows")
    index = calendar.index(rows["period"].to_numpy(dtype="datetime64[us]"))
    last = int(index.max())
    test_start = last - test_periods + 1
    validation_end = test_start - reach - 1
    validation_start = validation_end - validation_periods + 1
    train_end = validation_start - reach - 1
    split = TimeSplit(
        train=rows[index <= train_end],
        validation=rows[(index >= validation_start) & (index <= validation_end)],
        test=rows[index >= test_start],
    )
    if len(split.train) < min_train_rows or split.validation.empty or split.test.empty:
        first = calendar.format(calendar.start(int(index.min())))
        raise NotEnoughData(
            f"snapshot of feature periods {first}..{calendar.format(calendar.start(last))} gives "
            f"train={len(split.train)}, validation={len(split.validation)}, test={len(split.test)} rows; "
            f"need at least {min_train_rows} train rows and non-empty validation and test windows"
        )
    return split
