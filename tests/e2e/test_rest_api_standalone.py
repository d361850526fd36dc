"""A user's day over REST API v2: the three pipelines run in ``airflow standalone``, then a lookup over HTTP.

Real parts only: ``airflow standalone`` (scheduler, dag-processor, api-server, triggerer; SQLite,
LocalExecutor) in a home of its own on a free port, a throwaway redis-server, the real slice of
Online Retail II, and ``fti serve`` as a separate process reading the Redis the DAGs published to.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.harness.dag_runs import run_pipelines
from tests.harness.services import LOOPBACK, free_port, log_tail
from tests.harness.standalone import AirflowStandalone, land_demo_slice

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 600  # per DAG run, on 2 cores
PIPELINE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("feature_pipeline__online_retail", {}),
    ("training_pipeline__online_retail", {"window": 60}),  # the slice holds 122 days
    ("batch_inference__online_retail", {}),
)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStandalone]:
    standalone = AirflowStandalone(tmp_path_factory.mktemp("standalone-rest"))
    land_demo_slice(standalone.raw_dir)
    with standalone:
        standalone.wait_for_dags(*(dag_id for dag_id, _ in PIPELINE))
        yield standalone


@pytest.fixture(scope="module")
def runs(airflow: AirflowStandalone) -> dict[str, str]:
    """Each DAG unpaused, triggered and run to success in order; the manual run ids by DAG. On this
    small slice the model does not beat forecasting 0, so the gate keeps it out; the operator makes
    it champion on purpose (:func:`~tests.harness.dag_runs.make_champion`)."""
    return run_pipelines(airflow, "online_retail", PIPELINE, timeout=RUN_TIMEOUT_S)


@pytest.fixture(scope="module")
def lookup_service(airflow: AirflowStandalone, runs: dict[str, str]) -> Iterator[httpx.Client]:
    """``fti serve`` on a free port over the Redis the DAGs published to; an HTTP client of it."""
    port = free_port()
    log = airflow.home / "fti-serve.log"
    args = ["fti", "serve", "--host", LOOPBACK, "--port", str(port), "--redis-url", airflow.redis.url]
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=airflow.env, stdout=out, stderr=subprocess.STDOUT, cwd=airflow.home)
    client = httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=10)
    try:
        _wait_until_answers(client, proc, log)
        yield client
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_answers(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"fti serve exited with {proc.returncode}:\n{log_tail(log)}"
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"fti serve did not answer within 60 s:\n{log_tail(log)}")


def _champion_version(airflow: AirflowStandalone) -> str:
    from fti.registry import mlflow_registry as registry
    from fti.settings import Settings

    settings = Settings(var_dir=airflow.home / "var")
    assert settings.mlflow_tracking_uri
    client = registry.configure(settings.mlflow_tracking_uri)
    return str(
        registry.resolve_alias(client, settings.model_name("online_retail"), registry.CHAMPION).version
    )


def test_the_three_dags_triggered_over_the_rest_api_succeed_as_manual_runs(
    airflow: AirflowStandalone, runs: dict[str, str]
) -> None:
    for dag_id, run_id in runs.items():
        run = airflow.api.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
        assert (run["run_type"], run["state"]) == ("manual", "success"), dag_id


def test_the_gate_keeps_a_model_worse_than_zero_out_and_a_forced_rollback_puts_it_in(
    airflow: AirflowStandalone, runs: dict[str, str]
) -> None:
    dag_id = "training_pipeline__online_retail"
    verdict = airflow.api.xcom(dag_id, runs[dag_id], "promote")
    assert not verdict["promoted"] and verdict["rule"] == "baseline", verdict
    assert any("does not beat the best baseline zero" in reason for reason in verdict["reasons"]), verdict
    assert verdict["version"] == _champion_version(airflow)  # made champion by the operator


def test_lookup_service_serves_the_champions_prediction_of_the_published_run(
    airflow: AirflowStandalone, runs: dict[str, str], lookup_service: httpx.Client
) -> None:
    dag_id = "batch_inference__online_retail"
    published = airflow.api.xcom(dag_id, runs[dag_id], "publish")
    live = lookup_service.get("/online_retail/live").json()
    assert live["run"] == published["run"]
    entity, expected = _a_prediction_of_the_champion(airflow, live["first_period"])

    response = lookup_service.get(
        f"/online_retail/predictions/{quote(entity, safe='')}/{live['first_period']}"
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["entity"], body["period"], body["run"]) == (entity, live["first_period"], published["run"])
    assert body["prediction"] == pytest.approx(expected, rel=1e-6, abs=1e-6)  # stored as float32
    assert body["model_version"] == published["model_version"] == _champion_version(airflow)
    listed = lookup_service.get("/datasets").json()
    assert {"dataset": "online_retail", "grain": "day", "horizon": 7, "live_run": published["run"]} in listed


def test_lookup_service_answers_404_with_the_reason_for_an_unknown_entity(
    runs: dict[str, str], lookup_service: httpx.Client
) -> None:
    live = lookup_service.get("/online_retail/live").json()
    entity = "Atlantis|NO-SUCH-ITEM"

    response = lookup_service.get(
        f"/online_retail/predictions/{quote(entity, safe='')}/{live['first_period']}"
    )

    assert response.status_code == 404, response.text
    detail = response.json()["detail"]
    assert entity in detail and "is not in live run" in detail, detail


def _a_prediction_of_the_champion(airflow: AirflowStandalone, first_period: str) -> tuple[str, float]:
    """An entity of the last feature day and the champion's forecast of it for ``first_period``,
    computed here from the stored features (not read from Redis)."""
    from fti.features.model_inputs import expand_horizons
    from fti.features.schema import model_inputs
    from fti.registry import mlflow_registry as registry
    from fti.resources import Resources
    from fti.settings import PROJECT_ROOT, Settings
    from fti.specs import load_dataset

    spec = load_dataset(PROJECT_ROOT / "specs", "online_retail")
    resources = Resources(Settings(var_dir=airflow.home / "var"))
    last = resources.store.committed_days(spec.feature_set)[-1]
    rows = resources.store.read(spec.feature_set, last, last).sort_values("entity").head(1)
    inputs = expand_horizons(rows, spec).iloc[[0]]
    assert spec.calendar.format(inputs["target_period"].iloc[0]) == first_period
    champion = registry.resolve_alias(resources.registry, resources.model_name(spec), registry.CHAMPION)
    return str(rows["entity"].iloc[0]), float(
        registry.load_model(champion).predict(inputs[model_inputs(spec)])[0]
    )
