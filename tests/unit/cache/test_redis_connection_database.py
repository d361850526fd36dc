"""Which Redis database an Airflow Connection names: its URI path and its ``db`` extra (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from fti.cache.connection import (
    ConflictingRedisDatabase,
    InvalidRedisDatabase,
    connection_database,
    connection_url,
)


@pytest.mark.parametrize(
    ("schema", "extra", "expected"),
    [
        ("1", {}, 1),  # redis://host:6379/1 as Airflow parses it
        ("/3", {}, 3),
        (None, {"db": 2}, 2),  # airflow_settings.yaml's form
        ("", {"db": "5"}, 5),
        ("4", {"db": 4}, 4),  # both, agreeing
        ("4", {"db": "4"}, 4),
        (None, {}, 0),
        ("", {"db": None}, 0),
    ],
)
def test_the_uri_path_or_the_db_extra_names_the_database(
    schema: str | None, extra: dict[str, Any], expected: int
) -> None:
    assert connection_database(schema, extra) == expected


def test_a_uri_path_and_a_db_extra_that_disagree_are_refused_naming_both() -> None:
    with pytest.raises(ConflictingRedisDatabase, match=r"database 1 in its URI path \(/1\) but 0"):
        connection_database("1", {"db": 0})


@pytest.mark.parametrize(("schema", "extra"), [("fti", {}), (None, {"db": "-1"}), ("1", {"db": "one"})])
def test_a_database_that_is_not_a_number_is_refused(schema: str | None, extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidRedisDatabase, match="not a database number"):
        connection_database(schema, extra)


def test_the_url_carries_the_database_and_the_encoded_credentials() -> None:
    url = connection_url("redis-cache", 6379, "1", {}, "fti_reader", "p/w@:")
    assert url == "redis://fti_reader:p%2Fw%40%3A@redis-cache:6379/1"
    assert connection_url(None, None, None, {"db": 2}) == "redis://127.0.0.1:6379/2"
