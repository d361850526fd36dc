"""`fti predictions lookup|live --dataset D` and `fti serve` against the real Redis."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
import redis
from typer.testing import CliRunner, Result

from fti.cache.predictions import go_live, plan_run
from fti.cli import app
from fti.settings import get_settings
from tests.harness.services import LOOPBACK, free_port
from tests.integration.cache.cache_data import (
    DAILY,
    DAILY_WITH_QUANTILES,
    FIRST_PERIOD,
    HOURLY,
    TTL_S,
    entities,
    values,
    with_quantiles,
    write_all,
)

pytestmark = pytest.mark.integration

UK = "United Kingdom|85000A"


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_url: str) -> Iterator[str]:
    """The sandbox cache prefix of online_retail, the default data set (FTI_DATASET); FTI_REDIS_URL
    points at the session's (emptied) Redis; the specs are the checkout's."""
    monkeypatch.setenv("FTI_ENV", "sandbox")
    monkeypatch.setenv("FTI_REDIS_URL", redis_url)
    monkeypatch.setenv("FTI_DATASET", "online_retail")
    monkeypatch.delenv("FTI_SPECS_DIR", raising=False)
    get_settings.cache_clear()
    yield get_settings().cache_prefix("online_retail")
    get_settings.cache_clear()


def published(
    client: redis.Redis, prefix: str, first_period: str = FIRST_PERIOD, calendar: Mapping[str, str] = DAILY
) -> None:
    plan = plan_run("run-a", first_period, 9 if calendar["grain"] == "hour" else 7, 100)
    rows = values(100, base=4.0, horizon=plan.horizon)
    chunks, predictions = write_all(client, plan, entities(100), rows, prefix=prefix, calendar=calendar)
    go_live(client, prefix, plan, chunks, predictions, {"model_version": "3"}, keep_runs=2, ttl_s=TTL_S)


def fti(*args: str) -> Result:
    return CliRunner().invoke(app, ["predictions", *args])


def plain(text: str) -> str:
    """A usage error's text without the box Typer draws around it, on one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_lookup_prints_the_value_its_run_and_model(redis_client: redis.Redis, prefix: str) -> None:
    published(redis_client, prefix)

    result = fti("lookup", UK, "2024-03-03")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{UK}\t2024-03-03\t4.2500\trun=run-a\tmodel=v3\n"


def test_lookup_prints_the_quantiles_after_the_point_forecast(redis_client: redis.Redis, prefix: str) -> None:
    plan = plan_run("run-q", FIRST_PERIOD, 7, 100, values_per_period=4)
    rows = with_quantiles(values(100, base=4.0))
    chunks, n = write_all(
        redis_client, plan, entities(100), rows, prefix=prefix, calendar=DAILY_WITH_QUANTILES
    )
    go_live(redis_client, prefix, plan, chunks, n, {"model_version": "3"}, keep_runs=2, ttl_s=TTL_S)

    result = fti("lookup", UK, "2024-03-03")

    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == f"{UK}\t2024-03-03\t4.2500\tp10=3.2500\tp50=4.2500\tp90=6.2500\trun=run-q\tmodel=v3\n"
    )


def test_the_dataset_option_picks_the_spec_its_grain_and_its_prefix(
    redis_client: redis.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    car_parks = get_settings().cache_prefix("car_parks")
    published(redis_client, car_parks, "2016-12-20T08:00", HOURLY)

    found = fti("lookup", UK, "2016-12-20T09:00", "--dataset", "car_parks")
    not_an_hour = fti("lookup", UK, "2016-12-20", "-d", "car_parks")
    not_retail = fti("lookup", UK, "2016-12-20")  # FTI_DATASET: online_retail, nothing live there

    assert found.exit_code == 0, found.output
    assert found.stdout.startswith(f"{UK}\t2016-12-20T09:00\t4.2500\trun=run-a")
    assert not_an_hour.exit_code == 2 and "expected YYYY-MM-DDTHH:00" in plain(not_an_hour.stderr)
    assert not_retail.exit_code == 1 and f"nothing is live under '{prefix}'" in not_retail.stderr


def test_without_a_data_set_the_command_names_the_ones_there(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FTI_DATASET")

    result = fti("lookup", UK, "2024-03-03")
    unknown = fti("live", "--dataset", "nope")

    assert result.exit_code == 2 and "which data set?" in plain(result.stderr)
    assert "car_parks, online_retail, store_sales" in plain(result.stderr)
    assert unknown.exit_code == 1 and "no spec of data set 'nope'" in unknown.stderr


def test_lookup_of_an_unknown_entity_exits_1_saying_why(redis_client: redis.Redis, prefix: str) -> None:
    published(redis_client, prefix)

    result = fti("lookup", "Atlantis|0", "2024-03-03")

    assert result.exit_code == 1
    assert "not found: no live prediction for entity 'Atlantis|0' in period 2024-03-03" in result.stderr


def test_live_prints_the_live_runs_metadata_or_exits_1(redis_client: redis.Redis, prefix: str) -> None:
    assert (fti("live").exit_code, fti("live").stderr) == (1, "nothing of 'online_retail' is live yet\n")
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
    assert (fields["first_period"], fields["horizon"], fields["grain"]) == ("2024-03-02", "7", "day")


def test_an_unreachable_redis_exits_2_naming_it(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("FTI_REDIS_URL", f"redis://{LOOPBACK}:{port}/0")

    result = fti("lookup", UK, "2024-03-03")

    assert result.exit_code == 2
    assert f"Redis at {LOOPBACK}:{port}/0 is not reachable" in result.stderr


def test_fti_serve_answers_lookups_over_http_from_two_workers(
    redis_client: redis.Redis, prefix: str, redis_url: str
) -> None:
    published(redis_client, prefix)
    port = free_port()
    fti_bin = shutil.which("fti", path=str(Path(sys.executable).parent)) or "fti"
    server = subprocess.Popen(
        [fti_bin, "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, "FTI_REDIS_URL": redis_url, "FTI_ENV": "sandbox"},  # the checkout's specs
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90  # two workers import the app on cores other jobs share
        while True:
            try:
                health = httpx.get(f"http://{LOOPBACK}:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "fti serve did not start"
                time.sleep(0.1)
        found = httpx.get(
            f"http://{LOOPBACK}:{port}/online_retail/predictions/United%20Kingdom%7C85000A/2024-03-03"
        )
        workers = worker_processes(server.pid)
    finally:
        server.terminate()
        server.wait(10)

    assert health.json() == {"redis": "ok"}
    assert found.json()["prediction"] == 4.25 and found.json()["run"] == "run-a"
    assert len(workers) == 2, workers


def worker_processes(parent: int) -> list[str]:
    """Command lines of the uvicorn workers (multiprocessing children) of process ``parent``."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    lines = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in children]
    return [line for line in lines if "multiprocessing.spawn" in line]
