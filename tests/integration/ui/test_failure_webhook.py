"""Failure alerts for real: a failing feature_pipeline run posts to a local webhook through ``fti_alerts``.

Airflow runs in subprocesses with homes of their own (``AirflowProject``). The failure is real:
with no raw data of online_retail ``plan_partitions`` fails; no retry can fix that (RawDataMissing
is permanent), so it fails at its first try. The two DAG runs (with and without the connection) run
at once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.harness.airflow import PROJECT_ROOT, AirflowProject
from tests.harness.services import free_port

pytestmark = pytest.mark.integration

DAG_ID = "feature_pipeline__online_retail"


@dataclass
class Webhook:
    """A local HTTP server recording every POST: ``/hook`` answers 200, any other path 500."""

    server: ThreadingHTTPServer
    received: list[tuple[str, dict[str, str], dict[str, Any]]]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def bodies(self, path: str = "/hook") -> list[dict[str, Any]]:
        return [body for p, _, body in self.received if p == path]


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, dict(self.headers), body))
            self.send_response(200 if self.path == "/hook" else 500)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    hook = Webhook(ThreadingHTTPServer(("127.0.0.1", 0), Handler), received)
    threading.Thread(target=hook.server.serve_forever, daemon=True).start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def alerts_connection(url: str) -> str:
    return json.dumps({"conn_type": "http", "host": url, "extra": {"headers": {"X-Fti-Token": "t0k"}}})


@pytest.fixture(scope="module")
def failed_runs(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> dict[str, str]:
    """Output of `airflow dags test feature_pipeline__online_retail` without raw data, with ("alerts")
    and without ("silent") the fti_alerts connection."""
    projects = {
        "alerts": AirflowProject(
            tmp_path_factory.mktemp("alerts"), {"AIRFLOW_CONN_FTI_ALERTS": alerts_connection(webhook.url())}
        ),
        "silent": AirflowProject(tmp_path_factory.mktemp("silent")),
    }
    for project in projects.values():
        project.migrate()
    running = {
        name: subprocess.Popen(
            ["airflow", "dags", "test", DAG_ID],
            env=project.env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, project in projects.items()
    }
    return {name: proc.communicate(timeout=900)[0] for name, proc in running.items()}


def test_a_task_failing_for_good_posts_one_alert_naming_dag_task_run_and_error(
    failed_runs: dict[str, str], webhook: Webhook
) -> None:
    (alert,) = webhook.bodies()  # one alert: a permanent error fails the task at its first try
    output = failed_runs["alerts"]

    assert (alert["dag_id"], alert["task_id"], alert["try_number"]) == (DAG_ID, "plan_partitions", 1)
    assert alert["exception"].startswith(
        "AirflowFailException: RawDataMissing: no raw files of 'online_retail' in "
    )
    assert alert["run_id"].startswith("manual__") and alert["run_id"] in output
    assert alert["text"].startswith(f"[fti] Airflow task failed: {DAG_ID}.plan_partitions\n")
    assert "error: AirflowFailException: RawDataMissing: no raw files" in alert["text"]
    assert (
        alert["log_url"].endswith("/tasks/plan_partitions?try_number=1")
        and f"log: {alert['log_url']}" in alert["text"]
    )
    headers = next(h for p, h, _ in webhook.received if p == "/hook")
    assert headers["X-Fti-Token"] == "t0k" and headers["Content-Type"] == "application/json"
    assert f"failure of {DAG_ID}.plan_partitions (run manual__" in output
    assert "sent to the fti_alerts webhook (HTTP 200)" in output


def test_without_the_connection_the_failure_is_logged_as_sent_nowhere(
    failed_runs: dict[str, str], webhook: Webhook
) -> None:
    output = failed_runs["silent"]

    assert f"no fti_alerts connection: failure of {DAG_ID}.plan_partitions (run manual__" in output
    assert "not sent anywhere" in output
    assert all(body["run_id"] not in output for body in webhook.bodies())  # nothing of this run arrived


_CALL_CALLBACK = """
from types import SimpleNamespace
from fti.notify import on_task_failure
ti = SimpleNamespace(dag_id="batch_inference", task_id="publish", run_id="manual__x", try_number=1)
on_task_failure({"ti": ti, "exception": RuntimeError("incomplete run")})
print("callback returned")
"""


def call_callback(tmp_path: Path, connection: str | None) -> str:
    """Call ``on_task_failure`` in a fresh Airflow process (outside any task); its output."""
    env = {"AIRFLOW_CONN_FTI_ALERTS": connection} if connection else {}
    project = AirflowProject(tmp_path, env)
    proc = subprocess.run(
        [sys.executable, "-c", _CALL_CALLBACK], env=project.env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("path", "error"),
    [("/broken", "HTTPError: HTTP Error 500"), (None, "URLError")],
    ids=["webhook-answers-500", "webhook-unreachable"],
)
def test_a_failing_webhook_is_logged_and_never_raises(
    tmp_path: Path, webhook: Webhook, path: str | None, error: str
) -> None:
    url = webhook.url(path) if path else f"http://127.0.0.1:{free_port()}/hook"

    output = call_callback(tmp_path, alerts_connection(url))

    assert re.search(rf"error\W.*could not send the failure alert through fti_alerts: {error}", output)
    assert "callback returned" in output
    if path:
        assert webhook.bodies(path)[-1]["task_id"] == "publish"


def test_without_the_connection_a_direct_call_logs_one_line(tmp_path: Path) -> None:
    output = call_callback(tmp_path, None)

    line = "no fti_alerts connection: failure of batch_inference.publish (run manual__x) not sent anywhere"
    assert re.search(rf"warning\W.*{re.escape(line)}", output)


_WIRING = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from fti.notify import on_task_failure
bag = DagBag(dag_folder=sys.argv[1])
def callbacks(task):
    found = task.on_failure_callback or []
    return found if isinstance(found, list) else [found]
print(json.dumps({
    dag_id: sorted(t.task_id for t in dag.tasks if on_task_failure not in callbacks(t))
    for dag_id, dag in bag.dags.items()
}))
"""


def test_every_task_of_every_dag_calls_the_failure_callback(tmp_path: Path) -> None:
    project = AirflowProject(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", _WIRING, str(PROJECT_ROOT / "dags")],
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )

    without = json.loads(proc.stdout.strip().splitlines()[-1])
    pipelines = ("feature_pipeline", "training_pipeline", "batch_inference")
    datasets = ("car_parks", "online_retail", "store_sales")  # the checkout's specs
    assert without == {f"{p}__{d}": [] for p in pipelines for d in datasets}


def test_the_placeholder_dag_of_a_broken_spec_calls_the_failure_callback_too(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "broken.yaml").write_text("spec_version: 2\nname: broken\n")
    project = AirflowProject(tmp_path / "home", {"FTI_SPECS_DIR": str(specs)})
    proc = subprocess.run(
        [sys.executable, "-c", _WIRING, str(PROJECT_ROOT / "dags")],
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )

    without = json.loads(proc.stdout.strip().splitlines()[-1])
    assert without == {
        f"{p}__broken": [] for p in ("feature_pipeline", "training_pipeline", "batch_inference")
    }
