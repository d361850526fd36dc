"""The task buttons ("extra links") of the Airflow UI: which task gets which link, and its URL (pure).

Airflow 3 asks a plugin's global links for a URL on every task of every DAG; each link here
answers only for the tasks it names and "" (no button) for the others. The URLs come from the
task's return value (XCom ``return_value``), read by the plugin:

========================  ==============================================  ===========================
button                    tasks                                           URL
========================  ==============================================  ===========================
MLflow run                training_pipeline.train_and_register            ``links.run``
MLflow model version      training_pipeline.train_and_register            ``links.model_version``
Validation document       feature_pipeline.validate_raw,                  ``/fti/validations/<id>``
                          training_pipeline.train_and_register            (``/fti/#validations``)
Drift report              batch_inference.check_inputs, .publish          ``/fti/#drift``
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


def applies(name: str, dag_id: str, task_id: str) -> bool:
    """Whether the button ``name`` belongs on that task."""
    return (dag_id, task_id) in LINKED_TASKS.get(name, frozenset())


def needs_return_value(name: str) -> bool:
    """Whether the URL depends on the task's return value (the drift report is always the same page)."""
    return name != DRIFT_REPORT


def control_room_url(base_url: str = "", fragment: str = "") -> str:
    """URL of the control room under the API server's public ``base_url`` ("" keeps it host-relative)."""
    url = f"{base_url.rstrip('/')}{CONTROL_ROOM_PREFIX}/"
    return f"{url}#{fragment}" if fragment else url


def link_url(name: str, return_value: Any, base_url: str = "") -> str:
    """The URL of button ``name`` for a task that returned ``return_value``; "" when there is none.

    A task that failed has no return value: the MLflow buttons are then absent, while the
    validation button still opens the control room's validation table (a failed validation is
    recorded before the task fails).
    """
    value = return_value if isinstance(return_value, Mapping) else {}
    if name in (MLFLOW_RUN, MLFLOW_MODEL_VERSION):
        links = value.get("links")
        key = "run" if name == MLFLOW_RUN else "model_version"
        url = links.get(key) if isinstance(links, Mapping) else None
        return str(url) if url else ""
    if name == VALIDATION_DOCUMENT:
        validation_id = value.get("validation_id")
        if validation_id and validation_id != "none":  # training tags say "none" when not linked
            return f"{control_room_url(base_url)}validations/{quote(str(validation_id), safe='')}"
        return control_room_url(base_url, "validations")
    if name == DRIFT_REPORT:
        return control_room_url(base_url, "drift")
    return ""
