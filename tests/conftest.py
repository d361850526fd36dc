"""Fixtures shared by all tests: one real Redis and one real PostgreSQL server per test session.

A missing ``redis-server`` or PostgreSQL fails the tests that need it with the reason; it never
skips them, because a skipped check is a check that did not happen.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

try:
    import fti  # noqa: F401 - normally installed editable
except ImportError:
    sys.path.insert(0, str(Path(__file__).parents[1] / "include"))

from tests.harness.services import HarnessError, PostgresServer, RedisServer, S3Server  # noqa: E402


def _start_or_fail(server: RedisServer | PostgresServer | S3Server, what: str) -> None:
    """Start ``server``, or fail the test (never skip it) with the harness's explanation."""
    try:
        server.start()
    except HarnessError as exc:
        error = str(exc)
    else:
        return
    pytest.fail(f"cannot start the test {what}: {error}", pytrace=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway ``redis-server`` for the session; tests may ``kill()`` and ``start()`` it."""
    server = RedisServer()
    _start_or_fail(server, "Redis")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:PORT/0`` of the session's Redis."""
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the session's Redis, emptied (FLUSHALL) first; replies are bytes."""
    if not redis_server.is_running:  # an earlier test killed it and did not bring it back
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the session (superuser ``postgres``, trust auth)."""
    server = PostgresServer()
    _start_or_fail(server, "PostgreSQL")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database for this test, dropped after it."""
    readable = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower())[:40]
    name = f"t_{readable}_{uuid.uuid4().hex[:8]}"
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A throwaway S3-compatible server (moto's) for the session; clients: ``client_env()``."""
    server = S3Server()
    _start_or_fail(server, "S3 server")
    yield server
    server.stop()
