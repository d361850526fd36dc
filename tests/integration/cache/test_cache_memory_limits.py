"""A run against a Redis with a small ``maxmemory``, under each eviction policy: refused before any
write when it cannot be held safely, published when it can, and deleted at once (the previous batch
staying live) when Redis runs out of memory in the middle of it."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from fti.cache import layout
from fti.cache.memory import CacheMemoryRefused, CacheOutOfMemory, expected_bytes, require_capacity
from fti.cache.predictions import begin_run, lookup, plan_run, write_chunk
from tests.harness.services import RedisServer, free_port
from tests.integration.cache.cache_data import (
    DAILY,
    FIRST_PERIOD,
    PREFIX,
    TTL_S,
    entities,
    publish_run,
    values,
)

pytestmark = pytest.mark.integration

MAXMEMORY = 16 * 2**20
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def small_server() -> Iterator[RedisServer]:
    with RedisServer(config={"maxmemory": str(MAXMEMORY), "maxmemory-policy": "noeviction"}) as server:
        yield server


@pytest.fixture
def small(small_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the 16 MiB Redis, emptied and back at ``noeviction``."""
    client = redis.Redis.from_url(small_server.url)
    client.flushall()
    client.config_set("maxmemory", MAXMEMORY)
    client.config_set("maxmemory-policy", "noeviction")
    yield client
    client.close()


def run_keys(client: redis.Redis, run: str) -> list[bytes]:
    return list(client.scan_iter(match=layout.run_pattern(PREFIX, run), count=1000))


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru"])
def test_an_evicting_policy_is_refused_before_any_key_is_written(small: redis.Redis, policy: str) -> None:
    publish_run(small, "run-a", entities(100), values(100, base=1.0))
    keys_before = sorted(small.keys("*"))
    small.config_set("maxmemory-policy", policy)

    with pytest.raises(CacheMemoryRefused, match=rf"maxmemory-policy is {policy}, expected noeviction"):
        require_capacity(small, entities(10), 7, 1)
    assert sorted(small.keys("*")) == keys_before


def test_noeviction_with_too_little_free_memory_is_refused_with_the_sizes(small: redis.Redis) -> None:
    names = entities(300_000)  # ~20 MiB expected, 16 MiB maxmemory

    refused = r"not writing a run of 300000 entities: the run needs .* MiB"
    with pytest.raises(CacheMemoryRefused, match=refused):
        require_capacity(small, names, 7, 1)
    assert small.dbsize() == 0


def test_noeviction_with_enough_memory_publishes(small: redis.Redis) -> None:
    names = entities(10_000)

    require_capacity(small, names, 7, 1)
    publish_run(small, "run-a", names, values(10_000, base=1.0), chunk=2_000)

    assert lookup(small, PREFIX, names[-1], FIRST_PERIOD) == (10_000.0, "run-a")


def test_no_maxmemory_is_accepted_with_a_warning(
    small: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    small.config_set("maxmemory", 0)
    small.config_set("maxmemory-policy", "allkeys-lru")

    with caplog.at_level(logging.WARNING, logger="fti.cache.memory"):
        require_capacity(small, entities(10), 7, 1)
    assert "maxmemory is 0" in caplog.text


def fill(client: redis.Redis) -> int:
    """Write filler keys (outside the run) until Redis refuses with OOM; returns how many went in."""
    blob = b"x" * 100_000
    for i in range(1_000):
        try:
            client.set(f"filler:{i}", blob)
        except redis.exceptions.OutOfMemoryError:
            return i
    raise AssertionError("Redis never ran out of memory: is maxmemory set?")


def test_running_out_of_memory_mid_run_deletes_it_and_keeps_the_previous_batch_live(
    small: redis.Redis,
) -> None:
    publish_run(small, "run-a", entities(1_000), values(1_000, base=1.0))
    names, rows = entities(10_000), values(10_000, base=500.0)
    require_capacity(small, names, 7, 1)  # room enough when checked...
    plan = plan_run("run-b", FIRST_PERIOD, 7, len(names))
    begin_run(small, PREFIX, plan, {"model_version": "4", **DAILY}, TTL_S)
    write_chunk(small, PREFIX, plan, "c0", names[:2_000], rows[:2_000], TTL_S)
    assert fill(redis.Redis(connection_pool=small.connection_pool)) > 0  # ...then another client fills it

    with pytest.raises(CacheOutOfMemory) as refused:  # the remaining 8,000 entities cannot all fit
        for c, start in enumerate(range(2_000, 10_000, 2_000), start=1):
            part = slice(start, start + 2_000)
            write_chunk(small, PREFIX, plan, f"c{c}", names[part], rows[part], TTL_S)

    message = str(refused.value)
    assert re.search(r"out of memory \(OOM, used memory above maxmemory\): chunk c\d of run run-b", message)
    assert "partial keys were deleted and the live run is still run-a" in message
    assert run_keys(small, "run-b") == []
    assert small.lrange(layout.runs_key(PREFIX), 0, -1) == [b"run-a"]
    assert lookup(small, PREFIX, entities(1_000)[-1], FIRST_PERIOD) == (1_000.0, "run-a")


@pytest.mark.parametrize(("horizon", "per_period"), [(4, 1), (7, 1), (24, 1), (4, 4), (7, 4), (9, 4)])
def test_the_expected_size_covers_what_redis_accounts_and_at_most_half_again(
    small: redis.Redis, horizon: int, per_period: int
) -> None:
    names = entities(20_000)
    rows = values(20_000, base=1.0, horizon=horizon)
    if per_period > 1:
        rows = np.repeat(rows[:, :, None], per_period, axis=2)
    small.set("warm-up", 1)
    used_before = int(small.info("memory")["used_memory"])

    publish_run(small, "run-m", names, rows, chunk=5_000)

    used = int(small.info("memory")["used_memory"]) - used_before
    assert used <= expected_bytes(names, horizon, per_period) <= 1.5 * used


def test_the_local_redis_of_make_run_starts_with_maxmemory_and_noeviction(tmp_path: Path) -> None:
    env = {**os.environ, "FTI_REDIS_PORT": str(free_port()), "FTI_VAR_DIR": str(tmp_path)}
    script = str(ROOT / "scripts" / "redis-local.sh")
    subprocess.run([script, "start"], env=env, check=True, capture_output=True, timeout=60)
    try:
        client = redis.Redis(port=int(env["FTI_REDIS_PORT"]))
        memory = client.info("memory")
        assert memory["maxmemory_policy"] == "noeviction" and int(memory["maxmemory"]) > 0
        client.close()
    finally:
        subprocess.run([script, "stop"], env=env, check=True, capture_output=True, timeout=60)
