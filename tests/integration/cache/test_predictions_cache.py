"""Tests of the Redis prediction cache against a real Redis: publication, lookups, cleanup, connecting."""

from __future__ import annotations

import time

import pandas as pd
import pytest
import redis

from fti.cache import layout
from fti.cache.client import connect, redis_url
from fti.cache.predictions import PredictionNotFound, delete_runs, go_live, live_run, lookup, write_run
from tests.harness.services import free_port

pytestmark = pytest.mark.integration

PREFIX = "fti-test"
TTL_S = 3600
UK, FR = "United Kingdom|85048", "France|85048"


def predictions(value: float, entities: tuple[str, ...] = (UK, FR)) -> pd.DataFrame:
    """Predictions of ``value`` (+1 per later day) for 2024-03-02 and 2024-03-03 of each entity."""
    rows = [(e, d, value + i) for e in entities for i, d in enumerate(["2024-03-02", "2024-03-03"])]
    return pd.DataFrame(rows, columns=["entity", "target_date", "prediction"])


def all_keys(client: redis.Redis) -> set[str]:
    """Every key in the database, decoded (the fixture's client replies with bytes)."""
    return {key.decode() for key in client.scan_iter()}


def publish(client: redis.Redis, run: str, frame: pd.DataFrame) -> None:
    write_run(client, PREFIX, run, frame, ttl_s=TTL_S)
    go_live(client, PREFIX, run, {"model_version": "3", "predictions": str(len(frame))}, ttl_s=TTL_S)


def test_published_run_is_looked_up_with_its_run_id(redis_client: redis.Redis) -> None:
    written = write_run(redis_client, PREFIX, "run-a", predictions(12.5), ttl_s=TTL_S)
    go_live(redis_client, PREFIX, "run-a", {"model_version": "3"}, ttl_s=TTL_S)

    assert written == 4
    assert lookup(redis_client, PREFIX, UK, "2024-03-02") == (12.5, "run-a")
    assert lookup(redis_client, PREFIX, FR, "2024-03-03") == (13.5, "run-a")


def test_written_run_is_invisible_until_it_goes_live(redis_client: redis.Redis) -> None:
    write_run(redis_client, PREFIX, "run-a", predictions(12.5), ttl_s=TTL_S)

    with pytest.raises(PredictionNotFound, match="no prediction is live under 'fti-test'"):
        lookup(redis_client, PREFIX, UK, "2024-03-02")
    assert live_run(redis_client, PREFIX) is None


def test_lookups_keep_the_live_run_until_the_switch(redis_client: redis.Redis) -> None:
    publish(redis_client, "run-a", predictions(1.0))
    write_run(redis_client, PREFIX, "run-b", predictions(2.0), ttl_s=TTL_S)

    assert lookup(redis_client, PREFIX, UK, "2024-03-02") == (1.0, "run-a")

    go_live(redis_client, PREFIX, "run-b", {"model_version": "4"}, ttl_s=TTL_S)

    assert lookup(redis_client, PREFIX, UK, "2024-03-02") == (2.0, "run-b")


def test_unknown_entity_raises_a_clear_error_rather_than_a_value_of_an_older_run(
    redis_client: redis.Redis,
) -> None:
    publish(redis_client, "run-a", predictions(1.0, entities=(UK, FR)))
    publish(redis_client, "run-b", predictions(2.0, entities=(UK,)))

    with pytest.raises(PredictionNotFound, match=r"entity 'France\|85048' on 2024-03-02 in live run run-b"):
        lookup(redis_client, PREFIX, FR, "2024-03-02")


def test_unknown_date_raises_a_clear_error(redis_client: redis.Redis) -> None:
    publish(redis_client, "run-a", predictions(1.0))

    with pytest.raises(
        PredictionNotFound, match=r"entity 'United Kingdom\|85048' on 2024-03-09 in live run run-a"
    ):
        lookup(redis_client, PREFIX, UK, "2024-03-09")


def test_live_run_returns_the_run_id_and_its_metadata(redis_client: redis.Redis) -> None:
    publish(redis_client, "run-a", predictions(1.0))

    assert live_run(redis_client, PREFIX) == {"run": "run-a", "model_version": "3", "predictions": "4"}


def test_delete_runs_removes_exactly_the_keys_of_those_runs(redis_client: redis.Redis) -> None:
    publish(redis_client, "run-1", predictions(1.0))
    publish(redis_client, "run-10", predictions(2.0))  # shares a prefix with run-1's id
    write_run(redis_client, "other", "run-1", predictions(3.0), ttl_s=TTL_S)  # same run id, other cache
    kept = {k for k in all_keys(redis_client) if not k.startswith(f"{PREFIX}:run:run-1:")}

    removed = delete_runs(redis_client, PREFIX, ["run-1"])

    assert removed == 3  # two entities and the metadata
    assert all_keys(redis_client) == kept
    assert lookup(redis_client, PREFIX, UK, "2024-03-02") == (2.0, "run-10")


def test_every_key_of_a_run_expires(redis_client: redis.Redis) -> None:
    publish(redis_client, "run-a", predictions(1.0, entities=tuple(f"UK|{i:05d}" for i in range(30))))

    run_keys = list(redis_client.scan_iter(match=layout.run_pattern(PREFIX, "run-a")))

    assert len(run_keys) == 31  # 30 entities and the metadata
    assert all(0 < redis_client.ttl(key) <= TTL_S for key in run_keys)


def test_connect_returns_a_working_client(redis_url: str) -> None:
    client = connect(redis_url)

    assert client.ping() is True
    client.close()


def test_connect_to_a_port_without_a_server_fails_fast_naming_the_address_but_not_the_password() -> None:
    port = free_port()
    url = redis_url("127.0.0.1", port, login="fti", password="s3cret")

    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"Redis at 127.0.0.1:{port}/0 is not reachable") as raised:
        connect(url, timeout_s=1.0)

    assert time.monotonic() - started < 3.0
    assert "s3cret" not in str(raised.value)


def test_redis_url_quotes_credentials_and_defaults_port_and_db() -> None:
    assert redis_url("cache", None) == "redis://cache:6379/0"
    assert redis_url("cache", 6380, db=2, login="fti", password="p@ss:w/rd") == (
        "redis://fti:p%40ss%3Aw%2Frd@cache:6380/2"
    )
