"""``airflow standalone`` for one isolated project: its own home, port and Redis, driven over REST API v2.

Everything Airflow and the project write (metadata DB, logs, ``airflow.cfg``, the feature store,
MLflow) stays under the ``home`` folder the caller gives. The api-server listens on a free loopback
port, and the workers' Execution API URL points at that port, not at 8080 (which ``make run`` may
hold). The whole tree runs in a process group of its own; on exit it gets SIGTERM, then SIGKILL
after ``stop_timeout`` seconds, and the harness fails if any process of this Airflow is left.

    with AirflowStandalone(tmp / "airflow-e2e") as airflow:
        airflow.wait_for_dags("feature_pipeline__online_retail")
        run_id = airflow.api.trigger("feature_pipeline__online_retail")
        airflow.api.wait_for_run("feature_pipeline__online_retail", run_id, timeout=600)
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Self

import psutil

from fti.airflow_rest import AirflowRestClient
from tests.harness.airflow import PROJECT_ROOT, AirflowProject
from tests.harness.processes import components_healthy, describe, signal_group, wait_for_dags
from tests.harness.services import LOOPBACK, HarnessError, RedisServer, free_port, log_tail

PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
# A real slice of Online Retail II: 1-2 minutes of DAGs.
SLICE_START, SLICE_END = date(2011, 8, 1), date(2011, 11, 30)
SLICE_COUNTRIES = ("France", "Germany", "EIRE")


def land_demo_slice(raw_dir: Path) -> list[Path]:
    """Land the slice as daily raw files by the online_retail spec, from the download `make setup` cached."""
    from fti.data.shipped import land_shipped
    from fti.settings import PROJECT_ROOT, Settings
    from fti.specs import load_dataset
    from fti.specs.filters import RowFilter

    spec = load_dataset(PROJECT_ROOT / "specs", "online_retail")
    where = RowFilter.model_validate({"column": "Country", "in": list(SLICE_COUNTRIES)})
    return land_shipped(spec, raw_dir, Settings().cache_dir, first=SLICE_START, last=SLICE_END, where=where)


_LIVE: set[AirflowStandalone] = set()


class AirflowStandalone:
    """``airflow standalone`` (SQLite, LocalExecutor, simple auth) over a throwaway ``redis-server``.

    Args:
        home: empty folder for all state: ``home/airflow`` is ``AIRFLOW_HOME``, ``home/var`` is
            ``FTI_VAR_DIR``; the raw data must land in ``home/var/raw``.
        extra_env: more environment for every Airflow process (and so every task).
        scheduled_runs: whether the scheduler creates scheduled runs. Off by default: unpausing a
            DAG would otherwise start a run for the latest interval at once, which skips on data that
            ended in 2011 but, once a test has committed features, trains a model of its own.
        startup_timeout: seconds to wait for the api-server, the scheduler and the dag-processor.
        stop_timeout: seconds between SIGTERM and SIGKILL of the process group.
    """

    def __init__(
        self,
        home: Path,
        extra_env: dict[str, str] | None = None,
        scheduled_runs: bool = False,
        startup_timeout: float = 240,
        stop_timeout: float = 60,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.redis = RedisServer()
        self.log = home / "airflow-standalone.log"
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.project = AirflowProject(home, extra_env=self._airflow_env(scheduled_runs, extra_env or {}))
        self._proc: subprocess.Popen[bytes] | None = None
        self._pgid: int | None = None  # kept after the leader is gone: its children may not be
        self._api: AirflowRestClient | None = None

    def _airflow_env(self, scheduled_runs: bool, extra_env: dict[str, str]) -> dict[str, str]:
        return {
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.port),
            # The UI builds its links from base_url; the workers reach the Execution API through it.
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(scheduled_runs),
            # LocalExecutor forks one worker per slot up front: 32 by default, far more than 2 cores use.
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            **extra_env,
        }

    @property
    def raw_dir(self) -> Path:
        """The landing folder of the project's raw files (``FTI_VAR_DIR/raw``)."""
        return self.home / "var" / "raw"

    @property
    def env(self) -> dict[str, str]:
        """The environment of the Airflow processes: use it for `airflow` and `fti` commands too."""
        url = self.redis.url
        return {
            **self.project.env,
            "AIRFLOW_CONN_FTI_REDIS": url,
            "AIRFLOW_CONN_FTI_REDIS_READER": url,
            "FTI_REDIS_URL": url,
        }

    @property
    def password(self) -> str:
        """The admin password the simple auth manager generated."""
        path = Path(self.project.env["AIRFLOW_HOME"]) / PASSWORD_FILE
        return str(json.loads(path.read_text())["admin"])

    @property
    def api(self) -> AirflowRestClient:
        """A REST API v2 client logged in as admin."""
        if self._api is None:
            self._api = AirflowRestClient(self.base_url, "admin", self.password)
        return self._api

    def start(self) -> None:
        """Start Redis and Airflow, and wait until the api-server, scheduler and dag-processor are up."""
        try:
            self.redis.start()
            self.project.migrate()
            # As `make airflow-init` does: the Variables (and any Pools) of airflow_settings.yaml.
            # AIRFLOW_CONN_FTI_REDIS(_READER) win over the file's connections (environment before database).
            self._load_airflow_settings()
            with self.log.open("ab") as log:
                self._proc = subprocess.Popen(
                    ["airflow", "standalone"],
                    env=self.env,
                    cwd=self.home,  # anything written to the working directory stays in home
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                )
            self._pgid = self._proc.pid
            _LIVE.add(self)
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def _load_airflow_settings(self) -> None:
        script = PROJECT_ROOT / "scripts" / "load_airflow_settings.py"
        args = [sys.executable, str(script), str(PROJECT_ROOT / "airflow_settings.yaml")]
        done = subprocess.run(args, env=self.env, cwd=self.home, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise HarnessError(f"{script.name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        status: Any = "no answer"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if (code := self._proc.poll()) is not None:
                raise HarnessError(f"airflow standalone exited with {code}; log:\n{log_tail(self.log, 40)}")
            status = AirflowRestClient.health(self.base_url)
            if isinstance(status, dict) and components_healthy(status):
                if (Path(self.project.env["AIRFLOW_HOME"]) / PASSWORD_FILE).exists():
                    return
            time.sleep(1)
        raise HarnessError(
            f"airflow standalone on {self.base_url} not healthy after {self.startup_timeout} s "
            f"(last health: {status}); its log:\n{log_tail(self.log, 40)}"
        )

    def wait_for_dags(self, *dag_ids: str, timeout: float = 120) -> None:
        """Wait until the dag-processor has parsed ``dag_ids``; fail with the import errors if not."""
        wait_for_dags(self.api, dag_ids, timeout)

    def processes(self) -> list[psutil.Process]:
        """Every live process of this Airflow: its process group, and anything with its AIRFLOW_HOME."""
        pgid, marker = self._pgid, self.project.env["AIRFLOW_HOME"]
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if (pgid is not None and os.getpgid(proc.pid) == pgid) or (
                    proc.environ().get("AIRFLOW_HOME") == marker
                ):
                    found.append(proc)
            except (psutil.Error, ProcessLookupError):
                continue  # gone meanwhile, or not ours to read
        return found

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL what is left after ``stop_timeout`` s, stop Redis.

        Raises HarnessError if a process of this Airflow survives even SIGKILL.
        """
        proc, self._proc = self._proc, None
        left = self._end_processes(proc) if proc is not None else []
        self.redis.stop()
        _LIVE.discard(self)
        if left:
            raise HarnessError(f"processes of {self.home} left after SIGKILL: {[describe(p) for p in left]}")

    def _end_processes(self, leader: subprocess.Popen[bytes]) -> list[psutil.Process]:
        signal_group(leader.pid, signal.SIGTERM)
        # The scheduler may take many seconds to finish its loop; the task processes end with it.
        _, alive = psutil.wait_procs(self.processes(), timeout=self.stop_timeout)
        for survivor in alive:
            print(f"harness: SIGKILL {describe(survivor)}", file=sys.stderr)
            survivor.kill()
        signal_group(leader.pid, signal.SIGKILL)
        leader.wait(timeout=30)
        psutil.wait_procs(alive, timeout=10)
        return self.processes()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    """Stop standalones whose owner forgot to, e.g. after a crash in a fixture."""
    for airflow in list(_LIVE):
        try:
            airflow.stop()
        except Exception as exc:  # at exit: report and go on
            print(f"harness: could not stop airflow standalone in {airflow.home}: {exc}", file=sys.stderr)
