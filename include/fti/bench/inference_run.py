"""The processes of the inference benchmark: a coordinator running the batch steps, workers running chunks.

``python -m fti.bench.inference_run coordinate <var_dir> <redis_url> <workers> <run_id>``: the batch
DAG's steps in order (``fti.pipelines.inference``), ``predict_chunk`` in ``workers`` processes that
each take every N-th chunk (as N Airflow workers would), each step timed.

``python -m fti.bench.inference_run alternate <var_dir> <redis_url> <run_id>``: one run resolved,
checked and planned once, then its predict step with 1 and 2 workers alternating
:data:`ALTERNATIONS` times each (a chunk rewritten writes the same bytes), then published.

``python -m fti.bench.inference_run work <var_dir> <redis_url> <job_file>``: one worker.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fti.bench.child import Figures, Stopwatch, child_main, last_json_line, load_1m, memory_mb, quiet_logs

if TYPE_CHECKING:
    from fti.contracts import ChunkPlan, PinnedModel
    from fti.resources import Resources
    from fti.specs import DatasetSpec

DATASET = "store_sales"
ALTERNATIONS = 3


def _system(var_dir: Path, redis_url: str) -> tuple[Resources, DatasetSpec]:
    from fti.bench.inference_setup import specs_dir
    from fti.bench.scratch import load, scratch_resources

    resources = scratch_resources(var_dir, specs_dir(var_dir), redis_url)
    return resources, load(resources.settings, DATASET)


def coordinate(var_dir: Path, redis_url: str, n_workers: int, run_id: str) -> Figures:
    """Inside the coordinator: the batch DAG's steps in order, ``predict_chunk`` in worker processes."""
    import fti.pipelines.inference as inference
    from fti.pipelines.champion import resolve_champion

    resources, spec = _system(var_dir, redis_url)
    load_before, step = load_1m(), Stopwatch()
    watch = Stopwatch()
    times: Figures = {}
    pinned = resolve_champion(resources, spec)
    times["resolve_s"], step = step.seconds(), Stopwatch()
    checked = inference.check_inputs(resources, spec, pinned, run_id)
    times["check_s"], step = step.seconds(), Stopwatch()
    chunks = inference.plan_run(resources, spec, pinned, checked, run_id)
    times["plan_s"], step = step.seconds(), Stopwatch()
    written, workers = _predict(var_dir, redis_url, pinned, chunks, n_workers)
    times["predict_s"], step = step.seconds(), Stopwatch()
    published = inference.publish(resources, spec, pinned, checked, chunks, written, run_id)
    times["publish_s"] = step.seconds()
    total = watch.seconds()
    return times | {
        "total_s": total,
        "predictions": published.predictions,
        "predictions_per_s": published.predictions / total,
        "chunks": len(chunks),
        "chunk_entities": resources.settings.inference_chunk_entities,
        "workers": n_workers,
        "coordinator_peak_mb": memory_mb()["VmHWM"],
        "worker_peak_mb": max(w["peak_mb"] for w in workers),
        "worker_ready_s": max(w["ready_s"] for w in workers),
        "drift_max_distance": checked.drift.max_distance,
        "load_1m": max(load_before, load_1m()),
    }


def alternate(var_dir: Path, redis_url: str, run_id: str) -> Figures:
    """Inside the coordinator: plan once, then the predict step with 1 and 2 workers, alternating."""
    import fti.pipelines.inference as inference
    from fti.pipelines.champion import resolve_champion

    resources, spec = _system(var_dir, redis_url)
    pinned = resolve_champion(resources, spec)
    checked = inference.check_inputs(resources, spec, pinned, run_id)
    chunks = inference.plan_run(resources, spec, pinned, checked, run_id)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    load_before = load_1m()
    for _ in range(ALTERNATIONS):
        for n in seconds:
            watch = Stopwatch()
            written, _ = _predict(var_dir, redis_url, pinned, chunks, n)
            seconds[n].append(watch.seconds())
    inference.publish(resources, spec, pinned, checked, chunks, written, run_id)
    one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
    return {
        "predict_1_worker_median_s": one,
        "predict_2_workers_median_s": two,
        "predict_alternating_speedup_2_workers": one / two,
        "predict_alternating_load_1m": max(load_before, load_1m()),
    }


def _predict(
    var_dir: Path, redis_url: str, pinned: PinnedModel, chunks: list[ChunkPlan], n_workers: int
) -> tuple[list[int], list[Figures]]:
    """Run ``predict_chunk`` on every chunk in ``n_workers`` processes (chunk i in worker i % n)."""
    procs = []
    for k in range(n_workers):
        job = var_dir / f"job-{chunks[0].run}-{n_workers}-{k}.json"
        share = [c.to_xcom() for c in chunks[k::n_workers]]
        job.write_text(json.dumps({"pinned": pinned.to_xcom(), "chunks": share}))
        args = [sys.executable, "-m", "fti.bench.inference_run", "work", str(var_dir), redis_url, str(job)]
        with job.with_suffix(".out").open("w") as out, job.with_suffix(".err").open("w") as err:
            procs.append((job, subprocess.Popen(args, stdout=out, stderr=err)))
    results = []
    for job, proc in procs:
        if proc.wait() != 0:
            tail = job.with_suffix(".err").read_text()[-3000:]
            raise RuntimeError(f"an inference worker exited {proc.returncode}: {tail}")
        results.append(last_json_line(job.with_suffix(".out").read_text()))
    counts = {cid: n for r in results for cid, n in r.items() if cid.startswith("chunk:")}
    return [int(counts[f"chunk:{c.chunk_id}"]) for c in chunks], results


def _work(var_dir: Path, redis_url: str, job_file: Path) -> Figures:
    """Inside a worker: ``predict_chunk`` for each chunk of the job, as a mapped task would."""
    import fti.pipelines.inference as inference
    from fti.contracts import ChunkPlan, PinnedModel

    job = json.loads(job_file.read_text())
    resources, spec = _system(var_dir, redis_url)
    pinned = PinnedModel.from_xcom(job["pinned"])
    ready_s = _since_start()
    figures: Figures = {"ready_s": ready_s}
    for data in job["chunks"]:
        chunk = ChunkPlan.from_xcom(data)
        figures[f"chunk:{chunk.chunk_id}"] = inference.predict_chunk(resources, spec, pinned, chunk)
    return figures | {"peak_mb": memory_mb()["VmHWM"], "work_s": _since_start() - ready_s}


def _since_start() -> float:
    """Seconds since this process started (interpreter start and imports included; 10 ms steps)."""
    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    return float(Path("/proc/uptime").read_text().split()[0]) - started


if __name__ == "__main__":
    quiet_logs()
    mode, folder, url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if mode == "coordinate":
        child_main(coordinate(folder, url, int(sys.argv[4]), sys.argv[5]))
    elif mode == "alternate":
        child_main(alternate(folder, url, sys.argv[4]))
    else:
        child_main(_work(folder, url, Path(sys.argv[4])))
