"""A hung or busy cache: lookups over HTTP answer 503 with a reason within about a second, not 90 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from fti.cache.client import PredictionClient
from tests.harness.services import RedisServer
from tests.integration.cache.cache_data import entities, publish_run, values
from tests.integration.cache.test_cache_http import RETAIL, UK, path, serving

pytestmark = pytest.mark.integration

BOUND_S = 2.0
"""What a lookup may take against a hung server: twice the 0.5 s command bound, plus slack."""


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, which it may stop and resume."""
    with RedisServer() as server:
        yield server


def timed(call: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call.get(url)
    return response, time.monotonic() - started


def test_a_hung_cache_answers_503_within_a_second_or_two_and_recovers(own_redis: RedisServer) -> None:
    client = redis.Redis.from_url(own_redis.url)
    publish_run(client, "run-a", entities(10), values(10, base=7.0), prefix=RETAIL)
    with serving(own_redis.url) as http:
        assert http.get(path(UK, "2024-03-04")).status_code == 200
        own_redis.pause()
        try:
            for url in ("/health", path(UK, "2024-03-04"), "/online_retail/live"):
                response, took = timed(http, url)
                assert response.status_code == 503, response.text
                assert "not reachable" in response.json()["detail"]
                assert took < BOUND_S, f"{url} took {took:.1f} s"
        finally:
            own_redis.resume()
        assert http.get(path(UK, "2024-03-04")).status_code == 200


def test_a_script_holding_the_server_gives_busy_503s_and_the_operator_can_kill_it(
    own_redis: RedisServer,
) -> None:
    admin = redis.Redis.from_url(own_redis.url)
    publish_run(admin, "run-a", entities(10), values(10, base=7.0), prefix=RETAIL)
    admin.config_set("busy-reply-threshold", 100)  # ms; Redis's default is 5 s
    loop = threading.Thread(target=_run_forever, args=(own_redis.url,), daemon=True)
    with serving(own_redis.url) as http:
        loop.start()
        time.sleep(0.3)
        response, took = timed(http, path(UK, "2024-03-04"))
        assert response.status_code == 503 and "busy" in response.json()["detail"], response.text
        assert took < BOUND_S
        assert admin.script_kill()  # the operator's way out (README: operations)
        loop.join(5)
        assert http.get(path(UK, "2024-03-04")).status_code == 200


def _run_forever(url: str) -> None:
    try:
        redis.Redis.from_url(url).eval("while true do end", 0)
    except redis.ResponseError:
        pass  # killed by SCRIPT KILL


def test_the_python_client_is_bounded_too(own_redis: RedisServer) -> None:
    reader = PredictionClient.from_url(own_redis.url, RETAIL, timeout_s=0.3)
    own_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            reader.live()
        assert time.monotonic() - started < BOUND_S
    finally:
        own_redis.resume()
