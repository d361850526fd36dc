"""The production ACL (deploy/redis-cache/users.acl.template) against the code: a real redis-server
started with the template rendered as entrypoint.sh renders it; the writer publishes (and loads the
readers' functions), the reader looks up by FCALL_RO only, and neither can do more than that."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoPermissionError
from redis.retry import Retry

from fti.cache import functions
from fti.cache.client import LookupFunctionsMissing, PredictionClient, PredictionNotFound, fcall_ro, live_run
from fti.cache.connect import connect, redis_url
from fti.cache.memory import require_capacity, server_memory
from fti.cache.predictions import (
    RunPlan,
    begin_run,
    delete_runs,
    discard_out_of_memory,
    go_live,
    plan_run,
    write_chunk,
)
from fti.ui.sources import live
from tests.harness.redis_cache import CacheRedisServer, write_acl
from tests.harness.services import LOOPBACK, RedisServer
from tests.integration.cache.cache_data import DAILY, FIRST_DATE, FIRST_PERIOD, TTL_S, entities, values

pytestmark = pytest.mark.integration

PREFIX = "fti:production"
PASSWORDS = {"fti_writer": "writer-pw", "fti_reader": "reader pw with spaces", "fti_operator": "op-pw"}
ROLES = {"fti_writer": "WRITER", "fti_reader": "READER", "fti_operator": "OPERATOR"}
"""The ACL template's placeholder name (``@WRITER_SHA256@`` ...) of each user."""
SPIN = (
    "#!lua name=spin\n"
    "redis.register_function{function_name='spin', flags={'no-writes'},"
    " callback=function() while true do end end}"
)
"""A no-writes function that never returns (only the writer may load one)."""


def acl_redis(tmp_path_factory: pytest.TempPathFactory) -> CacheRedisServer:
    """The prediction cache as compose runs it, with the template's users (not started). A script
    holds it for 100 ms before other clients get BUSY (and SCRIPT/FUNCTION KILL work)."""
    passwords = {ROLES[user]: password for user, password in PASSWORDS.items()}
    aclfile = write_acl(tmp_path_factory.mktemp("acl") / "users.acl", passwords)
    return CacheRedisServer(aclfile, config={"busy-reply-threshold": "100"})


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CacheRedisServer]:
    with acl_redis(tmp_path_factory) as server:
        yield server


@pytest.fixture
def fresh_acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CacheRedisServer]:
    """A server of its own where nothing was ever published (no functions loaded)."""
    with acl_redis(tmp_path_factory) as server:
        yield server


def login(server: RedisServer, user: str) -> redis.Redis:
    return connect(redis_url(LOOPBACK, server.port, 0, user, PASSWORDS[user]))


@pytest.fixture(scope="module")
def published(acl_server: CacheRedisServer) -> RunPlan:
    """Two runs published by fti_writer (so go_live also retires and prunes), the second live."""
    writer = login(acl_server, "fti_writer")
    for i, run in enumerate(["run-a", "run-b"]):
        plan = plan_run(run, FIRST_PERIOD, 7, 100)
        begin_run(writer, PREFIX, plan, {"model_version": "3", **DAILY}, TTL_S)
        for c, start in enumerate((0, 50)):
            chunk = values(50, base=100.0 * i, start=start)
            write_chunk(writer, PREFIX, plan, f"c{c}", entities(50, start=start), chunk, TTL_S)
        go_live(writer, PREFIX, plan, 2, 700, {"model_version": "3"}, keep_runs=1, ttl_s=TTL_S)
    delete_runs(writer, PREFIX, ["never-published"])  # the SCAN fallback
    writer.close()
    return plan


def test_the_writer_checks_memory_and_deletes_its_own_partial_run(
    acl_server: CacheRedisServer, published: RunPlan
) -> None:
    writer = login(acl_server, "fti_writer")
    plan = plan_run("run-oom", FIRST_PERIOD, 7, 50)

    require_capacity(writer, entities(50), 7, 1)  # INFO memory: the writer may not run CONFIG
    begin_run(writer, PREFIX, plan, {"model_version": "3", **DAILY}, TTL_S)
    write_chunk(writer, PREFIX, plan, "c0", entities(50), values(50, base=9.0), TTL_S)
    error = discard_out_of_memory(writer, PREFIX, "run-oom", "c1")

    assert server_memory(writer).policy == "noeviction"
    assert "the live run is still run-b" in str(error)
    assert writer.exists(f"{PREFIX}:run:run-oom:meta", f"{PREFIX}:run:run-oom:chunks") == 0


