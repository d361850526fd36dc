"""Bounded search of XGBoost hyper-parameters with Optuna, scored by the spec's primary metric on
time-ordered folds of periods.

Optuna's TPE sampler (seeded) proposes each trial from :data:`SEARCH_SPACE`; a trial reports its mean
error after each fold and the median pruner stops it early when it is already worse than the median
of the earlier trials at that fold. Bounded twice, so a scheduled retrain always ends: at most
``budget.trials`` trials, and no new trial starts once ``budget.minutes`` have passed (a trial
already running is allowed to finish, so the wall time can exceed the budget by one trial). The first
trial is always :data:`~fti.training.model.DEFAULT_PARAMS`, so tuning never returns anything worse
on the folds.
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
    import optuna
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
    """Outcome of :func:`tune`; ``trials`` holds params, per-fold error (``fold_wape``, in the spec's
    metric), mean, seconds and state (``complete`` or ``pruned``) of each, in the order they ran."""

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
    import optuna

    started = time.monotonic()
    rows = sample_entities(train_rows, max_rows, seed)
    periods = spec.calendar.index(rows["period"].to_numpy(dtype="datetime64[us]"))
    folds = period_folds(sorted(set(periods.tolist())), n_splits, gap=int(rows["horizon"].max()))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    )
    study.enqueue_trial({k: DEFAULT_PARAMS[k] for k in SEARCH_SPACE if k in DEFAULT_PARAMS})
    trials: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        chosen = {k: trial.suggest_categorical(k, choices) for k, choices in SEARCH_SPACE.items()}
        found = run_trial(spec, rows, periods, label, {**DEFAULT_PARAMS, **chosen}, folds, seed, trial)
        trials.append(found)
        if found["state"] == "pruned":
            raise optuna.TrialPruned()
        return float(found["mean_wape"])

    study.optimize(objective, n_trials=1)  # the defaults, whatever the time budget
    left = budget.minutes * 60 - (time.monotonic() - started)
    if budget.trials > 1 and left > 0:
        study.optimize(objective, n_trials=budget.trials - 1, timeout=left)
    stopped_by: Literal["trials", "minutes"] = "trials" if len(trials) >= budget.trials else "minutes"
    best = min((t for t in trials if t["state"] == "complete"), key=lambda trial: trial["mean_wape"])
    return TuningResult(best["params"], best["mean_wape"], trials, time.monotonic() - started, stopped_by)


def run_trial(
    spec: DatasetSpec,
    rows: pd.DataFrame,
    periods: np.ndarray,
    label: str,
    params: dict[str, Any],
    folds: list[Fold],
    seed: int,
    trial: optuna.Trial | None = None,
) -> dict[str, Any]:
    """Fit ``params`` on each fold's training periods and score the spec's metric on its validation
    periods; with an Optuna ``trial``, report the running mean after each fold and stop when pruned."""
    started = time.monotonic()
    wapes: list[float] = []
    state = "complete"
    for step, (train_periods, validation_periods) in enumerate(folds):
        train = rows[np.isin(periods, train_periods)]
        validation = rows[np.isin(periods, validation_periods)]
        predicted = fit(spec, train, label, params, seed).predict(validation[model_inputs(spec)])
        wapes.append(regression_metrics(validation[label].to_numpy(), predicted)[spec.model.metric])
        if trial is not None and step < len(folds) - 1:
            trial.report(float(np.mean(wapes)), step)
            if trial.should_prune():
                state = "pruned"
                break
    return {
        "params": params,
        "fold_wape": wapes,
        "mean_wape": float(np.mean(wapes)),
        "seconds": time.monotonic() - started,
        "state": state,
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
