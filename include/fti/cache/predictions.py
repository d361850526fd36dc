"""Publish a batch of predictions to Redis atomically, and look them up.

A run is published in three steps (key layout and value format: :mod:`fti.cache.layout`):

1. :func:`begin_run` writes its metadata (state ``writing``);
2. :func:`write_chunk`, once per chunk, writes the chunk's entities into the run's buckets and then,
   last, records the chunk's prediction count, so a chunk killed midway is never counted. A chunk
   rewritten with the same input writes the same bytes and the same count: retries are safe;
3. :func:`go_live` checks, in one Lua script, that the recorded chunks and predictions are the
   expected ones and only then switches the ``live`` pointer to the run; a short or crashed run
   raises :class:`IncompleteRun` and changes nothing. It then deletes runs beyond ``keep_runs``.

Readers resolve the pointer and read in one call of a Redis Function that :func:`go_live` loads
(:mod:`fti.cache.functions`, :class:`fti.cache.client.PredictionClient`), so they see the old
run or the new one, never a mix and never a half-written run.

**TTLs.** Every key of a run carries ``ttl_s`` while it is written and after it stops being live: a
safety net for runs that never go live (a crashed publisher) or escape the retention. Choose
``ttl_s`` above the time between runs x ``keep_runs`` (e.g. 7 days for nightly runs and
``keep_runs=3``), or a retained run expires before its time. The live run's keys have no TTL
(``PERSIST`` at :func:`go_live`): a live run never expires under its readers, however late the
next run is; the run it replaces gets its TTL back in the same script.

**Memory.** A run is started only when the server can hold it without evicting anything
(:mod:`fti.cache.memory`, checked by the inference ``plan_run``). A chunk that Redis still refuses
with OOM deletes its whole run at once (:func:`discard_out_of_memory`): the live run is untouched.

**Counts.** "Predictions" are non-NaN values: an entity row stores ``horizon`` float32, and
NaN (stored as-is, a lookup of it raises PredictionNotFound) is not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from fti.cache import functions, layout
from fti.cache.client import PredictionClient, PredictionNotFound, Script, live_run
from fti.cache.memory import CacheOutOfMemory

if TYPE_CHECKING:
    import redis

__all__ = [
    "CacheOutOfMemory",
    "IncompleteRun",
    "PredictionNotFound",
    "RunConflict",
    "RunPlan",
    "begin_run",
    "bucket_order",
    "delete_runs",
    "discard_out_of_memory",
    "go_live",
    "live_run",
    "lookup",
    "plan_run",
    "runs",
    "write_chunk",
]

_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_UNLINK_BATCH = 1000


class IncompleteRun(RuntimeError):
    """A run was not made live: its recorded chunks or predictions differ from the expected ones."""


class RunConflict(ValueError):
    """A run id is reused with another plan (first period, horizon or buckets), or was never begun."""


@dataclass(frozen=True)
class RunPlan:
    """Where a run's predictions go: fixed before the first write, stored in its metadata.

    ``first_period`` is the first forecast period as text (``Calendar.format``); value ``i`` of an
    entity is the forecast of the ``i``-th period after it, on the data set's calendar.
    """

    run: str
    first_period: str
    horizon: int
    n_buckets: int
    values_per_period: int = 1
    """1: the point forecast; 1 + k: the point and k quantiles, in the order of the run's ``quantiles``."""


def plan_run(
    run: str, first_period: str, horizon: int, n_entities: int, values_per_period: int = 1
) -> RunPlan:
    """The plan of a run of ``n_entities`` x ``horizon`` predictions from ``first_period`` on."""
    if not _RUN_ID.fullmatch(run):
        raise ValueError(f"run id {run!r} must match {_RUN_ID.pattern} (it is part of Redis keys)")
    if horizon < 1 or n_entities < 0:
        raise ValueError(f"need horizon >= 1 and n_entities >= 0, got {horizon} and {n_entities}")
    if values_per_period < 1:
        raise ValueError(f"need values_per_period >= 1, got {values_per_period}")
    return RunPlan(run, first_period, horizon, layout.n_buckets_for(n_entities), values_per_period)