def test_the_writer_publishes_and_the_reader_looks_up(
    acl_server: CacheRedisServer, published: RunPlan
) -> None:
    reader = PredictionClient(login(acl_server, "fti_reader"), PREFIX)

    assert reader.lookup(entities(1)[0], FIRST_PERIOD) == (100.0, "run-b")
    assert reader.many([(e, FIRST_DATE) for e in entities(3)]) == ([100.0, 101.0, 102.0], "run-b")
    assert reader.live() == live_run(reader.client, PREFIX) and reader.live()["state"] == "live"  # type: ignore[index]
    assert reader.client.ping() is True


def test_the_reader_pages_through_the_live_runs_entities(
    acl_server: CacheRedisServer, published: RunPlan
) -> None:
    from fti.cache.entities import entity_page

    reader = login(acl_server, "fti_reader")
    first = entity_page(reader, PREFIX, limit=60)
    rest = entity_page(reader, PREFIX, limit=60, cursor=first.next_cursor)

    assert (first.live.run, len(first.entities), rest.next_cursor) == ("run-b", 60, None)
    assert sorted(first.entities + rest.entities) == sorted(entities(100))


@pytest.mark.parametrize(
    "command",
    [
        ("SET", f"{PREFIX}:live", "run-x"),
        ("HSET", f"{PREFIX}:run:run-b:meta", "state", "hacked"),
        ("UNLINK", f"{PREFIX}:live"),
        ("EVAL", "return redis.call('SET', KEYS[1], 'x')", 1, f"{PREFIX}:live"),
        ("EVAL_RO", "return redis.call('GET', KEYS[1])", 1, f"{PREFIX}:live"),
        ("EVALSHA_RO", "a" * 40, 0),
        ("SCRIPT", "LOAD", "return 1"),
        ("FUNCTION", "LOAD", "REPLACE", "#!lua name=mine\nredis.register_function('mine', function() end)"),
        ("FUNCTION", "DELETE", functions.LIBRARY),
        ("FCALL", functions.LOOKUP, 1, f"{PREFIX}:live"),
        ("GET", "other:key"),
    ],
    ids=lambda c: " ".join(map(str, c[:2])) if c[0] in ("SCRIPT", "FUNCTION") else c[0],
)
def test_the_reader_is_refused_writes_lua_of_its_own_and_other_keys_with_noperm(
    acl_server: CacheRedisServer, published: RunPlan, command: tuple[Any, ...]
) -> None:
    reader = login(acl_server, "fti_reader")

    with pytest.raises(NoPermissionError, match="no permissions"):  # Redis's NOPERM reply
        reader.execute_command(*command)
    assert reader.get(f"{PREFIX}:live") == b"run-b"


@pytest.mark.parametrize("command", [("SET", "other:key", "x"), ("FLUSHALL",), ("KEYS", "*")], ids=str)
def test_the_writer_is_refused_other_keys_and_other_commands(
    acl_server: CacheRedisServer, published: RunPlan, command: tuple[Any, ...]
) -> None:
    writer = login(acl_server, "fti_writer")

    with pytest.raises(NoPermissionError, match="no permissions"):
        writer.execute_command(*command)


def test_a_reader_cannot_hold_the_server_with_a_lua_loop(
    acl_server: CacheRedisServer, published: RunPlan
) -> None:
    reader = login(acl_server, "fti_reader")
    other = PredictionClient(login(acl_server, "fti_reader"), PREFIX)

    with pytest.raises(NoPermissionError, match="no permissions"):
        reader.eval_ro("while true do end", 0)
    assert other.lookup(entities(1)[0], FIRST_PERIOD) == (100.0, "run-b")  # the server still answers


