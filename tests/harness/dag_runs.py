"""The project's pipelines run over REST API v2 on a started stack: ``airflow standalone`` or the
Celery stack (``run_pipelines(airflow, "online_retail", [("feature_pipeline__online_retail", {}), ...])``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from fti.airflow_rest import AirflowRestClient
from tests.harness.services import HarnessError


class AirflowStack(Protocol):
    """What running the pipelines needs of a stack: its REST client, environment and home folder."""

    home: Path

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def api(self) -> AirflowRestClient: ...


def run_pipelines(
    stack: AirflowStack, dataset: str, dags: Sequence[tuple[str, dict[str, Any]]], timeout: float
) -> dict[str, str]:
    """Each DAG of ``dags`` (id and run conf) unpaused, triggered and run to success in order, at most
    ``timeout`` seconds each; after a training pipeline, its model is made champion
    (:func:`make_champion`) so inference has one. Returns the run ids by DAG id."""
    run_ids = {}
    for dag_id, conf in dags:
        started = time.monotonic()
        stack.api.unpause(dag_id)
        run_ids[dag_id] = stack.api.trigger(dag_id, conf)
        stack.api.wait_for_run(dag_id, run_ids[dag_id], timeout=timeout)
        print(f"{dag_id} {run_ids[dag_id]}: success in {time.monotonic() - started:.0f} s")
        if dag_id.startswith("training_pipeline"):
            make_champion(stack, dataset, stack.api.xcom(dag_id, run_ids[dag_id], "promote"))
    return run_ids


def make_champion(stack: AirflowStack, dataset: str, verdict: dict[str, Any]) -> None:
    """If the gate kept the model of ``verdict`` (the ``promote`` task's XCom) out, the operator makes
    it champion on purpose, as the README says (``fti models rollback --force``).

    Raises:
        HarnessError: the command failed (its output says why).
    """
    if verdict["promoted"]:
        return
    args = ["fti", "models", "rollback", str(verdict["version"]), "-d", dataset, "--force"]
    done = subprocess.run(args, env=stack.env, capture_output=True, text=True, cwd=stack.home, timeout=120)
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
