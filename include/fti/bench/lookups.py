"""Lookup latency: client lookups and plain GETs interleaved, so both see the same noise.

One process, one connection, loopback. Each iteration does one :meth:`PredictionClient.lookup` of a
random (entity, period) of the live run and one plain ``GET`` of a random key written one value per
key (the naive layout); which of the two goes first alternates. Both series therefore cover the same
seconds, and their p99 ratio says what the client's script costs over the cheapest possible read.

Run as a child (``python -m fti.bench.lookups <redis_url> <stop_file>``) it samples until
``stop_file`` exists: the inference benchmark starts it beside an inference run (lookups under load).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fti.bench.child import Figures, child_main, load_1m

if TYPE_CHECKING:
    from fti.cache.client import PredictionClient

MAX_SAMPLES = 2_000_000
CHECK_EVERY = 1_000


def sample(
    reader: PredictionClient,
    entities: Sequence[str],
    periods: Sequence[str],
    keys: Sequence[str],
    count: int | None = None,
    stop: Callable[[], bool] | None = None,
    seed: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds of interleaved lookups and GETs: ``count`` pairs, or pairs until ``stop()``.

    Args:
        reader: a client of the live run (warmed up: it knows the live run).
        entities, periods: entities and periods (as text) of the live run, drawn independently.
        keys: naive keys (one value each) to draw from.
    """
    rng = np.random.default_rng(seed)
    limit = count if count is not None else MAX_SAMPLES
    picks = rng.integers(0, len(entities), limit).tolist()
    offsets = rng.integers(0, len(periods), limit).tolist()
    gets = rng.integers(0, len(keys), limit).tolist()
    redis = reader.client
    lookup_ns, get_ns = np.empty(limit), np.empty(limit)
    n = 0
    while n < limit:
        if stop is not None and n % CHECK_EVERY == 0 and stop():
            break
        entity, period = entities[picks[n]], periods[offsets[n]]
        key = keys[gets[n]]
        if n % 2:
            started = time.perf_counter_ns()
            redis.get(key)
            middle = time.perf_counter_ns()
            reader.lookup(entity, period)
            ended = time.perf_counter_ns()
            get_ns[n], lookup_ns[n] = middle - started, ended - middle
        else:
            started = time.perf_counter_ns()
            reader.lookup(entity, period)
            middle = time.perf_counter_ns()
            redis.get(key)
            ended = time.perf_counter_ns()
            lookup_ns[n], get_ns[n] = middle - started, ended - middle
        n += 1
    return lookup_ns[:n] / 1e6, get_ns[:n] / 1e6


def latency_figures(lookup_ms: np.ndarray, get_ms: np.ndarray, suffix: str = "") -> Figures:
    """p50 and p99 of both series, the p99 ratio (client / GET) and the number of pairs."""
    if not len(lookup_ms) or len(lookup_ms) != len(get_ms):
        raise ValueError(
            f"need as many lookups as GETs, at least one: got {len(lookup_ms)} and {len(get_ms)}"
        )
    client, plain = np.percentile(lookup_ms, [50, 99]), np.percentile(get_ms, [50, 99])
    figures: Figures = {
        "lookup_p50_ms": float(client[0]),
        "lookup_p99_ms": float(client[1]),
        "get_p50_ms": float(plain[0]),
        "get_p99_ms": float(plain[1]),
        "lookup_vs_get_p99": float(client[1] / plain[1]),
        "lookup_pairs": len(lookup_ms),
    }
    return {f"{k}{suffix}": v for k, v in figures.items()}


def _sample_until(redis_url: str, stop_file: Path) -> Figures:
    """Inside the child: sample the cache benchmark's live run until ``stop_file`` exists."""
    from fti.bench.cache import PREFIX, lookup_targets
    from fti.cache.client import PredictionClient
    from fti.cache.connect import connect

    reader = PredictionClient(connect(redis_url), PREFIX)
    entities, periods, keys = lookup_targets()
    reader.lookup(entities[0], periods[0])  # learns the live run: the one lookup needing two round trips
    load_before = load_1m()
    started = time.perf_counter()
    lookup_ms, get_ms = sample(reader, entities, periods, keys, stop=stop_file.exists)
    return latency_figures(lookup_ms, get_ms, "_under_load") | {
        "lookup_under_load_s": time.perf_counter() - started,
        "lookup_under_load_load_1m": max(load_before, load_1m()),
    }


if __name__ == "__main__":
    child_main(_sample_until(sys.argv[1], Path(sys.argv[2])))