def bucket_order(plan: RunPlan, entities: Sequence[str]) -> np.ndarray:
    """Indices that sort ``entities`` by bucket.

    Chunks cut from this order each touch ~chunk/64 buckets, so :func:`write_chunk` sends one
    large HSET per bucket instead of one small HSET per entity: several times faster.
    """
    buckets = np.fromiter((layout.bucket_of(e, plan.n_buckets) for e in entities), np.int64, len(entities))
    return np.argsort(buckets, kind="stable")


_BEGIN = Script("""
local plan = redis.call('HMGET', KEYS[2], 'first_period', 'horizon', 'n_buckets', 'values_per_period')
if plan[1] and (plan[1] ~= ARGV[3] or plan[2] ~= ARGV[4] or plan[3] ~= ARGV[5] or plan[4] ~= ARGV[6]) then
  return {'conflict', plan[1], plan[2] or '', plan[3] or '', plan[4] or ''}
end
if redis.call('GET', KEYS[1]) == ARGV[1] then return {'live'} end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
for _, f in ipairs({'run', ARGV[1], 'state', 'writing', 'first_period', ARGV[3], 'horizon', ARGV[4],
                    'n_buckets', ARGV[5], 'values_per_period', ARGV[6]}) do fields[#fields + 1] = f end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {'writing'}
""")


def begin_run(client: redis.Redis, prefix: str, plan: RunPlan, meta: Mapping[str, str], ttl_s: int) -> None:
    """Record the run's plan and ``meta`` (state ``writing``, expiring after ``ttl_s``).

    Idempotent: beginning the same plan again only refreshes ``meta``; beginning the live run
    again changes nothing (its state stays ``live``, its keys keep no TTL).

    Raises:
        RunConflict: the run id was already begun with another plan.
    """
    fields = {"started_at": _now(), **meta, "format": "float32le"}
    args = [plan.run, ttl_s, *_plan_fields(plan), *(x for kv in fields.items() for x in kv)]
    reply = _BEGIN(client, [layout.live_key(prefix), layout.meta_key(prefix, plan.run)], args)
    if _s(reply[0]) == "conflict":
        raise RunConflict(
            f"run {plan.run} was begun with first_period={_s(reply[1])}, horizon={_s(reply[2])}, "
            f"n_buckets={_s(reply[3])}, values_per_period={_s(reply[4])}; this plan has "
            f"{plan.first_period}, {plan.horizon}, {plan.n_buckets}, {plan.values_per_period}: "
            "use a new run id"
        )


