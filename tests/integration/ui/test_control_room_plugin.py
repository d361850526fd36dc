"""The plugin inside real Airflow: listed by `airflow plugins`, served by the API server behind its
login, and its task buttons computed from real XComs of real task instances.

Airflow runs in subprocesses with homes of their own (``AirflowProject``), as in the other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import redis

from fti.cache.predictions import begin_run, go_live, plan_run, write_chunk
from tests.harness.airflow import AirflowProject

pytestmark = pytest.mark.integration

DATASET = "online_retail"
PREFIX = f"fti:sandbox:{DATASET}"  # the data set's cache prefix under the default settings (FTI_ENV unset)

# The API server's own app (what `airflow api-server` serves), asked as a stranger, then logged in.
_API_SERVER = """
import json, os, sys
from pathlib import Path
from airflow.api_fastapi.main import app
from fastapi.testclient import TestClient

client = TestClient(app)
dataset, paths = sys.argv[1], sys.argv[2:]
anonymous = {path: client.get(path).status_code for path in paths}
passwords = Path(os.environ["AIRFLOW_HOME"], "simple_auth_manager_passwords.json.generated")
login = {"username": "admin", "password": json.loads(passwords.read_text())["admin"]}
token = client.post("/auth/token", json=login).json()["access_token"]
headers = {"Authorization": f"Bearer {token}"}
page = client.get("/fti/", params={"dataset": dataset}, headers=headers)
summary = client.get("/fti/api/summary", params={"dataset": dataset}, headers=headers).json()
print(json.dumps({"anonymous": anonymous, "page": [page.status_code, page.text], "summary": summary}))
"""

# The extra links of task instances, as the API server's /links route computes them.
_EXTRA_LINKS = """
import json, sys
from sqlalchemy import select
from airflow.api_fastapi.common.dagbag import create_dag_bag
from airflow.api_fastapi.core_api.routes.public.extra_links import get_extra_links
from airflow.models import DagRun
from airflow.utils.session import create_session

bag, found, runs = create_dag_bag(), {}, {}
with create_session() as session:
    for key in sys.argv[1:]:
        dag_id, task_id = key.split(".")
        run_id = runs[dag_id] = session.scalar(select(DagRun.run_id).where(DagRun.dag_id == dag_id))
        found[key] = get_extra_links(
            dag_id=dag_id, dag_run_id=run_id, task_id=task_id, session=session, dag_bag=bag
        ).extra_links
print(json.dumps({"links": found, "runs": runs}))
"""

# Stand-ins for the three generated pipelines of data sets: same DAG and task ids (<pipeline>__<data
# set>), returning what the real tasks return (a TrainedModel, a RawCheck, CheckedInputs) in part.
_PROBE_DAGS = """
import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2024, 1, 1, tz="UTC")
LINKS = {LINKS}


@dag(dag_id="training_pipeline__online_retail", schedule=None, start_date=START, catchup=False)
def training_pipeline():
    @task
    def train_and_register():
        return {{"name": "fti-online_retail-sandbox", "version": "3", "run_id": "abc", "links": LINKS,
                "lineage": {{"dataset": "online_retail", "validation_id": "f00d"}}}}

    @task
    def promote(model):
        return {{"promoted": True, "champion": model["version"]}}

    promote(train_and_register())


@dag(dag_id="feature_pipeline__car_parks", schedule=None, start_date=START, catchup=False)
def feature_pipeline():
    @task
    def validate_raw():
        return {{"dataset": "car_parks", "partitions": ["2016-12-19"], "validation_id": "0a1b2c"}}

    validate_raw()


@dag(dag_id="batch_inference__store_sales", schedule=None, start_date=START, catchup=False)
def batch_inference():
    @task
    def check_inputs():
        return {{"dataset": "store_sales", "feature_partition": "2024-03-04", "drift": {{"status": "ok"}}}}

    check_inputs()


training_pipeline()
feature_pipeline()
batch_inference()
"""
MLFLOW_LINKS = {
    "run": "http://mlflow.example/#/experiments/1/runs/abc",
    "plots": "http://mlflow.example/#/experiments/1/runs/abc/artifacts",
    "model_version": "http://mlflow.example/#/models/fti-online_retail-sandbox/versions/3",
}


def python(project: AirflowProject, script: str, *args: str) -> Any:
    """Run ``script`` in a fresh interpreter of ``project``; the JSON it prints last."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], env=project.env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def publish_live_run(client: redis.Redis, run: str) -> None:
    plan = plan_run(run, "2024-03-11", 7, 2)
    begin_run(client, PREFIX, plan, {"model_version": "3", "grain": "day", "dataset": DATASET}, ttl_s=3600)
    count = write_chunk(client, PREFIX, plan, "00000", ["UK|1", "UK|2"], np.ones((2, 7)), ttl_s=3600)
    go_live(client, PREFIX, plan, 1, count, {"drift_status": "ok"}, keep_runs=3, ttl_s=3600)


