"""Airflow's REST API v2 as a user drives it (JWT from ``/auth/token``, JSON in and out).

Used by ``fti bench first-hour`` and by the test harness that starts ``airflow standalone``: one
client, so what the tests drive is what the benchmark times.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

FINISHED = ("success", "failed")


class AirflowRestError(RuntimeError):
    """The API answered with an unexpected status, or a run did not succeed (with its tasks' story)."""


class AirflowRestClient:
    """REST API v2 as a user would drive it: a JWT from ``/auth/token``, JSON in and out.

    Paths are relative to ``/api/v2``; an unexpected status raises AirflowRestError with the body.
    """

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self._credentials = {"username": username, "password": password}
        self._http = httpx.Client(base_url=base_url, timeout=30)
        self._token: str | None = None

    @staticmethod
    def health(base_url: str) -> dict[str, Any] | str:
        """``/api/v2/monitor/health`` (no login needed), or why it did not answer."""
        try:
            return dict(httpx.get(f"{base_url}/api/v2/monitor/health", timeout=5).json())
        except (httpx.HTTPError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"

    def token(self) -> str:
        """A fresh access token for the admin user."""
        response = self._http.post("/auth/token", json=self._credentials)
        if response.status_code not in (200, 201):
            raise AirflowRestError(f"POST /auth/token: {response.status_code} {response.text[:500]}")
        return str(response.json()["access_token"])

    def request(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        """Send ``method /api/v2{path}``; raise unless the status is in ``ok``."""
        if self._token is None:
            self._token = self.token()
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        response = self._http.request(method, f"/api/v2{path}", headers=headers, **kwargs)
        if response.status_code not in ok:
            raise AirflowRestError(f"{method} /api/v2{path}: {response.status_code} {response.text[:1000]}")
        return response

    def get(self, path: str, ok: tuple[int, ...] = (200,), **params: Any) -> Any:
        """GET ``path`` with query ``params``; the JSON body."""
        return self.request("GET", path, ok, params=params).json()

    def post(self, path: str, body: dict[str, Any], ok: tuple[int, ...] = (200,)) -> Any:
        """POST ``body`` as JSON; the JSON body of the answer."""
        return self.request("POST", path, ok, json=body).json()

    def patch(self, path: str, body: dict[str, Any], ok: tuple[int, ...] = (200,)) -> Any:
        """PATCH ``body`` as JSON; the JSON body of the answer."""
        return self.request("PATCH", path, ok, json=body).json()

    def unpause(self, dag_id: str) -> None:
        """Unpause ``dag_id``, as its toggle in the UI does."""
        self.patch(f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger a manual run of ``dag_id`` now; its run id."""
        run = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 3) -> dict[str, Any]:
        """Wait until the run finishes; return it if it succeeded, else raise with task states and logs."""
        deadline = time.monotonic() + timeout
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        run = self.get(path)
        while run["state"] not in FINISHED and time.monotonic() < deadline:
            time.sleep(poll)
            run = self.get(path)
        if run["state"] == "success":
            return dict(run)
        why = "failed" if run["state"] == "failed" else f"still {run['state']} after {timeout} s"
        raise AirflowRestError(f"{dag_id} run {run_id} {why}\n{self.describe_run(dag_id, run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances (mapped ones one per map index)."""
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return list(self.get(path)["task_instances"])

    def task_log(self, dag_id: str, run_id: str, task: dict[str, Any]) -> list[str]:
        """The log of one task instance's latest try, one line per event, errors with their traceback."""
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task['task_id']}"
        params = {"map_index": task["map_index"]} if task.get("map_index", -1) >= 0 else {}
        body = self.get(f"{path}/logs/{task['try_number']}", **params)
        return [line for event in body.get("content", []) for line in _log_lines(event)]

    def describe_run(self, dag_id: str, run_id: str, log_lines: int = 60) -> str:
        """Every task's state, then the log tail of each failed task: what a failure report needs."""
        tasks = self.task_instances(dag_id, run_id)
        lines = [f"  {_label(t)}: {t['state']} (try {t['try_number']})" for t in tasks]
        for task in tasks:
            if task["state"] in ("failed", "upstream_failed", "up_for_retry") and task["try_number"] > 0:
                log = self.task_log(dag_id, run_id, task)[-log_lines:]
                lines += [f"--- log of {_label(task)} try {task['try_number']} ---", *log]
        return "task states:\n" + "\n".join(lines)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom ``key`` a task pushed (deserialized)."""
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.get(path, deserialize=True)["value"]


def _log_lines(event: dict[str, Any]) -> list[str]:
    """A structured log event as text: ``time level message``, then ``Type: value`` and frames of errors."""
    head = " ".join(str(event[k]) for k in ("timestamp", "level") if event.get(k))
    lines = [f"{head} {event.get('event', '')}".strip()]
    for error in event.get("error_detail") or []:
        frames = error.get("frames", [])
        # The project's frames and where it ended; Airflow's and the libraries' own are noise here.
        shown = [f for f in frames[:-1] if "site-packages" not in f["filename"]] + frames[-1:]
        lines += [f"    {f['filename']}:{f['lineno']} in {f['name']}" for f in shown]
        lines.append(f"  {error.get('exc_type')}: {error.get('exc_value')}")
    return lines


def _label(task: dict[str, Any]) -> str:
    index = task.get("map_index", -1)
    return f"{task['task_id']}[{index}]" if index >= 0 else str(task["task_id"])
