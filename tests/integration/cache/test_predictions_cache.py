"""The prediction cache against a real Redis: publication, lookups, metadata, layout, connecting."""

from __future__ import annotations

import re
import struct
import time
import zlib
from datetime import date, datetime, timedelta

import numpy as np
import pytest
import redis

from fti.cache import layout
from fti.cache.client import PredictionClient
from fti.cache.connect import CacheUnavailable, connect, redis_url
from fti.cache.predictions import (
    IncompleteRun,
    PredictionNotFound,
    RunConflict,
    begin_run,
    go_live,
    live_run,
    lookup,
    plan_run,
    runs,
    write_chunk,
)
from tests.harness.services import free_port
from tests.integration.cache.cache_data import (
    DAILY,
    DAILY_WITH_QUANTILES,
    FIRST_DATE,
    FIRST_PERIOD,
    PREFIX,
    TTL_S,
    Publish,
    entities,
    values,
    with_quantiles,
    write_all,
)

pytestmark = pytest.mark.integration

UK = "United Kingdom|85000A"


def test_published_run_is_looked_up_with_its_run_id(redis_client: redis.Redis, publish: Publish) -> None:
    names = entities(300)
    publish("run-a", names, values(300, base=10.0))

    assert lookup(redis_client, PREFIX, UK, "2024-03-02") == (10.0, "run-a")
    assert lookup(redis_client, PREFIX, names[123], FIRST_DATE + timedelta(days=6)) == (134.5, "run-a")


def test_written_run_is_invisible_until_it_goes_live(redis_client: redis.Redis) -> None:
    plan = plan_run("run-a", FIRST_PERIOD, 7, 100)
    write_all(redis_client, plan, entities(100), values(100, base=1.0))

    with pytest.raises(PredictionNotFound, match="nothing is live under 'fti:test'"):
        lookup(redis_client, PREFIX, UK, "2024-03-02")
    assert live_run(redis_client, PREFIX) is None


def test_lookups_keep_the_live_run_until_the_switch(redis_client: redis.Redis, publish: Publish) -> None:
    client = PredictionClient(redis_client, PREFIX)
    publish("run-a", entities(100), values(100, base=1.0))
    plan_b = plan_run("run-b", FIRST_PERIOD, 7, 100)
    chunks, predictions = write_all(redis_client, plan_b, entities(100), values(100, base=500.0))

    assert client.lookup(UK, "2024-03-02") == (1.0, "run-a")

    go_live(redis_client, PREFIX, plan_b, chunks, predictions, {}, keep_runs=5, ttl_s=TTL_S)

    assert client.lookup(UK, "2024-03-02") == (500.0, "run-b")  # the client notices the switch


def test_a_client_notices_a_run_id_published_again_with_other_periods(
    redis_client: redis.Redis, publish: Publish
) -> None:
    client = PredictionClient(redis_client, PREFIX)
    publish("run-a", entities(100), values(100, base=1.0))
    assert client.lookup(UK, FIRST_DATE + timedelta(days=1)) == (1.25, "run-a")
    publish("run-b", entities(100), values(100, base=2.0), keep_runs=1)  # deletes run-a

    publish("run-a", entities(100), values(100, base=3.0), first_period="2024-03-03")

    assert client.lookup(UK, FIRST_DATE + timedelta(days=1)) == (3.0, "run-a")  # not 3.25


def test_unknown_entity_raises_a_clear_error_rather_than_a_value_of_an_older_run(
    redis_client: redis.Redis, publish: Publish
) -> None:
    publish("run-a", entities(100), values(100, base=1.0))
    publish("run-b", entities(50), values(50, base=2.0))
    dropped = entities(100)[70]

    with pytest.raises(
        PredictionNotFound,
        match=re.escape(
            f"no live prediction for entity {dropped!r} in period 2024-03-02: "
            "the entity is not in live run run-b"
        ),
    ):
        lookup(redis_client, PREFIX, dropped, "2024-03-02")


@pytest.mark.parametrize("day", [FIRST_DATE - timedelta(days=1), FIRST_DATE + timedelta(days=7)])
def test_a_period_outside_the_horizon_raises_a_clear_error(
    redis_client: redis.Redis, publish: Publish, day: date
) -> None:
    publish("run-a", entities(10), values(10, base=1.0))

    with pytest.raises(
        PredictionNotFound, match=r"outside live run run-a's horizon \(2024-03-02 to 2024-03-08\)"
    ):
        lookup(redis_client, PREFIX, UK, day)