def write_chunk(
    client: redis.Redis,
    prefix: str,
    plan: RunPlan,
    chunk_id: str,
    entities: Sequence[str],
    values: np.ndarray,
    ttl_s: int,
) -> int:
    """Write one chunk of a run: its entities' rows into their buckets, then the chunk's count.

    Args:
        entities: Entity ids, unique across the run (each is a field of its bucket).
        values: ``len(entities) x plan.horizon`` predictions, period ``j`` after ``first_period`` in
            column ``j``; NaN where there is none; with quantiles ``len(entities) x plan.horizon x
            plan.values_per_period`` (the point, then each quantile).

    Returns:
        The predictions written: the non-NaN point values (what :func:`go_live` expects in total).

    Raises:
        RunConflict: the run was not begun, or was begun with another plan.
        CacheOutOfMemory: Redis refused a write with OOM; the run's keys were deleted at once
            (:func:`discard_out_of_memory`) and the live run is unchanged.
    """
    rows = np.asarray(values, dtype=np.float32)
    m = plan.values_per_period
    expected = (len(entities), plan.horizon) if m == 1 else (len(entities), plan.horizon, m)
    if rows.shape != expected:
        raise ValueError(f"values have shape {rows.shape}, expected {expected}")
    points = rows if m == 1 else rows[:, :, 0]
    rows = rows.reshape(len(entities), plan.horizon * m)
    if (repeats := len(entities) - len(set(entities))) > 0:  # counted twice, stored once
        raise ValueError(f"chunk {chunk_id} repeats entities ({repeats} duplicates)")
    from redis.exceptions import OutOfMemoryError

    refresh_ttl = _check_begun(client, prefix, plan)
    pipe = client.pipeline(transaction=False)
    for bucket, fields in _bucket_fields(plan, entities, rows):
        key = layout.bucket_key(prefix, plan.run, bucket)
        pipe.execute_command("HSET", key, *fields)
        if refresh_ttl:
            pipe.expire(key, ttl_s)
    count = int(np.count_nonzero(~np.isnan(points)))
    try:
        pipe.execute()  # raises on any failed write, before the chunk is counted
        pipe.hset(layout.chunks_key(prefix, plan.run), chunk_id, count)
        if refresh_ttl:
            pipe.expire(layout.chunks_key(prefix, plan.run), ttl_s)
            pipe.expire(layout.meta_key(prefix, plan.run), ttl_s)  # outlives the buckets, for cleanup
        pipe.execute()
    except OutOfMemoryError as exc:
        raise discard_out_of_memory(client, prefix, plan.run, chunk_id) from exc
    return count


def discard_out_of_memory(client: redis.Redis, prefix: str, run: str, chunk_id: str) -> CacheOutOfMemory:
    """Delete at once the run whose write Redis refused with OOM (not if it is live); the error saying so.

    Left alone, its partial keys would hold the memory for ``ttl_s`` and make the next run fail too.
    """
    live = _s(client.get(layout.live_key(prefix)) or b"")
    what = f"Redis is out of memory (OOM, used memory above maxmemory): chunk {chunk_id} of run {run}"
    what += " was refused"
    if live == run:
        return CacheOutOfMemory(f"{what}; {run} is the live run, so it was kept as it was")
    removed = delete_runs(client, prefix, [run])
    return CacheOutOfMemory(
        f"{what}; its {removed} partial keys were deleted and the live run is still {live or 'none'}; "
        "free memory (raise maxmemory, lower FTI_KEEP_RUNS) and run again"
    )


def _check_begun(client: redis.Redis, prefix: str, plan: RunPlan) -> bool:
    """Fail unless ``plan`` is the begun run's plan; True when its keys take a TTL (it is not live)."""
    pipe = client.pipeline(transaction=False)
    pipe.get(layout.live_key(prefix))
    pipe.hmget(layout.meta_key(prefix, plan.run), list(_PLAN_FIELDS))
    live, stored = pipe.execute()
    if stored[0] is None:
        raise RunConflict(f"run {plan.run} has no metadata under {prefix!r}: call begin_run first")
    if [_s(v) for v in stored] != _plan_fields(plan):
        found = dict(zip(_PLAN_FIELDS, map(_s, stored), strict=True))
        raise RunConflict(f"run {plan.run} was begun with {found}, not with {plan}")
    return live is None or _s(live) != plan.run


def _bucket_fields(
    plan: RunPlan, entities: Sequence[str], rows: np.ndarray
) -> Iterable[tuple[int, list[str | bytes]]]:
    """(bucket, [entity, packed row, entity, packed row, ...]) for every bucket the chunk touches."""
    rows = np.where(np.isnan(rows), np.float32("nan"), rows)  # one NaN bit pattern: same input, same bytes
    packed = np.ascontiguousarray(rows, dtype="<f4").view(np.dtype((np.void, 4 * rows.shape[1])))
    blobs = cast(list[bytes], packed.ravel().tolist())  # void items come out as bytes
    buckets = np.fromiter((layout.bucket_of(e, plan.n_buckets) for e in entities), np.int64, len(entities))
    order = np.argsort(buckets, kind="stable")
    sorted_buckets = buckets[order]
    starts = [0, *(np.flatnonzero(np.diff(sorted_buckets)) + 1).tolist(), len(order)]
    order_list: list[int] = order.tolist()
    for start, end in zip(starts[:-1], starts[1:], strict=True):
        members = order_list[start:end]
        yield int(sorted_buckets[start]), [x for i in members for x in (entities[i], blobs[i])]


