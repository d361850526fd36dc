"""Connecting to the prediction cache: its URL, a client that fails fast, and the errors that say why.

Shared by the reader (:mod:`fti.cache.client`, :mod:`fti.cache.aio`), the publisher and the CLI, so
every one of them reports a down, refusing or misspelt server the same way, never with the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import redis


class CacheUnavailable(ConnectionError):
    """The Redis server of the cache does not answer (down, wrong address, firewall)."""


class CacheRefused(CacheUnavailable):
    """The Redis server answers but refuses the credentials (wrong password, unknown or disabled user)."""


class MalformedRedisUrl(ValueError):
    """A Redis URL that does not parse as written: typically a password with unencoded ``/ # ? @ %``."""


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


def connect(
    url: str,
    timeout_s: float = 5.0,
    check: bool = True,
    read_timeout_s: float | None = None,
    retries: int = 2,
) -> redis.Redis:
    """A client for ``url`` that fails fast and clearly when the server is down.

    redis-py retries a refused connection 10 times with backoff by default (tens of seconds);
    here it retries ``retries`` times within ~0.2 s, so a down cache is reported at once. A command
    waits ``read_timeout_s`` for its answer (default: 30 s, for the writer's large scripts); lookups
    pass their short bound (:func:`lookup_connection`) so a hung server costs at most
    ``(retries + 1) x read_timeout_s``.

    Raises:
        MalformedRedisUrl: ``url`` does not parse as written (:func:`check_url`).
        CacheRefused: ``check`` is set and the server refuses the URL's credentials.
        CacheUnavailable: ``check`` is set and the server does not answer a PING (the message
            names host:port/db but never the password).
    """
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    check_url(url)
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=read_timeout_s if read_timeout_s is not None else max(timeout_s, 30.0),
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), retries),
    )
    if check:
        try:
            client.ping()
        except redis.AuthenticationError as exc:  # a ConnectionError to redis-py, yet the server is up
            client.close()
            user = urlsplit(url).username or "default"
            raise CacheRefused(f"Redis at {address(url)} answers but refuses user {user!r}: {exc}") from exc
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            client.close()
            raise CacheUnavailable(f"Redis at {address(url)} is not reachable: {exc}") from exc
    return client


def check_url(url: str) -> None:
    """Refuse a ``redis://`` URL whose host part is cut short by an unencoded password character.

    Raises:
        MalformedRedisUrl: a ``/``, ``?`` or ``#`` of the password ends the host part early (the port
            would be a piece of the password), or a fragment follows. The message masks the password.
    """
    from fti.credentials import redact_url

    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - parsing the port is the check
        cut_short = bool(parts.fragment) or ("@" in url.partition("://")[2] and "@" not in parts.netloc)
    except ValueError:
        cut_short = True
    if cut_short:
        raise MalformedRedisUrl(
            f"the Redis URL {redact_url(url)} does not parse as written: percent-encode the password "
            f"(urllib.parse.quote(password, safe=''), as fti.cache.connect.redis_url does)"
        )


def lookup_connection(url: str, timeout_s: float, check: bool = True) -> redis.Redis:
    """A reader's client: connect and every command bounded by ``timeout_s``, one retry (a dropped
    connection is re-made once), so a hung or busy cache is an error within ~2 x ``timeout_s``."""
    return connect(url, timeout_s, check, read_timeout_s=timeout_s, retries=1)


def address(url: str) -> str:
    """``host:port/db`` of a Redis URL: what error messages name (never the password)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"
