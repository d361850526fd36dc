"""The Celery stack harness starts what docker-compose.yaml starts, with the same environment.

Static: nothing is started; the compose file is parsed and the harness's environment built from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import compose_env
from tests.harness.celery_stack import AIRFLOW_SERVICES, SECRET_NAMES, CeleryStack
from tests.harness.redis_cache import ACL_TEMPLATE, render_acl
from tests.harness.services import HarnessError

PORTS = {
    "postgres": 15432, "redis": 16379, "redis-cache": 16380, "object-store": 19000, "mlflow": 15000,
    "airflow-apiserver": 18080,
}  # fmt: skip
COMPOSE_HOSTS = re.compile(r"(?<=[@/])(postgres|redis|redis-cache|object-store|mlflow|airflow-apiserver):\d+")


def test_every_airflow_process_gets_every_variable_of_x_airflow_common(tmp_path: Path) -> None:
    compose = compose_env.load_compose()
    env = CeleryStack(tmp_path).env

    assert set(compose_env.airflow_common_env(compose)) <= set(env)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert not [value for value in env.values() if COMPOSE_HOSTS.search(value)]
    assert env["FTI_STORE_URI"] == "s3://fti-store/store"
    assert env["AWS_ENDPOINT_URL_S3"].startswith("http://127.0.0.1:")
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://fti-mlflow/artifacts"


def test_mlflow_gets_the_object_store_and_no_local_artifact_folder(tmp_path: Path) -> None:
    compose = compose_env.load_compose()
    stack = CeleryStack(tmp_path)
    mlflow = compose_env.adapt(
        compose_env.service_env(compose, "mlflow"), stack.secrets, stack.ports, stack.data_dir
    )

    assert mlflow["AWS_ENDPOINT_URL_S3"] == f"http://127.0.0.1:{stack.ports['object-store']}"
    assert mlflow["AWS_ACCESS_KEY_ID"] == stack.secrets["FTI_S3_ACCESS_KEY"]
    assert mlflow["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://fti-mlflow/artifacts"
    assert not [arg for arg in compose["services"]["mlflow"]["command"] if "/data" in arg]


def test_the_harness_runs_every_airflow_command_of_compose() -> None:
    services = compose_env.load_compose()["services"]
    commands = {
        s["command"] for name, s in services.items() if name.startswith("airflow-") and name != "airflow-init"
    }

    assert commands == {*AIRFLOW_SERVICES, "celery worker"}


def test_every_secret_compose_requires_is_made_by_the_harness() -> None:
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", compose_env.COMPOSE_FILE.read_text()))

    assert required <= {*SECRET_NAMES, "AIRFLOW_FERNET_KEY"}


def test_a_service_address_becomes_its_loopback_port_and_data_its_folder() -> None:
    url = "postgresql+psycopg2://mlflow:${MLFLOW_DB_PASSWORD:?set it}@postgres:5432/mlflow"

    adapted = compose_env.to_loopback(
        compose_env.interpolate(url, {"MLFLOW_DB_PASSWORD": "pw"}), PORTS, Path("/v")
    )

    assert adapted == "postgresql+psycopg2://mlflow:pw@127.0.0.1:15432/mlflow"
    assert compose_env.to_loopback("/data/raw", PORTS, Path("/v")) == "/v/raw"
    assert compose_env.to_loopback("/database", PORTS, Path("/v")) == "/database"


def test_a_missing_secret_or_an_unknown_service_is_refused_by_name() -> None:
    assert compose_env.interpolate("${N:-2}", {}) == "2"
    with pytest.raises(HarnessError, match="AIRFLOW_DB_PASSWORD"):
        compose_env.interpolate("${AIRFLOW_DB_PASSWORD:?set it}", {})
    with pytest.raises(HarnessError, match="'minio'"):
        compose_env.to_loopback("http://minio:9000/bucket", PORTS, Path("/v"))


@pytest.mark.parametrize(("version", "setinfo"), [((7, 0, 15), False), ((7, 2, 4), True)])
def test_the_acl_names_client_setinfo_only_where_redis_knows_it(
    version: tuple[int, int, int], setinfo: bool
) -> None:
    passwords = {"WRITER": "w", "READER": "r", "OPERATOR": "o"}

    acl = render_acl(ACL_TEMPLATE.read_text(), passwords, version)

    assert ("client|setinfo" in acl) is setinfo
    assert "SHA256@" not in acl and not [line for line in acl.splitlines() if line.startswith("#")]
    assert "fti_reader on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1" in acl