#: Verify the counts and switch the pointer, or change nothing. KEYS: live, runs, meta, chunks.
#: ARGV: run, expected chunks, expected predictions, ttl_s, run key prefix, published_at, meta pairs.
_GO_LIVE = Script("""
local run, prefix, ttl = ARGV[1], ARGV[5], ARGV[4]
if not redis.call('HGET', KEYS[3], 'state') then return {'missing'} end
local counts = redis.call('HGETALL', KEYS[4])
local chunks, predictions = #counts / 2, 0
for i = 2, #counts, 2 do predictions = predictions + tonumber(counts[i]) end
if chunks ~= tonumber(ARGV[2]) or predictions ~= tonumber(ARGV[3]) then
  return {'incomplete', chunks, predictions, redis.call('GET', KEYS[1]) or ''}
end
local function each_key(r, fn, ...)
  local meta = prefix .. r .. ':meta'
  local n = tonumber(redis.call('HGET', meta, 'n_buckets') or '0')
  for b = 0, n - 1 do redis.call(fn, prefix .. r .. ':b:' .. b, ...) end
  redis.call(fn, prefix .. r .. ':chunks', ...)
  redis.call(fn, meta, ...)
end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
for _, f in ipairs({'state', 'live', 'published_at', ARGV[6], 'chunks', chunks,
                    'predictions', predictions}) do fields[#fields + 1] = f end
redis.call('HSET', KEYS[3], unpack(fields))
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], run)
redis.call('LREM', KEYS[2], 0, run)
redis.call('LPUSH', KEYS[2], run)
each_key(run, 'PERSIST')
if previous and previous ~= run and redis.call('EXISTS', prefix .. previous .. ':meta') == 1 then
  redis.call('HSET', prefix .. previous .. ':meta', 'state', 'retired')
  each_key(previous, 'EXPIRE', ttl)
end
return {'live', previous or ''}
""")


def go_live(
    client: redis.Redis,
    prefix: str,
    plan: RunPlan,
    expected_chunks: int,
    expected_predictions: int,
    meta: Mapping[str, str],
    keep_runs: int,
    ttl_s: int,
) -> dict[str, Any]:
    """Make the run live if exactly the expected chunks and predictions were recorded; then prune.

    The check, the metadata (``meta``, then state ``live``, ``published_at``, ``chunks`` and
    ``predictions``, which override fields of ``meta`` so named), the pointer switch, the
    history push and the TTLs (live run persisted, replaced run expiring) are one Lua script. Then
    runs beyond the newest ``keep_runs`` of the history are deleted (never the live one). First it
    loads the readers' function library (:mod:`fti.cache.functions`), idempotently. Blocks
    Redis for about ``2 x n_buckets`` key operations (~10 ms per million predictions).

    Returns:
        ``run``, ``previous`` (the run replaced, or ""), ``chunks``, ``predictions``,
        ``published_at``, ``deleted_runs`` over ``meta``'s fields: small enough for XCom.

    Raises:
        IncompleteRun: the counts differ (or the run's metadata is gone); nothing was changed.
    """
    if keep_runs < 1:
        raise ValueError(f"keep_runs must be >= 1 (the live run), got {keep_runs}")
    published_at = _now()
    keys = [layout.live_key(prefix), layout.runs_key(prefix)]
    keys += [layout.meta_key(prefix, plan.run), layout.chunks_key(prefix, plan.run)]
    args = [plan.run, expected_chunks, expected_predictions, ttl_s, layout.run_prefix(prefix), published_at]
    functions.load(client)  # before the pointer moves: readers of the new run find their functions
    reply = _GO_LIVE(client, keys, [*args, *(x for kv in meta.items() for x in kv)])
    status = _s(reply[0])
    if status == "missing":
        raise IncompleteRun(
            f"run {plan.run} has no metadata under {prefix!r}: begin_run was never called or its keys "
            "expired (is ttl_s shorter than the publication?); nothing was made live"
        )
    if status == "incomplete":
        chunks, predictions, live = int(reply[1]), int(reply[2]), _s(reply[3]) or "none"
        raise IncompleteRun(
            f"run {plan.run} is incomplete: {chunks} chunks and {predictions} predictions recorded, "
            f"expected {expected_chunks} and {expected_predictions}; it was not made live "
            f"(the live run is still {live})"
        )
    deleted = prune_runs(client, prefix, keep_runs)
    return {
        **meta,
        "run": plan.run,
        "previous": _s(reply[1]),
        "chunks": expected_chunks,
        "predictions": expected_predictions,
        "published_at": published_at,
        "deleted_runs": deleted,
    }


