"""The HTTP lookup service, served by uvicorn on a free port, against the real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest
import redis
import uvicorn

from fti.serving.http import create_app
from tests.harness.services import LOOPBACK, free_port
from tests.integration.cache.cache_data import PREFIX, Publish, entities, values

pytestmark = pytest.mark.integration

UK = "United Kingdom|85000A"


@contextmanager
def serving(redis_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the app over ``redis_url``, served by uvicorn in a thread on a free port."""
    port = free_port()
    config = uvicorn.Config(create_app(redis_url, PREFIX), host=LOOPBACK, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start within 10 s"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def http(redis_client: redis.Redis, redis_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the app over the session's Redis (emptied by ``redis_client``)."""
    with serving(redis_url) as client:
        yield client


def path(entity: str, day: str) -> str:
    return f"/predictions/{quote(entity, safe='')}/{day}"


def test_a_known_prediction_is_served_with_its_run_and_model_version(
    http: httpx.Client, publish: Publish
) -> None:
    publish("run-a", entities(100), values(100, base=7.0))

    response = http.get(path(UK, "2024-03-04"))

    assert path(UK, "2024-03-04") == "/predictions/United%20Kingdom%7C85000A/2024-03-04"
    assert response.status_code == 200
    assert response.json() == {
        "entity": UK,
        "date": "2024-03-04",
        "prediction": 7.5,
        "run": "run-a",
        "model_version": "3",
    }


def test_an_unknown_entity_is_a_404_saying_why(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0))

    response = http.get(path("Atlantis|00000", "2024-03-04"))

    assert response.status_code == 404
    assert response.json() == {
        "detail": "no live prediction for entity 'Atlantis|00000' on 2024-03-04: "
        "the entity is not in live run run-a"
    }


def test_a_date_outside_the_horizon_is_a_404(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0))

    response = http.get(path(UK, "2024-03-09"))

    assert response.status_code == 404
    assert "outside live run run-a's horizon (2024-03-02 to 2024-03-08)" in response.json()["detail"]


def test_a_malformed_date_is_a_422(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0))

    assert http.get(path(UK, "03-04-2024")).status_code == 422


def test_nothing_live_is_a_404_on_lookups_and_on_live(http: httpx.Client) -> None:
    lookup, live = http.get(path(UK, "2024-03-04")), http.get("/live")

    assert (lookup.status_code, live.status_code) == (404, 404)
    assert "nothing is live under 'fti:test'" in lookup.json()["detail"]


def test_live_and_health(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0))

    live = http.get("/live")

    assert live.status_code == 200
    assert (live.json()["run"], live.json()["model_version"], live.json()["state"]) == ("run-a", "3", "live")
    assert http.get("/health").json() == {"redis": "ok"}


def test_health_is_a_503_naming_the_address_when_redis_is_down() -> None:
    port = free_port()  # nothing listens there

    with serving(f"redis://{LOOPBACK}:{port}/0") as client:
        response = client.get("/health")
        lookup = client.get(path(UK, "2024-03-04"))

    assert (
        response.status_code == 503 and f"{LOOPBACK}:{port}/0 is not reachable" in response.json()["detail"]
    )
    assert lookup.status_code == 503
