"""Redis clients built from connection details (which come from an Airflow Connection, never code)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import redis


def redis_url(
    host: str,
    port: int | None,
    db: int | str | None = 0,
    login: str | None = None,
    password: str | None = None,
) -> str:
    """A ``redis://`` URL from the parts of a connection."""
    auth = ""
    if password:
        auth = f"{quote(login or '', safe='')}:{quote(password, safe='')}@"
    return f"redis://{auth}{host}:{port or 6379}/{db or 0}"


def connect(url: str, timeout_s: float = 5.0) -> redis.Redis:
    """A client for ``url`` that fails fast (and clearly) when the server is down."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=30)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        raise ConnectionError(f"Redis at {url.split('@')[-1]} is not reachable: {exc}") from exc
    return client
