"""`make stop` (scripts/run-standalone.sh stop) ends every process `make run` started, including
task processes that Airflow puts in process groups of their own inside the standalone's session."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from fti.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

SCRIPT = PROJECT_ROOT / "scripts" / "run-standalone.sh"


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def fake_standalone(folder: Path) -> tuple[int, int]:
    """A session leader (as `setsid airflow standalone` is) with a child in a process group of its
    own (as Airflow's task supervisor makes each task), neither a child of this test (init reaps
    them). Returns (leader, task) once the task has its own group."""
    pids = folder / "pids"
    inner = f"set -m; sleep 300 & echo $$ $! > {pids}; wait"
    subprocess.run(["bash", "-c", f"setsid bash -c '{inner}' >/dev/null 2>&1 &"], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # bash moves the job to its own group just after forking it
        written = pids.read_text().split() if pids.exists() else []
        if len(written) == 2:
            leader, task = map(int, written)
            if os.getsid(task) == leader and os.getpgid(task) == task != leader:
                return leader, task
        time.sleep(0.05)
    raise AssertionError(f"no fake task with a process group of its own: {pids.read_text()!r}")


def test_stop_ends_task_processes_in_their_own_groups_too(tmp_path: Path) -> None:
    leader, task = fake_standalone(tmp_path)
    (tmp_path / "airflow-standalone.pid").write_text(f"{leader}\n")
    env = {**os.environ, "FTI_VAR_DIR": str(tmp_path), "AIRFLOW_HOME": str(tmp_path / "airflow")}
    env["FTI_REDIS_PORT"] = "1"  # no Redis of ours there: its stop has nothing to do

    try:
        command = ["bash", str(SCRIPT), "stop"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    finally:
        for pid in (leader, task):
            if alive(pid):
                os.kill(pid, 9)

    assert done.returncode == 0, done.stderr
    assert f"task process(es) left in the session: {task}" in done.stdout
    assert not alive(leader) and not alive(task)
    assert not (tmp_path / "airflow-standalone.pid").exists()
