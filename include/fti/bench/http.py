"""HTTP lookups under concurrent load: ``fti serve`` on loopback, driven by ``wrk``.

A throwaway ``redis-server`` holds one live run of 1,000,000 entities x 7 days of ``online_retail``
(synthetic values, published the way inference publishes). ``fti serve`` (async handlers, one worker
per core) is loaded by ``wrk`` (closed loop: each connection sends its next request when the last
is answered) at 1, 8, 32 and 128 connections for :data:`DURATION_S` each; a Lua script sends every
request to another entity and period, drawn from :data:`PATHS` random ones. Then, in the same run,
the old design (``sync_1_process``: one process, a sync handler, :mod:`fti.bench.http_sync`) at 8
and 128 connections. wrk runs on the same two cores as the server and Redis: the figures are of
the whole host, as a single-host deployment would see them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import numpy as np

from fti.bench.child import Figures, load_1m
from fti.bench.results import Line

AREA = "http"
LEGACY: dict[str, str] = {}
DROP: tuple[str, ...] = ()
DATASET = "online_retail"
N_ENTITIES = 1_000_000
CONCURRENCY = (1, 8, 32, 128)
BASELINE_CONCURRENCY = (8, 128)
DURATION_S = 6
PATHS = 20_000
ENV = {"FTI_ENV": "sandbox", "FTI_SERVE_TOKEN": ""}  # the prefix fti:sandbox:online_retail, no token

_LUA = """
local paths = {}
for line in io.lines("@PATHS@") do paths[#paths + 1] = line end
local i = 0
init = function(args) i = math.random(#paths) end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "p999_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"""


#: Per design and connections: (figure, format, note).
_LEVEL = (
    ("p50_ms", ".2f", "p50 latency, ms"),
    ("p99_ms", ".2f", "p99 latency, ms"),
    ("p999_ms", ".2f", "p99.9 latency, ms"),
    ("server_cpu_ms_per_request", ".3f", "server CPU per request (all its processes), ms"),
    ("errors", "d", "socket errors, timeouts and non-2xx answers"),
)


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench http``: each design and concurrency measured."""
    out = [Line("workers", "d", "fti serve worker processes (one per core)")]
    for design, levels in (("async", CONCURRENCY), ("sync_1_process", BASELINE_CONCURRENCY)):
        for c in levels:
            key = f"{design}.c{c}"
            out.append(Line(f"{key}.requests_per_s", ",.0f", f"{design}, {c} connections: requests/s"))
            out += [Line(f"{key}.{name}", fmt, f"  {note}", f"  {key}.{name}") for name, fmt, note in _LEVEL]
    return [
        *out,
        Line("async_vs_sync_c8", "x", "requests/s at 8 connections: fti serve / the old sync process"),
        Line("async_c128_vs_best", "x", "requests/s at c=128 / the best level (>= 0.8: no collapse)"),
        Line("load_1m", ".2f", "1-minute load average at the end (2 cores)"),
    ]


def run() -> Figures:
    """Publish the live run, load ``fti serve`` and then the old sync process; the figures."""
    from fti.bench.redis_server import redis_server

    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not on PATH: scripts/install-system-deps.sh installs it")
    workers = os.cpu_count() or 1
    with redis_server() as server, _scratch() as tmp:
        paths = publish_live(server.url)
        script = tmp / "lookups.lua"
        (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
        script.write_text(_LUA.replace("@PATHS@", str(tmp / "paths.txt")))
        figures: Figures = {"workers": workers, "entities": N_ENTITIES}
        serve = [sys.executable, "-c", "from fti.cli import app; app()", "serve", "--workers", str(workers)]
        with serving(serve, server.url, paths[0]) as (base, pid):
            for c in CONCURRENCY:
                figures |= load(wrk, base, script, c, "async", pid)
        old = [
            sys.executable,
            "-m",
            "uvicorn",
            "fti.bench.http_sync:sync_app",
            "--factory",
            "--no-access-log",
        ]
        with serving(old, server.url, paths[0]) as (base, pid):
            for c in BASELINE_CONCURRENCY:
                figures |= load(wrk, base, script, c, "sync_1_process", pid)
    rates = [figures[f"async.c{c}.requests_per_s"] for c in CONCURRENCY]
    old_c8 = figures["sync_1_process.c8.requests_per_s"]
    figures["async_vs_sync_c8"] = figures["async.c8.requests_per_s"] / old_c8
    figures["async_c128_vs_best"] = figures["async.c128.requests_per_s"] / max(rates)
    figures["load_1m"] = load_1m()
    return figures


def publish_live(redis_url: str) -> list[str]:
    """Publish a live run of :data:`N_ENTITIES` x 7 days under the data set's prefix; request paths."""
    from fti.bench.cache import FIRST_PERIOD, synthetic
    from fti.cache.connect import connect
    from fti.cache.predictions import begin_run, bucket_order, go_live, plan_run, write_chunk
    from fti.settings import Settings

    prefix = Settings(env="sandbox").cache_prefix(DATASET)
    names, rows = synthetic(N_ENTITIES)
    client = connect(redis_url)
    plan = plan_run("bench-http", str(FIRST_PERIOD), rows.shape[1], len(names))
    order = bucket_order(plan, names)
    begin_run(client, prefix, plan, {"grain": "day", "week_start": "0", "model_version": "1"}, 3600)
    chunks = [order[s : s + 50_000] for s in range(0, len(names), 50_000)]
    total = sum(
        write_chunk(client, prefix, plan, f"{i:04d}", [names[j] for j in c.tolist()], rows[c], 3600)
        for i, c in enumerate(chunks)
    )
    go_live(client, prefix, plan, len(chunks), total, {}, keep_runs=1, ttl_s=3600)
    rng = np.random.default_rng(7)
    days = [str(FIRST_PERIOD + d) for d in range(rows.shape[1])]
    picks, offsets = rng.integers(0, len(names), PATHS), rng.integers(0, len(days), PATHS)
    return [
        f"/{DATASET}/predictions/{quote(names[e], safe='')}/{days[d]}"
        for e, d in zip(picks.tolist(), offsets.tolist(), strict=True)
    ]


@contextmanager
def serving(command: Sequence[str], redis_url: str, probe: str) -> Iterator[tuple[str, int]]:
    """Run a server ``command`` (given ``--host``/``--port``) over ``redis_url``; its base URL and
    process id once ``probe`` answers 200.

    Raises:
        RuntimeError: the server exited, or did not answer 200 within 120 s.
    """
    from fti.bench.redis_server import LOOPBACK, free_port

    port = free_port()
    env = {**os.environ, **ENV, "FTI_REDIS_URL": redis_url}
    args = [*command, "--host", LOOPBACK, "--port", str(port)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://{LOOPBACK}:{port}"
    try:
        _wait_for(proc, f"{base}{probe}")
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(proc: subprocess.Popen[str], url: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = proc.stderr.read()[-2000:] if proc.stderr else ""
            raise RuntimeError(f"the server exited with {proc.returncode}: {said}")
        try:
            answer = httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:500]}")
        return
    raise RuntimeError(f"the server did not answer {url} within 120 s")


def load(wrk: str, base: str, script: Path, connections: int, design: str, pid: int) -> Figures:
    """One wrk run of :data:`DURATION_S` at ``connections``: requests/s, p50/p99/p99.9 (ms), errors,
    and the CPU the server (process ``pid`` and its workers) spent per request, which other jobs on
    the cores change far less than the rate."""
    threads = min(2, connections)
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{DURATION_S}s", "--timeout", "10s"]
    args += ["-s", str(script), base]
    cpu_before = cpu_s(pid)
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    cpu = cpu_s(pid) - cpu_before
    found = json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))
    key = f"{design}.c{connections}"
    return {
        f"{key}.requests_per_s": found["requests"] / (found["duration_us"] / 1e6),
        f"{key}.p50_ms": found["p50_us"] / 1000,
        f"{key}.p99_ms": found["p99_us"] / 1000,
        f"{key}.p999_ms": found["p999_us"] / 1000,
        f"{key}.errors": int(found["errors"]),
        f"{key}.server_cpu_ms_per_request": cpu * 1000 / max(found["requests"], 1),
    }


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and of its children now running (uvicorn's workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for each in [str(pid), *children]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


@contextmanager
def _scratch() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fti-bench-http-") as tmp:
        yield Path(tmp)
