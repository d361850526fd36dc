"""Finding which entities exist: GET /{dataset}/entities and `fti predictions sample`, against real Redis."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import httpx
import pytest
import redis
from typer.testing import CliRunner

from fti.cli import app
from fti.settings import get_settings
from tests.integration.cache.cache_data import Publish, entities, values
from tests.integration.cache.test_cache_http import RETAIL, path, serving

pytestmark = pytest.mark.integration


@pytest.fixture
def http(redis_client: redis.Redis, redis_url: str) -> Iterator[httpx.Client]:
    with serving(redis_url) as client:
        yield client


def pages(http: httpx.Client, **params: object) -> list[dict[str, object]]:
    """Every page of /online_retail/entities with ``params``, following next_cursor."""
    found, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = http.get("/online_retail/entities", params=query)
        assert response.status_code == 200, response.text
        found.append(response.json())
        if (cursor := response.json()["next_cursor"]) is None:
            return found


def test_entities_are_paged_from_the_live_run_each_listed_once(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(500), values(500, base=7.0), prefix=RETAIL)  # 8 buckets

    listed = pages(http, limit=100)

    assert [len(p["entities"]) for p in listed] == [100] * 5  # type: ignore[arg-type]
    assert sorted(e for p in listed for e in p["entities"]) == sorted(entities(500))  # type: ignore[attr-defined]
    assert {(p["run"], p["first_period"], p["last_period"]) for p in listed} == {
        ("run-a", "2024-03-02", "2024-03-08")
    }


def test_a_prefix_lists_only_the_entities_starting_with_it(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(500), values(500, base=7.0), prefix=RETAIL)

    france = [e for p in pages(http, prefix="France|", limit=7) for e in p["entities"]]  # type: ignore[attr-defined]

    assert sorted(france) == sorted(e for e in entities(500) if e.startswith("France|"))
    assert http.get(path(france[0], "2024-03-02")).status_code == 200


def test_a_cursor_of_a_run_no_longer_live_is_a_409(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(200), values(200, base=7.0), prefix=RETAIL)
    cursor = http.get("/online_retail/entities", params={"limit": 10}).json()["next_cursor"]
    publish("run-b", entities(200), values(200, base=8.0), prefix=RETAIL)

    response = http.get("/online_retail/entities", params={"cursor": cursor})

    assert response.status_code == 409
    assert "run run-b is live now: start again without a cursor" in response.json()["detail"]


def test_bad_parameters_are_422s_in_the_clis_words(http: httpx.Client, publish: Publish) -> None:
    publish("run-a", entities(10), values(10, base=7.0), prefix=RETAIL)

    queries: list[dict[str, object]] = [{"limit": "ten"}, {"limit": 0}, {"limit": 5000}, {"cursor": "forged"}]
    answers = [http.get("/online_retail/entities", params=query) for query in queries]  # type: ignore[arg-type]

    assert {r.status_code for r in answers} == {422}
    assert [r.json()["detail"] for r in answers] == [
        "Invalid value for limit: 'ten' is not a valid integer.",
        "Invalid value for limit: 0 is not in the range x>=1.",
        "Invalid value for limit: 5000 is not in the range x<=1000.",
        "Invalid value for cursor: 'forged' is not a cursor of this service: pass next_cursor as given",
    ]


def test_entities_of_nothing_live_is_a_404(http: httpx.Client) -> None:
    response = http.get("/online_retail/entities")

    assert response.status_code == 404 and f"nothing is live under '{RETAIL}'" in response.json()["detail"]


def test_sample_prints_live_entities_and_a_lookup_command_that_works(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_url: str, publish: Publish
) -> None:
    monkeypatch.setenv("FTI_ENV", "sandbox")
    monkeypatch.setenv("FTI_REDIS_URL", redis_url)
    monkeypatch.delenv("FTI_SPECS_DIR", raising=False)
    get_settings.cache_clear()
    publish("run-a", entities(300), values(300, base=7.0), prefix=RETAIL)
    try:
        result = CliRunner().invoke(app, ["predictions", "sample", "-d", "online_retail", "--n", "5"])
        lines = result.output.splitlines()
        command = next(line.strip() for line in lines if line.strip().startswith("fti predictions lookup"))
        lookup = CliRunner().invoke(app, shlex.split(command)[1:])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert lines[0] == "5 entities of live run run-a (2024-03-02 to 2024-03-08):"
    sampled = [line.strip() for line in lines[1:6]]
    assert len(set(sampled)) == 5 and set(sampled) <= set(entities(300))
    assert lookup.exit_code == 0 and lookup.output.startswith(f"{sampled[0]}\t2024-03-02\t"), lookup.output
    assert any(
        line.strip().startswith("curl http://127.0.0.1:8000/online_retail/predictions/") for line in lines
    )


def test_sample_of_nothing_live_exits_1(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_url: str
) -> None:
    monkeypatch.setenv("FTI_ENV", "sandbox")
    monkeypatch.setenv("FTI_REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["predictions", "sample", "-d", "online_retail"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1 and "nothing of 'online_retail' is live yet" in result.output