def test_airflow_lists_the_plugin_with_its_app_nav_entry_and_buttons(tmp_path: Path) -> None:
    project = AirflowProject(tmp_path)
    project.migrate()

    plugins = json.loads(project.airflow("plugins", "--output", "json").stdout)

    (fti,) = [p for p in plugins if p["name"] == "fti"]
    assert "'url_prefix': '/fti'" in str(fti["fastapi_apps"])
    assert "'name': 'FTI control room'" in str(fti["external_views"])
    assert "'url_route': 'fti-control-room'" in str(fti["external_views"])
    for link in ("MlflowRunLink", "MlflowModelVersionLink", "ValidationDocumentLink", "DriftReportLink"):
        assert link in str(fti["global_operator_extra_links"])


def test_api_server_serves_the_page_to_logged_in_users_with_redis_from_the_airflow_connection(
    tmp_path: Path, redis_client: redis.Redis, redis_url: str
) -> None:
    project = AirflowProject(tmp_path)
    project.migrate()
    host_port = redis_url.split("//")[1].split("/")[0]
    host, port = host_port.split(":")
    project.airflow(
        "connections", "add", "fti_redis_reader", "--conn-type", "redis", "--conn-host", host,
        "--conn-port", port, "--conn-extra", '{"db": 0}',
    )  # fmt: skip
    publish_live_run(redis_client, "20240310-v3-c0ffee00")

    paths = ["/fti/", f"/fti/?dataset={DATASET}", "/fti/api/summary", "/fti/validations/x", "/fti/icon.svg"]
    result = python(project, _API_SERVER, DATASET, *paths)

    assert result["anonymous"] == {
        "/fti/": 401,
        f"/fti/?dataset={DATASET}": 401,
        "/fti/api/summary": 401,
        "/fti/validations/x": 401,
        "/fti/icon.svg": 200,
    }
    status, html = result["page"]
    assert status == 200 and '<section id="live">' in html and "20240310-v3-c0ffee00" in html
    assert f"<b>{DATASET}</b>" in html and '<a href="?dataset=car_parks">' in html
    assert result["summary"]["dataset"] == DATASET
    assert result["summary"]["live"]["data"]["run"] == "20240310-v3-c0ffee00"  # via the DB connection
    assert result["summary"]["champion"]["available"] is False


def test_without_the_connection_the_api_server_reads_fti_redis_url(
    tmp_path: Path, redis_client: redis.Redis, redis_url: str
) -> None:
    project = AirflowProject(tmp_path, {"FTI_REDIS_URL": redis_url})
    project.migrate()
    publish_live_run(redis_client, "20240310-v3-feedbeef")

    result = python(project, _API_SERVER, DATASET)

    assert result["summary"]["live"]["data"]["run"] == "20240310-v3-feedbeef"


def test_task_buttons_come_from_the_real_xcoms_of_their_tasks_only(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe_pipelines.py").write_text(_PROBE_DAGS.format(LINKS=repr(MLFLOW_LINKS)))
    env = {"AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__API__BASE_URL": "http://airflow.example/"}
    project = AirflowProject(tmp_path / "home", env)
    project.migrate()
    for dag_id in (
        "training_pipeline__online_retail",
        "feature_pipeline__car_parks",
        "batch_inference__store_sales",
    ):
        project.test_dag(dag_id)

    tasks = [
        "training_pipeline__online_retail.train_and_register",
        "training_pipeline__online_retail.promote",
        "feature_pipeline__car_parks.validate_raw",
        "batch_inference__store_sales.check_inputs",
    ]
    answer = python(project, _EXTRA_LINKS, *tasks)
    found, inference_run = answer["links"], answer["runs"]["batch_inference__store_sales"]
    drift_report = f"http://airflow.example/fti/drift/{quote(inference_run, safe='')}?dataset=store_sales"

    none = {
        "Drift report": None,
        "MLflow model version": None,
        "MLflow run": None,
        "Validation document": None,
    }
    assert found == {
        "training_pipeline__online_retail.train_and_register": {
            **none,
            "MLflow run": MLFLOW_LINKS["run"],
            "MLflow model version": MLFLOW_LINKS["model_version"],
            "Validation document": "http://airflow.example/fti/validations/f00d",
        },
        "training_pipeline__online_retail.promote": none,
        "feature_pipeline__car_parks.validate_raw": {
            **none,
            "Validation document": "http://airflow.example/fti/validations/0a1b2c",
        },
        "batch_inference__store_sales.check_inputs": {
            **none,
            "Drift report": drift_report,  # that run's page: check_inputs records drift under its run id
        },
    }