def test_nan_means_no_prediction_and_is_not_counted(redis_client: redis.Redis) -> None:
    rows = values(2, base=1.0)
    rows[0, 3] = np.nan
    plan = plan_run("run-a", FIRST_PERIOD, 7, 2)
    begin_run(redis_client, PREFIX, plan, DAILY, TTL_S)

    written = write_chunk(redis_client, PREFIX, plan, "only", entities(2), rows, TTL_S)
    go_live(redis_client, PREFIX, plan, 1, 13, {}, keep_runs=2, ttl_s=TTL_S)

    assert written == 13
    with pytest.raises(
        PredictionNotFound, match=r"in period 2024-03-05: live run run-a has no prediction .*\(NaN\)"
    ):
        lookup(redis_client, PREFIX, UK, "2024-03-05")
    assert lookup(redis_client, PREFIX, UK, "2024-03-06") == (2.0, "run-a")


def test_many_reads_pairs_of_one_run_with_none_where_nothing_is_predicted(
    redis_client: redis.Redis, publish: Publish
) -> None:
    names = entities(200)
    publish("run-a", names, values(200, base=0.0))
    client = PredictionClient(redis_client, PREFIX)

    found, run = client.many(
        [(names[5], "2024-03-02"), ("Nowhere|0", "2024-03-02"), (names[7], "2024-03-09")]
    )

    assert (found, run) == ([5.0, None, None], "run-a")


def test_live_run_returns_the_run_id_and_its_metadata(redis_client: redis.Redis, publish: Publish) -> None:
    publish("run-a", entities(100), values(100, base=1.0))

    meta = live_run(redis_client, PREFIX)

    assert meta is not None
    assert {
        k: meta[k] for k in ("run", "state", "first_period", "horizon", "grain", "week_start", "n_buckets")
    } == {
        "run": "run-a",
        "state": "live",
        "first_period": "2024-03-02",
        "horizon": "7",
        "grain": "day",
        "week_start": "0",
        "n_buckets": "2",
    }
    assert (meta["model_version"], meta["chunks"], meta["predictions"]) == ("3", "2", "700")
    assert meta["published_at"] >= meta["started_at"]
    assert runs(redis_client, PREFIX) == ["run-a"]


def test_values_are_where_the_documented_layout_says(redis_client: redis.Redis, publish: Publish) -> None:
    """What the layout docstring tells redis-cli users to do finds the prediction."""
    publish("run-a", entities(300), values(300, base=10.0))

    run = redis_client.get(f"{PREFIX}:live").decode()
    n_buckets = int(redis_client.hget(f"{PREFIX}:run:{run}:meta", "n_buckets"))
    raw = redis_client.hget(f"{PREFIX}:run:{run}:b:{zlib.crc32(UK.encode()) % n_buckets}", UK)

    assert struct.unpack("<7f", raw) == (10.0, 10.25, 10.5, 10.75, 11.0, 11.25, 11.5)


def test_go_live_of_a_short_run_raises_and_changes_nothing(
    redis_client: redis.Redis, publish: Publish
) -> None:
    publish("run-a", entities(100), values(100, base=1.0))
    plan = plan_run("run-b", FIRST_PERIOD, 7, 100)
    chunks, predictions = write_all(redis_client, plan, entities(100), values(100, base=2.0))
    before = {k: redis_client.dump(k) for k in redis_client.scan_iter()}

    with pytest.raises(
        IncompleteRun, match=r"2 chunks and 700 predictions recorded, expected 3 and 700.*still run-a"
    ):
        go_live(redis_client, PREFIX, plan, chunks + 1, predictions, {}, keep_runs=1, ttl_s=TTL_S)

    assert {k: redis_client.dump(k) for k in redis_client.scan_iter()} == before


def test_go_live_of_a_run_never_begun_raises(redis_client: redis.Redis) -> None:
    plan = plan_run("run-x", FIRST_PERIOD, 7, 10)

    with pytest.raises(IncompleteRun, match="run-x has no metadata"):
        go_live(redis_client, PREFIX, plan, 0, 0, {}, keep_runs=1, ttl_s=TTL_S)
    with pytest.raises(RunConflict, match="call begin_run first"):
        write_chunk(redis_client, PREFIX, plan, "c0", entities(1), values(1, 0.0), TTL_S)


