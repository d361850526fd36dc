"""Publish a batch of predictions to Redis and look them up.

A run writes under its own namespace and becomes visible only when the ``live`` pointer is
switched to it, after every prediction is written; readers resolve the pointer and read in
one server-side step, so they never mix two runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fti.cache import layout

if TYPE_CHECKING:
    import pandas as pd
    import redis

#: Resolve the live run and read one prediction atomically (one round trip).
_LOOKUP_LUA = """
local run = redis.call('GET', KEYS[1])
if not run then return false end
return {run, redis.call('HGET', ARGV[1] .. run .. ARGV[2], ARGV[3])}
"""


class PredictionNotFound(LookupError):
    """No live prediction exists for that entity and date."""


def write_run(
    client: redis.Redis, prefix: str, run: str, predictions: pd.DataFrame, ttl_s: int, batch: int = 2000
) -> int:
    """Write ``predictions`` (entity, target_date, prediction) under ``run``'s namespace.

    Returns:
        The number of predictions written.
    """
    pipe = client.pipeline(transaction=False)
    written = 0
    for i, (entity, group) in enumerate(predictions.groupby("entity", sort=False)):
        key = layout.prediction_key(prefix, run, str(entity))
        fields: dict[Any, Any] = {
            str(d): repr(float(v)) for d, v in zip(group["target_date"], group["prediction"], strict=True)
        }
        pipe.hset(key, mapping=fields)
        pipe.expire(key, ttl_s)
        written += len(fields)
        if i % batch == batch - 1:
            pipe.execute()
    pipe.execute()
    return written


def go_live(client: redis.Redis, prefix: str, run: str, meta: Mapping[str, str], ttl_s: int) -> None:
    """Record the run's metadata and switch the live pointer to it in one transaction."""
    pipe = client.pipeline(transaction=True)
    fields: dict[Any, Any] = dict(meta)
    pipe.hset(layout.meta_key(prefix, run), mapping=fields)
    pipe.expire(layout.meta_key(prefix, run), ttl_s)
    pipe.set(layout.live_key(prefix), run)
    pipe.execute()


def live_run(client: redis.Redis, prefix: str) -> dict[str, str] | None:
    """Metadata of the live run, or None when nothing was published yet."""
    run = client.get(layout.live_key(prefix))
    if run is None:
        return None
    run_id = run.decode() if isinstance(run, bytes) else str(run)
    meta = client.hgetall(layout.meta_key(prefix, run_id))
    return {"run": run_id, **{_s(k): _s(v) for k, v in meta.items()}}


def lookup(client: redis.Redis, prefix: str, entity: str, target_date: str) -> tuple[float, str]:
    """The live prediction for ``entity`` on ``target_date`` and the run that made it.

    Raises:
        PredictionNotFound: nothing is live, or the live run has no such entity or date.
    """
    found = client.eval(
        _LOOKUP_LUA,
        1,
        layout.live_key(prefix),
        layout.run_prefix(prefix),
        layout.prediction_suffix(entity),
        target_date,
    )
    if not found:
        raise PredictionNotFound(f"no prediction is live under {prefix!r} (nothing published yet)")
    run, value = found
    if value is None:
        raise PredictionNotFound(
            f"no prediction for entity {entity!r} on {target_date} in live run {_s(run)}"
        )
    return float(_s(value)), _s(run)


def delete_runs(client: redis.Redis, prefix: str, runs: Iterable[str]) -> int:
    """Delete every key of the given runs; returns the number of keys removed."""
    removed = 0
    for run in runs:
        keys = list(client.scan_iter(match=layout.run_pattern(prefix, run), count=1000))
        for i in range(0, len(keys), 1000):
            removed += int(client.unlink(*keys[i : i + 1000]))
    return removed


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
