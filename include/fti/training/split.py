"""Split labelled rows by time: no row of a later window ever trains an earlier one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class NotEnoughData(ValueError):
    """The snapshot is too small to train and evaluate a model honestly."""


@dataclass(frozen=True)
class TimeSplit:
    """Train, validation and test rows, split on the feature day."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_by_time(
    rows: pd.DataFrame, validation_days: int, test_days: int, horizon_days: int, min_train_rows: int = 100
) -> TimeSplit:
    """Last ``test_days`` feature days are test, the ``validation_days`` before are validation.

    A gap of ``horizon_days`` separates the windows, so no training label overlaps the
    feature days of the next window.
    """
    days = sorted(rows["date"].unique())
    if not days:
        raise NotEnoughData("the training snapshot has no labelled rows")
    last: date = days[-1]
    test_start = last - timedelta(days=test_days - 1)
    validation_end = test_start - timedelta(days=horizon_days + 1)
    validation_start = validation_end - timedelta(days=validation_days - 1)
    train_end = validation_start - timedelta(days=horizon_days + 1)
    split = TimeSplit(
        train=rows[rows["date"] <= train_end],
        validation=rows[(rows["date"] >= validation_start) & (rows["date"] <= validation_end)],
        test=rows[rows["date"] >= test_start],
    )
    if len(split.train) < min_train_rows or split.validation.empty or split.test.empty:
        raise NotEnoughData(
            f"snapshot of {len(days)} feature days ({days[0]}..{last}) gives train={len(split.train)}, "
            f"validation={len(split.validation)}, test={len(split.test)} rows; need at least "
            f"{min_train_rows} train rows and non-empty validation and test windows"
        )
    return split
