"""The test harness talks to real Redis and PostgreSQL servers, and fails clearly without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from tests.harness import services
from tests.harness.services import HarnessError, PostgresServer, RedisServer

pytestmark = pytest.mark.integration


def test_redis_client_sets_and_gets_a_value(redis_client: redis.Redis) -> None:
    redis_client.set("fti:test:key", "value", ex=60)

    assert redis_client.get("fti:test:key") == b"value"


def test_redis_client_starts_with_an_empty_database(redis_client: redis.Redis) -> None:
    assert redis_client.dbsize() == 0


def test_killed_redis_refuses_connections_until_started_again_on_the_same_port(
    redis_server: RedisServer,
) -> None:
    url_before = redis_server.url
    with redis.Redis.from_url(url_before, socket_connect_timeout=1) as client:
        client.set("before", "crash")
        redis_server.kill()
        try:
            with pytest.raises(redis.ConnectionError):
                client.ping()
        finally:
            redis_server.start()

        assert client.ping() is True
        assert client.get("before") is None  # no persistence: a crash loses everything
    assert redis_server.url == url_before


def test_redis_url_points_at_the_session_server(redis_url: str, redis_server: RedisServer) -> None:
    assert redis_url == f"redis://127.0.0.1:{redis_server.port}/0"
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping() is True


def test_postgres_database_creates_inserts_and_selects(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE partitions (day date PRIMARY KEY, row_count int NOT NULL)"))
            conn.execute(sa.text("INSERT INTO partitions VALUES ('2024-01-01', 42)"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT day::text, row_count FROM partitions")).all()
    finally:
        engine.dispose()

    assert [tuple(row) for row in rows] == [("2024-01-01", 42)]


def test_postgres_url_gives_each_test_an_isolated_database(postgres_server: PostgresServer) -> None:
    first = sa.create_engine(postgres_server.create_database("isolation_first"))
    second = sa.create_engine(postgres_server.create_database("isolation_second"))
    try:
        with first.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_in_first (id int)"))
        with second.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
        with first.connect() as conn:
            assert sa.inspect(conn).get_table_names() == ["only_in_first"]
    finally:
        first.dispose()
        second.dispose()
        postgres_server.drop_database("isolation_first")
        postgres_server.drop_database("isolation_second")

    assert tables == []


@pytest.mark.parametrize("writer", ["first", "second"])
def test_postgres_url_database_starts_empty_whatever_other_tests_wrote(
    postgres_url: str, writer: str
) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            tables_before = sa.inspect(conn).get_table_names()
            conn.execute(sa.text(f"CREATE TABLE written_by_{writer} (id int)"))
    finally:
        engine.dispose()

    assert tables_before == []


def test_postgres_url_fixture_database_is_empty_and_named_after_the_test(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            tables = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()

    assert database.startswith("t_test_postgres_url_fixture_database")
    assert postgres_url.endswith(f"/{database}")
    assert tables == []


def test_missing_redis_binary_fails_with_a_message_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(HarnessError, match="redis-server is not on PATH.*install-system-deps.sh"):
        RedisServer().start()


def test_missing_postgres_binaries_fail_with_a_message_naming_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(services, "DEBIAN_POSTGRES_ROOT", tmp_path)

    with pytest.raises(HarnessError, match="initdb and postgres not found.*install-system-deps.sh"):
        PostgresServer().start()


def test_postgres_database_name_is_validated(postgres_server: PostgresServer) -> None:
    with pytest.raises(HarnessError, match="database name 'Bad-Name'"):
        postgres_server.create_database("Bad-Name")
