"""Benchmark of nightly batch inference at scale: 1,000,000 entities x 7 periods = 7,000,000 predictions.

Run as ``fti bench inference``. Everything shares one throwaway ``redis-server``:

1. ``redis-benchmark -P 64 -t set`` measures the server's SET ceiling (then the server is flushed);
2. :mod:`fti.bench.inference_setup` builds the scratch system (a ``store_sales`` champion with
   horizon 7 and tonight's partition of 1 M entities; untimed, it says how);
3. end to end through the batch DAG's steps (``fti.pipelines.inference``) at the DEFAULT chunk size
   (``inference_chunk_entities`` = 50,000: 20 chunks): a coordinator process runs
   ``resolve_champion``, ``check_inputs`` and ``plan_run``, starts N worker processes that run
   ``predict_chunk`` on every N-th chunk (as N Airflow workers would), then ``publish``. Once with
   1 worker and once with 2, side by side (same server, same inputs);
4. :mod:`fti.bench.cache`: publication rate against redis-benchmark, bytes per prediction, naive
   writes, quiet lookups interleaved with plain GETs;
5. the same lookups under load: :mod:`fti.bench.lookups` samples while a third end-to-end run
   (2 workers) happens beside it;
6. the predict step alone, 1 and 2 workers alternating 3 times each on one planned run (chunks are
   idempotent), medians: on a shared machine, the 1-vs-2 ratio of single runs is mostly noise.

The processes are in :mod:`fti.bench.inference_run`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from fti.bench.child import Figures, last_json_line, run_child
from fti.bench.results import Line

RUNS = {"e2e_1_worker": 1, "e2e_2_workers": 2}
UNDER_LOAD = "e2e_2_workers_beside_lookups"
AREA = "inference"
LEGACY = {
    "e2e_1_worker.total_s": "end_to_end_s",
    "e2e_1_worker.resolve_s": "resolve_s",
    "e2e_1_worker.check_s": "check_s",
    "e2e_1_worker.publish_s": "publish_switch_s",
    "e2e_1_worker.predictions_per_s": "end_to_end_per_s",
    "e2e_1_worker.coordinator_peak_mb": "end_to_end_peak_mb",
    "publish_go_live_s": "go_live_s",
    "get_p50_ms": "naive_get_p50_ms",
    "get_p99_ms": "naive_get_p99_ms",
}
"""Keys of today's figures (one process, 4 chunks of 250,000, daily Online Retail-like set) replaced."""
DROP = (*LEGACY.values(), "end_to_end_chunks", "end_to_end_predictions", "predict_and_write_s",
        "feature_day", "drift_max_distance", "publish_entity_order_per_s", "predictions")  # fmt: skip


