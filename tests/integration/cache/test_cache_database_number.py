"""A cache in a non-zero Redis database: the Airflow Connections' ``/1`` is where the DAGs publish,
where the control room reads and where ``fti predictions`` (``FTI_REDIS_URL``) looks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from typer.testing import CliRunner

from fti.cache.client import live_run
from fti.cache.connect import connect
from fti.cache.connection import ConflictingRedisDatabase
from fti.cli import app
from fti.settings import get_settings
from tests.harness.services import RedisServer
from tests.integration.cache.cache_data import entities, publish_run, values

pytestmark = pytest.mark.integration

DB = 1


@pytest.fixture
def on_db_1(monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer) -> Iterator[str]:
    """The session's Redis, emptied; both Airflow Connections and FTI_REDIS_URL name database 1."""
    if not redis_server.is_running:
        redis_server.start()
    base = redis_server.url.rsplit("/", 1)[0]
    redis.Redis.from_url(redis_server.url).flushall()
    for name in ("AIRFLOW_CONN_FTI_REDIS", "AIRFLOW_CONN_FTI_REDIS_READER", "FTI_REDIS_URL"):
        monkeypatch.setenv(name, f"{base}/{DB}")
    monkeypatch.setenv("FTI_ENV", "sandbox")
    monkeypatch.delenv("FTI_SPECS_DIR", raising=False)
    get_settings.cache_clear()
    yield base
    get_settings.cache_clear()


def test_the_dags_publish_into_the_database_of_the_connection_uri(on_db_1: str) -> None:
    from fti_airflow.wiring import redis_url

    url = redis_url()
    prefix = get_settings().cache_prefix("online_retail")
    publish_run(connect(url), "run-db1", entities(10), values(10, base=2.0), prefix=prefix)

    assert url == f"{on_db_1}/{DB}"
    on_0, on_1 = (redis.Redis.from_url(f"{on_db_1}/{db}") for db in (0, DB))
    assert on_0.dbsize() == 0, f"database 0 holds {on_0.keys()[:5]}"
    assert live_run(on_1, prefix)["run"] == "run-db1"


def test_the_control_room_and_the_cli_read_the_same_database(on_db_1: str) -> None:
    from fti_plugin import redis_url as reader_url

    from fti.ui.sources import live

    prefix = get_settings().cache_prefix("online_retail")
    publish_run(connect(f"{on_db_1}/{DB}"), "run-db1", entities(10), values(10, base=2.0), prefix=prefix)

    shown = live(reader_url, prefix)
    printed = CliRunner().invoke(app, ["predictions", "live", "--dataset", "online_retail"])

    assert reader_url() == f"{on_db_1}/{DB}"
    assert isinstance(shown, dict) and shown["run"] == "run-db1", shown
    assert printed.exit_code == 0 and "run-db1" in printed.stdout, printed.output


def test_a_connection_whose_uri_path_and_db_extra_disagree_is_refused(
    on_db_1: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fti_airflow.wiring import redis_url

    monkeypatch.setenv("AIRFLOW_CONN_FTI_REDIS", f"{on_db_1}/{DB}?db=0")

    with pytest.raises(ConflictingRedisDatabase, match="database 1 in its URI path"):
        redis_url()