def test_a_run_id_cannot_be_reused_with_another_plan(redis_client: redis.Redis) -> None:
    begin_run(redis_client, PREFIX, plan_run("run-a", FIRST_PERIOD, 7, 100), {}, TTL_S)
    other = plan_run("run-a", FIRST_PERIOD, 7, 10_000)
    later = plan_run("run-a", "2024-03-03", 7, 100)

    with pytest.raises(
        RunConflict, match="n_buckets=2, values_per_period=1; this plan has 2024-03-02, 7, 157"
    ):
        begin_run(redis_client, PREFIX, other, {}, TTL_S)
    with pytest.raises(
        RunConflict, match="first_period=2024-03-02, horizon=7, n_buckets=2, .*; this plan has 2024-03-03"
    ):
        begin_run(redis_client, PREFIX, later, {}, TTL_S)
    with pytest.raises(RunConflict, match="was begun with"):
        write_chunk(redis_client, PREFIX, other, "c0", entities(1), values(1, 0.0), TTL_S)


def test_write_chunk_refuses_values_of_the_wrong_shape(redis_client: redis.Redis) -> None:
    plan = plan_run("run-a", FIRST_PERIOD, 7, 10)

    with pytest.raises(ValueError, match=r"shape \(3, 6\), expected \(3, 7\)"):
        write_chunk(redis_client, PREFIX, plan, "c0", entities(3), values(3, 0.0, horizon=6), TTL_S)


def test_plan_keeps_buckets_small_enough_for_listpack() -> None:
    assert plan_run("r", FIRST_PERIOD, 7, 0).n_buckets == 1
    assert plan_run("r", FIRST_PERIOD, 7, 64).n_buckets == 1
    assert plan_run("r", FIRST_PERIOD, 7, 1_000_000).n_buckets == 15_625
    with pytest.raises(ValueError, match="must match"):
        plan_run("run:with:colons", FIRST_PERIOD, 7, 10)
    assert layout.bucket_of(UK, 15_625) == zlib.crc32(UK.encode()) % 15_625


# ----- grains: the run's calendar decides what a period is -------------------------------------------
HOURLY = {"grain": "hour", "week_start": "0"}
WEEKLY_SUNDAY = {"grain": "week", "week_start": "6"}


def test_an_hourly_run_is_looked_up_by_the_hour(redis_client: redis.Redis, publish: Publish) -> None:
    names = entities(30)
    publish(
        "run-h", names, values(30, base=10.0, horizon=9), first_period="2016-12-20T08:00", calendar=HOURLY
    )
    client = PredictionClient(redis_client, PREFIX)

    assert client.lookup(UK, "2016-12-20T08:00") == (10.0, "run-h")
    assert client.lookup(names[2], "2016-12-20T16:00") == (14.0, "run-h")  # the 9th hour
    assert client.lookup(UK, "2016-12-20 09:00") == (10.25, "run-h")  # a space for the T
    assert client.prediction(UK, datetime(2016, 12, 20, 11)).period == "2016-12-20T11:00"
    with pytest.raises(PredictionNotFound, match=r"horizon \(2016-12-20T08:00 to 2016-12-20T16:00\)"):
        client.lookup(UK, "2016-12-20T17:00")


@pytest.mark.parametrize("period", ["2016-12-20T08:30", "2016-12-20", "2016-12-20T8"])
def test_an_hourly_run_refuses_a_time_that_is_not_an_hours_start_naming_the_form(
    redis_client: redis.Redis, publish: Publish, period: str
) -> None:
    publish(
        "run-h",
        entities(3),
        values(3, base=10.0, horizon=9),
        first_period="2016-12-20T08:00",
        calendar=HOURLY,
    )

    with pytest.raises(ValueError, match=re.escape(f"{period!r}") + ".*expected YYYY-MM-DDTHH:00"):
        PredictionClient(redis_client, PREFIX).lookup(UK, period)


def test_a_weekly_run_refuses_a_date_that_is_not_the_weeks_start(
    redis_client: redis.Redis, publish: Publish
) -> None:
    publish(
        "run-w",
        entities(3),
        values(3, base=1.0, horizon=4),
        first_period="2024-03-03",
        calendar=WEEKLY_SUNDAY,
    )
    client = PredictionClient(redis_client, PREFIX)

    assert client.lookup(UK, "2024-03-10") == (1.25, "run-w")  # the second week (Sunday to Saturday)
    with pytest.raises(ValueError, match=r"'2024-03-11' is not the start of a week period .*Sunday"):
        client.lookup(UK, "2024-03-11")
    with pytest.raises(ValueError, match="not the start of a week .Sunday. period"):
        client.lookup(UK, date(2024, 3, 11))
    with pytest.raises(PredictionNotFound, match=r"horizon \(2024-03-03 to 2024-03-24\)"):
        client.lookup(UK, "2024-03-31")


