"""Failure notifications: every DAG's ``on_failure_callback`` posts the failure to a webhook.

The channel is the Airflow Connection ``fti_alerts`` (type http): its host is the webhook URL
(``https://hooks.slack.com/services/...``, a Teams workflow URL, any endpoint taking JSON), and an
optional extra ``{"headers": {...}}`` adds request headers. The body is JSON with a ``text`` field
(what Slack and Teams show) and the failure's fields beside it. Without the connection the callback
logs one line saying the failure went nowhere. It never raises: a broken alert channel must not
turn into a second failure, nor hide the task's own. Passwords of URLs in the error are masked.

Importing this module imports only the standard library and :mod:`fti.credentials` (DAG files
import it at parse time).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fti.credentials import redact_text

log = logging.getLogger(__name__)

CONN_ID = "fti_alerts"
TIMEOUT_S = 10.0
"""Bound of the whole webhook call (connect, send, every read), not of each socket operation."""


def failure_message(context: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook body for a task failure: ``text`` for people, the same facts as fields for machines.

    Reads the Airflow task context: ``ti`` (or ``task_instance``) for DAG, task, run, try number,
    map index and log URL, and ``exception`` for the error (its type and first line).
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_id = str(getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?"))
    task_id = str(getattr(ti, "task_id", "?"))
    run_id = str(getattr(ti, "run_id", None) or context.get("run_id") or "?")
    try_number = getattr(ti, "try_number", None)
    map_index = getattr(ti, "map_index", -1)
    task = task_id if map_index in (None, -1) else f"{task_id}[{map_index}]"
    error = redact_text(exception_summary(context.get("exception")))
    log_url = _log_url(ti)
    lines = [
        f"[fti] Airflow task failed: {dag_id}.{task}",
        f"run: {run_id} · try {try_number if try_number is not None else '?'}",
        f"error: {error}",
    ]
    if log_url:
        lines.append(f"log: {log_url}")
    return {
        "text": "\n".join(lines),
        "dag_id": dag_id,
        "task_id": task_id,
        "map_index": map_index,
        "run_id": run_id,
        "try_number": try_number,
        "exception": error,
        "log_url": log_url,
    }


def exception_summary(exception: BaseException | str | None) -> str:
    """``Type: first line of the message`` (at most 300 characters); "unknown error" for None."""
    if exception is None:
        return "unknown error"
    if isinstance(exception, BaseException):
        first = next((line for line in str(exception).splitlines() if line.strip()), "")
        text = f"{type(exception).__name__}: {first}" if first else type(exception).__name__
    else:
        text = next((line for line in str(exception).splitlines() if line.strip()), "unknown error")
    return text if len(text) <= 300 else text[:299] + "…"


def webhook_url(host: str | None, schema: str | None = None, port: int | None = None) -> str:
    """The webhook URL of an http connection: its host when that is a URL, else built from its parts.

    Raises:
        ValueError: the connection has no host.
    """
    if not host:
        raise ValueError(f"the {CONN_ID} connection has no host: put the webhook URL there")
    if "://" in host:
        return host
    scheme = schema if schema in ("http", "https") else "https"
    return f"{scheme}://{host}{f':{port}' if port else ''}"


def post_json(url: str, body: Mapping[str, Any], headers: Mapping[str, str], timeout_s: float) -> int:
    """POST ``body`` as JSON within ``timeout_s`` for the whole call; returns the HTTP status.

    The URL's ``user:password@`` goes as basic auth; a redirect is refused, not followed (it would
    carry ``headers`` to another address). See :func:`fti.httpcall.request` for what it raises
    (``urllib.error.HTTPError`` for an error status).
    """
    from fti.httpcall import request

    headers = {"Content-Type": "application/json", **headers}
    return request(url, timeout_s, method="POST", body=json.dumps(body).encode(), headers=headers)


def on_task_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of every DAG: post :func:`failure_message` to the ``fti_alerts`` webhook."""
    try:
        message = failure_message(context)
    except Exception as exc:  # noqa: BLE001 - the callback must never fail the failure handling
        log.error("could not build the failure alert: %s", redact_text(f"{type(exc).__name__}: {exc}"))
        return
    where = f"{message['dag_id']}.{message['task_id']} (run {message['run_id']})"
    send_alert(message, f"failure of {where}", failed_as="the failure alert")


def _alert_target() -> tuple[str, dict[str, str]] | None:
    """Webhook URL and headers of the ``fti_alerts`` connection; None when it is not defined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(CONN_ID)
    except AirflowNotFoundException:
        return None
    headers = conn.extra_dejson.get("headers") or {}
    return webhook_url(conn.host, conn.schema, conn.port), {str(k): str(v) for k, v in headers.items()}


def _log_url(ti: Any) -> str | None:
    try:
        url = getattr(ti, "log_url", None)
    except Exception:  # noqa: BLE001 - log_url reads the configuration: a bad one only loses the link
        return None
    return str(url) if url else None


def send_alert(message: Mapping[str, Any], what: str, failed_as: str | None = None) -> bool:
    """Post ``message`` (a dict with ``text``) to the ``fti_alerts`` webhook; whether it was sent.

    Never raises: an alert channel that is missing or broken is logged (as ``failed_as``, default
    ``what``), and the caller goes on.
    """
    try:
        target = _alert_target()
        if target is None:
            log.warning("no %s connection: %s not sent anywhere", CONN_ID, what)
            return False
        url, headers = target
        status = post_json(url, message, headers, TIMEOUT_S)
        log.info("%s sent to the %s webhook (HTTP %s)", what, CONN_ID, status)
        return True
    except Exception as exc:  # noqa: BLE001 - an alert must never fail the step that raised it
        error = redact_text(f"{type(exc).__name__}: {exc}")
        log.error("could not send %s through %s: %s", failed_as or what, CONN_ID, error)
        return False
