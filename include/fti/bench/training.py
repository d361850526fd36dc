"""Benchmark of the training task per data set (``fti bench training``).

For each data set, in a scratch system (store, catalog and MLflow under a temporary folder):

1. the parent lands the raw files (untimed); a first child commits the features by the feature
   pipeline's own steps (untimed): Online Retail's last :data:`ONLINE_RETAIL_WINDOW` days of the
   full history (their look-back is read, not committed), every partition of the others;
2. a second child, whose peak memory is the training task's alone, runs the training DAG's
   ``train_and_register`` unchanged: snapshot, labels, split, fit with the default parameters,
   analysis (test metrics, baselines, slices, split drift, plots), MLflow logging and registration
   as ``challenger``. Probes (:mod:`fti.bench.probes`) time the steps inside it; ``fit_s`` is the
   fit alone.

The model's test WAPE stands next to each baseline's on the same test rows (from the run's metrics):
zero, seasonal naive, moving average and the spec's classical (statsforecast) baselines.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fti.bench.child import Figures, Stopwatch, child_main, load_1m, memory_mb, quiet_logs, run_child
from fti.bench.results import Line

if TYPE_CHECKING:
    from fti.bench.probes import Probe
    from fti.data.generate import StoreSales

DATASETS = ("online_retail", "car_parks", "store_sales")
ONLINE_RETAIL_WINDOW = 90
STEPS = {
    "registry": "MLflow client and store (a new sqlite database)",
    "snapshot": "point-in-time snapshot read",
    "labels": "horizon expansion and labels",
    "split": "time split",
    "fit": "fit",
    "refit": "refit of the point model on every labelled row",
    "analysis": "metrics, baselines, slices, split drift",
    "plots": "analysis plots",
    "lineage": "lineage tags",
    "logging": "MLflow run, model logging and registration",
    "alias": "challenger alias",
}
"""Probed steps of ``train_and_register`` and what each is."""
RUN_ID = "bench"
AREA = "training"
LEGACY = {
    "online_retail.fit_s": "fit_s",
    "online_retail.peak_mb_after_fit": "fit_peak_mb",
    "online_retail.train_rows": "train_rows",
    "online_retail.test_rows": "test_rows",
    "online_retail.wape_model": "wape_model",
    "online_retail.wape_seasonal_naive": "wape_seasonal_naive",
    "online_retail.wape_moving_average": "wape_moving_average",
}
"""Keys of today's figures (Online Retail, fit only, last 90 days) that the per-data-set keys replace."""
DROP = (*LEGACY.values(), "peak_mb", "tune_s", "tune_trials", "tuned_fit_s", "wape_model_tuned")


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench training``: per data set, the whole task, its steps, WAPE."""
    out = []
    for name in DATASETS:
        model = figures.get(f"{name}.wape_model")
        baselines = sorted(k for k in figures if k.startswith(f"{name}.wape_") and k != f"{name}.wape_model")
        best = min((float(v) for k in baselines if (v := figures.get(k))), default=None)
        gain = f"{1 - float(model) / best:+.1%} vs the best baseline" if model and best else "vs baselines"
        out += [
            Line(f"{name}.train_s", ".1f", "train_and_register: snapshot .. registration, s"),
            Line(f"{name}.fit_s", ".1f", "held-out fit: point and quantile models, default parameters, s"),
            *(Line(f"{name}.{s}_s", ".1f", f"{STEPS[s]}, s", f"  {name}.{s}_s") for s in STEPS if s != "fit"),
            Line(
                f"{name}.other_s",
                ".1f",
                "the rest: test predictions, importances, documents, s",
                f"  {name}.other_s",
            ),
            Line(f"{name}.peak_mb", ",.0f", "VmHWM of the training process, MiB"),
            Line(f"{name}.peak_mb_after_fit", ",.0f", "VmHWM when the fit returned, MiB"),
            Line(f"{name}.wape_model", ".4f", f"test WAPE of the model, {gain}"),
            *(Line(k, ".4f", f"same test rows: {k.split('.wape_')[1]}") for k in baselines),
            Line(
                f"{name}.train_rows", ",d", f"training rows (window {figures.get(f'{name}.window')} periods)"
            ),
            Line(f"{name}.test_rows", ",d", "test rows"),
            Line(f"{name}.load_1m", ".1f", "1-min load average at the start (2 cores, shared)"),
        ]
    return out


def store_sales_size() -> StoreSales:
    """A moderate weekly set: 20 stores x 100 products = 2,000 entities, 156 weeks."""
    from fti.data.generate import StoreSales

    return StoreSales(n_stores=20, n_products=100, weeks=156, future_weeks=4)


def window(dataset: str) -> int | None:
    """The snapshot's periods: Online Retail's 90 days; the spec's training window otherwise."""
    return ONLINE_RETAIL_WINDOW if dataset == "online_retail" else None


