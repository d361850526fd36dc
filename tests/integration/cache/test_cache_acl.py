"""The production ACL (deploy/redis-cache/users.acl.template) against the code: a real redis-server
started with the template rendered as entrypoint.sh renders it; the writer publishes, the reader
looks up, and neither can do more than that."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoPermissionError
from redis.retry import Retry

from fti.cache.client import LOOKUP, PredictionClient, connect, live_run, redis_url
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
from tests.harness.services import LOOPBACK, RedisServer
from tests.integration.cache.cache_data import DAILY, FIRST_DATE, FIRST_PERIOD, TTL_S, entities, values

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "redis-cache" / "users.acl.template"
PREFIX = "fti:production"
PASSWORDS = {"fti_writer": "writer-pw", "fti_reader": "reader pw with spaces"}


def render(template: str, redis_version: tuple[int, int]) -> str:
    """entrypoint.sh's sed: drop comments and blank lines, put each password's SHA-256 in place.

    Redis < 7.2 has no CLIENT SETINFO and refuses an ACL naming it; production runs 7.2+ (checked
    by tests/unit/deploy), so only an older local redis-server gets the template without it.
    """
    text = "\n".join(line for line in template.splitlines() if line.strip() and not line.startswith("#"))
    for user, placeholder in (("fti_writer", "@WRITER_SHA256@"), ("fti_reader", "@READER_SHA256@")):
        text = text.replace(placeholder, hashlib.sha256(PASSWORDS[user].encode()).hexdigest())
    if redis_version < (7, 2):
        text = text.replace(" +client|setinfo", "")
    return text + "\n"


def local_redis_version() -> tuple[int, int]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"v=(\d+)\.(\d+)", out)
    assert found, f"cannot read the version of {out!r}"
    return int(found[1]), int(found[2])


class AclRedisServer(RedisServer):
    """The harness's redis-server, started with ``--aclfile``; ready when it asks for a login."""

    def __init__(self, aclfile: Path) -> None:
        super().__init__()
        self.aclfile = aclfile

    def _spawn(self, args: list[str], log: Path, on_orphan: Any, **popen: Any) -> None:
        super()._spawn([*args, "--aclfile", str(self.aclfile)], log, on_orphan, **popen)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(32).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclRedisServer]:
    aclfile = tmp_path_factory.mktemp("acl") / "users.acl"
    aclfile.write_text(render(TEMPLATE.read_text(), local_redis_version()))
    with AclRedisServer(aclfile) as server:
        yield server


def login(server: RedisServer, user: str) -> redis.Redis:
    return connect(redis_url(LOOPBACK, server.port, 0, user, PASSWORDS[user]))


@pytest.fixture(scope="module")
def published(acl_server: AclRedisServer) -> RunPlan:
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
    acl_server: AclRedisServer, published: RunPlan
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


def test_the_writer_publishes_and_the_reader_looks_up(acl_server: AclRedisServer, published: RunPlan) -> None:
    reader = PredictionClient(login(acl_server, "fti_reader"), PREFIX)

    assert reader.lookup(entities(1)[0], FIRST_PERIOD) == (100.0, "run-b")
    assert reader.many([(e, FIRST_DATE) for e in entities(3)]) == ([100.0, 101.0, 102.0], "run-b")
    assert reader.live() == live_run(reader.client, PREFIX) and reader.live()["state"] == "live"  # type: ignore[index]
    assert reader.client.ping() is True


@pytest.mark.parametrize(
    "command",
    [
        ("SET", f"{PREFIX}:live", "run-x"),
        ("HSET", f"{PREFIX}:run:run-b:meta", "state", "hacked"),
        ("UNLINK", f"{PREFIX}:live"),
        ("EVAL", "return redis.call('SET', KEYS[1], 'x')", 1, f"{PREFIX}:live"),
        ("GET", "other:key"),
    ],
    ids=lambda c: c[0],
)
def test_the_reader_is_refused_writes_and_other_keys_with_noperm(
    acl_server: AclRedisServer, published: RunPlan, command: tuple[Any, ...]
) -> None:
    reader = login(acl_server, "fti_reader")

    with pytest.raises(NoPermissionError, match="no permissions"):  # Redis's NOPERM reply
        reader.execute_command(*command)
    assert reader.get(f"{PREFIX}:live") == b"run-b"


@pytest.mark.parametrize("command", [("SET", "other:key", "x"), ("FLUSHALL",), ("KEYS", "*")], ids=str)
def test_the_writer_is_refused_other_keys_and_other_commands(
    acl_server: AclRedisServer, published: RunPlan, command: tuple[Any, ...]
) -> None:
    writer = login(acl_server, "fti_writer")

    with pytest.raises(NoPermissionError, match="no permissions"):
        writer.execute_command(*command)


def test_a_read_only_script_of_the_reader_cannot_write(
    acl_server: AclRedisServer, published: RunPlan
) -> None:
    reader = login(acl_server, "fti_reader")

    with pytest.raises(redis.ResponseError, match="can't run this command|not allowed"):
        reader.eval_ro("return redis.call('SET', KEYS[1], 'x')", 1, f"{PREFIX}:live")
    assert reader.get(f"{PREFIX}:live") == b"run-b"


def test_the_read_only_lookup_script_runs_as_the_reader(
    acl_server: AclRedisServer, published: RunPlan
) -> None:
    reader = login(acl_server, "fti_reader")

    assert (
        LOOKUP(reader, [f"{PREFIX}:live"], ["run-a", f"{PREFIX}:run:", ""])[0] == 1
    )  # "stale": run-b is live


def test_the_default_user_is_refused(acl_server: AclRedisServer, published: RunPlan) -> None:
    no_retry = Retry(NoBackoff(), 0)  # redis-py retries a refused login (an AuthenticationError)
    anonymous = redis.Redis(host=LOOPBACK, port=acl_server.port, retry=no_retry)
    as_default = redis.Redis(
        host=LOOPBACK, port=acl_server.port, username="default", password="x", retry=no_retry
    )

    with pytest.raises(redis.AuthenticationError, match="authenticated"):
        anonymous.get(f"{PREFIX}:live")
    with pytest.raises(redis.AuthenticationError, match="invalid username-password pair or user is disabled"):
        as_default.ping()