def test_the_reader_calls_the_functions_the_writer_loaded(
    acl_server: CacheRedisServer, published: RunPlan
) -> None:
    reader = login(acl_server, "fti_reader")
    keys, args = [f"{PREFIX}:live"], ["run-a", f"{PREFIX}:run:", ""]

    assert fcall_ro(reader, functions.LOOKUP, PREFIX, keys, args)[0] == 1  # "stale": run-b is live
    assert live_run(reader, PREFIX)["run"] == "run-b"  # type: ignore[index]


def test_a_reader_before_any_publish_finds_nothing_live_then_a_clear_error_without_the_functions(
    fresh_acl_server: CacheRedisServer,
) -> None:
    reader = PredictionClient(login(fresh_acl_server, "fti_reader"), PREFIX)
    writer = login(fresh_acl_server, "fti_writer")

    with pytest.raises(PredictionNotFound, match="nothing is live"):
        reader.lookup(entities(1)[0], FIRST_PERIOD)
    assert reader.live() is None
    writer.set(f"{PREFIX}:live", "run-a")  # a live run, but no go_live of this code loaded the functions
    with pytest.raises(LookupFunctionsMissing, match=f"{functions.LOOKUP}.*run a publish"):
        reader.lookup(entities(1)[0], FIRST_PERIOD)
    with pytest.raises(LookupFunctionsMissing, match=f"run run-a is live under '{PREFIX}'"):
        reader.live()


def test_the_default_user_is_refused(acl_server: CacheRedisServer, published: RunPlan) -> None:
    no_retry = Retry(NoBackoff(), 0)  # redis-py retries a refused login (an AuthenticationError)
    anonymous = redis.Redis(host=LOOPBACK, port=acl_server.port, retry=no_retry)
    as_default = redis.Redis(
        host=LOOPBACK, port=acl_server.port, username="default", password="x", retry=no_retry
    )

    with pytest.raises(redis.AuthenticationError, match="authenticated"):
        anonymous.get(f"{PREFIX}:live")
    with pytest.raises(redis.AuthenticationError, match="invalid username-password pair or user is disabled"):
        as_default.ping()


def test_the_control_room_reads_the_cache_as_fti_reader(
    acl_server: CacheRedisServer, published: RunPlan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The API server has both connections (compose gives every Airflow service the same
    environment); its plugin must pick the reader's."""
    for conn, user in (("FTI_REDIS", "fti_writer"), ("FTI_REDIS_READER", "fti_reader")):
        url = redis_url(LOOPBACK, acl_server.port, 0, user, PASSWORDS[user])
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn}", url)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))  # should this import be airflow's first
    plugin = importlib.import_module("plugins.fti_plugin")

    url = plugin.redis_url()

    assert urlsplit(url).username == "fti_reader"
    assert live(plugin.redis_url, PREFIX)["run"] == "run-b"  # type: ignore[index]
    with pytest.raises(NoPermissionError):
        connect(url).set(f"{PREFIX}:live", "run-x")


@pytest.mark.parametrize("kind", ["script", "function"])
def test_only_the_operator_may_kill_what_holds_the_server(
    fresh_acl_server: CacheRedisServer, kind: str
) -> None:
    """A runaway script (EVAL) or function (FCALL_RO): only the writer may start either; the
    reader and the writer are refused the kill, the operator's kill frees the server."""
    reader, writer, operator = (
        login(fresh_acl_server, u) for u in ("fti_reader", "fti_writer", "fti_operator")
    )
    spinner = login(fresh_acl_server, "fti_writer")
    if kind == "function":
        writer.function_load(SPIN, replace=True)
    hold = threading.Thread(target=_spin, args=(spinner, kind), daemon=True)
    hold.start()
    time.sleep(0.3)  # past the 100 ms busy-reply-threshold

    with pytest.raises(redis.ResponseError, match="^BUSY"):
        reader.get(f"{PREFIX}:live")
    for user in (reader, writer):
        with pytest.raises(NoPermissionError):
            user.execute_command(kind.upper(), "KILL")
    assert operator.execute_command(kind.upper(), "KILL")
    hold.join(5)
    assert not hold.is_alive() and reader.get(f"{PREFIX}:live") is None


def _spin(client: redis.Redis, kind: str) -> None:
    try:
        client.eval("while true do end", 0) if kind == "script" else client.fcall_ro("spin", 0)
    except redis.ResponseError:
        pass  # killed
