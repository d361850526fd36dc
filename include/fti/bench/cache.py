"""Benchmark of the prediction cache on a real Redis: publication rate, memory, lookup latency.

Run as a child (``python -m fti.bench.cache <redis_url>``) against the inference benchmark's
throwaway ``redis-server``, whose ``redis-benchmark -P 64 -t set`` rate the parent measured first.

* **publication**: ``n_entities x horizon`` synthetic predictions (1 M x 7) published the way
  ``plan_run`` / ``predict_chunk`` / ``publish`` do (entities in bucket order, chunks of the
  default 50,000 entities, :func:`write_chunk` each, then :func:`go_live`), no model involved.
  Two rates, both set against redis-benchmark's SETs per second and labelled:
  ``publish_per_s`` counts predictions (7 per entity), ``publish_fields_per_s`` counts Redis field
  writes (one hash field per entity holds its 7 values) - the like-with-like figure.
* **memory**: ``MEMORY USAGE`` of the run's keys per prediction (and ``used_memory`` growth).
* **naive**: one ``SET entity|period -> "12.345"`` per prediction through a pipeline, on a
  200,000-prediction sample; these keys are also what plain GETs read.
* **lookups**: :mod:`fti.bench.lookups`, interleaved with plain GETs, on a quiet machine (this
  process alone); the inference benchmark repeats it beside an inference run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

from fti.bench.child import Figures, child_main, load_1m

if TYPE_CHECKING:
    import redis

    from fti.cache.predictions import RunPlan

PREFIX = "fti:bench"
N_ENTITIES = 1_000_000
HORIZON = 7
CHUNK_ENTITIES = 50_000
NAIVE_SAMPLE = 200_000
LOOKUP_PAIRS = 100_000
FIRST_PERIOD = np.datetime64("2024-03-02", "D")
TTL_S = 24 * 3600
COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland")


def synthetic(n_entities: int = N_ENTITIES, horizon: int = HORIZON) -> tuple[list[str], np.ndarray]:
    """Entity ids shaped like Online Retail's (country|stock code) and gamma-distributed values."""
    names = [
        f"{COUNTRIES[i % len(COUNTRIES)]}|{10000 + i // len(COUNTRIES)}{'ABCD'[i % 4]}"
        for i in range(n_entities)
    ]
    rows = np.random.default_rng(0).gamma(2.0, 4.0, (n_entities, horizon)).astype(np.float32)
    return names, rows


def periods(horizon: int = HORIZON) -> list[str]:
    """The run's periods as text (daily)."""
    return [str(FIRST_PERIOD + d) for d in range(horizon)]


def naive_key(entity: str, period: str) -> str:
    return f"{PREFIX}:naive:{entity}|{period}"


