"""Time to first prediction (``fti bench first-hour``): a fresh clone taken through the README's steps.

What a new user does, each step timed in wall seconds:

1. **clone**: ``git clone`` of this checkout's committed ``HEAD`` into a scratch folder;
2. **setup**: ``make setup`` there (system packages already present; uv's and npm's caches and the
   data download are reused: ``FTI_CACHE_DIR`` points at this checkout's cache, the issue's "with the
   setup's download cached");
3. **run**: ``make run`` until the UI answers;
4. **features**, **training**, **inference**: each DAG of the data set unpaused through REST API v2,
   as the README's "Try it in the UI" says: the scheduled run it starts is waited for, and when it
   skipped (the feature run: its partition has not landed) a manual run is triggered and waited for;
   ``failed_runs`` counts the runs of the three DAGs that failed (0 is the goal);
5. **lookup**: ``fti serve`` started in the clone until a prediction of the live run answers 200
   (the README's example entity of the data set, at the live run's first period).

``make stop`` and removing the clone are not timed. The clone's UI, Redis and lookup service listen
on free loopback ports, so a ``make run`` of this checkout is not disturbed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from fti.airflow_rest import AirflowRestClient
from fti.bench.child import BenchmarkFailed, Figures, load_1m
from fti.bench.redis_server import free_port
from fti.bench.results import Line

AREA = "first_hour"
LEGACY: dict[str, str] = {}
DROP: tuple[str, ...] = ()
STEPS = ("clone", "setup", "run", "features", "training", "inference", "lookup")
PIPELINES = ("feature_pipeline", "training_pipeline", "batch_inference")
# The README's example entity of each shipped data set (any entity of the live run would do).
ENTITIES = {
    "online_retail": "United Kingdom|85123A",
    "car_parks": "BHMBCCMKT01",
    "store_sales": "S0000|P00000",
}
RUN_TIMEOUT_S = 3600.0
TARGET_S = 600.0


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench first-hour``."""
    steps = [Line(f"{s}_s", ".1f", f"wall seconds of the {s} step") for s in STEPS]
    return [
        *steps,
        Line("total_s", ".1f", f"clone to first HTTP prediction, s (target {TARGET_S:.0f})"),
        Line("failed_runs", "d", "runs of the three DAGs that failed (goal 0)"),
        Line("scheduled_runs", "d", "runs the scheduler started when the DAGs were unpaused"),
        Line("load_1m", ".1f", "load average at the end (other jobs on the cores)"),
    ]


@dataclass
class Clock:
    """Each step's wall seconds, in the order run."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        print(f"first-hour: {name} {self.seconds[name]:.1f} s", flush=True)


def figures_of(clock: Clock, states: Mapping[str, int]) -> Figures:
    """The recorded figures: each step, the total, the count of failed and skipped runs."""
    figures: Figures = {f"{name}_s": s for name, s in clock.seconds.items()}
    figures["total_s"] = sum(clock.seconds.values())
    figures["failed_runs"] = states.get("failed", 0)
    figures["scheduled_runs"] = states.get("scheduled", 0)
    figures["load_1m"] = load_1m()
    return figures


def clone_env(clone: Path, cache_dir: Path, ports: Mapping[str, int]) -> dict[str, str]:
    """The environment of every command in the clone: its own ports, a shared download cache."""
    redis = f"redis://127.0.0.1:{ports['redis']}/0"
    inherited = ("AIRFLOW", "FTI_", "VIRTUAL_ENV", "PYTHONPATH")  # the clone's own code and state only
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.endswith("/.venv/bin")]
    env.update(
        PATH=os.pathsep.join(path),
        FTI_CACHE_DIR=str(cache_dir),
        FTI_REDIS_PORT=str(ports["redis"]),
        FTI_REDIS_URL=redis,
        AIRFLOW__API__PORT=str(ports["api"]),
        # Environment connections win over the ones `make setup` loads into the metadata DB.
        AIRFLOW_CONN_FTI_REDIS=redis,
        AIRFLOW_CONN_FTI_REDIS_READER=redis,
    )
    return env


def _sh(command: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> None:
    """Run ``command``, its output appended to ``log``; fail with the log's tail."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise BenchmarkFailed(f"{' '.join(command)} exited {done.returncode}; last lines of {log}:\n{tail}")


