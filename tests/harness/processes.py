"""Long-running commands, each in a process group of its own, that stop together and leave nothing behind."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from fti.airflow_rest import AirflowRestClient
from tests.harness.services import HarnessError, log_tail


@dataclass
class Service:
    """One started command: its name, the leader process (the group id is its pid) and its log."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pgid(self) -> int:
        """The id of its process group (children it forks stay in it)."""
        return self.proc.pid

    def check_alive(self) -> None:
        """Raise HarnessError with the log tail if the leader has exited."""
        if (code := self.proc.poll()) is not None:
            raise HarnessError(f"{self.name} exited with {code}; its log:\n{log_tail(self.log, 40)}")

    def group(self) -> list[psutil.Process]:
        """Every live, non-zombie process of its group."""
        return [p for p in _live_processes() if _pgid(p) == self.pgid]

    def tree(self) -> list[psutil.Process]:
        """Its group and every descendant of the leader (task processes may lead groups of their own)."""
        found = {p.pid: p for p in self.group()}
        try:
            found |= {p.pid: p for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
        return list(found.values())

    def kill_tree(self) -> int:
        """SIGKILL the leader and all its descendants at once, as a crashed host would; how many died."""
        doomed = self.tree()
        for proc in doomed:
            _kill(proc)
        self.proc.wait(timeout=30)
        psutil.wait_procs(doomed, timeout=10)
        return len(doomed)


_LIVE: set[ProcessGroups] = set()


class ProcessGroups:
    """Starts commands in ``log_dir``; ``stop()`` ends every group (SIGTERM, then SIGKILL)."""

    def __init__(self, log_dir: Path, stop_timeout: float = 60) -> None:
        self.log_dir = log_dir
        self.stop_timeout = stop_timeout
        self.services: dict[str, Service] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> Service:
        """Start ``args`` as ``name`` (output in ``log_dir/name.log``), in a group of its own."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                process_group=0,
            )  # fmt: skip
        self.services[name] = Service(name, proc, log)
        _LIVE.add(self)
        return self.services[name]

    def processes(self) -> list[psutil.Process]:
        """Every live process started here: each group and each leader's descendants."""
        found = {p.pid: p for service in self.services.values() for p in service.tree()}
        return list(found.values())

    def stop(self) -> None:
        """SIGTERM every group, wait up to ``stop_timeout`` s, SIGKILL what is left.

        Raises HarnessError if a process survives even SIGKILL.
        """
        started = self.processes()  # before any leader dies and its children lose their parent
        for service in self.services.values():
            signal_group(service.pgid, signal.SIGTERM)
        # The scheduler may take many seconds to finish its loop; the celery workers their tasks.
        _, alive = psutil.wait_procs(started, timeout=self.stop_timeout)
        for survivor in alive:
            print(f"harness: SIGKILL {describe(survivor)}", file=sys.stderr)
            _kill(survivor)
        for service in self.services.values():
            signal_group(service.pgid, signal.SIGKILL)
            service.proc.wait(timeout=30)
        _, left = psutil.wait_procs([*alive, *self.processes()], timeout=10)
        _LIVE.discard(self)
        if left:
            raise HarnessError(f"processes left after SIGKILL: {[describe(p) for p in left]}")


def _kill(proc: psutil.Process) -> None:
    try:
        proc.kill()
    except psutil.NoSuchProcess:
        pass


def _live_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pgid``, if it still exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def describe(proc: psutil.Process) -> str:
    """``pid: command line`` (cut at 160 characters) for error messages."""
    try:
        return f"{proc.pid}: {' '.join(proc.cmdline())[:160]}"
    except psutil.Error:
        return str(proc.pid)


def components_healthy(status: dict[str, Any]) -> bool:
    """Whether Airflow's ``/monitor/health`` answer says the database, scheduler and dag-processor are up."""
    wanted = ("metadatabase", "scheduler", "dag_processor")
    return all(status.get(name, {}).get("status") == "healthy" for name in wanted)


def wait_for_dags(api: AirflowRestClient, dag_ids: Sequence[str], timeout: float) -> None:
    """Wait until Airflow's dag-processor has parsed ``dag_ids``; fail with the import errors if not."""
    deadline = time.monotonic() + timeout
    missing = list(dag_ids)
    while missing and time.monotonic() < deadline:
        missing = [d for d in dag_ids if api.get(f"/dags/{d}", ok=(200, 404)).get("dag_id") != d]
        time.sleep(1 if missing else 0)
    if missing:
        errors = api.get("/importErrors").get("import_errors", [])
        raise HarnessError(f"DAGs {missing} not parsed within {timeout} s; import errors: {errors}")


@atexit.register
def _stop_leftovers() -> None:
    for groups in list(_LIVE):
        try:
            groups.stop()
        except Exception as exc:  # at exit: report and go on
            print(f"harness: could not stop processes in {groups.log_dir}: {exc}", file=sys.stderr)
