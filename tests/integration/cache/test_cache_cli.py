"""`fti predictions lookup|live` and `fti serve` against the real Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from typer.testing import CliRunner, Result

from fti.cache.predictions import go_live, plan_run
from fti.cli import app
from fti.settings import get_settings
from tests.harness.services import LOOPBACK, free_port
from tests.integration.cache.cache_data import FIRST_DATE, TTL_S, entities, values, write_all

pytestmark = pytest.mark.integration

UK = "United Kingdom|85000A"


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_url: str) -> Iterator[str]:
    """The sandbox settings' cache prefix; FTI_REDIS_URL points at the session's (emptied) Redis."""
    monkeypatch.setenv("FTI_ENV", "sandbox")
    monkeypatch.setenv("FTI_REDIS_URL", redis_url)
    get_settings.cache_clear()
    yield get_settings().cache_prefix
    get_settings.cache_clear()


def published(client: redis.Redis, prefix: str) -> None:
    plan = plan_run("run-a", FIRST_DATE, 7, 100)
    chunks, predictions = write_all(client, plan, entities(100), values(100, base=4.0), prefix=prefix)
    go_live(client, prefix, plan, chunks, predictions, {"model_version": "3"}, keep_runs=2, ttl_s=TTL_S)


def fti(*args: str) -> Result:
    return CliRunner().invoke(app, ["predictions", *args])


def test_lookup_prints_the_value_and_its_run(redis_client: redis.Redis, prefix: str) -> None:
    published(redis_client, prefix)

    result = fti("lookup", UK, "2024-03-03")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{UK}\t2024-03-03\t4.2500\trun=run-a\n"


def test_lookup_of_an_unknown_entity_exits_1_saying_why(redis_client: redis.Redis, prefix: str) -> None:
    published(redis_client, prefix)

    result = fti("lookup", "Atlantis|0", "2024-03-03")

    assert result.exit_code == 1
    assert "not found: no live prediction for entity 'Atlantis|0' on 2024-03-03" in result.stderr


def test_live_prints_the_live_runs_metadata_or_exits_1(redis_client: redis.Redis, prefix: str) -> None:
    assert (fti("live").exit_code, fti("live").stderr) == (1, "nothing is live yet\n")
    published(redis_client, prefix)

    result = fti("live")

    assert result.exit_code == 0, result.output
    fields = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    assert (fields["run"], fields["state"], fields["model_version"], fields["predictions"]) == (
        "run-a",
        "live",
        "3",
        "700",
    )


def test_an_unreachable_redis_exits_2_naming_it(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("FTI_REDIS_URL", f"redis://{LOOPBACK}:{port}/0")

    result = fti("lookup", UK, "2024-03-03")

    assert result.exit_code == 2
    assert f"Redis at {LOOPBACK}:{port}/0 is not reachable" in result.stderr


def test_fti_serve_answers_lookups_over_http(redis_client: redis.Redis, prefix: str, redis_url: str) -> None:
    published(redis_client, prefix)
    port = free_port()
    fti_bin = shutil.which("fti", path=str(Path(sys.executable).parent)) or "fti"
    server = subprocess.Popen(
        [fti_bin, "serve", "--port", str(port)],
        env={**os.environ, "FTI_REDIS_URL": redis_url, "FTI_ENV": "sandbox"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://{LOOPBACK}:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "fti serve did not start"
                time.sleep(0.1)
        found = httpx.get(f"http://{LOOPBACK}:{port}/predictions/United%20Kingdom%7C85000A/2024-03-03")
    finally:
        server.terminate()
        server.wait(10)

    assert health.json() == {"redis": "ok"}
    assert found.json()["prediction"] == 4.25 and found.json()["run"] == "run-a"