def lookup_targets() -> tuple[list[str], list[str], list[str]]:
    """Entities and periods of the published run, and the naive keys written (all deterministic)."""
    names, _ = synthetic()
    days = periods()
    n = -(-NAIVE_SAMPLE // len(days))
    return names, days, [naive_key(names[i], d) for i in range(n) for d in days]


def run(redis_url: str, ceiling_set_per_s: float) -> Figures:
    """Publish, measure memory, write the naive sample, time quiet lookups; ratios to ``ceiling``."""
    from fti.bench.lookups import latency_figures, sample
    from fti.cache.client import PredictionClient
    from fti.cache.connect import connect
    from fti.cache.predictions import plan_run

    client = connect(redis_url)
    names, rows = synthetic()
    used_before = int(client.info("memory")["used_memory"])
    plan = plan_run("bench-publish", periods()[0], HORIZON, len(names))
    publish_s, go_live_s = publish(client, plan, names, rows)
    predictions = int(np.count_nonzero(~np.isnan(rows)))
    used = int(client.info("memory")["used_memory"]) - used_before
    naive_per_s = naive_writes(client, names, rows)
    entities, days, keys = lookup_targets()
    reader = PredictionClient(client, PREFIX)
    reader.lookup(entities[0], days[0])  # learns the live run: the one lookup needing two round trips
    load_before = load_1m()
    lookup_ms, get_ms = sample(reader, entities, days, keys, count=LOOKUP_PAIRS)
    return {
        "publish_s": publish_s,
        "publish_go_live_s": go_live_s,
        "publish_per_s": predictions / publish_s,
        "publish_fields_per_s": len(names) / publish_s,
        "publish_vs_redis_benchmark": predictions / publish_s / ceiling_set_per_s,
        "publish_fields_vs_redis_benchmark": len(names) / publish_s / ceiling_set_per_s,
        "publish_predictions": predictions,
        "naive_pipeline_per_s": naive_per_s,
        "naive_vs_redis_benchmark": naive_per_s / ceiling_set_per_s,
        "bytes_per_prediction": memory_usage(client, plan) / predictions,
        "used_memory_bytes_per_prediction": used / predictions,
        "n_buckets": plan.n_buckets,
        "lookup_load_1m": max(load_before, load_1m()),
    } | latency_figures(lookup_ms, get_ms)


def publish(client: redis.Redis, plan: RunPlan, names: list[str], rows: np.ndarray) -> tuple[float, float]:
    """Seconds to publish the whole run (bucket order, begin, every chunk, go_live), and of go_live alone."""
    from fti.cache.predictions import begin_run, bucket_order, go_live, write_chunk

    started = time.perf_counter()
    order = bucket_order(plan, names)
    begin_run(client, PREFIX, plan, {"grain": "day", "week_start": "0"}, TTL_S)
    chunks, total = 0, 0
    for start in range(0, len(names), CHUNK_ENTITIES):
        picked = order[start : start + CHUNK_ENTITIES]
        part = [names[i] for i in picked.tolist()]
        total += write_chunk(client, PREFIX, plan, f"{chunks:05d}", part, rows[picked], TTL_S)
        chunks += 1
    switching = time.perf_counter()
    go_live(client, PREFIX, plan, chunks, total, {}, keep_runs=1, ttl_s=TTL_S)
    done = time.perf_counter()
    return done - started, done - switching


def memory_usage(client: redis.Redis, plan: RunPlan) -> int:
    """Bytes Redis accounts to the run's keys (``MEMORY USAGE ... SAMPLES 0``: exact)."""
    from fti.cache import layout

    keys = layout.bucket_keys(PREFIX, plan.run, plan.n_buckets)
    keys += [layout.chunks_key(PREFIX, plan.run), layout.meta_key(PREFIX, plan.run)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(b or 0) for b in pipe.execute())


def naive_writes(client: redis.Redis, names: list[str], rows: np.ndarray) -> float:
    """SETs per second of one pipelined SET per prediction, on the naive sample's keys."""
    days = periods(rows.shape[1])
    n = -(-NAIVE_SAMPLE // len(days))
    keys = [naive_key(names[i], d) for i in range(n) for d in days]
    texts = [repr(float(v)) for v in rows[:n].ravel().tolist()]
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for k in range(len(keys)):
        pipe.set(keys[k], texts[k])
        if k % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    return len(keys) / (time.perf_counter() - started)


def redis_benchmark_set_per_s(port: int) -> float:
    """SET requests per second that ``redis-benchmark -P 64 -t set`` (redis-tools) reaches on the server.

    Raises:
        RuntimeError: redis-benchmark is not installed, or its output has no SET rate.
    """
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise RuntimeError("redis-benchmark is not on PATH; install Debian's redis-tools")
    args = [binary, *f"-h 127.0.0.1 -p {port} -q -P 64 -t set -n 2000000 -r 1000000".split()]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    found = re.findall(r"SET: ([\d.]+) requests per second", out.stdout)
    if not found:
        raise RuntimeError(f"cannot read the SET rate in redis-benchmark's output: {out.stdout[-500:]!r}")
    return float(found[-1])


if __name__ == "__main__":
    child_main(run(sys.argv[1], float(sys.argv[2])))