STEP_NOTES = {
    "resolve": "resolve_champion",
    "check": "check_inputs: read, known-future, schema, drift",
    "plan": "plan_run: stage origin and planned rows, begin",
}


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench inference``."""
    out = []
    for run, what in zip(
        (*RUNS, UNDER_LOAD), ("1 worker", "2 workers", "2 workers, lookups beside"), strict=True
    ):
        out += [
            Line(f"{run}.total_s", ".1f", f"end to end, {what}: resolve .. publish, s"),
            *(Line(f"{run}.{s}_s", ".1f", f"{STEP_NOTES[s]}, s", f"  {run}.{s}_s") for s in STEP_NOTES),
            Line(
                f"{run}.predict_s",
                ".1f",
                f"predict_chunk x {figures.get(f'{run}.chunks')} in {what}, s",
                f"  {run}.predict_s",
            ),
            Line(f"{run}.publish_s", ".2f", "count check + atomic switch, s", f"  {run}.publish_s"),
            Line(
                f"{run}.worker_peak_mb", ",.0f", "VmHWM of the largest worker, MiB", f"  {run}.worker_peak_mb"
            ),
            Line(
                f"{run}.coordinator_peak_mb",
                ",.0f",
                "VmHWM of resolve/check/plan/publish, MiB",
                f"  {run}.coordinator_peak_mb",
            ),
        ]
    return out + [
        Line("end_to_end_speedup_2_workers", "x", "1-worker / 2-worker end-to-end time"),
        Line("predict_speedup_2_workers", "x", "the same for the predict step alone"),
        Line("predict_1_worker_median_s", ".1f", "predict step, 1 worker, median of 3 alternating runs, s"),
        Line("predict_2_workers_median_s", ".1f", "predict step, 2 workers, median of 3 alternating runs, s"),
        Line(
            "predict_alternating_speedup_2_workers",
            "x",
            "ratio of those medians (steadier than one run each)",
        ),
        Line("e2e_1_worker.predictions", ",d", "predictions published per run"),
        Line("e2e_1_worker.chunk_entities", ",d", "entities per chunk (the default)"),
        Line("redis_benchmark_set_per_s", ",.0f", "redis-benchmark -P 64 -t set, SETs/s"),
        Line("publish_per_s", ",.0f", "publication of 1 M x 7 synthetic predictions, predictions/s"),
        Line("publish_vs_redis_benchmark", "x", "per PREDICTION vs SETs/s (7 per field: not like with like)"),
        Line("publish_fields_per_s", ",.0f", "the same publication in Redis field writes/s (1 per entity)"),
        Line("publish_fields_vs_redis_benchmark", "x", "per REDIS FIELD WRITE vs SETs/s: like with like"),
        Line("naive_pipeline_per_s", ",.0f", "one pipelined SET per prediction, SETs/s"),
        Line("naive_vs_redis_benchmark", "x", "naive SETs/s vs redis-benchmark SETs/s"),
        Line("bytes_per_prediction", ".2f", "MEMORY USAGE of the run's keys / predictions"),
        Line("used_memory_bytes_per_prediction", ".2f", "growth of INFO used_memory / predictions"),
        Line("lookup_p50_ms", ".3f", "client lookup, quiet, interleaved with GETs, ms"),
        Line("lookup_p99_ms", ".3f", "client lookup p99, quiet, ms"),
        Line("get_p50_ms", ".3f", "plain GET, same process and seconds, ms"),
        Line("get_p99_ms", ".3f", "plain GET p99, same process and seconds, ms"),
        Line("lookup_vs_get_p99", "x", "client p99 / GET p99, quiet (goal <= 2x)"),
        Line("lookup_p50_ms_under_load", ".3f", "client lookup beside a 2-worker inference run, ms"),
        Line("lookup_p99_ms_under_load", ".3f", "client lookup p99 under that load, ms"),
        Line("get_p50_ms_under_load", ".3f", "plain GET under that load, ms"),
        Line("get_p99_ms_under_load", ".3f", "plain GET p99 under that load, ms"),
        Line("lookup_vs_get_p99_under_load", "x", "client p99 / GET p99 under load (goal <= 2x)"),
        Line("lookup_pairs_under_load", ",d", "lookup + GET pairs sampled under load"),
    ]


def run() -> Figures:
    """The whole benchmark (steps 1-5 of the module docstring); returns its figures."""
    from fti.bench.cache import redis_benchmark_set_per_s
    from fti.bench.redis_server import redis_server
    from fti.cache.connect import connect

    with tempfile.TemporaryDirectory(prefix="fti-bench-inference-") as tmp, redis_server() as server:
        ceiling = redis_benchmark_set_per_s(server.port)
        connect(server.url).flushall()
        figures: Figures = {"redis_benchmark_set_per_s": ceiling}
        figures |= run_child("fti.bench.inference_setup", tmp)
        for name, workers in RUNS.items():
            measured = run_child("fti.bench.inference_run", "coordinate", tmp, server.url, str(workers), name)
            figures |= {f"{name}.{k}": v for k, v in measured.items()}
        figures |= run_child("fti.bench.cache", server.url, str(ceiling))
        beside, lookups = _under_load(Path(tmp), server.url)
        figures |= {f"{UNDER_LOAD}.{k}": v for k, v in beside.items()} | lookups
        figures |= run_child("fti.bench.inference_run", "alternate", tmp, server.url, "alternate")
    one, two = figures["e2e_1_worker.total_s"], figures["e2e_2_workers.total_s"]
    figures["end_to_end_speedup_2_workers"] = one / two
    figures["predict_speedup_2_workers"] = (
        figures["e2e_1_worker.predict_s"] / figures["e2e_2_workers.predict_s"]
    )
    return figures


def _under_load(var_dir: Path, redis_url: str) -> tuple[Figures, Figures]:
    """An end-to-end run (2 workers) with the lookup sampler running beside it, in its own process."""
    stop = var_dir / "stop-lookups"
    sampler = subprocess.Popen(
        [sys.executable, "-m", "fti.bench.lookups", redis_url, str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        e2e = run_child("fti.bench.inference_run", "coordinate", str(var_dir), redis_url, "2", UNDER_LOAD)
    finally:
        stop.touch()
        out, _ = sampler.communicate(timeout=120)
    if sampler.returncode != 0:
        raise RuntimeError(f"the lookup sampler exited {sampler.returncode}")
    return e2e, last_json_line(out)
