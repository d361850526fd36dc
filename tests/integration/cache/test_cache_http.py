"""The HTTP lookup service of every data set, served by uvicorn on a free port, against the real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis
import uvicorn
from pydantic import SecretStr

from fti.serving.http import create_app
from fti.settings import PROJECT_ROOT, Settings
from tests.harness.services import LOOPBACK, free_port
from tests.integration.cache.cache_data import (
    DAILY_WITH_QUANTILES,
    HOURLY,
    Publish,
    entities,
    values,
    with_quantiles,
)

pytestmark = pytest.mark.integration

UK = "United Kingdom|85000A"
SETTINGS = Settings(var_dir=Path("/nonexistent/var"), specs_dir=PROJECT_ROOT / "specs")
RETAIL = SETTINGS.cache_prefix("online_retail")  # fti:sandbox:online_retail
CAR_PARKS = SETTINGS.cache_prefix("car_parks")


@contextmanager
def serving(redis_url: str, settings: Settings = SETTINGS) -> Iterator[httpx.Client]:
    """An HTTP client of the app over ``redis_url``, served by uvicorn in a thread on a free port."""
    port = free_port()
    config = uvicorn.Config(create_app(redis_url, settings), host=LOOPBACK, port=port, log_level="warning")
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


def path(entity: str, period: str, dataset: str = "online_retail") -> str:
    return f"/{dataset}/predictions/{quote(entity, safe='')}/{period}"


def test_a_known_prediction_is_served_with_its_data_set_run_and_model_version(
    http: httpx.Client, publish: Publish
) -> None:
    publish("run-a", entities(100), values(100, base=7.0), prefix=RETAIL)

    response = http.get(path(UK, "2024-03-04"))

    assert path(UK, "2024-03-04") == "/online_retail/predictions/United%20Kingdom%7C85000A/2024-03-04"
    assert response.status_code == 200
    assert response.json() == {
        "dataset": "online_retail",
        "entity": UK,
        "period": "2024-03-04",
        "prediction": 7.5,
        "quantiles": {},
        "run": "run-a",
        "model_version": "3",
    }


def test_a_prediction_is_served_with_its_quantiles(http: httpx.Client, publish: Publish) -> None:
    calendar = {**DAILY_WITH_QUANTILES}
    publish("run-q", entities(100), with_quantiles(values(100, base=7.0)), prefix=RETAIL, calendar=calendar)

    response = http.get(path(UK, "2024-03-04"))

    assert response.status_code == 200
    assert response.json()["prediction"] == 7.5
    assert response.json()["quantiles"] == {"p10": 6.5, "p50": 7.5, "p90": 9.5}


def test_each_data_set_is_read_under_its_own_prefix(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(10), values(10, base=7.0), prefix=RETAIL)

    other = http.get(path(UK, "2016-12-20T08:00", "car_parks"))

    assert other.status_code == 404
    assert f"nothing is live under '{CAR_PARKS}'" in other.json()["detail"]


def test_an_hourly_data_set_is_looked_up_by_the_hour_and_refuses_other_times(
    http: httpx.Client, publish: Publish
) -> None:
    names = entities(5)
    publish(
        "run-h", names, values(5, base=1.0, horizon=9), "2016-12-20T08:00", calendar=HOURLY, prefix=CAR_PARKS
    )

    found = http.get(path(names[1], "2016-12-20T10:00", "car_parks"))
    half_past = http.get(path(names[1], "2016-12-20T10:30", "car_parks"))
    a_day = http.get(path(names[1], "2016-12-20", "car_parks"))

    assert found.status_code == 200
    assert (found.json()["period"], found.json()["prediction"]) == ("2016-12-20T10:00", 2.5)
    assert (half_past.status_code, a_day.status_code) == (422, 422)
    assert "expected YYYY-MM-DDTHH:00" in half_past.json()["detail"]
    assert "'2016-12-20' is not a hour period" in a_day.json()["detail"]


def test_an_unknown_entity_is_a_404_saying_why(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0), prefix=RETAIL)

    response = http.get(path("Atlantis|00000", "2024-03-04"))

    assert response.status_code == 404
    assert response.json() == {
        "detail": "no live prediction for entity 'Atlantis|00000' in period 2024-03-04: "
        "the entity is not in live run run-a"
    }


def test_a_period_outside_the_horizon_is_a_404(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0), prefix=RETAIL)

    response = http.get(path(UK, "2024-03-09"))

    assert response.status_code == 404
    assert "outside live run run-a's horizon (2024-03-02 to 2024-03-08)" in response.json()["detail"]


def test_a_malformed_period_is_a_422_naming_the_form(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0), prefix=RETAIL)

    response = http.get(path(UK, "03-04-2024"))

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "Invalid value for period: '03-04-2024' is not a day period: expected YYYY-MM-DD, e.g. 2011-12-10"
    )


def test_an_unknown_data_set_is_a_404_naming_the_ones_there(http: httpx.Client) -> None:
    for response in (http.get(path(UK, "2024-03-04", "nope")), http.get("/nope/live")):
        assert response.status_code == 404
        assert (
            "no data set 'nope'" in response.json()["detail"] and "online_retail" in response.json()["detail"]
        )


def test_nothing_live_is_a_404_on_lookups_and_on_live(http: httpx.Client) -> None:
    lookup, live = http.get(path(UK, "2024-03-04")), http.get("/online_retail/live")

    assert (lookup.status_code, live.status_code) == (404, 404)
    assert f"nothing is live under '{RETAIL}'" in lookup.json()["detail"]
    assert "nothing of 'online_retail' is live" in live.json()["detail"]


def test_a_live_run_without_the_lookup_functions_is_a_503_asking_for_a_publish(
    http: httpx.Client, publish: Publish, redis_client: redis.Redis
) -> None:
    publish("run-a", entities(3), values(3, base=7.0), prefix=RETAIL)
    redis_client.function_flush()  # e.g. a server restored from a dump taken before the first publish

    for url in (path(UK, "2024-03-04"), "/online_retail/live"):
        response = http.get(url)
        assert response.status_code == 503, response.text
        assert "cannot serve lookups" in response.json()["detail"]
        assert "run a publish" in response.json()["detail"]
    publish("run-b", entities(3), values(3, base=7.0), prefix=RETAIL)
    assert http.get(path(UK, "2024-03-04")).status_code == 200


def test_datasets_lists_every_spec_with_its_grain_horizon_and_live_run(
    http: httpx.Client, publish: Publish
) -> None:
    publish("run-a", entities(10), values(10, base=7.0), prefix=RETAIL)

    response = http.get("/datasets")

    assert response.status_code == 200
    assert response.json() == [
        {"dataset": "car_parks", "grain": "hour", "horizon": 9, "live_run": None},
        {"dataset": "online_retail", "grain": "day", "horizon": 7, "live_run": "run-a"},
        {"dataset": "store_sales", "grain": "week (Monday)", "horizon": 4, "live_run": None},
    ]


def test_live_and_health(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=7.0), prefix=RETAIL)

    live = http.get("/online_retail/live")

    assert live.status_code == 200
    assert (live.json()["run"], live.json()["model_version"], live.json()["state"]) == ("run-a", "3", "live")
    assert (live.json()["first_period"], live.json()["grain"]) == ("2024-03-02", "day")
    assert http.get("/health").json() == {"redis": "ok"}


def test_health_is_a_503_naming_the_address_when_redis_is_down() -> None:
    port = free_port()  # nothing listens there

    with serving(f"redis://{LOOPBACK}:{port}/0") as client:
        response = client.get("/health")
        lookup = client.get(path(UK, "2024-03-04"))
        datasets = client.get("/datasets")

    assert (
        response.status_code == 503 and f"{LOOPBACK}:{port}/0 is not reachable" in response.json()["detail"]
    )
    assert (lookup.status_code, datasets.status_code) == (503, 503)


def test_with_a_token_every_endpoint_but_health_needs_it(
    redis_client: redis.Redis, redis_url: str, publish: Publish
) -> None:
    publish("run-a", entities(10), values(10, base=7.0), prefix=RETAIL)
    guarded = SETTINGS.model_copy(update={"serve_token": SecretStr("s3cret-token")})

    with serving(redis_url, guarded) as http:
        anonymous = http.get(path(UK, "2024-03-04"))
        wrong = http.get(path(UK, "2024-03-04"), headers={"Authorization": "Bearer guess"})
        right = http.get(path(UK, "2024-03-04"), headers={"Authorization": "Bearer s3cret-token"})
        spec = http.get("/openapi.json")
        health = http.get("/health")

    assert (anonymous.status_code, wrong.status_code, spec.status_code) == (401, 401, 401)
    assert "FTI_SERVE_TOKEN" in anonymous.json()["detail"]
    assert right.status_code == 200 and right.json()["prediction"] == 7.5
    assert health.status_code == 200


def test_the_docs_page_loads_no_script_and_the_root_lists_data_sets_and_endpoints(
    http: httpx.Client, publish: Publish
) -> None:
    publish("run-a", entities(10), values(10, base=7.0), prefix=RETAIL)

    docs, redoc = http.get("/docs"), http.get("/redoc")
    root = http.get("/")
    page = http.get("/", headers={"Accept": "text/html,application/xhtml+xml"})

    assert docs.status_code == 200 and "GET /{dataset}/entities" in docs.text and "<script" not in docs.text
    assert redoc.status_code == 404 and http.get("/openapi.json").status_code == 200
    assert root.status_code == 200 and "/{dataset}/predictions/{entity}/{period}" in root.json()["endpoints"]
    assert root.json()["docs"] == "/docs" and root.json()["datasets"][1]["live_run"] == "run-a"
    assert page.headers["content-type"].startswith("text/html") and '<a href="/docs">' in page.text
    assert "<td>online_retail</td>" in page.text and "<td>run-a</td>" in page.text


def test_serving_beyond_loopback_without_a_token_is_refused_before_listening() -> None:
    from typer.testing import CliRunner

    from fti.cli import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"], env={"FTI_SERVE_TOKEN": ""})

    assert result.exit_code == 1
    assert "without a token: set FTI_SERVE_TOKEN" in result.output


def test_more_concurrent_lookups_than_pooled_connections_wait_for_one_and_all_answer(
    redis_client: redis.Redis, redis_url: str, publish: Publish
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    publish("run-a", entities(100), values(100, base=7.0), prefix=RETAIL)
    small_pool = SETTINGS.model_copy(update={"serve_pool_size": 2})
    before = {c["id"] for c in redis_client.client_list()}

    with serving(redis_url, small_pool) as http, ThreadPoolExecutor(16) as threads:
        urls = [path(name, "2024-03-04") for name in entities(100)] * 3
        answers = list(threads.map(lambda url: http.get(url), urls))
        opened = [c for c in redis_client.client_list() if c["id"] not in before]
    deadline = time.monotonic() + 5
    while [c for c in redis_client.client_list() if c["id"] not in before] and time.monotonic() < deadline:
        time.sleep(0.05)

    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200][:2]
    assert [a.json()["prediction"] for a in answers[:100]] == [7.5 + i for i in range(100)]
    assert 1 <= len(opened) <= 2  # the service's pool of two
    assert [c for c in redis_client.client_list() if c["id"] not in before] == []  # closed when it stopped