def test_many_refuses_a_period_of_another_grain(redis_client: redis.Redis, publish: Publish) -> None:
    publish(
        "run-h",
        entities(3),
        values(3, base=10.0, horizon=9),
        first_period="2016-12-20T08:00",
        calendar=HOURLY,
    )

    with pytest.raises(ValueError, match="expected YYYY-MM-DDTHH:00"):
        PredictionClient(redis_client, PREFIX).many([(UK, "2016-12-20T08:00"), (UK, "2016-12-20")])


def test_a_live_run_whose_metadata_has_no_grain_is_refused_as_unusable(redis_client: redis.Redis) -> None:
    plan = plan_run("run-a", FIRST_PERIOD, 7, 10)
    chunks, predictions = write_all(redis_client, plan, entities(10), values(10, base=1.0), calendar={})
    go_live(redis_client, PREFIX, plan, chunks, predictions, {}, keep_runs=1, ttl_s=TTL_S)

    with pytest.raises(PredictionNotFound, match="live run run-a has no usable metadata .*grain"):
        lookup(redis_client, PREFIX, UK, FIRST_PERIOD)


def test_connect_returns_a_working_client(redis_url: str) -> None:
    client = connect(redis_url)

    assert client.ping() is True
    client.close()


def test_connect_to_a_port_without_a_server_fails_fast_naming_the_address_but_not_the_password() -> None:
    port = free_port()
    url = redis_url("127.0.0.1", port, login="fti", password="s3cret")

    started = time.monotonic()
    with pytest.raises(CacheUnavailable, match=f"Redis at 127.0.0.1:{port}/0 is not reachable") as raised:
        connect(url, timeout_s=1.0)

    assert time.monotonic() - started < 3.0
    assert "s3cret" not in str(raised.value)


def test_redis_url_quotes_credentials_and_defaults_port_and_db() -> None:
    assert redis_url("cache", None) == "redis://cache:6379/0"
    assert redis_url("cache", 6380, db=2, login="fti", password="p@ss:w/rd") == (
        "redis://fti:p%40ss%3Aw%2Frd@cache:6380/2"
    )


def test_quantiles_are_looked_up_with_their_point_forecast(
    redis_client: redis.Redis, publish: Publish
) -> None:
    names = entities(120)
    publish("run-q", names, with_quantiles(values(120, base=10.0)), calendar=DAILY_WITH_QUANTILES)
    client = PredictionClient(redis_client, PREFIX)

    found = client.prediction(names[7], "2024-03-04")

    assert found.value == 17.5  # base + entity 7 + period 2 / 4
    assert found.quantiles == {"p10": 16.5, "p50": 17.5, "p90": 19.5}
    assert client.lookup(names[7], "2024-03-04") == (17.5, "run-q")  # point lookups are unchanged
    assert client.many([(names[7], "2024-03-04"), (names[8], "2024-03-02")])[0] == [17.5, 18.0]


def test_a_run_without_quantiles_looks_up_none(redis_client: redis.Redis, publish: Publish) -> None:
    publish("run-a", entities(10), values(10, base=1.0))

    assert PredictionClient(redis_client, PREFIX).prediction(UK, "2024-03-02").quantiles == {}


def test_a_chunk_of_another_number_of_values_per_period_is_refused(redis_client: redis.Redis) -> None:
    names = entities(10)
    plan = plan_run("run-q", FIRST_PERIOD, 7, 10, values_per_period=4)
    write_all(redis_client, plan, names, with_quantiles(values(10, base=1.0)), calendar=DAILY_WITH_QUANTILES)

    points_only = plan_run("run-q", FIRST_PERIOD, 7, 10)
    with pytest.raises(RunConflict, match="values_per_period"):
        write_chunk(redis_client, PREFIX, points_only, "c9999", names, values(10, base=1.0), TTL_S)
    with pytest.raises(RunConflict, match="values_per_period=4"):
        begin_run(redis_client, PREFIX, points_only, dict(DAILY), TTL_S)
    with pytest.raises(ValueError, match=r"expected \(10, 7, 4\)"):
        write_chunk(redis_client, PREFIX, plan, "c9999", names, values(10, base=1.0), TTL_S)


def test_quantile_names_that_do_not_match_the_stored_values_are_not_guessed(
    redis_client: redis.Redis, publish: Publish
) -> None:
    names = entities(10)
    publish("run-q", names, with_quantiles(values(10, base=1.0)), calendar={**DAILY, "quantiles": "p10,p90"})

    with pytest.raises(PredictionNotFound, match="4 values per period but quantiles"):
        PredictionClient(redis_client, PREFIX).prediction(names[0], "2024-03-02")
