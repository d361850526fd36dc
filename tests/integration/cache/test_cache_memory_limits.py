"""A run against a Redis with a small ``maxmemory``, under each eviction policy: refused before any
write when it cannot be held safely, published when it can."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from fti.cache.memory import CacheMemoryRefused, expected_bytes, require_capacity
from fti.cache.predictions import lookup
from tests.harness.services import RedisServer, free_port
from tests.integration.cache.cache_data import (
    FIRST_PERIOD,
    PREFIX,
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
