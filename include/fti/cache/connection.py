"""The Redis URL of an Airflow Connection's parts (pure: the caller fetches the Connection).

A Redis Connection may name its database twice: in the URI's path (``redis://host:6379/1``, which
Airflow stores as the Connection's ``schema``) and in the ``db`` extra (the Redis provider's
field, and what ``airflow_settings.yaml`` writes). Both are honoured; when both are given they
must agree, so a ``/1`` is never silently read as database 0 (or the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fti.cache.connect import redis_url


class ConflictingRedisDatabase(ValueError):
    """A Redis Connection names one database in its URI path and another in its ``db`` extra."""


class InvalidRedisDatabase(ValueError):
    """A Redis Connection's database is not a non-negative integer."""


def _number(value: Any, where: str) -> int | None:
    text = str(value).strip().strip("/") if value is not None else ""
    if not text:
        return None
    if not text.isdigit():
        raise InvalidRedisDatabase(f"the Redis connection's {where} is {value!r}, not a database number")
    return int(text)


def connection_database(schema: str | None, extra: Mapping[str, Any]) -> int:
    """The database of a Redis Connection: its URI path (``schema``) or its ``db`` extra, else 0.

    Raises:
        ConflictingRedisDatabase: both are given and differ (the message names both).
        InvalidRedisDatabase: either is not a non-negative integer.
    """
    from_path = _number(schema, "URI path (schema)")
    from_extra = _number(extra.get("db"), "'db' extra")
    if from_path is not None and from_extra is not None and from_path != from_extra:
        raise ConflictingRedisDatabase(
            f"the Redis connection names database {from_path} in its URI path (/{from_path}) but "
            f"{from_extra} in its 'db' extra: drop one or make them agree"
        )
    return next((n for n in (from_path, from_extra) if n is not None), 0)


def connection_url(
    host: str | None,
    port: int | None,
    schema: str | None,
    extra: Mapping[str, Any],
    login: str | None = None,
    password: str | None = None,
) -> str:
    """A ``redis://`` URL of a Redis Connection's parts, its database from :func:`connection_database`."""
    return redis_url(host or "127.0.0.1", port, connection_database(schema, extra), login, password)
