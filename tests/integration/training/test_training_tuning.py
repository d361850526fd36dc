"""Tuning inside the training task: Optuna's trials become nested MLflow runs of the training run."""

from __future__ import annotations

from datetime import datetime

import pytest

from fti.contracts import TrainingRequest
from fti.pipelines.training import train_and_register
from fti.resources import Resources
from fti.specs import DatasetSpec
from fti.training import tuning
from fti.training.model import DEFAULT_PARAMS

pytestmark = pytest.mark.integration

SMALL = {**DEFAULT_PARAMS, "n_estimators": 20, "max_depth": 3}


def test_every_tuning_trial_is_a_child_run_with_its_parameters_and_cv_error(
    resources: Resources, sales: DatasetSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tuning, "DEFAULT_PARAMS", SMALL)
    monkeypatch.setattr(tuning, "SEARCH_SPACE", {"n_estimators": (10, 20, 40), "max_depth": (2, 3)})
    settings = resources.settings.model_copy(update={"tune_trials": 4, "tune_minutes": 10.0})
    tuned = Resources(settings)
    request = {"dataset": sales.name, "as_of": datetime(2030, 1, 1), "window": 52, "tune": True}

    trained = train_and_register(tuned, sales, TrainingRequest.model_validate(request))

    client = tuned.registry
    parent = client.get_run(trained.run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{trained.run_id}'", order_by=["start_time"]
    )
    assert sorted(c.info.run_name for c in children) == [f"trial-{i}" for i in range(4)]
    metric = f"cv_{sales.model.metric}"
    for child in children:
        assert {"n_estimators", "max_depth"} <= set(child.data.params)
        assert metric in child.data.metrics and child.data.tags["state"] in ("complete", "pruned")
    first = next(c for c in children if c.info.run_name == "trial-0")
    assert (first.data.params["n_estimators"], first.data.params["max_depth"]) == ("20", "3")  # defaults
    best = [c for c in children if c.data.tags["best"] == "true"]
    assert len(best) >= 1
    assert parent.data.metrics["tune_cv_wape"] == pytest.approx(min(c.data.metrics[metric] for c in best))
    assert parent.data.metrics["tune_trials"] == 4
