"""Static checks of how the compose stack recovers, scales, is health-checked and is logged into.

Like test_compose_static.py, nothing here calls Docker: docker-compose.yaml, the Dockerfile, the
DAG files, scripts/ and the README's "Running on Docker Compose" section are read and checked
against each other.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from tests.unit.deploy.test_compose_static import (
    ROOT,
    URL_CREDENTIALS,
    dockerfile_instructions,
    environment,
)

README = ROOT / "README.md"
#: The services that run until stopped (airflow-init runs once).
LONG_RUNNING = [
    "postgres", "redis", "redis-cache", "mlflow", "airflow-apiserver", "airflow-scheduler",
    "airflow-dag-processor", "airflow-triggerer", "airflow-worker",
]  # fmt: skip
#: Healthchecks that import Airflow cost 6-9 s of CPU on 2 busy cores: too close to any timeout.
AIRFLOW_IMPORTING = re.compile(r"\bairflow (jobs|celery|db)\b|--app[ =]airflow|-A airflow")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]


@pytest.fixture(scope="module")
def common(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The environment every Airflow service shares (as the scheduler and the workers get it)."""
    return environment(services["airflow-scheduler"])


@pytest.fixture(scope="module")
def compose_section() -> str:
    """The README's "Running on Docker Compose" section."""
    text = README.read_text()
    start = text.index("\n## Running on Docker Compose\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def seconds(duration: str) -> int:
    """A Compose duration (``30s``, ``2m``, ``1m30s``) in seconds."""
    parts = re.findall(r"(\d+)(h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def check_line(check: dict[str, Any]) -> str:
    test = check["test"]
    return " ".join(test[1:]) if isinstance(test, list) else str(test)


def test_a_dead_workers_tasks_are_failed_and_retried_after_a_60_s_heartbeat_timeout(
    common: dict[str, str], compose_section: str
) -> None:
    timeout = int(common["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"])
    assert 30 <= timeout <= 120, f"heartbeat timeout {timeout} s (Airflow's default: 300 s)"
    assert "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT" in compose_section
    assert f"{timeout} s" in compose_section, f"the README does not say the timeout is {timeout} s"


def test_the_broker_visibility_timeout_is_set_and_outlasts_the_heartbeat_timeout(
    common: dict[str, str], compose_section: str
) -> None:
    visibility = int(common["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"])
    heartbeat = int(common["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"])
    # Shorter than the longest task, Celery would start a second copy of a task still running.
    assert visibility >= 3600 and visibility > heartbeat, f"visibility timeout {visibility} s"
    assert "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT" in compose_section
    assert f"{visibility} s" in compose_section, f"the README does not say it is {visibility} s"


def test_no_pool_caps_the_chunks_so_more_workers_run_more_of_them(
    common: dict[str, str], compose_section: str
) -> None:
    dags = {p.name: p.read_text() for p in (ROOT / "dags").glob("*.py")}
    pooled = {name: re.findall(r"\bpool\s*=", text) for name, text in dags.items()}
    assert not any(pooled.values()), f"tasks bound to a pool: {pooled}"
    settings = yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())["airflow"]
    assert not settings.get("pools"), f"airflow_settings.yaml still defines {settings['pools']}"
    concurrency = re.fullmatch(
        r"\$\{AIRFLOW_WORKER_CONCURRENCY:-([1-9]\d*)\}", common["AIRFLOW__CELERY__WORKER_CONCURRENCY"]
    )
    assert concurrency, f"worker concurrency is {common['AIRFLOW__CELERY__WORKER_CONCURRENCY']!r}"
    for needed in ("--scale airflow-worker=N", "AIRFLOW_WORKER_CONCURRENCY", "N ×"):
        assert needed in compose_section, f"the README does not explain scaling with {needed!r}"


def test_make_run_bounds_its_local_executor_instead_of_forking_32_task_workers() -> None:
    env_sh = (ROOT / "scripts" / "env.sh").read_text()
    assert re.search(
        r"^export AIRFLOW__CORE__PARALLELISM=\"\$\{AIRFLOW__CORE__PARALLELISM:-", env_sh, re.M
    ), "scripts/env.sh (make run) leaves Airflow's parallelism of 32"


def test_the_cli_in_a_container_reads_the_cache_as_the_reader_in_the_connections_database(
    common: dict[str, str],
) -> None:
    cli = URL_CREDENTIALS.search(common.get("FTI_REDIS_URL", ""))
    assert cli, f"FTI_REDIS_URL is {common.get('FTI_REDIS_URL')!r}"
    assert (cli["user"], cli["host"]) == ("fti_reader", "redis-cache")
    assert "FTI_REDIS_READER_PASSWORD" in cli["password"]
    connections = {
        k: URL_CREDENTIALS.search(v) for k, v in common.items() if k.startswith("AIRFLOW_CONN_FTI_REDIS")
    }
    databases = {k: m["path"] for k, m in connections.items() if m} | {"FTI_REDIS_URL": cli["path"]}
    assert len(connections) == 2 and len(set(databases.values())) == 1, f"databases differ: {databases}"


def test_every_long_running_service_has_a_healthcheck_with_room_to_start(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        timeout, interval = seconds(check["timeout"]), seconds(check["interval"])
        assert 5 <= timeout <= interval, f"{name}: timeout {timeout} s, interval {interval} s"
        start = seconds(check.get("start_period", "0s"))
        if name.startswith("airflow-"):  # each imports Airflow (several seconds on 2 cores) to start
            assert start >= 60, f"{name}: start_period {start} s"


def test_no_healthcheck_imports_airflow(services: dict[str, dict[str, Any]]) -> None:
    for name in LONG_RUNNING:
        line = check_line(services[name]["healthcheck"])
        assert not AIRFLOW_IMPORTING.search(line), f"{name}'s healthcheck imports Airflow: {line}"


def test_http_healthchecks_give_up_before_docker_does(services: dict[str, dict[str, Any]]) -> None:
    for name in LONG_RUNNING:
        check = services[name]["healthcheck"]
        line = check_line(check)
        if line.startswith("curl"):
            limit = re.search(r"--max-time (\d+)", line)
            assert limit and int(limit[1]) < seconds(check["timeout"]), f"{name}: {line}"


def test_the_api_server_is_checked_on_its_monitor_health_endpoint(
    services: dict[str, dict[str, Any]],
) -> None:
    line = check_line(services["airflow-apiserver"]["healthcheck"])
    assert re.search(r"curl .*http://localhost:8080/api/v2/monitor/health$", line), line


@pytest.mark.parametrize(
    ("service", "job_type"),
    [("airflow-dag-processor", "DagProcessorJob"), ("airflow-triggerer", "TriggererJob")],
)
def test_job_services_are_checked_by_the_light_script_of_the_image(
    services: dict[str, dict[str, Any]], service: str, job_type: str
) -> None:
    test = services[service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "/opt/airflow/scripts/airflow_job_alive.py"], test
    assert test[3:] == [job_type], f"{service} checks {test[3:]}"
    assert (ROOT / "scripts" / "airflow_job_alive.py").is_file()
    copied = [args.split() for ins, args in dockerfile_instructions() if ins == "COPY"]
    assert ["scripts/", "scripts/"] in copied, "the image does not COPY scripts/ to /opt/airflow/scripts"


def test_the_worker_check_pings_this_workers_celery_node_by_its_host_name(
    services: dict[str, dict[str, Any]], common: dict[str, str]
) -> None:
    line = check_line(services["airflow-worker"]["healthcheck"])
    assert "HOSTNAME" not in line, f"the worker check relies on $HOSTNAME: {line}"
    assert re.search(r'--destination "celery@\$\$\(hostname\)"', line), line
    assert re.search(r'--broker "\$\$\{AIRFLOW__CELERY__BROKER_URL\}"', line), line
    assert "AIRFLOW__CELERY__BROKER_URL" in common


def test_the_readme_lists_each_healthcheck_with_its_timings(
    services: dict[str, dict[str, Any]], compose_section: str
) -> None:
    for name in LONG_RUNNING:
        check = services[name]["healthcheck"]
        row = re.search(rf"^\| `{re.escape(name)}` \|.*$", compose_section, re.M)
        assert row, f"the README's healthcheck table has no row for {name}"
        timings = " / ".join(f"{seconds(check[k])} s" for k in ("interval", "timeout", "start_period"))
        assert row.group(0).rstrip(" |").endswith(timings), (
            f"{name}: README {row.group(0)!r}, compose {timings}"
        )


def test_the_admin_password_is_kept_on_a_volume_of_its_own(
    services: dict[str, dict[str, Any]], compose_section: str
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    api = services["airflow-apiserver"]
    path = PurePosixPath(environment(api)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    mounts = dict(reversed(v.split(":")[:2]) for v in api["volumes"])
    volume = mounts.get(str(path.parent))
    assert volume and volume in compose["volumes"], f"{path.parent} is not a named volume: {api['volumes']}"
    others = [
        n
        for n, s in services.items()
        if n != "airflow-apiserver" and any(volume in v for v in s.get("volumes", []))
    ]
    assert not others, f"{others} also mount the admin's password volume {volume}"
    text = " ".join(args for _, args in dockerfile_instructions())
    assert re.search(rf"mkdir -p [^&]*{path.parent}\b", text), f"the image does not create {path.parent}"
    assert re.search(rf"chown -R \"\$\{{AIRFLOW_UID\}}:0\" [^&]*{path.parent}\b", text)
    assert str(path) in compose_section, "the README does not say where the password is"
