"""Benchmark of the prediction cache: publication rate, memory and lookup latency on a real Redis.

Everything runs against one throwaway ``redis-server`` (no persistence, loopback) started here:

* ``redis_benchmark_set_per_s``: ``redis-benchmark -q -P 64 -t set -n 2000000 -r 1000000``, the
  server's own ceiling for pipelined single-key writes (then the database is flushed);
* ``publish_s`` / ``publish_per_s``: ``n_entities x horizon_days`` predictions published the way
  the pipeline does (entities in bucket order, chunks of 50,000, :func:`write_chunk` each, then
  :func:`go_live`), ``bucket_order`` included; ``publish_entity_order_per_s`` is the same with
  chunks cut in entity order (each chunk then touches every bucket);
* ``bytes_per_prediction``: ``MEMORY USAGE`` summed over the run's keys / predictions
  (``used_memory_bytes_per_prediction``: the growth of ``INFO memory`` ``used_memory``);
* ``naive_pipeline_per_s``: one ``SET entity|date -> "12.345"`` per prediction through a redis-py
  pipeline, timed on a 200,000-prediction sample only: a rate to compare, not a full publication;
* ``lookup_p50_ms`` / ``lookup_p99_ms``: 100,000 random lookups through one
  :class:`PredictionClient` (one connection, sequential, loopback), against ``naive_get_*``, as
  many GETs of the naive keys: the floor any Redis lookup pays on this machine.

The ``*_vs_redis_benchmark`` ratios compare predictions per second with SET commands per second.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from fti.bench.redis_server import redis_server
from fti.cache import layout
from fti.cache.client import PredictionClient, connect
from fti.cache.predictions import RunPlan, begin_run, bucket_order, go_live, plan_run, write_chunk

if TYPE_CHECKING:
    import redis

PREFIX = "fti:bench"
CHUNK_ENTITIES = 50_000
NAIVE_SAMPLE = 200_000
LOOKUPS = 100_000
FIRST_DATE = date(2024, 3, 2)
TTL_S = 24 * 3600
COUNTRIES = (
    "United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland",
    "Portugal", "Australia", "Norway", "Italy", "Channel Islands", "Finland", "Cyprus", "Sweden",
    "Austria", "Denmark", "Japan", "Poland", "Israel", "USA", "Hong Kong", "Singapore", "Iceland",
    "Canada", "Greece", "Malta", "United Arab Emirates", "European Community", "RSA", "Lebanon",
    "Lithuania", "Brazil", "Czech Republic", "Bahrain", "Saudi Arabia", "Nigeria", "Korea", "Thailand",
)  # fmt: skip


def run(n_entities: int = 1_000_000, horizon_days: int = 7) -> dict[str, float | int]:
    """Publish ``n_entities x horizon_days`` predictions into a throwaway Redis and time everything.

    Returns:
        The figures named in the module docstring.
    """
    names, rows = synthetic(n_entities, horizon_days)
    with redis_server() as server:
        client = connect(server.url)
        ceiling = redis_benchmark_set_per_s(server.port)
        client.flushall()
        used_before = int(client.info("memory")["used_memory"])
        plan = plan_run("bench-bucket-order", FIRST_DATE, horizon_days, n_entities)
        publish_s, go_live_s = publish(client, plan, names, rows, in_bucket_order=True)
        predictions = int(np.count_nonzero(~np.isnan(rows)))
        used = int(client.info("memory")["used_memory"]) - used_before
        run_bytes = memory_usage(client, plan)
        lookup_ms = lookup_latencies_ms(client, plan, names)
        other = plan_run("bench-entity-order", FIRST_DATE, horizon_days, n_entities)
        entity_order_s, _ = publish(client, other, names, rows, in_bucket_order=False)
        naive_per_s, get_ms = naive(client, names, rows)
    return {
        "publish_s": publish_s,
        "publish_per_s": predictions / publish_s,
        "go_live_s": go_live_s,
        "publish_entity_order_per_s": predictions / entity_order_s,
        "redis_benchmark_set_per_s": ceiling,
        "publish_vs_redis_benchmark": predictions / publish_s / ceiling,
        "naive_pipeline_per_s": naive_per_s,
        "naive_vs_redis_benchmark": naive_per_s / ceiling,
        "bytes_per_prediction": run_bytes / predictions,
        "used_memory_bytes_per_prediction": used / predictions,
        "lookup_p50_ms": float(np.percentile(lookup_ms, 50)),
        "lookup_p99_ms": float(np.percentile(lookup_ms, 99)),
        "naive_get_p50_ms": float(np.percentile(get_ms, 50)),
        "naive_get_p99_ms": float(np.percentile(get_ms, 99)),
        "predictions": predictions,
        "n_buckets": plan.n_buckets,
    }


def synthetic(n_entities: int, horizon_days: int) -> tuple[list[str], np.ndarray]:
    """Entity ids shaped like Online Retail's (country|stock code) and gamma-distributed demand."""
    names = [
        f"{COUNTRIES[i % len(COUNTRIES)]}|{10000 + i // len(COUNTRIES)}{'ABCD'[i % 4]}"
        for i in range(n_entities)
    ]
    rows = np.random.default_rng(0).gamma(2.0, 4.0, (n_entities, horizon_days)).astype(np.float32)
    return names, rows


