"""Async reads of the prediction cache (``redis.asyncio``): what the HTTP service awaits.

The same reads as :mod:`fti.cache.client` (the readers' Redis Functions, the reader's ACL user, the
same errors) without a thread per request: one event loop per server process multiplexes its
requests over a pool of connections. The bounds are the sync reader's: every command waits at most
``timeout_s``, a failed one is retried once on a new connection, and waiting for a free connection
of the pool is bounded by :data:`POOL_WAIT_TIMEOUTS` x ``timeout_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fti.cache import functions, layout
from fti.cache.client import (
    LiveRun,
    Prediction,
    PredictionNotFound,
    _s,
    live_meta,
    lookup_request,
    lookup_step,
    prediction_of,
    without_function,
)
from fti.cache.connect import check_url
from fti.cache.entities import EntityPage, Pager, live_of, start_of

if TYPE_CHECKING:
    import redis.asyncio as aredis

#: How many lookup timeouts a request waits for a free connection when all of the pool's are in use
#: (then it is answered "busy"): queueing behind a full pool is normal under bursts, a hung server not.
POOL_WAIT_TIMEOUTS = 4
#: What redis-py says when that wait ran out (``BlockingConnectionPool``).
POOL_EXHAUSTED = "No connection available."


def async_lookup_connection(url: str, timeout_s: float, pool_size: int) -> aredis.Redis:
    """A reader's async client of ``url`` with a pool of at most ``pool_size`` connections.

    Nothing connects here. A command waits ``timeout_s`` for its answer and is retried once (a
    dropped connection is re-made): a hung or busy cache is an error within about ``2 x timeout_s``,
    as with :func:`fti.cache.connect.lookup_connection`. With every connection in use, a command
    first waits up to ``POOL_WAIT_TIMEOUTS x timeout_s`` for one.

    Raises:
        MalformedRedisUrl: ``url`` does not parse as written.
    """
    import redis.asyncio as aredis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    check_url(url)
    pool = aredis.BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size,
        timeout=POOL_WAIT_TIMEOUTS * timeout_s,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 1),
    )
    return aredis.Redis(connection_pool=pool)


async def fcall_ro(
    client: aredis.Redis, function: str, prefix: str, keys: Sequence[str], args: Sequence[Any]
) -> Any:
    """:func:`fti.cache.client.fcall_ro`, awaited."""
    from redis.exceptions import ResponseError

    try:
        return await client.fcall_ro(function, len(keys), *keys, *args)
    except ResponseError as exc:
        if "function not found" not in str(exc).lower():
            raise
        return without_function(function, prefix, await client.get(layout.live_key(prefix)), exc)


async def live_run(client: aredis.Redis, prefix: str) -> dict[str, str] | None:
    """:func:`fti.cache.client.live_run`, awaited."""
    keys, args = [layout.live_key(prefix)], [layout.run_prefix(prefix)]
    return live_meta(await fcall_ro(client, functions.LIVE_RUN, prefix, keys, args))


class AsyncPredictionClient:
    """:class:`fti.cache.client.PredictionClient`'s one-round-trip lookups, awaited.

    Safe to share between the tasks of one event loop: the remembered live run is replaced whole.
    """

    _ATTEMPTS = 3

    def __init__(self, client: aredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._live: LiveRun | None = None

    async def live(self) -> dict[str, str] | None:
        """Metadata of the live run (with its id under ``run``), or None when nothing is live."""
        return await live_run(self.client, self.prefix)

    async def prediction(self, entity: str, period: str | date | datetime) -> Prediction:
        """The live prediction of ``entity`` in ``period``, as :meth:`PredictionClient.prediction`."""
        return prediction_of(self.prefix, entity, period, await self._read([entity]))

    async def _read(self, entities: Sequence[str]) -> tuple[LiveRun, list[bytes | None]] | None:
        for _ in range(self._ATTEMPTS):
            live = self._live
            keys, args = lookup_request(self.prefix, live, entities)
            reply = await fcall_ro(self.client, functions.LOOKUP, self.prefix, keys, args)
            step = lookup_step(reply, live)
            if step.live is not live:  # never write back a snapshot another thread has replaced
                self._live = step.live
            if step.done:
                return None if step.live is None else (step.live, step.values)
        raise PredictionNotFound(f"the live run under {self.prefix!r} kept changing during the lookup")


async def entity_page(
    client: aredis.Redis, prefix: str, match: str = "", limit: int = 50, cursor: str | None = None
) -> EntityPage:
    """:func:`fti.cache.entities.entity_page`, awaited."""
    live = live_of(await live_run(client, prefix), prefix)
    pager = Pager(live, start_of(live, cursor), match, limit)
    while buckets := pager.wanted():
        pipe = client.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hgetall(layout.bucket_key(prefix, live.run, bucket))
        replies = await pipe.execute()
        pager.feed([[_s(name) for name in fields] for fields in replies])
    return pager.page()
