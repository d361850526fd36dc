"""Airflow plugin of fti: the control room page and the task buttons to MLflow and the feature store.

* ``/fti/`` in the API server: the control room (:mod:`fti.ui.app`), behind Airflow's login.
* "FTI control room" in the UI's navigation: the same page, embedded (``/plugin/fti-control-room``).
* Buttons on tasks (global extra links, :mod:`fti.ui.links`): "MLflow run" and "MLflow model
  version" on training, "Validation document" on validation, "Drift report" on inference checks.

Every Airflow process imports this module: it imports FastAPI (to build the app, which connects to
nothing) and Airflow's light SDK classes only. The API server's auth, its database and pandas,
MLflow and redis are imported when a request or a link needs them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fti.ui import links
from fti.ui.app import create_app
from fti.ui.sources import redis_url_from_env

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

REDIS_READER_CONN_ID = "fti_redis_reader"
"""The control room reads the cache as its read-only user (``fti_reader``), never through the
publisher's connection ``fti_redis`` (``fti_writer``): the API server holds no right to write it."""
_bearer = HTTPBearer(auto_error=False)


async def airflow_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Any:
    """The Airflow user of the request (UI session cookie or ``Authorization: Bearer``), else 401/403.

    Airflow does not authenticate plugin apps itself; this applies its own check to every data
    route, with the API server's security module imported on the first request, not at import.
    """
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, credentials)


def redis_url() -> str | None:
    """The Redis of the live predictions, read as ``fti_reader``: the Airflow connection
    ``fti_redis_reader``, else ``FTI_REDIS_URL``."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from fti.cache.connection import connection_url

    try:
        conn = Connection.get(REDIS_READER_CONN_ID)
    except AirflowNotFoundException:
        return redis_url_from_env()
    return connection_url(conn.host, conn.port, conn.schema, conn.extra_dejson, conn.login, conn.password)


def return_value(ti_key: TaskInstanceKey) -> Any:
    """The task's XCom ``return_value``, read from the metadata DB (None when it has none).

    Global links run in the API server, where the Task SDK's ``XCom.get_value`` has no
    supervisor to ask (apache/airflow#59093): read the row as Airflow's own XComOperatorLink does.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key="return_value",
                run_id=ti_key.run_id,
                dag_ids=ti_key.dag_id,
                task_ids=ti_key.task_id,
                map_indexes=ti_key.map_index,
            ).with_only_columns(XComModel.value)
        ).first()
    if row is None:
        return None
    value = row.value
    if isinstance(value, str | bytes):  # the JSON column may hold the serialised text
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return value


def api_base_url() -> str:
    """The API server's public base URL (``[api] base_url``), "" when unset (links stay host-relative)."""
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "")


class _FtiLink(BaseOperatorLink):
    """A button of :mod:`fti.ui.links`: present only on the tasks that module names."""

    name = ""

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        if not links.applies(self.name, ti_key.dag_id, ti_key.task_id):
            return ""
        value = return_value(ti_key) if links.needs_return_value(self.name) else None
        dataset = links.split_dag_id(ti_key.dag_id)[1]
        return links.link_url(self.name, value, api_base_url(), dataset, ti_key.run_id)


class MlflowRunLink(_FtiLink):
    name = links.MLFLOW_RUN


class MlflowModelVersionLink(_FtiLink):
    name = links.MLFLOW_MODEL_VERSION


class ValidationDocumentLink(_FtiLink):
    name = links.VALIDATION_DOCUMENT


class DriftReportLink(_FtiLink):
    name = links.DRIFT_REPORT


class FtiPlugin(AirflowPlugin):
    """The control room and the task buttons."""

    name = "fti"
    fastapi_apps = [
        {
            "app": create_app(redis_url=redis_url, dependencies=[Depends(airflow_user)]),
            "url_prefix": links.CONTROL_ROOM_PREFIX,
            "name": "FTI control room",
        }
    ]
    external_views = [
        {
            "name": "FTI control room",
            # Relative to the UI's base URL, as the iframe's source: the app mounted above.
            "href": "fti/",
            "url_route": "fti-control-room",
            "destination": "nav",
            "icon": "fti/icon.svg",
            "nav_top_level": True,
        }
    ]
    global_operator_extra_links = [
        MlflowRunLink(),
        MlflowModelVersionLink(),
        ValidationDocumentLink(),
        DriftReportLink(),
    ]
