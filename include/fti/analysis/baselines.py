"""Naive forecasts a model has to beat, computed on exactly the rows the model is scored on.

Both baselines use only what is known on a row's feature day ``date``, like the model: a
baseline that peeks at the target would make any model look bad.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BASELINES: Mapping[str, str] = MappingProxyType(
    {
        "seasonal_naive": "demand on the same weekday one week (or the fewest whole weeks) before the "
        "target, the latest such day known on the feature day",
        "moving_average": "the entity's 28-day mean demand on the feature day (rolling_mean_28)",
    }
)
"""Baseline name -> what it predicts; the names prefix the baselines' metrics (``seasonal_naive_wape``)."""

SEASONAL_FALLBACK = "rolling_mean_7"
"""Column predicted by :func:`seasonal_naive` when the seasonal day lies outside ``demand_by_day``."""


def seasonal_naive(rows: pd.DataFrame, demand_by_day: pd.DataFrame, season_days: int = 7) -> np.ndarray:
    """Demand on ``target_date - k * season_days``, k the smallest whole number of seasons (>= 1)
    that lands on or before the feature day ``date``.

    So horizon 1..7 looks back one week from the target, 8..14 two weeks, and the baseline never
    uses demand after the feature day. An entity without a row on that day sold nothing (see
    :func:`fti.features.model_inputs.attach_labels`): 0. When the day is not one of
    ``demand_by_day``'s days at all (before the snapshot starts), demand there is unknown, not 0, so
    the row's own :data:`SEASONAL_FALLBACK` (``rolling_mean_7``) is predicted instead.

    Args:
        rows: ``entity``, ``date``, ``target_date`` and ``rolling_mean_7`` (expanded model rows).
        demand_by_day: ``entity``, ``date``, ``demand``, at most one row per entity and day.
        season_days: length of the season in days.

    Raises:
        ValueError: ``season_days`` is not positive, or ``demand_by_day`` repeats an entity and day.
    """
    import pandas as pd

    if season_days < 1:
        raise ValueError(f"season_days must be a positive number of days, got {season_days}")
    feature_day = day_numbers(rows["date"])
    target_day = day_numbers(rows["target_date"])
    seasons = np.maximum(1, -(-(target_day - feature_day) // season_days))  # ceil, at least one season
    source_day = target_day - seasons * season_days

    known_day = day_numbers(demand_by_day["date"])
    entities = pd.Index(pd.unique(demand_by_day["entity"]))
    span = int(known_day.max() - known_day.min() + 1) if len(known_day) else 1
    first = int(known_day.min()) if len(known_day) else 0
    known_key = pd.Index(entities.get_indexer(demand_by_day["entity"]) * span + (known_day - first))
    if not known_key.is_unique:
        raise ValueError("demand_by_day must hold at most one row per entity and date")

    row_entity = entities.get_indexer(rows["entity"])
    in_span = (source_day >= first) & (source_day < first + span) & (row_entity >= 0)
    row_key = np.where(in_span, row_entity * span + (source_day - first), -1)
    position = known_key.get_indexer(row_key)
    demand = demand_by_day["demand"].to_numpy(dtype="float64")
    found = demand[np.where(position >= 0, position, 0)] if len(demand) else np.zeros(len(rows))
    predicted = np.where(position >= 0, found, 0.0)

    covered = np.isin(source_day, np.unique(known_day))
    fallback = rows[SEASONAL_FALLBACK].to_numpy(dtype="float64")
    return np.where(covered, predicted, fallback)


def moving_average(rows: pd.DataFrame, column: str = "rolling_mean_28") -> np.ndarray:
    """The rolling mean stored on each row (known on the feature day), as the forecast of every horizon.

    Raises:
        KeyError: ``rows`` has no ``column``.
    """
    if column not in rows.columns:
        raise KeyError(f"moving_average needs the column {column!r}; the rows have {list(rows.columns)}")
    return rows[column].to_numpy(dtype="float64")


def day_numbers(days: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64, from ``datetime.date`` objects, Timestamps or datetime64.

    Converts each distinct day once: a day column of millions of rows holds a few hundred days.

    Raises:
        ValueError: a day is missing.
    """
    import pandas as pd

    codes, uniques = pd.factorize(days)
    if (codes < 0).any():
        raise ValueError(f"{days.name!r} has {int((codes < 0).sum())} missing days")
    distinct = pd.to_datetime(pd.Series(uniques)).to_numpy(dtype="datetime64[D]").astype("int64")
    return distinct[codes]