def prune_runs(client: redis.Redis, prefix: str, keep_runs: int) -> list[str]:
    """Delete the runs of the history beyond its newest ``keep_runs``, except the live one."""
    live = client.get(layout.live_key(prefix))
    old = [_s(r) for r in client.lrange(layout.runs_key(prefix), keep_runs, -1)]
    doomed = [r for r in old if live is None or r != _s(live)]
    delete_runs(client, prefix, doomed)
    return doomed


def delete_runs(client: redis.Redis, prefix: str, runs: Iterable[str]) -> int:
    """Delete every key of the given runs (UNLINK) and drop them from the history; returns keys removed.

    The buckets are found from the run's ``n_buckets``; a run whose metadata is already gone is
    found with SCAN (slow on a big database, and only left by expiring runs).

    Raises:
        ValueError: one of ``runs`` is live.
    """
    removed = 0
    for run in runs:
        if _s(client.get(layout.live_key(prefix)) or b"") == run:
            raise ValueError(f"run {run} is live under {prefix!r}; make another run live before deleting it")
        n_buckets = client.hget(layout.meta_key(prefix, run), "n_buckets")
        if n_buckets is None:
            keys = [_s(k) for k in client.scan_iter(match=layout.run_pattern(prefix, run), count=1000)]
        else:
            keys = layout.bucket_keys(prefix, run, int(n_buckets))
            keys += [layout.chunks_key(prefix, run), layout.meta_key(prefix, run)]
        for i in range(0, len(keys), _UNLINK_BATCH):
            removed += int(client.unlink(*keys[i : i + _UNLINK_BATCH]))
        client.lrem(layout.runs_key(prefix), 0, run)
    return removed


def runs(client: redis.Redis, prefix: str) -> list[str]:
    """Ids of the runs that went live and are kept, newest (the live one, usually) first."""
    return [_s(r) for r in client.lrange(layout.runs_key(prefix), 0, -1)]


def lookup(client: redis.Redis, prefix: str, entity: str, period: str | date | datetime) -> tuple[float, str]:
    """The live prediction for ``entity`` in ``period`` and the run that made it.

    A one-off: it first learns the live run (two round trips). For many lookups keep one
    :class:`~fti.cache.client.PredictionClient`, which needs one round trip each.

    Raises:
        PredictionNotFound: nothing is live, or the live run has no prediction for that entity and period.
    """
    return PredictionClient(client, prefix).lookup(entity, period)


_PLAN_FIELDS = ("first_period", "horizon", "n_buckets", "values_per_period")
"""The fields of a run's metadata that are its plan: a chunk of another plan is refused."""


def _plan_fields(plan: RunPlan) -> list[str]:
    return [plan.first_period, str(plan.horizon), str(plan.n_buckets), str(plan.values_per_period)]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # also tells re-publications apart


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
