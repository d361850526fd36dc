"""scripts/airflow_job_alive.py, the compose healthcheck of the dag-processor and the triggerer,
against a real PostgreSQL holding Airflow's own ``job`` table."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from airflow.utils.net import getfqdn

from fti.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

SCRIPT = PROJECT_ROOT / "scripts" / "airflow_job_alive.py"
HOST = getfqdn()  # what Airflow records as a job's host name


@pytest.fixture
def jobs(postgres_url: str) -> Iterator[tuple[str, sa.Table, sa.Engine]]:
    """A database with Airflow's ``job`` table, created from Airflow's own model."""
    from airflow.jobs.job import Job

    engine = sa.create_engine(postgres_url)
    table = Job.__table__
    table.create(engine)  # type: ignore[attr-defined]
    yield postgres_url, table, engine  # type: ignore[misc]
    engine.dispose()


def heartbeat(table: sa.Table, engine: sa.Engine, job_type: str, age_s: float, **row: str) -> None:
    now = datetime.now(UTC)
    values = {"job_type": job_type, "hostname": HOST, "state": "running", **row}
    with engine.begin() as conn:
        conn.execute(
            table.insert().values(start_date=now, latest_heartbeat=now - timedelta(seconds=age_s), **values)
        )


def check(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url, "PATH": ""}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_running_job_of_this_host_with_a_fresh_heartbeat_is_alive(
    jobs: tuple[str, sa.Table, sa.Engine],
) -> None:
    url, table, engine = jobs
    heartbeat(table, engine, "TriggererJob", age_s=2)

    result = check(url, "TriggererJob")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"TriggererJob on {HOST}: alive" in result.stdout


@pytest.mark.parametrize(
    ("age_s", "row", "args", "says"),
    [
        (45, {}, [], r"last heartbeat 4\d s ago \(limit 30 s\)"),  # hung: its heartbeat stopped
        (2, {"state": "success"}, [], "no running"),  # exited cleanly
        (2, {"hostname": "other-host"}, [], "no running"),  # another container's job
        (2, {}, ["--hostname", "other-host"], "no running"),
        (2, {"job_type": "TriggererJob"}, [], "no running"),  # a job of another type
    ],
)
def test_a_dag_processor_that_is_not_alive_here_fails_the_check_saying_why(
    jobs: tuple[str, sa.Table, sa.Engine], age_s: float, row: dict[str, str], args: list[str], says: str
) -> None:
    url, table, engine = jobs
    heartbeat(table, engine, row.pop("job_type", "DagProcessorJob"), age_s, **row)

    result = check(url, "DagProcessorJob", *args)

    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(says, result.stdout), result.stdout


def test_the_check_imports_no_airflow_and_answers_within_its_timeout(
    jobs: tuple[str, sa.Table, sa.Engine],
) -> None:
    url, table, engine = jobs
    heartbeat(table, engine, "DagProcessorJob", age_s=1)
    probe = (
        "import runpy, sys; sys.argv = ['x', 'DagProcessorJob']\n"
        f"try: runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "except SystemExit as e: print('airflow' in sys.modules, e.code)"
    )
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url, "PATH": ""}

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started

    assert result.stdout.strip().endswith("False 0"), result.stdout + result.stderr
    assert took < 10, f"the healthcheck took {took:.1f} s, its compose timeout is 10 s"
