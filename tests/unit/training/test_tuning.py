"""Tests of bounded tuning: budgets respected, defaults tried first, folds honest in time, reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fti.features.model_inputs import LABEL
from fti.features.schema import numeric_inputs
from fti.training import tuning
from fti.training.model import DEFAULT_PARAMS
from fti.training.tuning import TuningBudget, period_folds, sample_entities, tune
from tests.unit.training.model_rows import ONLINE_RETAIL

SPEC = ONLINE_RETAIL
FIRST_DAY = np.datetime64("2024-01-01", "D")
HORIZON = 2


def labelled_rows(n_entities: int = 12, n_days: int = 24, seed: int = 0) -> pd.DataFrame:
    """Model rows of ``n_entities`` x ``n_days`` feature days x ``HORIZON`` horizons; label tracks lag_7."""
    rng = np.random.default_rng(seed)
    keys = pd.MultiIndex.from_product(
        [range(n_entities), (FIRST_DAY + np.arange(n_days)).astype("datetime64[us]"), range(1, HORIZON + 1)],
        names=["e", "period", "horizon"],
    ).to_frame(index=False)
    frame = pd.DataFrame({c: rng.integers(0, 20, len(keys)).astype("float64") for c in numeric_inputs(SPEC)})
    frame["horizon"] = keys["horizon"].astype("float64")
    frame.insert(0, "country", np.where(keys["e"] % 2 == 0, "France", "Germany"))
    frame.insert(0, "period", keys["period"])
    frame.insert(0, "entity", "c|" + keys["e"].astype(str))
    frame[LABEL] = frame["lag_7"] + rng.integers(0, 3, len(frame))
    return frame


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return labelled_rows()


@pytest.fixture
def small_search(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Defaults and search space shrunk to a few small trees, so a trial takes a fraction of a second."""
    defaults = {**DEFAULT_PARAMS, "n_estimators": 10, "max_depth": 3}
    monkeypatch.setattr(tuning, "DEFAULT_PARAMS", defaults)
    monkeypatch.setattr(tuning, "SEARCH_SPACE", {"n_estimators": (5, 10, 15), "max_depth": (2, 3)})
    return defaults


@pytest.mark.usefixtures("small_search")
def test_tuning_runs_exactly_the_budgeted_number_of_trials(rows: pd.DataFrame) -> None:
    result = tune(SPEC, rows, LABEL, TuningBudget(trials=3, minutes=10))

    assert len(result.trials) == 3
    assert result.stopped_by == "trials"
    complete = [trial for trial in result.trials if trial["state"] == "complete"]
    assert complete and all(len(trial["fold_wape"]) == 3 for trial in complete)


def test_a_tiny_minutes_budget_stops_after_the_first_trial_which_is_the_defaults(rows: pd.DataFrame) -> None:
    result = tune(SPEC, rows, LABEL, TuningBudget(trials=10, minutes=1e-6))

    assert len(result.trials) == 1
    assert result.stopped_by == "minutes"
    assert result.trials[0]["params"] == DEFAULT_PARAMS
    assert result.best_params == DEFAULT_PARAMS


def test_first_trial_is_the_default_params_and_the_best_is_never_worse(
    rows: pd.DataFrame, small_search: dict[str, object]
) -> None:
    result = tune(SPEC, rows, LABEL, TuningBudget(trials=4, minutes=10))

    assert result.trials[0]["params"] == small_search
    complete = [trial for trial in result.trials if trial["state"] == "complete"]
    assert result.best_wape == min(trial["mean_wape"] for trial in complete)
    assert result.best_wape <= result.trials[0]["mean_wape"]


@pytest.mark.usefixtures("small_search")
def test_tuning_is_deterministic_for_a_seed(rows: pd.DataFrame) -> None:
    first = tune(SPEC, rows, LABEL, TuningBudget(trials=3, minutes=10), seed=7)
    second = tune(SPEC, rows, LABEL, TuningBudget(trials=3, minutes=10), seed=7)

    assert [t["params"] for t in first.trials] == [t["params"] for t in second.trials]
    assert [t["fold_wape"] for t in first.trials] == [t["fold_wape"] for t in second.trials]


def test_a_trial_already_worse_than_the_median_after_a_fold_is_pruned(
    rows: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tuning, "DEFAULT_PARAMS", {**DEFAULT_PARAMS, "n_estimators": 10, "max_depth": 3})
    # one tree barely moves from the base score: far worse than ten, and seen after the first fold
    monkeypatch.setattr(tuning, "SEARCH_SPACE", {"n_estimators": (1, 10), "max_depth": (3,)})

    result = tune(SPEC, rows, LABEL, TuningBudget(trials=12, minutes=10))

    pruned = [trial for trial in result.trials if trial["state"] == "pruned"]
    assert pruned, [(t["params"]["n_estimators"], t["state"]) for t in result.trials]
    assert all(len(t["fold_wape"]) < 3 and t["params"]["n_estimators"] == 1 for t in pruned)
    assert result.best_params["n_estimators"] == 10


def test_folds_train_only_on_periods_before_validation_with_a_horizon_gap() -> None:
    periods = list(range(19_000, 19_040))

    folds = period_folds(periods, n_splits=3, gap=7)

    assert len(folds) == 3
    for train, validation in folds:
        assert max(train) + 7 < min(validation)
        assert not set(train) & set(validation)
    assert folds[-1][1][-1] == periods[-1]


def test_sub_sampling_keeps_whole_entities_and_is_seeded(rows: pd.DataFrame) -> None:
    sample = sample_entities(rows, max_rows=len(rows) // 3, seed=1)

    per_entity = rows.groupby("entity").size()
    assert (sample.groupby("entity").size() == per_entity[sample["entity"].unique()]).all()
    assert sample["entity"].nunique() < rows["entity"].nunique()
    pd.testing.assert_frame_equal(sample, sample_entities(rows, max_rows=len(rows) // 3, seed=1))


def test_a_budget_without_trials_is_refused() -> None:
    with pytest.raises(ValueError, match="trials >= 1"):
        TuningBudget(trials=0)
