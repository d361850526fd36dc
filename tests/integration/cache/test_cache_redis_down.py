"""A Redis that is down, or dies during a publication: fast, clear errors, and nothing half live."""

from __future__ import annotations

import time

import pytest
import redis

from fti.cache.connect import CacheUnavailable, connect
from fti.cache.predictions import IncompleteRun, begin_run, go_live, live_run, plan_run, write_chunk
from tests.harness.services import RedisServer, free_port
from tests.integration.cache.cache_data import FIRST_PERIOD, PREFIX, TTL_S, entities, values

pytestmark = pytest.mark.integration


def test_connect_to_a_closed_port_raises_cache_unavailable_naming_host_and_port_fast() -> None:
    port = free_port()

    started = time.monotonic()
    with pytest.raises(CacheUnavailable, match=f"Redis at 127.0.0.1:{port}/0 is not reachable"):
        connect(f"redis://127.0.0.1:{port}/0", timeout_s=1.0)

    assert time.monotonic() - started < 5.0


def test_publishing_to_a_closed_port_fails_fast_naming_host_and_port() -> None:
    port = free_port()
    client = connect(f"redis://127.0.0.1:{port}/0", timeout_s=1.0, check=False)

    started = time.monotonic()
    with pytest.raises(redis.ConnectionError, match=f"127.0.0.1:{port}"):
        begin_run(client, PREFIX, plan_run("run-a", FIRST_PERIOD, 7, 10), {}, TTL_S)

    assert time.monotonic() - started < 5.0


def test_a_redis_restarted_mid_publication_refuses_to_make_the_run_live() -> None:
    with RedisServer() as server:
        client = connect(server.url, timeout_s=1.0)
        plan = plan_run("run-a", FIRST_PERIOD, 7, 100)
        begin_run(client, PREFIX, plan, {}, TTL_S)
        write_chunk(client, PREFIX, plan, "c0", entities(50), values(50, base=1.0), TTL_S)

        server.kill()  # no persistence: everything written so far is gone
        with pytest.raises(redis.ConnectionError, match=f"127.0.0.1:{server.port}"):
            write_chunk(client, PREFIX, plan, "c1", entities(50, start=50), values(50, 1.0, start=50), TTL_S)
        server.start()

        with pytest.raises(IncompleteRun, match="run-a has no metadata"):
            go_live(client, PREFIX, plan, 2, 700, {}, keep_runs=2, ttl_s=TTL_S)
        assert live_run(client, PREFIX) is None
        client.close()
