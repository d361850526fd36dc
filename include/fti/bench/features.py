"""Benchmark of the feature pipeline on each data set's full history (``fti bench features``).

For each data set, in a scratch system: the parent lands the raw files (untimed: the shipped ones
from the download cache, ``store_sales`` generated at 100 stores x 1,000 products x 156 weeks =
15.6 M rows). Then two child processes, each with its own peak memory (``VmHWM``):

* **run**: the feature DAG's work as its tasks do it, ``plan_partitions`` (every pending partition),
  ``validate_raw`` (read once, raw suite, record, stage) and ``build_and_commit`` (features,
  feature suite, statistics, commit), unchanged. Probes (:mod:`fti.bench.probes`) time the steps
  inside them; ``compute_s`` is the compute-and-write part: features, cutting by partition, Arrow
  conversion, Parquet encoding and file writes (not statistics, not the catalog transaction).
* **features only**: the same raw rows read into memory, then :func:`fti.pipelines.feature.compute`
  alone, timed, with the process's peak (raw rows included).

Imports (Great Expectations, polars, ...) happen before the clock starts: they are a one-off cost of
a process, not work on the data (``import_s`` says how long they took).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fti.bench.child import Figures, Stopwatch, child_main, load_1m, memory_mb, quiet_logs, run_child
from fti.bench.results import Line

if TYPE_CHECKING:
    from fti.bench.probes import Probe
    from fti.data.generate import StoreSales

DATASETS = ("online_retail", "car_parks", "store_sales")
RUN_ID = "bench"

#: Steps whose shares are reported, as (name, probe paths whose inclusive time it is).
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("read", ("validate_raw/read", "validate_raw/read_future")),
    ("raw_checks", ("validate_raw/validate",)),
    ("staging", ("validate_raw/stage", "build_and_commit/unstage", "build_and_commit/delete_staging")),
    ("features", ("build_and_commit/compute",)),
    ("feature_checks", ("build_and_commit/validate",)),
    ("statistics", ("build_and_commit/write_partitions/statistics",)),
    ("write", ("build_and_commit/cut", "build_and_commit/partitions_of",
               "build_and_commit/write_partitions/to_arrow", "build_and_commit/write_partitions/parquet",
               "build_and_commit/write_partitions/files")),
)  # fmt: skip
#: Peak memory when these steps returned (path, which call): the step after which it jumps holds it.
PEAK_AFTER = {
    "validate_raw": ("validate_raw", 0),
    "unstage": ("build_and_commit/unstage", 0),
    "panel": ("build_and_commit/compute/panel", 0),
    "engine": ("build_and_commit/compute/engine", 0),
    "future_panel": ("build_and_commit/compute/panel", 1),
    "future_rows": ("build_and_commit/compute/future", 0),
    "feature_checks": ("build_and_commit/validate", 0),
    "write": ("build_and_commit/write_partitions", 0),
    "future_write": ("build_and_commit/write_partitions", 1),
}


AREA = "features"
LEGACY = {
    "online_retail.full_history_s": "full_history_s",
    "online_retail.full_history_peak_mb": "full_history_peak_mb",
    "online_retail.full_history_rows": "full_history_rows",
    "online_retail.full_history_partitions": "full_history_days",
}
"""Keys of today's figures (the per-day code) that the per-data-set keys replace."""
DROP = (*LEGACY.values(), "validation_share")
TARGETS = {
    "online_retail": {"full_history_s": "10", "full_history_compute_s": "5", "full_history_peak_mb": "1,500"},
    "car_parks": {"full_history_s": "5"},
    "store_sales": {"features_only_s": "60", "features_only_peak_mb": "4,000"},
}
"""The issue's goals (reported, not asserted)."""


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench features``: per data set, whole run, compute part, steps, peaks."""
    out = []
    for name in DATASETS:
        total = float(figures.get(f"{name}.full_history_s", 0.0))

        def line(key: str, fmt: str, note: str, label: str | None = None, ds: str = name) -> Line:
            goal = TARGETS.get(ds, {}).get(key)
            return Line(f"{ds}.{key}", fmt, f"{note} (goal <= {goal})" if goal else note, label)

        out += [
            line("full_history_s", ".1f", "validate_raw + build_and_commit of every partition, s"),
            line("full_history_compute_s", ".1f", "features + cut + Arrow + Parquet + file writes, s"),
            line("full_history_peak_mb", ",.0f", "VmHWM of that process, MiB"),
        ]
        out += [
            line(
                f"share_{step}",
                ".0%",
                f"{figures.get(f'{name}.share_{step}', 0.0) * total:.1f} s",
                f"  share_{step}",
            )
            for step in [*(s for s, _ in STEPS), "catalog", "other"]
        ]
        out += [
            line(
                f"peak_mb_after_{k}",
                ",.0f",
                f"VmHWM when {p} (call {i + 1}) returned, MiB",
                f"  peak_mb_after_{k}",
            )
            for k, (p, i) in PEAK_AFTER.items()
        ]
        out += [
            line("features_only_s", ".1f", "compute() alone, raw rows in memory, own process, s"),
            line("features_only_peak_mb", ",.0f", "VmHWM of that process (raw rows included), MiB"),
            line("raw_rows", ",d", "raw rows read (look-back included)"),
            line("full_history_rows", ",d", "feature rows committed"),
            line("future_rows", ",d", "known-future rows computed"),
            line("full_history_partitions", ",d", "partitions committed"),
            line("import_s", ".1f", "imports before the clock (GE, polars, ...), s"),
            line("load_1m", ".1f", "1-min load average at the start (2 cores, shared)"),
        ]
    return out


def store_sales_size() -> StoreSales:
    """The generated weekly set of the issue: 100,000 entities x 156 weeks."""
    from fti.data.generate import StoreSales

    return StoreSales(n_stores=100, n_products=1000, weeks=156)


def run(datasets: tuple[str, ...] = DATASETS) -> Figures:
    """Land each data set in a scratch system and measure it; figures keyed ``<dataset>.<figure>``."""
    from fti.bench.scratch import land, load, scratch_settings

    figures: Figures = {}
    for name in datasets:
        with tempfile.TemporaryDirectory(prefix=f"fti-bench-features-{name}-") as tmp:
            settings = scratch_settings(Path(tmp))
            land(settings, load(settings, name), store_sales_size() if name == "store_sales" else None)
            # features-only first: it commits nothing, so the run after it finds every partition pending
            measured = run_child("fti.bench.features", tmp, name, "features-only")
            measured |= run_child("fti.bench.features", tmp, name, "run")
        figures |= {f"{name}.{k}": v for k, v in measured.items()}
    return figures


def _probes() -> list[Probe]:
    """Where the time of ``validate_raw`` and ``build_and_commit`` goes (see :data:`STEPS`)."""
    import fti.data.source as source
    import fti.features.aggregate as aggregate
    import fti.features.engine as engine
    import fti.pipelines.feature as feature
    import fti.store.feature_store as feature_store
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
        Probe("to_arrow", feature_store, "_to_table", memory=False),
        Probe("parquet", feature_store, "_parquet_bytes", memory=False),
        Probe("statistics", feature_store, "compute_statistics", memory=False),
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


def _run(var_dir: Path, name: str) -> Figures:
    """Inside the child: the feature DAG's two steps over every pending partition, probed."""
    import fti.pipelines.feature as feature
    from fti.bench.probes import StepClock
    from fti.bench.scratch import load, scratch_resources

    import_s = _imports()
    resources = scratch_resources(var_dir)
    spec = load(resources.settings, name)
    clock, load_before = StepClock(), load_1m()
    watch = Stopwatch()
    with clock.watching(_probes()):  # looked up on the module, so the probes are what runs
        partitions = feature.plan_partitions(resources, spec, None, "manual", None)
        check = feature.validate_raw(resources, spec, partitions, RUN_ID)
        summary = feature.build_and_commit(resources, spec, check, RUN_ID)
    total = watch.seconds()
    step_s = {step: clock.total(*paths) for step, paths in STEPS}
    figures: Figures = {
        "full_history_s": total,
        "full_history_compute_s": clock.total("build_and_commit/compute") + step_s["write"],
        "full_history_peak_mb": memory_mb()["VmHWM"],
        "full_history_partitions": summary.partitions,
        "full_history_rows": summary.rows,
        "raw_rows": check.rows,
        "import_s": import_s,
        "load_1m": load_before,
        "catalog_s": clock.exclusive("build_and_commit/write_partitions"),
    }
    figures |= {f"share_{step}": s / total for step, s in step_s.items()}
    figures["share_catalog"] = figures["catalog_s"] / total
    figures["share_other"] = 1 - sum(s / total for s in step_s.values()) - figures["share_catalog"]
    figures |= {
        f"peak_mb_after_{k}": clock.peak_mb[p][i]
        for k, (p, i) in PEAK_AFTER.items()
        if len(clock.peak_mb[p]) > i
    }
    return figures


def _features_only(var_dir: Path, name: str) -> Figures:
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
    folder, dataset, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    child_main(_run(folder, dataset) if mode == "run" else _features_only(folder, dataset))
