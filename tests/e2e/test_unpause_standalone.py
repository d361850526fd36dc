"""Unpausing the three DAGs of a fresh setup in ``airflow standalone``, its scheduler creating runs:
each DAG starts one scheduled run at once, which ends as skipped in its first task (not failed, on
its first try: no retry), says why in that task's log and writes nothing, so a manual run waits
behind it only as long as one task takes to start.

Real parts only: ``airflow standalone`` with ``USE_JOB_SCHEDULE`` on, a throwaway Redis, the real
slice of Online Retail II landed (it ends in 2011, so the interval that just ended has no file), an
empty feature store and an empty MLflow registry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from fti.airflow_rest import FINISHED
from tests.harness.standalone import AirflowStandalone, land_demo_slice

pytestmark = pytest.mark.e2e

DATASET = "online_retail"
# Unpaused in this order, each DAG's scheduled run skips in its first task, for this reason.
SKIPS = (
    (f"training_pipeline__{DATASET}", "check_inputs", "no feature partition is committed yet"),
    (f"batch_inference__{DATASET}", "resolve_champion", "no model has the alias 'champion' yet"),
    (f"feature_pipeline__{DATASET}", "plan_partitions", "its raw data has not landed"),
)
RUN_TIMEOUT_S = 600  # a skipped run does no work, but its task process starts slowly on a busy 2-core machine
POLL_S = 5


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStandalone]:
    standalone = AirflowStandalone(tmp_path_factory.mktemp("standalone-unpause"), scheduled_runs=True)
    land_demo_slice(standalone.raw_dir)
    with standalone:
        standalone.wait_for_dags(*(dag_id for dag_id, _, _ in SKIPS))
        yield standalone


def scheduled_run(airflow: AirflowStandalone, dag_id: str) -> dict[str, Any]:
    """The DAG's first scheduled run, once it has finished (a second one starts if a schedule time
    passes meanwhile, e.g. midnight for the daily feature runs)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            found = airflow.api.get(f"/dags/{dag_id}/dagRuns")["dag_runs"]
        except httpx.TimeoutException:  # the api-server shares 2 busy cores with the scheduler: ask again
            found = []
        runs = sorted((r for r in found if r["run_type"] == "scheduled"), key=lambda r: r["logical_date"])
        if runs and runs[0]["state"] in FINISHED:
            return dict(runs[0])
        time.sleep(POLL_S)
    raise AssertionError(f"no finished scheduled run of {dag_id} within {RUN_TIMEOUT_S} s")


@pytest.mark.parametrize(("dag_id", "first", "why"), SKIPS, ids=[d for d, _, _ in SKIPS])
def test_unpausing_on_a_fresh_setup_starts_a_scheduled_run_that_skips_on_its_first_try_and_says_why(
    airflow: AirflowStandalone, dag_id: str, first: str, why: str
) -> None:
    airflow.api.unpause(dag_id)
    run = scheduled_run(airflow, dag_id)
    tasks = airflow.api.task_instances(dag_id, run["dag_run_id"])
    states = {t["task_id"]: (t["state"], t["try_number"]) for t in tasks}
    (head,) = [t for t in tasks if t["task_id"] == first]
    log = "\n".join(airflow.api.task_log(dag_id, run["dag_run_id"], head))
    span = datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])

    assert run["state"] == "success", airflow.api.describe_run(dag_id, run["dag_run_id"])
    first_try = {**head, "try_number": 1}
    assert states[first] == ("skipped", 1), (
        states,
        airflow.api.task_log(dag_id, run["dag_run_id"], first_try),
    )
    assert {state for state, _ in states.values()} == {"skipped"}, states
    assert why in log, log
    print(f"{dag_id}: scheduled run {run['dag_run_id']} skipped, {span.total_seconds():.0f} s start to end")


def test_the_skipped_scheduled_runs_wrote_nothing(airflow: AirflowStandalone) -> None:
    from fti.settings import Settings
    from fti.store import FeatureStore

    for dag_id, _, _ in SKIPS:  # every scheduled run has finished (run first, or wait for them here)
        scheduled_run(airflow, dag_id)
    settings = Settings(var_dir=airflow.home / "var")
    assert settings.store_uri and settings.catalog_url
    store = FeatureStore(settings.store_uri, settings.catalog_url)
    assert store.partitions(DATASET) == [] and store.validations(DATASET) == []
