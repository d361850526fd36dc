"""Closing the loop in ``airflow standalone``: actuals landing after a published batch are scored by
feature_pipeline, a failing decay verdict updates the retraining Asset, and the scheduler starts
training_pipeline from it: exactly one asset-triggered run, which answers the request.

Real parts only: ``airflow standalone`` with its scheduler creating runs (Asset-triggered runs are
created by the scheduler's scheduling loop), a throwaway Redis, a real store and MLflow registry. The
starting state is made here with the pipelines' own functions (store_sales weeks 1-120 committed, a
champion trained and promoted, a batch published from week 120); then weeks 121-124 land and the DAGs
take over. The decay thresholds are set so that any realized error fails: this test drives the
Airflow wiring; ``tests/integration/inference/test_decay_and_retraining.py`` shows a degraded
champion failing the default thresholds.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.harness.standalone import AirflowStandalone

pytestmark = pytest.mark.e2e

DATASET = "store_sales"
FEATURES, TRAINING = f"feature_pipeline__{DATASET}", f"training_pipeline__{DATASET}"
RUN_TIMEOUT_S = 600
DECAY = {"FTI_DECAY_WARN": "0.001", "FTI_DECAY_FAIL": "0.002"}


def set_the_stage(home: Path, redis_url: str) -> str:
    """Weeks 1-120 committed, a champion, a batch published from week 120; weeks 121-124 landed last.
    Returns the published run."""
    from fti.contracts import TrainingRequest
    from fti.data.generate import StoreSales, generate
    from fti.pipelines import champion, gate, inference, training
    from fti.resources import Resources
    from fti.settings import PROJECT_ROOT, Settings
    from fti.specs import load_dataset
    from tests.integration.conftest import commit_pending

    spec = load_dataset(PROJECT_ROOT / "specs", DATASET)
    resources = Resources(Settings(var_dir=home / "var"), redis_url)
    raw = resources.settings.raw_dir
    assert raw is not None
    shape = {"n_stores": 3, "n_products": 20, "future_weeks": 4, "seed": 7}
    generate(spec, raw, StoreSales(weeks=120, **shape))  # type: ignore[arg-type]
    commit_pending(resources, spec)
    request = TrainingRequest(dataset=DATASET, as_of=datetime(2030, 1, 1), window=spec.model.training_window)
    trained = training.train_and_register(
        resources, spec, request, params={"n_estimators": 60, "max_depth": 4}
    )
    assert gate.promote(resources, spec, trained.version).promoted, "the stage needs a champion"
    pinned = champion.resolve_champion(resources, spec)
    checked = inference.check_inputs(resources, spec, pinned, "manual__stage")
    chunks = inference.plan_run(resources, spec, pinned, checked, "manual__stage")
    written = [inference.predict_chunk(resources, spec, pinned, c) for c in chunks]
    published = inference.publish(resources, spec, pinned, checked, chunks, written, "manual__stage")
    later = home / "later"  # the same shop four weeks on: its weeks 121-124 land now
    for path in generate(spec, later, StoreSales(weeks=124, **shape))[120:124]:  # type: ignore[arg-type]
        target = raw / path.relative_to(later)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return published.run


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowStandalone, str]]:
    standalone = AirflowStandalone(tmp_path_factory.mktemp("standalone-decay"), DECAY, scheduled_runs=True)
    with standalone:
        published = set_the_stage(standalone.home, standalone.redis.url)
        standalone.wait_for_dags(FEATURES, TRAINING)
        yield standalone, published


def runs_of(airflow: AirflowStandalone, dag_id: str) -> list[dict[str, Any]]:
    return list(airflow.api.get(f"/dags/{dag_id}/dagRuns")["dag_runs"])


def test_a_failing_decay_verdict_triggers_exactly_one_training_through_the_asset(
    airflow: tuple[AirflowStandalone, str],
) -> None:
    from fti.settings import Settings
    from fti.store import FeatureStore

    standalone, published = airflow
    api = standalone.api
    api.unpause(TRAINING)
    api.unpause(FEATURES)  # its scheduled run of this week skips at once: no raw data of 2026
    run_id = api.trigger(FEATURES)
    api.wait_for_run(FEATURES, run_id, timeout=RUN_TIMEOUT_S)

    loop = api.xcom(FEATURES, run_id, "score_predictions")
    states = {t["task_id"]: t["state"] for t in api.task_instances(FEATURES, run_id)}
    deadline = time.monotonic() + RUN_TIMEOUT_S
    triggered: list[dict[str, Any]] = []
    while not triggered and time.monotonic() < deadline:
        triggered = [r for r in runs_of(standalone, TRAINING) if r["run_type"] == "asset_triggered"]
        time.sleep(3)
    assert triggered, f"no asset-triggered training run; runs: {runs_of(standalone, TRAINING)}"
    api.wait_for_run(TRAINING, triggered[0]["dag_run_id"], timeout=RUN_TIMEOUT_S)

    assert loop["scored"] == [published] and loop["decay"] == "fail" and loop["request_id"] == 1, loop
    assert states["request_retraining"] == "success", states
    after = [r for r in runs_of(standalone, TRAINING) if r["run_type"] == "asset_triggered"]
    assert len(after) == 1, after
    settings = Settings(var_dir=standalone.home / "var")
    assert settings.store_uri and settings.catalog_url
    store = FeatureStore(settings.store_uri, settings.catalog_url)
    (request,) = store.retrain_requests(DATASET)
    assert request.consumed_by is not None and request.consumed_by.startswith(
        ("asset_triggered", "scheduled")
    )
    assert store.retrain_requests(DATASET, pending_only=True) == []
    (record,) = store.realized(DATASET)
    assert (record.run, record.periods, record.horizon) == (published, 4, 4)
