"""Retried writes change nothing; old runs are deleted beyond ``keep_runs`` and every other key expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from fti.cache import layout
from fti.cache.predictions import (
    begin_run,
    delete_runs,
    go_live,
    live_run,
    lookup,
    plan_run,
    runs,
    write_chunk,
)
from tests.integration.cache.cache_data import (
    FIRST_DATE,
    FIRST_PERIOD,
    PREFIX,
    TTL_S,
    Publish,
    entities,
    values,
    write_all,
)

pytestmark = pytest.mark.integration


def run_keys(client: redis.Redis, run: str) -> set[str]:
    return {k.decode() for k in client.scan_iter(match=layout.run_pattern(PREFIX, run), count=1000)}


def dumps(client: redis.Redis, keys: set[str]) -> dict[str, bytes]:
    """Each key's serialized value (DUMP): equal dumps mean equal bytes, fields and encoding."""
    return {k: client.dump(k) for k in keys}


def test_writing_the_same_chunk_twice_writes_identical_bytes_and_counts(redis_client: redis.Redis) -> None:
    plan = plan_run("run-a", FIRST_PERIOD, 7, 1_000)
    begin_run(redis_client, PREFIX, plan, {}, TTL_S)
    names, rows = entities(500), values(500, base=3.0)
    rows[::7, 2] = float("nan")

    first = write_chunk(redis_client, PREFIX, plan, "c0", names, rows, TTL_S)
    once = dumps(redis_client, run_keys(redis_client, "run-a"))
    again = write_chunk(redis_client, PREFIX, plan, "c0", names, rows, TTL_S)

    assert first == again == 500 * 7 - len(range(0, 500, 7))
    assert dumps(redis_client, run_keys(redis_client, "run-a")) == once
    assert redis_client.hgetall(layout.chunks_key(PREFIX, "run-a")) == {b"c0": str(first).encode()}


def test_republishing_the_live_run_gives_the_same_values_and_keeps_it_live(
    redis_client: redis.Redis, publish: Publish
) -> None:
    names, rows = entities(300), values(300, base=1.0)
    publish("run-a", names, rows)
    buckets = {k for k in run_keys(redis_client, "run-a") if ":b:" in k}
    before = dumps(redis_client, buckets)

    publish("run-a", names, rows)  # e.g. an Airflow retry after a successful go_live

    assert dumps(redis_client, buckets) == before
    assert lookup(redis_client, PREFIX, names[42], FIRST_DATE) == (43.0, "run-a")
    assert runs(redis_client, PREFIX) == ["run-a"]
    assert live_run(redis_client, PREFIX)["state"] == "live"  # type: ignore[index]
    assert {redis_client.ttl(k) for k in run_keys(redis_client, "run-a")} == {-1}


def test_only_the_newest_keep_runs_remain_and_every_key_of_a_run_not_live_expires(
    redis_client: redis.Redis, publish: Publish
) -> None:
    for i in range(5):
        first_period = (FIRST_DATE + timedelta(days=i)).isoformat()
        publish(f"run-{i}", entities(200), values(200, base=100.0 * i), first_period, keep_runs=2)

    assert runs(redis_client, PREFIX) == ["run-4", "run-3"]
    assert {k.decode().split(":")[3] for k in redis_client.scan_iter(f"{PREFIX}:run:*")} == {"run-4", "run-3"}
    assert all(0 < redis_client.ttl(k) <= TTL_S for k in run_keys(redis_client, "run-3"))
    # The live run never expires under its readers (PERSIST); the next go_live gives its TTL back.
    assert {redis_client.ttl(k) for k in run_keys(redis_client, "run-4")} == {-1}
    assert redis_client.hget(layout.meta_key(PREFIX, "run-3"), "state") == b"retired"
    assert lookup(redis_client, PREFIX, entities(1)[0], FIRST_DATE + timedelta(days=4)) == (400.0, "run-4")


def test_a_run_that_never_went_live_is_left_to_its_ttl(redis_client: redis.Redis, publish: Publish) -> None:
    abandoned = plan_run("run-crashed", FIRST_PERIOD, 7, 100)
    write_all(redis_client, abandoned, entities(100), values(100, base=5.0))
    for i in range(3):
        publish(f"run-{i}", entities(100), values(100, base=float(i)), keep_runs=1)

    keys = run_keys(redis_client, "run-crashed")
    assert len(keys) == 2 + 2  # two buckets, the chunks and the meta
    assert all(0 < redis_client.ttl(k) <= TTL_S for k in keys)


def test_the_live_run_cannot_be_deleted(redis_client: redis.Redis, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=1.0))

    with pytest.raises(ValueError, match="run run-a is live"):
        delete_runs(redis_client, PREFIX, ["run-a"])
    assert lookup(redis_client, PREFIX, entities(1)[0], FIRST_DATE) == (1.0, "run-a")


def test_go_live_refuses_keep_runs_below_one(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="keep_runs must be >= 1"):
        go_live(redis_client, PREFIX, plan_run("r", FIRST_PERIOD, 7, 1), 0, 0, {}, keep_runs=0, ttl_s=TTL_S)