def run(datasets: tuple[str, ...] = DATASETS) -> Figures:
    """Measure the training task of each data set; figures keyed ``<dataset>.<figure>``."""
    from fti.bench.scratch import land, load, scratch_settings

    figures: Figures = {}
    for name in datasets:
        with tempfile.TemporaryDirectory(prefix=f"fti-bench-training-{name}-") as tmp:
            settings = scratch_settings(Path(tmp))
            land(settings, load(settings, name), store_sales_size() if name == "store_sales" else None)
            run_child("fti.bench.training", tmp, name, "features")
            measured = run_child("fti.bench.training", tmp, name, "train")
        figures |= {f"{name}.{k}": v for k, v in measured.items()}
    return figures


def _features(var_dir: Path, name: str) -> Figures:
    """Inside the first child: commit the partitions the snapshot reads, by the feature pipeline."""
    from fti.bench.scratch import load, scratch_resources
    from fti.pipelines.feature import build_and_commit, pending_partitions, validate_raw

    resources = scratch_resources(var_dir)
    spec = load(resources.settings, name)
    partitions = pending_partitions(resources, spec)
    wanted = window(name)
    if wanted is not None:  # daily: one partition per period
        partitions = partitions[-wanted:]
    summary = build_and_commit(resources, spec, validate_raw(resources, spec, partitions, RUN_ID), RUN_ID)
    return {"feature_rows": summary.rows}


def _probes() -> list[Probe]:
    import fti.pipelines.training as training
    import fti.registry.mlflow_registry as registry
    import fti.training.model as model
    from fti.analysis.report import ModelAnalysis
    from fti.bench.probes import Probe

    return [
        Probe("registry", registry, "configure"),
        Probe("snapshot", training, "take_snapshot"),
        Probe("labels", training, "labelled_rows"),
        Probe("split", training, "split_rows"),
        Probe("fit", model, "fit"),
        Probe("refit", model, "refit"),
        Probe("analysis", training, "analyse_split"),
        Probe("plots", ModelAnalysis, "write_plots"),
        Probe("lineage", training, "build_lineage"),
        Probe("logging", registry, "log_and_register"),
        Probe("alias", registry, "set_alias"),
    ]


def _train(var_dir: Path, name: str) -> Figures:
    """Inside the second child: ``train_and_register`` as the training DAG runs it, probed."""
    import fti.pipelines.training as training
    from fti.analysis.baselines import baseline_names
    from fti.bench.probes import StepClock
    from fti.bench.scratch import load, scratch_resources
    from fti.contracts import TrainingRequest

    import_watch = Stopwatch()
    import mlflow  # noqa: F401 - a process's one-off import cost, not the task's work
    import xgboost  # noqa: F401

    import fti.analysis.report  # noqa: F401

    import_s = import_watch.seconds()
    resources = scratch_resources(var_dir)
    spec = load(resources.settings, name)
    request = TrainingRequest(
        dataset=name,
        as_of=datetime.now(UTC).replace(tzinfo=None),
        window=window(name) or spec.model.training_window,
    )
    clock, load_before = StepClock(), load_1m()
    watch = Stopwatch()
    with clock.watching(_probes()):
        trained = training.train_and_register(resources, spec, request, code="bench")
    total = watch.seconds()
    metrics, lineage = trained.metrics, trained.lineage
    figures: Figures = {
        "train_s": total,
        "peak_mb": memory_mb()["VmHWM"],
        "peak_mb_after_fit": clock.peak_mb["fit"][-1],
        "import_s": import_s,
        "load_1m": load_before,
        "window": request.window,
        "snapshot_rows": lineage.snapshot_rows,
        "train_rows": lineage.train_rows,
        "test_rows": lineage.test_rows,
    }
    figures |= {f"{step}_s": clock.total(step) for step in STEPS}
    figures["other_s"] = total - sum(clock.total(step) for step in STEPS)
    wape = {"wape_model": "test_wape"} | {f"wape_{b}": f"{b}_wape" for b in baseline_names(spec)}
    figures |= {k: float(v) for k, m in wape.items() if (v := metrics.get(m)) is not None}  # None: NaN
    return figures


if __name__ == "__main__":
    quiet_logs()
    folder, dataset, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    child_main(_features(folder, dataset) if mode == "features" else _train(folder, dataset))