def _run_pipelines(api: AirflowRestClient, dataset: str) -> Iterator[tuple[str, float]]:
    """Each pipeline of ``dataset`` in order, as "Try it in the UI" says: unpause it; the scheduled run
    that starts does the work (training, inference) or skips (features: its partition has not
    landed), and then a manual run does it. Yields each pipeline's name and wall seconds."""
    for pipeline in PIPELINES:
        dag_id = f"{pipeline}__{dataset}"
        started = time.perf_counter()
        api.unpause(dag_id)
        scheduled = _first_run(api, dag_id)
        if scheduled is None or _skipped(api, dag_id, api.wait_for_run(dag_id, scheduled, RUN_TIMEOUT_S)):
            api.wait_for_run(dag_id, api.trigger(dag_id), timeout=RUN_TIMEOUT_S)
        yield pipeline, time.perf_counter() - started


def _first_run(api: AirflowRestClient, dag_id: str, timeout_s: float = 60) -> str | None:
    """The id of the run the scheduler starts when ``dag_id`` is unpaused, or None if none comes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = api.get(f"/dags/{dag_id}/dagRuns")["dag_runs"]
        if runs:
            return str(runs[0]["dag_run_id"])
        time.sleep(1)
    return None


def _skipped(api: AirflowRestClient, dag_id: str, run: dict[str, object]) -> bool:
    """Whether a successful run did nothing: every task skipped."""
    tasks = api.task_instances(dag_id, str(run["dag_run_id"]))
    return all(task["state"] == "skipped" for task in tasks)


def _run_states(api: AirflowRestClient, dataset: str) -> dict[str, int]:
    """How many runs of the data set's three DAGs ended in each state, and how many were scheduled."""
    counts: dict[str, int] = {}
    for pipeline in PIPELINES:
        for run in api.get(f"/dags/{pipeline}__{dataset}/dagRuns")["dag_runs"]:
            for key in (run["state"], run["run_type"]):
                counts[key] = counts.get(key, 0) + 1
    return counts


def _first_lookup(clone: Path, env: Mapping[str, str], dataset: str, log: Path) -> None:
    """Start ``fti serve`` in the clone and wait for one prediction of the live run to answer 200."""
    port = free_port()
    serve = [str(clone / ".venv/bin/fti"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("a") as out:
        proc = subprocess.Popen(serve, cwd=clone, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        live = _wait_json(f"{base}/{dataset}/live", proc)
        entity = quote(ENTITIES.get(dataset, ""), safe="")
        _wait_json(f"{base}/{dataset}/predictions/{entity}/{live['first_period']}", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_json(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            answer = httpx.get(url, timeout=5)
            if answer.status_code == 200:
                return dict(answer.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise BenchmarkFailed(f"{url} did not answer 200 within {timeout_s:.0f} s (service exit {proc.poll()})")


def _password(clone: Path) -> str:
    generated = clone / "var/airflow/simple_auth_manager_passwords.json.generated"
    return str(json.loads(generated.read_text())["admin"])


def run(source: Path, dataset: str = "online_retail", keep: bool = False) -> Figures:
    """Take a fresh clone of ``source`` to its first HTTP prediction of ``dataset``; the figures."""
    work = Path(tempfile.mkdtemp(prefix="fti-first-hour-"))
    clone, log = work / "fti-airflow", work / "first-hour.log"
    ports = {"api": free_port(), "redis": free_port()}
    env = clone_env(clone, source / "var/cache", ports)
    clock = Clock()
    print(f"first-hour: clone in {clone}, log {log}, UI port {ports['api']}", flush=True)
    stopped = signal.signal(signal.SIGTERM, _exit_on_sigterm)  # a stopped benchmark cleans up too
    try:
        with clock.step("clone"):
            _sh(["git", "clone", "--quiet", str(source), str(clone)], work, env, log)
        with clock.step("setup"):
            _sh(["make", "setup"], clone, env, log)
        with clock.step("run"):
            _sh(["make", "run"], clone, env, log)
        api = AirflowRestClient(f"http://127.0.0.1:{ports['api']}", "admin", _password(clone))
        for pipeline, seconds in _run_pipelines(api, dataset):
            clock.seconds[STEPS[PIPELINES.index(pipeline) + 3]] = seconds
            print(f"first-hour: {pipeline} {seconds:.1f} s", flush=True)
        with clock.step("lookup"):
            _first_lookup(clone, env, dataset, log)
        return figures_of(clock, _run_states(api, dataset))
    finally:
        if (clone / "Makefile").exists():
            subprocess.run(["make", "stop"], cwd=clone, env=env, capture_output=True)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, stopped)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM as an exception (exit status 143), so the clone's ``make stop`` still runs."""
    raise SystemExit(128 + signum)