def publish(
    client: redis.Redis, plan: RunPlan, names: list[str], rows: np.ndarray, in_bucket_order: bool
) -> tuple[float, float]:
    """Seconds to publish the whole run (order, begin, every chunk, go_live), and of go_live alone."""
    started = time.perf_counter()
    order = bucket_order(plan, names) if in_bucket_order else np.arange(len(names))
    begin_run(client, PREFIX, plan, {"model_version": "bench"}, TTL_S)
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
    keys = layout.bucket_keys(PREFIX, plan.run, plan.n_buckets)
    keys += [layout.chunks_key(PREFIX, plan.run), layout.meta_key(PREFIX, plan.run)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(b or 0) for b in pipe.execute())


def lookup_latencies_ms(client: redis.Redis, plan: RunPlan, names: list[str]) -> np.ndarray:
    """Latency of each of ``LOOKUPS`` random lookups through one warmed-up PredictionClient."""
    reader = PredictionClient(client, PREFIX)
    reader.lookup(names[0], FIRST_DATE)  # learns the live run: the one lookup needing two round trips
    rng = np.random.default_rng(1)
    days = [FIRST_DATE + timedelta(days=d) for d in range(plan.horizon_days)]
    entities, offsets = (
        rng.integers(0, len(names), LOOKUPS).tolist(),
        rng.integers(0, len(days), LOOKUPS).tolist(),
    )
    picks = zip(entities, offsets, strict=True)
    out = np.empty(LOOKUPS)
    for n, (i, d) in enumerate(picks):
        started = time.perf_counter_ns()
        reader.lookup(names[i], days[d])
        out[n] = time.perf_counter_ns() - started
    return out / 1e6


def naive(client: redis.Redis, names: list[str], rows: np.ndarray) -> tuple[float, np.ndarray]:
    """Rate of one pipelined SET per prediction (sample only) and latencies of GETs of those keys."""
    h = rows.shape[1]
    n = min(len(names), -(-NAIVE_SAMPLE // h))
    days = [(FIRST_DATE + timedelta(days=d)).isoformat() for d in range(h)]
    keys = [f"{PREFIX}:naive:{names[i]}|{day}" for i in range(n) for day in days]
    texts = [repr(float(v)) for v in rows[:n].ravel().tolist()]
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for k in range(len(keys)):
        pipe.set(keys[k], texts[k])
        if k % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    rate = len(keys) / (time.perf_counter() - started)
    picks = np.random.default_rng(2).integers(0, len(keys), LOOKUPS).tolist()
    out = np.empty(LOOKUPS)
    for j, k in enumerate(picks):
        started_ns = time.perf_counter_ns()
        client.get(keys[k])
        out[j] = time.perf_counter_ns() - started_ns
    return rate, out / 1e6


def redis_benchmark_set_per_s(port: int) -> float:
    """SET requests per second that ``redis-benchmark`` (Debian's redis-tools) reaches on the server."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise RuntimeError("redis-benchmark is not on PATH; install Debian's redis-tools")
    args = [binary, "-h", "127.0.0.1", "-p", str(port), "-q", "-P", "64", "-t", "set"]
    out = subprocess.run(
        [*args, "-n", "2000000", "-r", "1000000"], capture_output=True, text=True, check=True
    )
    found = re.findall(r"SET: ([\d.]+) requests per second", out.stdout)
    if not found:
        raise RuntimeError(f"cannot read the SET rate in redis-benchmark's output: {out.stdout[-500:]!r}")
    return float(found[-1])
