"""Bounded random search of XGBoost hyper-parameters, scored by WAPE on time-ordered folds of periods.

Bounded twice, so a scheduled retrain always ends: at most ``budget.trials`` trials, and no new
trial starts once ``budget.minutes`` have passed (a trial already running is allowed to finish, so
the wall time can exceed the budget by one trial). The first trial is always
:data:`~fti.training.model.DEFAULT_PARAMS`, so tuning never returns anything worse on the folds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fti.analysis.metrics import regression_metrics
from fti.features.schema import model_inputs
from fti.training.model import DEFAULT_PARAMS, fit

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec

#: Choices per tuned parameter, around :data:`DEFAULT_PARAMS`: shallower/deeper and slower/faster
#: trees, more regularisation (larger leaves, L2, row/column sampling) for the noisy, intermittent
#: demand. Discrete choices keep every trial readable and reproducible.
SEARCH_SPACE: dict[str, tuple[Any, ...]] = {
    "max_depth": (4, 6, 8),
    "learning_rate": (0.05, 0.1, 0.2),
    "n_estimators": (100, 200, 300),
    "min_child_weight": (1.0, 5.0, 20.0),
    "subsample": (0.7, 0.9, 1.0),
    "colsample_bytree": (0.7, 0.9, 1.0),
    "reg_lambda": (0.1, 1.0, 10.0),
}
#: Cross-validation fits on at most this many rows (a seeded sample of whole entities, ~15% of the
#: 2.6 M training rows of the 90-day full-history snapshot). Measured there on 2 cores shared with
#: other jobs: the default budget ran its 12 trials in 6 minutes (7-123 s a trial); with 600 k rows
#: it hit the 8-minute limit after 10 trials and ended at 9 minutes, too close to 10.
MAX_CV_ROWS = 400_000
#: One cross-validation fold: its training periods and its validation periods (period numbers).
Fold = tuple[list[int], list[int]]


@dataclass(frozen=True)
class TuningBudget:
    """How much tuning a training run may do: whichever limit is reached first stops it."""

    trials: int = 12
    minutes: float = 8.0

    def __post_init__(self) -> None:
        if self.trials < 1 or not self.minutes > 0:
            raise ValueError(f"a tuning budget needs trials >= 1 and minutes > 0, got {self}")


@dataclass(frozen=True)
class TuningResult:
    """Outcome of :func:`tune`; ``trials`` holds params, per-fold WAPE, mean and seconds of each."""

    best_params: dict[str, Any]
    best_wape: float
    trials: list[dict[str, Any]] = field(repr=False)
    elapsed_s: float
    stopped_by: Literal["trials", "minutes"]


def tune(
    spec: DatasetSpec,
    train_rows: pd.DataFrame,
    label: str,
    budget: TuningBudget,
    n_splits: int = 3,
    seed: int = 42,
    max_rows: int = MAX_CV_ROWS,
) -> TuningResult:
    """Random search within ``budget``; the best trial has the lowest mean WAPE over the folds.

    Args:
        spec: the data set (its model inputs, objective and calendar).
        train_rows: labelled model-input rows with ``period`` (feature period) and ``horizon`` columns.
        label: the label column.
        budget: maximum trials and minutes.
        n_splits: time-ordered folds over the distinct feature days.
        seed: makes the sampled entities, the trial parameters and the fits reproducible.
        max_rows: rows beyond this are sub-sampled by entity before cross-validation.
    """
    started = time.monotonic()
    rows = sample_entities(train_rows, max_rows, seed)
    periods = spec.calendar.index(rows["period"].to_numpy(dtype="datetime64[us]"))
    folds = period_folds(sorted(set(periods.tolist())), n_splits, gap=int(rows["horizon"].max()))
    candidates = [dict(DEFAULT_PARAMS), *sample_params(budget.trials - 1, seed)]
    trials: list[dict[str, Any]] = []
    stopped_by: Literal["trials", "minutes"] = "trials"
    for params in candidates:
        if trials and time.monotonic() - started >= budget.minutes * 60:
            stopped_by = "minutes"
            break
        trials.append(run_trial(spec, rows, periods, label, params, folds, seed))
    best = min(trials, key=lambda trial: trial["mean_wape"])
    return TuningResult(best["params"], best["mean_wape"], trials, time.monotonic() - started, stopped_by)


def run_trial(
    spec: DatasetSpec,
    rows: pd.DataFrame,
    periods: np.ndarray,
    label: str,
    params: dict[str, Any],
    folds: list[Fold],
    seed: int,
) -> dict[str, Any]:
    """Fit ``params`` on each fold's training periods and score WAPE on its validation periods."""
    started = time.monotonic()
    wapes = []
    for train_periods, validation_periods in folds:
        train = rows[np.isin(periods, train_periods)]
        validation = rows[np.isin(periods, validation_periods)]
        predicted = fit(spec, train, label, params, seed).predict(validation[model_inputs(spec)])
        wapes.append(regression_metrics(validation[label].to_numpy(), predicted)[spec.model.metric])
    return {
        "params": params,
        "fold_wape": wapes,
        "mean_wape": float(np.mean(wapes)),
        "seconds": time.monotonic() - started,
    }


def period_folds(periods: list[int], n_splits: int, gap: int) -> list[Fold]:
    """Expanding-window folds over whole periods: (training periods, validation periods), oldest first.

    ``gap`` periods are left out between them, so no training label (``horizon`` periods after its
    feature period) falls on a validation period.
    """
    from sklearn.model_selection import TimeSeriesSplit

    ordered = np.asarray(periods, dtype="int64")
    splitter = TimeSeriesSplit(n_splits=n_splits, gap=gap)
    return [(ordered[train].tolist(), ordered[test].tolist()) for train, test in splitter.split(ordered)]


def sample_params(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` parameter sets: :data:`DEFAULT_PARAMS` with each tuned key drawn from :data:`SEARCH_SPACE`."""
    rng = np.random.default_rng(seed)
    return [
        {**DEFAULT_PARAMS, **{k: choices[rng.integers(len(choices))] for k, choices in SEARCH_SPACE.items()}}
        for _ in range(max(n, 0))
    ]


def sample_entities(rows: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """All rows of a seeded random subset of entities, about ``max_rows`` of them (all if fewer).

    Whole entities, not random rows, so each kept series keeps every day and horizon.
    """
    if len(rows) <= max_rows:
        return rows
    entities = np.sort(rows["entity"].unique())
    keep = int(np.ceil(len(entities) * max_rows / len(rows)))
    chosen = np.random.default_rng(seed).choice(entities, size=keep, replace=False)
    return rows[rows["entity"].isin(chosen)]
