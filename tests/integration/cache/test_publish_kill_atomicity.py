"""A publisher SIGKILLed mid-run never shows readers a single value of its run; a retry publishes it whole.

Three real processes and a real Redis: this test publishes run A, a reader process looks predictions
up without pause and records every answer, and a writer process writes run B chunk by chunk and is
SIGKILLed right after being allowed to start the chunk at 10 %, 50 % or 90 % of its writes.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import IO

import numpy as np
import pytest
import redis

from fti.cache import layout
from fti.cache.client import PredictionClient
from fti.cache.predictions import IncompleteRun, go_live, live_run, plan_run
from tests.integration.cache.cache_data import (
    DAILY,
    FIRST_DATE,
    PREFIX,
    TTL_S,
    Publish,
    entities,
    values,
    write_all,
)

pytestmark = pytest.mark.integration

N_A, N_B, CHUNK = 2_000, 2_200, 50  # B has 200 entities A lacks, and starts a day later
LINE_TIMEOUT_S = 30

#: argv: redis url, prefix, data dir. Writes run B chunk by chunk; after each, prints the chunks
#: done and waits for the parent's go-ahead (a line on stdin), so the parent picks the kill point.
WRITER = """
import json, sys
import numpy as np
from fti.cache.connect import connect
from fti.cache.predictions import RunPlan, begin_run, write_chunk
url, prefix, data = sys.argv[1:4]
spec = json.load(open(f"{data}/b.json"))
rows = np.load(f"{data}/b.npy")
plan = RunPlan(spec["run"], spec["first_period"], spec["horizon"], spec["n_buckets"])
client = connect(url)
begin_run(client, prefix, plan, spec["calendar"], spec["ttl_s"])
names, size = spec["entities"], spec["chunk"]
for k, start in enumerate(range(0, len(names), size)):
    write_chunk(client, prefix, plan, f"c{k:04d}", names[start:start + size], rows[start:start + size],
                spec["ttl_s"])
    print(k + 1, flush=True)
    sys.stdin.readline()
"""

#: argv: redis url, prefix, data dir. Looks up random (entity, day) pairs until <data>/stop exists,
#: prints "ready" then the lookups done every 500, and writes every answer to <data>/lookups.json.
READER = """
import json, os, random, sys
from fti.cache.connect import connect
from fti.cache.client import PredictionClient, PredictionNotFound
url, prefix, data = sys.argv[1:4]
pool = json.load(open(f"{data}/pool.json"))
client = PredictionClient(connect(url), prefix)
rng, answers = random.Random(0), []
print("ready", flush=True)
while not os.path.exists(f"{data}/stop"):
    for _ in range(500):
        entity, day = rng.choice(pool["entities"]), rng.choice(pool["days"])
        try:
            value, run = client.lookup(entity, day)
        except PredictionNotFound:
            value, run = None, None
        answers.append([entity, day, value, run])
    print(len(answers), flush=True)
json.dump(answers, open(f"{data}/lookups.json", "w"))
"""


class Child:
    """A python child process whose stdout lines arrive on a queue (so reading them can time out)."""

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())

    def line(self) -> str:
        try:
            return self.lines.get(timeout=LINE_TIMEOUT_S)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(
                f"child printed nothing for {LINE_TIMEOUT_S} s (exit code {self.proc.poll()})"
            ) from None

    def latest(self) -> str:
        """The newest line printed so far (waiting for one if none is queued)."""
        newest = self.line()
        while not self.lines.empty():
            newest = self.lines.get_nowait()
        return newest

    def go_ahead(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """Child processes of a test, killed at its end whatever happened."""
    started: list[Child] = []
    yield started
    for child in started:
        child.stop()


def expected_a() -> dict[tuple[str, str], float]:
    """Every (entity, date) of run A and its value."""
    rows = values(N_A, base=0.0)
    return {
        (name, (FIRST_DATE + timedelta(days=d)).isoformat()): float(rows[i, d])
        for i, name in enumerate(entities(N_A))
        for d in range(7)
    }


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_readers_see_only_the_live_run_while_a_publisher_is_killed_midway(
    redis_client: redis.Redis,
    redis_url: str,
    publish: Publish,
    children: list[Child],
    tmp_path: Path,
    fraction: float,
) -> None:
    publish("run-a", entities(N_A), values(N_A, base=0.0))
    names_b, rows_b, first_b = entities(N_B), values(N_B, base=10_000.0), FIRST_DATE + timedelta(days=1)
    plan_b = plan_run("run-b", first_b.isoformat(), 7, N_B)
    spec = {**asdict(plan_b), "calendar": dict(DAILY), "entities": names_b}
    (tmp_path / "b.json").write_text(json.dumps({**spec, "chunk": CHUNK, "ttl_s": TTL_S}))
    np.save(tmp_path / "b.npy", rows_b)
    days = [(FIRST_DATE + timedelta(days=d)).isoformat() for d in range(8)]  # A's 7 days and B's last
    (tmp_path / "pool.json").write_text(json.dumps({"entities": names_b, "days": days}))
    total_chunks = -(-N_B // CHUNK)
    kill_after = round(fraction * total_chunks)

    reader = Child(READER, redis_url, PREFIX, str(tmp_path))
    children.append(reader)
    assert reader.line() == "ready"
    assert int(reader.line()) > 0  # lookups are under way before the writer starts
    writer = Child(WRITER, redis_url, PREFIX, str(tmp_path))
    children.append(writer)
    while int(writer.line()) < kill_after:
        writer.go_ahead()
    writer.go_ahead()  # it starts the next chunk ...
    writer.proc.send_signal(signal.SIGKILL)  # ... and dies in it (or just before)
    writer.proc.wait(10)

    counted = redis_client.hlen(layout.chunks_key(PREFIX, "run-b"))
    assert kill_after <= counted <= kill_after + 1 < total_chunks
    with pytest.raises(IncompleteRun, match=rf"{counted} chunks .* expected {total_chunks} .* still run-a"):
        go_live(redis_client, PREFIX, plan_b, total_chunks, N_B * 7, {}, keep_runs=2, ttl_s=TTL_S)
    after_kill = int(reader.latest())
    while int(reader.line()) < after_kill + 2_000:  # and lookups go on after the kill
        pass
    (tmp_path / "stop").touch()
    reader.proc.wait(LINE_TIMEOUT_S)
    answers = json.loads((tmp_path / "lookups.json").read_text())

    truth = expected_a()
    assert len(answers) >= 3_000
    assert [a for a in answers if a[3] not in ("run-a", None)] == []  # no answer from run B
    assert [a for a in answers if a[3] == "run-a" and truth[(a[0], a[1])] != a[2]] == []
    assert [a for a in answers if (a[3] is None) != ((a[0], a[1]) not in truth)] == []
    assert all(0 < redis_client.ttl(k) <= TTL_S for k in redis_client.scan_iter(match="fti:test:run:run-b:*"))
    assert live_run(redis_client, PREFIX)["run"] == "run-a"  # type: ignore[index]

    chunks, predictions = write_all(redis_client, plan_b, names_b, rows_b, chunk=CHUNK)  # the retry
    go_live(redis_client, PREFIX, plan_b, chunks, predictions, {}, keep_runs=2, ttl_s=TTL_S)

    client = PredictionClient(redis_client, PREFIX)
    found, run = client.many([(name, first_b + timedelta(days=6)) for name in names_b])
    assert run == "run-b"
    assert found == [float(v) for v in rows_b[:, 6]]
