"""Whether the cache can hold a run before it is written: ``maxmemory``, its policy and free memory.

Only ``noeviction`` keeps a publication safe:

* ``allkeys-*`` may evict any key, the ``live`` pointer first among them (it is rarely touched):
  readers then find nothing live and every lookup fails;
* ``volatile-*`` spares the live run (its keys have no TTL) but not the run being written, whose
  keys carry ``ttl_s``: a bucket evicted after its chunk was counted goes live with holes, and
  :func:`~fti.cache.predictions.go_live` cannot see it (it checks the counts, not every bucket);
* ``noeviction`` refuses a write when memory is full, loudly; the publisher then deletes the partial
  run at once (:func:`~fti.cache.predictions.write_chunk`) and the previous batch stays live.

So a run starts only if the server says ``noeviction`` and has :data:`HEADROOM` x the run's
expected size free (:func:`expected_bytes`), or has no limit at all (``maxmemory`` 0, a warning).
The adapter reads ``INFO memory``, which the writer's ACL user may run (it may not run ``CONFIG``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fti.cache.layout import VALUE_BYTES

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

#: Free memory asked for, as a multiple of the run's expected size (allocator slack, estimate error).
HEADROOM = 1.2
#: Listpack limit on a field or value (Redis's default ``hash-max-listpack-value``): a longer entity
#: row turns its bucket into a hashtable.
LISTPACK_VALUE_MAX = 64
#: Bytes per entity beyond its id and its values, measured with ``INFO used_memory`` over 20,000
#: entities (1 to 24 periods, 1 to 4 values each): 10-24 in a listpack bucket, 74 in a hashtable one;
#: rounded up. ``tests/integration/cache/test_cache_memory.py`` holds the estimate to the measure.
LISTPACK_ENTITY_OVERHEAD = 26
HASHTABLE_ENTITY_OVERHEAD = 80
SAFE_POLICY = "noeviction"
FIX = "CONFIG SET maxmemory-policy noeviction (and set it in the server's config)"


class CacheMemoryRefused(RuntimeError):
    """The cache cannot hold the run safely (eviction policy, or too little free memory); nothing written."""


class CacheOutOfMemory(RuntimeError):
    """Redis refused a write of a run with OOM; the run's keys were deleted and the live run is unchanged."""


@dataclass(frozen=True)
class ServerMemory:
    """What ``INFO memory`` says about the limit: ``maxmemory`` 0 means none."""

    maxmemory: int
    used: int
    policy: str


@dataclass(frozen=True)
class Verdict:
    """Whether a run may start; ``message`` says why (the error, or the warning when ``warn``)."""

    accepted: bool
    message: str
    warn: bool = False


def expected_bytes(entities: Sequence[str], horizon: int, values_per_period: int) -> int:
    """Redis memory a run of ``entities`` will take: ids, float32 values and per-entity overhead."""
    row = VALUE_BYTES * horizon * values_per_period
    ids = [len(e.encode()) for e in entities]
    compact = row <= LISTPACK_VALUE_MAX and max(ids, default=0) <= LISTPACK_VALUE_MAX
    overhead = LISTPACK_ENTITY_OVERHEAD if compact else HASHTABLE_ENTITY_OVERHEAD
    return sum(ids) + len(ids) * (row + overhead)


def check_capacity(policy: str, maxmemory: int, used: int, expected: int) -> Verdict:
    """The verdict on a run of ``expected`` bytes, ``used`` of ``maxmemory`` being taken, under ``policy``."""
    if maxmemory == 0:
        return Verdict(
            True,
            f"maxmemory is 0 (no limit, policy {policy} unused): a full cache would take "
            "the host's memory; set maxmemory and maxmemory-policy noeviction",
            warn=True,
        )
    if policy != SAFE_POLICY:
        why = (
            "any key, the live pointer included, so lookups find nothing live"
            if policy.startswith("allkeys-")
            else "keys with a TTL, those of the run being written included, so a run with holes goes live"
        )
        return Verdict(
            False,
            f"maxmemory-policy is {policy}, expected {SAFE_POLICY}: Redis would evict {why}; "
            f"fix it with {FIX}",
        )
    needed, free = int(expected * HEADROOM), maxmemory - used
    if free < needed:
        return Verdict(
            False,
            f"the run needs {_mib(needed)} ({_mib(expected)} expected x {HEADROOM}) but Redis "
            f"has {_mib(free)} free ({_mib(used)} used of maxmemory {_mib(maxmemory)}); raise "
            "maxmemory (CONFIG SET maxmemory, and in the server's config) or lower FTI_KEEP_RUNS",
        )
    return Verdict(True, f"{_mib(needed)} needed, {_mib(free)} free under {policy}")


def server_memory(client: redis.Redis) -> ServerMemory:
    """``maxmemory``, ``used_memory`` and ``maxmemory_policy`` from ``INFO memory``."""
    info = client.info("memory")
    return ServerMemory(int(info["maxmemory"]), int(info["used_memory"]), str(info["maxmemory_policy"]))


def require_capacity(
    client: redis.Redis, entities: Sequence[str], horizon: int, values_per_period: int
) -> None:
    """Refuse a run the cache cannot hold safely, before anything is written; warn when unlimited.

    Raises:
        CacheMemoryRefused: the policy may evict, or free memory is below :data:`HEADROOM` x the
            expected size (the message names the policy or the sizes, and the fix).
    """
    server = server_memory(client)
    expected = expected_bytes(entities, horizon, values_per_period)
    verdict = check_capacity(server.policy, server.maxmemory, server.used, expected)
    if not verdict.accepted:
        raise CacheMemoryRefused(f"not writing a run of {len(entities)} entities: {verdict.message}")
    (log.warning if verdict.warn else log.info)("cache memory: %s", verdict.message)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"
