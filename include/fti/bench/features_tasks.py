"""The child processes of the features benchmark: one per feature-DAG task, and the engine alone.

``python -m fti.bench.features_tasks <var_dir> <dataset> <task>``, where ``task`` is

* ``validate_raw``: ``plan_partitions`` (every pending partition) then ``validate_raw`` (read once,
  raw suite, record, stage), as the DAG's first task; its :class:`RawCheck` is left in
  :data:`CHECK_FILE` (what the task returns through XCom);
* ``build_and_commit``: the DAG's second task on that check (features, feature suite,
  statistics, commit);
* ``features-only``: the raw rows ``validate_raw`` reads, in memory, then
  :func:`fti.pipelines.feature.compute` alone, timed.

Under Airflow each task is a process of its own; so is each child here, and its ``VmHWM`` is that
task's peak memory. Probes (:mod:`fti.bench.probes`) time the steps inside the unchanged tasks: the
child reports the inclusive seconds of every probed path (``s:<path>``) and the peak when each call
returned (``peak:<path>#<call>``). Imports happen before the clock starts (``import_s``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fti.bench.child import Figures, Stopwatch, child_main, load_1m, memory_mb, quiet_logs

if TYPE_CHECKING:
    from fti.bench.probes import Probe

RUN_ID = "bench"
CHECK_FILE = "raw-check.json"


def probes() -> list[Probe]:
    """Where the time of ``validate_raw`` and ``build_and_commit`` goes."""
    import fti.data.source as source
    import fti.features.aggregate as aggregate
    import fti.features.engine as engine
    import fti.pipelines.feature as feature
    import fti.store.commits as commits
    import fti.validation.runner as runner
    from fti.bench.probes import Probe
    from fti.store.feature_store import FeatureStore

    return [
        Probe("plan", feature, "plan_partitions"),
        Probe("validate_raw", feature, "validate_raw"),
        Probe("build_and_commit", feature, "build_and_commit"),
        Probe("read", source, "read_partitions"),
        Probe("read_future", source, "read_future"),
        Probe("validate", runner, "validate"),
        Probe("stage", FeatureStore, "write_staging"),
        Probe("unstage", FeatureStore, "read_staging"),
        Probe("delete_staging", FeatureStore, "delete_staging"),
        Probe("compute", feature, "compute"),
        Probe("cut", feature, "_by_partition"),
        Probe("partitions_of", feature, "_partitions_of"),
        Probe("panel", aggregate, "to_panel"),
        Probe("engine", engine, "build_features"),
        Probe("future", engine, "build_future"),
        Probe("write_partitions", FeatureStore, "write_partitions"),
        Probe("to_arrow", commits, "_to_table", memory=False),
        Probe("parquet", commits, "_parquet_bytes", memory=False),
        Probe("statistics", commits, "compute_statistics", memory=False),
        Probe("files", FeatureStore, "_write_file", memory=False),
    ]


def _imports() -> float:
    """Import what the steps import lazily; returns the seconds it took."""
    watch = Stopwatch()
    import great_expectations  # noqa: F401
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import fti.features.engine  # noqa: F401
    import fti.validation.feature_suite  # noqa: F401
    import fti.validation.raw_suite  # noqa: F401

    return watch.seconds()


def task(var_dir: Path, name: str, which: str) -> Figures:
    """Inside the child: one task of the feature DAG, unchanged, probed."""
    import fti.pipelines.feature as feature
    from fti.bench.probes import StepClock
    from fti.bench.scratch import load, scratch_resources
    from fti.contracts import RawCheck

    import_s = _imports()
    resources = scratch_resources(var_dir)
    spec = load(resources.settings, name)
    clock, load_before = StepClock(), load_1m()
    figures: Figures = {}
    watch = Stopwatch()
    with clock.watching(probes()):  # called through the module, so the probes are what runs
        if which == "validate_raw":
            partitions = feature.plan_partitions(resources, spec, None, "manual", None)
            check = feature.validate_raw(resources, spec, partitions, RUN_ID)
            (var_dir / CHECK_FILE).write_text(json.dumps(check.to_xcom()))
            figures["raw_rows"] = check.rows
        else:
            check = RawCheck.from_xcom(json.loads((var_dir / CHECK_FILE).read_text()))
            summary = feature.build_and_commit(resources, spec, check, RUN_ID)
            figures |= {"full_history_rows": summary.rows, "full_history_partitions": summary.partitions}
    figures |= {
        "task_s": watch.seconds(),
        "peak_mb": memory_mb()["VmHWM"],
        "import_s": import_s,
        "load_1m": max(load_before, load_1m()),
    }
    figures |= {f"s:{path}": s for path, s in clock.seconds.items()}
    return figures | {f"peak:{p}#{i}": v for p, peaks in clock.peak_mb.items() for i, v in enumerate(peaks)}


def features_only(var_dir: Path, name: str) -> Figures:
    """Inside the child: the rows ``validate_raw`` reads, in memory; then ``compute`` alone, timed."""
    from fti.bench.scratch import load, scratch_resources
    from fti.data.source import read_future, read_partitions
    from fti.pipelines.feature import compute, lookahead_partitions, lookback_partitions, plan_partitions

    _imports()
    resources = scratch_resources(var_dir)
    spec = load(resources.settings, name)
    cal, raw_dir = spec.calendar, var_dir / "raw"
    partitions = plan_partitions(resources, spec, None, "manual", None)
    first, last = min(partitions), max(partitions)
    raw = read_partitions(spec, raw_dir, cal.next_partition(first, -lookback_partitions(spec)), last)
    ahead = cal.next_partition(last, lookahead_partitions(spec))
    future = read_future(spec, raw_dir, cal.next_partition(last), ahead)
    before_mb = memory_mb()["VmRSS"]
    watch = Stopwatch()
    features, future_rows = compute(spec, raw, future, partitions)
    seconds = watch.seconds()
    return {
        "features_only_s": seconds,
        "features_only_peak_mb": memory_mb()["VmHWM"],
        "features_only_inputs_mb": before_mb,
        "feature_rows": len(features),
        "future_rows": 0 if future_rows is None else len(future_rows),
    }


if __name__ == "__main__":
    quiet_logs()
    folder, dataset, which = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    child_main(features_only(folder, dataset) if which == "features-only" else task(folder, dataset, which))
