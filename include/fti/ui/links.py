"""The task buttons ("extra links") of the Airflow UI: which task gets which link, and its URL (pure).

Airflow 3 asks a plugin's global links for a URL on every task of every DAG; each link here
answers only for the tasks it names and "" (no button) for the others. DAG ids are
``<pipeline>__<data set>``; the control room opens on that data set. The URLs come from the task's
return value (XCom ``return_value``), read by the plugin:

========================  ==============================================  ===========================
button                    tasks                                           URL
========================  ==============================================  ===========================
MLflow run                training_pipeline.train_and_register            ``links.run``
MLflow model version      training_pipeline.train_and_register            ``links.model_version``
Validation document       feature_pipeline.validate_raw,                  ``/fti/validations/<id>``
                          training_pipeline.train_and_register            (``/fti/#validations``)
Drift report              batch_inference.check_inputs, .publish          ``/fti/drift/<run id>``
========================  ==============================================  ===========================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

#: Where the plugin mounts the control room (its FastAPI app) in the Airflow API server.
CONTROL_ROOM_PREFIX = "/fti"

MLFLOW_RUN = "MLflow run"
MLFLOW_MODEL_VERSION = "MLflow model version"
VALIDATION_DOCUMENT = "Validation document"
DRIFT_REPORT = "Drift report"

_TRAIN = ("training_pipeline", "train_and_register")
#: (DAG id, task id) of the tasks that get each button.
LINKED_TASKS: dict[str, frozenset[tuple[str, str]]] = {
    MLFLOW_RUN: frozenset({_TRAIN}),
    MLFLOW_MODEL_VERSION: frozenset({_TRAIN}),
    VALIDATION_DOCUMENT: frozenset({("feature_pipeline", "validate_raw"), _TRAIN}),
    DRIFT_REPORT: frozenset({("batch_inference", "check_inputs"), ("batch_inference", "publish")}),
}


def split_dag_id(dag_id: str) -> tuple[str, str]:
    """``(pipeline, data set)`` of a generated DAG id ``<pipeline>__<data set>`` (data set "" otherwise)."""
    pipeline, _, dataset = dag_id.partition("__")
    return pipeline, dataset


def applies(name: str, dag_id: str, task_id: str) -> bool:
    """Whether the button ``name`` belongs on that task."""
    return (split_dag_id(dag_id)[0], task_id) in LINKED_TASKS.get(name, frozenset())


def needs_return_value(name: str) -> bool:
    """Whether the URL depends on the task's return value (the drift report's depends on the run id only)."""
    return name != DRIFT_REPORT


def control_room_url(base_url: str = "", fragment: str = "", dataset: str = "") -> str:
    """URL of the control room under the API server's public ``base_url`` ("" keeps it host-relative)."""
    url = f"{base_url.rstrip('/')}{CONTROL_ROOM_PREFIX}/"
    if dataset:
        url += f"?dataset={quote(dataset, safe='')}"
    return f"{url}#{fragment}" if fragment else url


def link_url(name: str, return_value: Any, base_url: str = "", dataset: str = "", run_id: str = "") -> str:
    """The URL of button ``name`` for a task that returned ``return_value``; "" when there is none.

    A task that failed has no return value: the MLflow buttons are then absent, while the
    validation button still opens the control room's validation table (a failed validation is
    recorded before the task fails). The drift report is the page of the task's Airflow run ``run_id``
    (its drift scores are recorded under that id, also when the drift check fails the task).
    """
    value = return_value if isinstance(return_value, Mapping) else {}
    if name in (MLFLOW_RUN, MLFLOW_MODEL_VERSION):
        links = value.get("links")
        key = "run" if name == MLFLOW_RUN else "model_version"
        url = links.get(key) if isinstance(links, Mapping) else None
        return str(url) if url else ""
    if name == VALIDATION_DOCUMENT:
        lineage = value.get("lineage")
        validation_id = value.get("validation_id") or (
            lineage.get("validation_id") if isinstance(lineage, Mapping) else None
        )
        if validation_id and validation_id != "none":  # training lineage says "none" when not linked
            return f"{control_room_url(base_url)}validations/{quote(str(validation_id), safe='')}"
        return control_room_url(base_url, "validations", dataset)
    if name == DRIFT_REPORT:
        if not run_id:
            return control_room_url(base_url, "drift", dataset)
        page = f"{control_room_url(base_url)}drift/{quote(run_id, safe='')}"
        return f"{page}?dataset={quote(dataset, safe='')}" if dataset else page
    return ""
