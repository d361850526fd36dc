"""Naive forecasts a model has to beat, computed on exactly the rows the model is scored on.

Every baseline uses only what is known at a row's feature period ``period``, like the model: a
baseline that peeks at the target would make any model look bad. Both read the target's history
(``actuals``: ``entity``, ``period``, the target of every stored row of the snapshot) on a dense
entity x period grid, so an absent period is 0 (``absent: zero``) or unknown (``absent: missing``)
exactly as the spec says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from fti.analysis.classical import CLASSICAL, INTERMITTENT, classical_forecasts
from fti.periods import Grain

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)

SEASON: Mapping[Grain, int] = MappingProxyType(
    {Grain.HOUR: 24, Grain.DAY: 7, Grain.WEEK: 52, Grain.MONTH: 12}
)
"""Season length in periods: a day of hours, a week of days, a year of weeks or months."""

BASELINES: Mapping[str, str] = MappingProxyType(
    {
        "zero": "0 for every row: forecasting nothing (a baseline only where an absent period means 0)",
        "seasonal_naive": "the target one season before the target period (a day of hours, a week of days, "
        "a year of weeks or months), or whole seasons further back so that it is known at the feature "
        "period; the moving average where that period is outside the history",
        "moving_average": "the entity's mean target over the last activity-window periods up to the "
        "feature period",
        **CLASSICAL,
    }
)
"""Baseline name -> what it predicts; the names prefix the baselines' metrics (``seasonal_naive_wape``).
The classical ones (:mod:`fti.analysis.classical`) fall back to the moving average where they cannot
forecast (too short a history), like the seasonal naive."""


@dataclass(frozen=True)
class History:
    """The target on a dense entity x period grid (NaN where unknown)."""

    entities: pd.Index
    first: int
    values: np.ndarray

    def at(self, entity_codes: np.ndarray, periods: np.ndarray) -> np.ndarray:
        """Values at (entity, period); NaN outside the grid or for unknown entities."""
        offset = periods - self.first
        inside = (entity_codes >= 0) & (offset >= 0) & (offset < self.values.shape[1])
        out = np.full(len(periods), np.nan)
        out[inside] = self.values[entity_codes[inside], offset[inside]]
        return out


def history(actuals: pd.DataFrame, spec: DatasetSpec) -> History:
    """The dense grid of ``actuals``: 0 for absent periods with ``absent: zero``, NaN otherwise.

    Raises:
        ValueError: ``actuals`` repeats an entity and period (which value would be the truth?).
    """
    import pandas as pd

    index = spec.calendar.index(actuals["period"].to_numpy(dtype="datetime64[us]"))
    entities = pd.Index(pd.unique(actuals["entity"]))
    if len(index) == 0:
        return History(entities, 0, np.zeros((0, 0)))
    first = int(index.min())
    fill = 0.0 if spec.target.absent == "zero" else np.nan
    values = np.full((len(entities), int(index.max()) - first + 1), fill)
    codes = entities.get_indexer(actuals["entity"])
    if not pd.Index(codes * values.shape[1] + (index - first)).is_unique:
        raise ValueError("the target's history must hold at most one row per entity and period")
    values[codes, index - first] = actuals[spec.target.name].to_numpy("float64")
    return History(entities, first, values)


def naive_season(past: History, last: int, season: int) -> int:
    """The season MASE is scaled by: the grain's ``season`` when the history up to period index
    ``last`` is longer than one season, else 1 (the previous period's naive forecast, as the M4
    competition scales series too short for their season), so a training window shorter than a
    year of weeks still gets a scale-free error. Reported with the analysis (``mase_season``)."""
    return season if last - past.first + 1 > season else 1


def naive_scale(past: History, last: int, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast (``y[t] - y[t - season]``) over every entity's history
    up to period index ``last`` (the training window's end): the scale of MASE, pooled over entities so
    that a flat series does not divide by zero. NaN when no pair of values is known."""
    values = past.values[:, : max(0, last - past.first + 1)]
    if values.shape[1] <= season:
        return float("nan")
    with np.errstate(invalid="ignore"):
        diffs = np.abs(values[:, season:] - values[:, :-season])
    known = ~np.isnan(diffs)
    return float(diffs[known].mean()) if known.any() else float("nan")


def moving_average(rows: pd.DataFrame, past: History, spec: DatasetSpec) -> np.ndarray:
    """Mean target over the activity window ending at each row's feature period (NaN-aware)."""
    window = spec.features.activity_window
    codes = past.entities.get_indexer(rows["entity"])
    feature = spec.calendar.index(rows["period"].to_numpy(dtype="datetime64[us]"))
    stacked = np.vstack([past.at(codes, feature - k) for k in range(window)])
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(stacked), axis=0)
        sums = np.nansum(stacked, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def seasonal_naive(rows: pd.DataFrame, past: History, spec: DatasetSpec, average: np.ndarray) -> np.ndarray:
    """The target ``k`` seasons before the target period, ``k`` the fewest whole seasons that land on or
    before the feature period; ``average`` (the moving average) where that value is unknown."""
    season = SEASON[spec.time.grain]
    codes = past.entities.get_indexer(rows["entity"])
    cal = spec.calendar
    feature = cal.index(rows["period"].to_numpy(dtype="datetime64[us]"))
    target = cal.index(rows["target_period"].to_numpy(dtype="datetime64[us]"))
    seasons = np.maximum(1, -(-(target - feature) // season))  # ceil, at least one season
    found = past.at(codes, target - seasons * season)
    return np.where(np.isnan(found), average, found)


def classical_names(spec: DatasetSpec) -> tuple[str, ...]:
    """The spec's classical baselines (``model.baselines``); by default the intermittent-demand methods
    where an absent period means 0, AutoETS where it means unknown (measurements)."""
    if spec.model.baselines is not None:
        return tuple(spec.model.baselines)
    return INTERMITTENT if spec.target.absent == "zero" else ("autoets",)


def baseline_names(spec: DatasetSpec) -> list[str]:
    """The baselines of a data set: ``zero`` too where an absent period means 0 (counts, sales), then
    seasonal naive, moving average and :func:`classical_names`."""
    names = ["seasonal_naive", "moving_average", *classical_names(spec)]
    return ["zero", *names] if spec.target.absent == "zero" else names


def baseline_forecasts(
    rows: pd.DataFrame, actuals: pd.DataFrame, spec: DatasetSpec, past: History | None = None
) -> dict[str, np.ndarray]:
    """Every baseline of :func:`baseline_names` for ``rows`` (expanded rows with ``target_period``);
    ``past`` is :func:`history` of ``actuals`` when the caller already built it."""
    past = past if past is not None else history(actuals, spec)
    average = moving_average(rows, past, spec)
    found = {"seasonal_naive": seasonal_naive(rows, past, spec, average), "moving_average": average}
    if spec.target.absent == "zero":
        found = {"zero": np.zeros(len(rows)), **found}
    names = classical_names(spec)
    if names:
        cal = spec.calendar
        origins = cal.index(rows["period"].to_numpy(dtype="datetime64[us]"))
        steps = cal.index(rows["target_period"].to_numpy(dtype="datetime64[us]")) - origins
        codes = past.entities.get_indexer(rows["entity"])
        classical, missing = classical_forecasts(names, codes, origins, steps, past, SEASON[spec.time.grain])
        for name, values in classical.items():
            if missing[name]:
                log.info("baseline %s: %d of %d rows from the moving average", name, missing[name], len(rows))
            found[name] = np.where(np.isnan(values), average, values)
    return found
