"""docker-compose.yaml's stack as native processes on loopback, for a CI host without Docker.

PostgreSQL (Airflow's metadata DB and Celery results, the feature catalog, MLflow's store, created by
``deploy/postgres/init.sql``), a broker Redis, the prediction cache with ``deploy/redis-cache``'s ACL
users, an S3-compatible object store (moto's server for MinIO) holding the feature files and MLflow's
artifacts, ``mlflow server`` on PostgreSQL, and Airflow with the CeleryExecutor: api-server, scheduler,
dag-processor, triggerer and N Celery workers, each with a host name of its own. Every Airflow
process gets the environment of compose's ``x-airflow-common`` (``compose_env``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any, Self

import httpx
from cryptography.fernet import Fernet

from fti.airflow_rest import AirflowRestClient
from fti.settings import Settings
from tests.harness import compose_env
from tests.harness.airflow import PROJECT_ROOT, AirflowProject
from tests.harness.processes import ProcessGroups, Service, components_healthy, wait_for_dags
from tests.harness.redis_cache import PASSWORD_VARIABLES, CacheRedisServer, write_acl
from tests.harness.services import (
    LOOPBACK,
    HarnessError,
    PostgresServer,
    RedisServer,
    S3Server,
    find_postgres_bindir,
    free_port,
)
from tests.harness.standalone import PASSWORD_FILE

SECRET_NAMES = (
    "POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "FTI_CATALOG_DB_PASSWORD", "MLFLOW_DB_PASSWORD",
    "AIRFLOW_API_SECRET_KEY", "AIRFLOW_JWT_SECRET", "FTI_REDIS_WRITER_PASSWORD",
    "FTI_REDIS_READER_PASSWORD", "FTI_REDIS_OPERATOR_PASSWORD", "FTI_S3_ACCESS_KEY", "FTI_S3_SECRET_KEY",
)  # fmt: skip
AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")


def make_secrets() -> dict[str, str]:
    """Fresh values for every secret docker-compose.yaml asks .env for."""
    made = {name: secrets.token_urlsafe(16) for name in SECRET_NAMES}
    return made | {"AIRFLOW_FERNET_KEY": Fernet.generate_key().decode()}


class CeleryStack:
    """The compose stack on loopback; ``home/var`` stands for the ``/data`` volume (raw files: ``var/raw``).

    Args:
        home: empty folder for all state and logs.
        workers: Celery workers to start, named ``fti-worker-1`` ... (host name and Celery node).
        extra_env: more environment for every Airflow process, after compose's.
    """

    def __init__(self, home: Path, workers: int = 2, extra_env: dict[str, str] | None = None) -> None:
        self.home, self.data_dir = home, home / "var"
        self.secrets = make_secrets()
        self.postgres, self.broker = PostgresServer(), RedisServer()
        self.cache = CacheRedisServer(home / "users.acl")
        self.object_store = S3Server()  # moto's S3 server stands in for compose's MinIO
        self.ports = {
            "postgres": self.postgres.port, "redis": self.broker.port, "redis-cache": self.cache.port,
            "object-store": self.object_store.port, "mlflow": free_port(), "airflow-apiserver": free_port(),
        }  # fmt: skip
        self.base_url = f"http://{LOOPBACK}:{self.ports['airflow-apiserver']}"
        self.workers = [f"fti-worker-{i}" for i in range(1, workers + 1)]
        self.compose = compose_env.load_compose()
        self.project = AirflowProject(home, extra_env={**self._airflow_env(), **(extra_env or {})})
        self.processes = ProcessGroups(home)
        self._api: AirflowRestClient | None = None

    def _airflow_env(self) -> dict[str, str]:
        common = compose_env.airflow_common_env(self.compose)
        env = compose_env.adapt(common, self.secrets, self.ports, self.data_dir)
        return env | {
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.ports["airflow-apiserver"]),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",  # uvicorn workers; 2 cores
            # Defaults that a second process on this host may hold already (8974, 8794).
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # manual runs only, as AirflowStandalone
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.harness.worker_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
        }

    @property
    def env(self) -> dict[str, str]:
        """The environment of the Airflow processes: use it for ``airflow`` and ``fti`` commands too."""
        return self.project.env

    @property
    def api(self) -> AirflowRestClient:
        """A REST API v2 client logged in as admin."""
        if self._api is None:
            password = (Path(self.env["AIRFLOW_HOME"]) / PASSWORD_FILE).read_text()
            self._api = AirflowRestClient(self.base_url, "admin", str(json.loads(password)["admin"]))
        return self._api

    def settings(self) -> Settings:
        """The fti settings every Airflow process builds from its ``FTI_*`` environment."""
        fields = {
            key[len("FTI_") :].lower(): value for key, value in self.env.items() if key.startswith("FTI_")
        }
        return Settings(**{name: value for name, value in fields.items() if name in Settings.model_fields})

    def wait_for_dags(self, *dag_ids: str, timeout: float = 180) -> None:
        """Wait until the dag-processor has parsed ``dag_ids``; fail with the import errors if not."""
        wait_for_dags(self.api, dag_ids, timeout)

    def reader_url(self) -> str:
        """The cache as ``fti_reader`` (what ``FTI_REDIS_URL`` says in compose)."""
        return self.env["FTI_REDIS_URL"]

    def start(self, timeout: float = 300) -> None:
        """Start everything, and wait until Airflow's components and every worker are up."""
        try:
            self._start_stores()
            self._start_mlflow()
            self.project.migrate()
            self._start_airflow()
            self._wait_until_up(timeout)
        except BaseException:
            self.stop()
            raise

    def _start_stores(self) -> None:
        self.postgres.start()
        self._run_init_sql()
        self.broker.start()
        passwords = {role: self.secrets[name] for role, name in PASSWORD_VARIABLES.items()}
        write_acl(self.home / "users.acl", passwords)
        self.cache.start()
        self.object_store.start()
        self._create_buckets()

    def _create_buckets(self) -> None:
        """What compose's airflow-init does first: the store's and MLflow's buckets."""
        args = ["fti", "features", "create-buckets", self.env["FTI_STORE_URI"]]
        args.append(self.env["MLFLOW_ARTIFACTS_DESTINATION"])
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise HarnessError(f"create-buckets failed ({done.returncode}): {done.stdout}{done.stderr}")

    def _run_init_sql(self) -> None:
        """Compose's init script, by psql as the superuser, passwords in the environment."""
        psql = str(find_postgres_bindir() / "psql")
        args = [psql, "-h", LOOPBACK, "-p", str(self.postgres.port), "-U", "postgres", "-d", "postgres"]
        args += ["-v", "ON_ERROR_STOP=1", "-q", "-f", str(PROJECT_ROOT / "deploy" / "postgres" / "init.sql")]
        env = {**os.environ, **self.secrets}
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise HarnessError(f"init.sql failed ({done.returncode}): {done.stdout}{done.stderr}")

    def _start_mlflow(self) -> None:
        mlflow = self.compose["services"]["mlflow"]
        raw = compose_env.service_env(self.compose, "mlflow")
        env = compose_env.adapt(raw, self.secrets, self.ports, self.data_dir)
        args = [self._mlflow_arg(arg) for arg in mlflow["command"]] + ["--workers=1"]
        self.processes.start("mlflow", args, {**self.env, **env}, self.home)

    def _mlflow_arg(self, arg: str) -> str:
        if arg.startswith("--host="):
            return f"--host={LOOPBACK}"
        if arg.startswith("--port="):
            return f"--port={self.ports['mlflow']}"
        name, sep, value = arg.partition("=")
        return f"{name}={compose_env.to_loopback(value, self.ports, self.data_dir)}" if sep else arg

    def _start_airflow(self) -> None:
        for name in AIRFLOW_SERVICES:
            self.processes.start(name, ["airflow", name], self.env | {"FTI_HOSTNAME": name}, self.home)
        for worker in self.workers:
            self.start_worker(worker)

    def start_worker(self, name: str) -> Service:
        """Start the Celery worker ``name`` (its node: ``celery@name``), with a log server port of its own."""
        env = self.env | {
            "FTI_HOSTNAME": name,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
        args = ["airflow", "celery", "worker", "--celery-hostname", f"celery@{name}"]
        return self.processes.start(name, args, env, self.home)

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = ["mlflow", "airflow", *self.workers]
        while pending and time.monotonic() < deadline:
            for service in self.processes.services.values():
                service.check_alive()
            pending = [name for name in pending if not self._is_up(name)]
            time.sleep(1 if pending else 0)
        if pending:
            raise HarnessError(f"not up within {timeout} s: {pending}; logs in {self.home}")

    def _is_up(self, name: str) -> bool:
        if name == "mlflow":
            return _answers(f"http://{LOOPBACK}:{self.ports['mlflow']}/health")
        if name == "airflow":
            status: Any = AirflowRestClient.health(self.base_url)
            password = Path(self.env["AIRFLOW_HOME"]) / PASSWORD_FILE
            wanted = isinstance(status, dict) and components_healthy(status)
            return wanted and status.get("triggerer", {}).get("status") == "healthy" and password.exists()
        return f"celery@{name} ready." in self.processes.services[name].log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop every process (Airflow first), then the servers; raise if a process is left."""
        try:
            self.processes.stop()
        finally:
            for server in (self.object_store, self.cache, self.broker, self.postgres):
                server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
