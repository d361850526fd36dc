"""Training pipeline steps: check the inputs, train and register a challenger. What a run is asked to
do and whether a scheduled one skips is :mod:`fti.pipelines.training_request`; the gate that may
promote the challenger is :mod:`fti.pipelines.gate`.

Each step re-reads the point-in-time snapshot it needs (:mod:`fti.training.snapshot`), so the steps
hand each other only contracts (:mod:`fti.contracts`) and any of them can be retried alone.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.contracts import Lineage, TrainedModel, TrainingRequest
from fti.features.model_inputs import LABEL
from fti.features.schema import model_inputs
from fti.logs import step
from fti.registry import mlflow_registry as registry
from fti.training.evaluation import analyse_split
from fti.training.lineage import build_lineage, code_version, lineage_document
from fti.training.snapshot import labelled_rows, take_snapshot
from fti.training.split import TimeSplit, split_by_time

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from fti.analysis.report import ModelAnalysis
    from fti.resources import Resources
    from fti.settings import Settings
    from fti.specs import DatasetSpec
    from fti.training.snapshot import Snapshot
    from fti.training.tuning import TuningResult

log = logging.getLogger(__name__)


def split_rows(rows: pd.DataFrame, spec: DatasetSpec) -> TimeSplit:
    """Train / validation / test by feature period, gap + horizon periods apart."""
    reach = spec.forecast.gap + spec.forecast.horizon
    return split_by_time(rows, spec.calendar, spec.validation_periods, spec.test_periods, reach)


def check_inputs(resources: Resources, spec: DatasetSpec, request: TrainingRequest) -> dict[str, Any]:
    """Fail before any training when the registry is down or the snapshot cannot train a model.

    Returns:
        The request with the resolved feature-set version, the snapshot's span and its row counts.
    """
    resources.registry  # noqa: B018 - fails fast, naming the server, when it does not answer
    snapshot = take_snapshot(resources.store, spec, request)
    split = split_rows(labelled_rows(snapshot, spec), spec)
    summary = {
        **request.to_xcom(),
        "feature_set_version": snapshot.version,
        "snapshot_start": snapshot.start.isoformat(),
        "snapshot_end": snapshot.end.isoformat(),
        "snapshot_rows": len(snapshot.features),
        "train_rows": len(split.train),
        "validation_rows": len(split.validation),
        "test_rows": len(split.test),
    }
    log.info(
        "inputs ok: %s v%s, %s..%s, %d rows -> train %d / validation %d / test %d",
        spec.feature_set,
        snapshot.version,
        summary["snapshot_start"],
        summary["snapshot_end"],
        summary["snapshot_rows"],
        summary["train_rows"],
        summary["validation_rows"],
        summary["test_rows"],
    )
    return summary


def tuning_runs(result: TuningResult, metric: str) -> list[registry.ChildRun]:
    """One nested MLflow run per tuning trial: its parameters, the cross-validated error (mean and per
    fold, in the spec's metric), its seconds, and whether it completed or was pruned."""
    runs = []
    for number, trial in enumerate(result.trials):
        folds = {f"cv_{metric}_fold_{k}": float(v) for k, v in enumerate(trial["fold_wape"])}
        metrics = {f"cv_{metric}": float(trial["mean_wape"]), "seconds": float(trial["seconds"]), **folds}
        best = trial["params"] == result.best_params and trial["state"] == "complete"
        tags = {"state": trial["state"], "best": str(best).lower()}
        runs.append(registry.ChildRun(f"trial-{number}", dict(trial["params"]), metrics, tags))
    return runs


@dataclass(frozen=True)
class Fitted:
    """What one training produced before it is logged: the model to register and its report."""

    pipeline: Pipeline
    analysis: ModelAnalysis
    params: dict[str, Any]
    tuning: dict[str, Any]
    trials: list[registry.ChildRun]
    fit_rows: int | None
    """Rows of the refit on every labelled row; None: the registered model is the held-out fit."""
    example: pd.DataFrame
    """The first test rows' model inputs: the registered model's input example."""


def train_and_register(
    resources: Resources,
    spec: DatasetSpec,
    request: TrainingRequest,
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> TrainedModel:
    """Snapshot, split, (tune,) fit, analyse, log and register the model as ``challenger``.

    ``params`` override the model's default parameters (tuning, when asked, starts from them).
    """
    from fti.training.model import DEFAULT_PARAMS

    started = time.monotonic()  # the MLflow run is opened only to log: its own duration says nothing
    settings = resources.settings
    with step(log, "snapshot", f"{request.window} periods as of {request.as_of:%Y-%m-%d %H:%M}"):
        snapshot = take_snapshot(resources.store, spec, request)
        rows = labelled_rows(snapshot, spec)
        split = split_rows(rows, spec)
    log.info("rows: %d labelled (train %d, validation %d, test %d)", len(rows), len(split.train),
             len(split.validation), len(split.test))  # fmt: skip
    chosen = {**DEFAULT_PARAMS, **(params or {})}
    fitted = fit_and_analyse(resources, spec, snapshot, rows, split, request.tune, chosen)
    lineage = build_lineage(settings, spec, request, snapshot, split, code or code_version(), fitted.fit_rows)
    ref, links = record_and_register(resources, spec, request, snapshot, fitted, lineage, started)
    metrics = fitted.analysis.as_metrics()
    log.info(
        "registered %s v%s (challenger): test WAPE %.4f; baselines %s; run %s",
        ref.name,
        ref.version,
        metrics["test_wape"],
        {k: round(v["wape"], 4) for k, v in fitted.analysis.baselines.items()},
        links["run"],
    )
    headline = {k: (None if v != v else v) for k, v in sorted(metrics.items()) if not k.startswith("slice_")}
    return TrainedModel(
        name=ref.name,
        version=ref.version,
        run_id=ref.run_id,
        metrics=headline,
        links=links,
        tuning=fitted.tuning,
        lineage=lineage,
    )


def fit_and_analyse(
    resources: Resources,
    spec: DatasetSpec,
    snapshot: Snapshot,
    rows: pd.DataFrame,
    split: TimeSplit,
    tune: bool,
    params: dict[str, Any],
) -> Fitted:
    """(Tune,) fit on the training window, calibrate the quantiles on the validation window, analyse
    on the test window; then, with ``model.refit``, refit the point model on every labelled row."""
    from fti.training.model import calibrate, feature_importance, fit, forecast, refit

    tuning: dict[str, Any] = {}
    trials: list[registry.ChildRun] = []
    if tune:
        params, tuning, trials = tuned(resources.settings, spec, split, params)
    held_out = fit(spec, split.train, LABEL, params)
    test = split.test[model_inputs(spec)]
    if spec.model.quantiles:
        with step(log, "quantiles", f"calibrated on {len(split.validation)} validation rows"):
            calibrate(held_out, split.validation, LABEL)
    point, quantiles = forecast(held_out, test, quantiles=bool(spec.model.quantiles))
    with step(log, "analysis", f"metrics, baselines and slices on {len(test)} test rows"):
        importances = feature_importance(held_out)
        analysis = analyse_split(spec, snapshot, split, point, quantiles, importances, resources.settings)
    if not spec.model.refit:
        return Fitted(held_out, analysis, params, tuning, trials, None, test.head(5))
    # evaluated above on held-out windows; the registered model learns them all
    with step(log, "refit", f"every labelled row: {len(rows)} (held-out fit: {len(split.train)})"):
        pipeline = refit(spec, held_out, rows, LABEL)
    return Fitted(pipeline, analysis, params, tuning, trials, len(rows), test.head(5))


def tuned(
    settings: Settings, spec: DatasetSpec, split: TimeSplit, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[registry.ChildRun]]:
    """Optuna's best parameters over ``params``, the tuning's summary and one child run per trial."""
    from fti.training.tuning import TuningBudget, tune

    budget = TuningBudget(trials=settings.tune_trials, minutes=settings.tune_minutes)
    result = tune(spec, split.train, LABEL, budget)
    summary = {
        "tune_trials": len(result.trials),
        "tune_s": round(result.elapsed_s, 1),
        "tune_cv_wape": result.best_wape,
        "tune_stopped_by": result.stopped_by,
    }
    return {**params, **result.best_params}, summary, tuning_runs(result, spec.model.metric)


def record_and_register(
    resources: Resources,
    spec: DatasetSpec,
    request: TrainingRequest,
    snapshot: Snapshot,
    fitted: Fitted,
    lineage: Lineage,
    started: float,
) -> tuple[registry.ModelRef, dict[str, str]]:
    """One MLflow run (metrics, parameters, analysis, lineage, plots, trials), the model registered
    from it with the alias ``challenger``; the version and its MLflow links."""
    settings, client = resources.settings, resources.registry
    recorded = {
        **fitted.analysis.as_metrics(),
        **_numeric(fitted.tuning),
        "split_drift_threshold": settings.split_drift_threshold,
        "training_s": round(time.monotonic() - started, 1),
    }
    model_name = resources.model_name(spec)
    experiment = registry.ensure_experiment(client, model_name, settings.mlflow_artifact_uri or "")
    with (
        step(log, "registry", f"logging and registering {model_name}"),
        tempfile.TemporaryDirectory(prefix="fti-analysis-") as folder,
    ):
        out = Path(folder)
        files = fitted.analysis.write_plots(out)
        (out / "analysis.json").write_text(json.dumps(fitted.analysis.to_dict(), indent=2, default=str))
        (out / "lineage.json").write_text(json.dumps(lineage_document(snapshot, fitted.tuning), indent=2))
        ref = registry.log_and_register(
            fitted.pipeline,
            model_name,
            experiment,
            input_example=fitted.example,
            metrics=recorded,
            params={**fitted.params, **request.to_xcom()},
            tags=lineage.to_tags(),
            artifacts=[*files, out / "analysis.json", out / "lineage.json"],
            run_name=f"{spec.name}-v{snapshot.version}-{request.as_of:%Y%m%dT%H%M}",
            children=fitted.trials,
        )
    registry.set_alias(client, ref, registry.CHALLENGER)
    return ref, registry.mlflow_links(settings.mlflow_ui_url, experiment, ref)


def _numeric(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}


__all__ = ["check_inputs", "split_rows", "train_and_register"]
