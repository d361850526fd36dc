"""Training pipeline steps: check the inputs, train and register a challenger, and pass it through the gate.

Each step re-reads the point-in-time snapshot it needs from the feature store (same feature set,
version and ``as_of``: the same rows, byte for byte), so the steps hand each other only small
records (an Airflow task's XCom) and any of them can be retried alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.features.demand import FEATURE_COLUMNS, KEY_COLUMNS
from fti.features.model_inputs import LABEL, MODEL_INPUTS, attach_labels, expand_horizons
from fti.pipelines.feature import feature_store
from fti.registry import mlflow_registry as registry
from fti.registry.gate import ChampionScore, GateDecision, decide
from fti.registry.promotion import promote_if_better, promotion_lock
from fti.settings import PROJECT_ROOT
from fti.training.split import NotEnoughData, TimeSplit, split_by_time

if TYPE_CHECKING:
    import pandas as pd

    from fti.settings import Settings
    from fti.store.feature_store import FeatureStore
    from fti.store.history import PartitionInfo

log = logging.getLogger(__name__)

VALIDATION_DAYS = 7
TEST_DAYS = 7
SPLIT_DRIFT_COLUMNS = list(FEATURE_COLUMNS)
"""Columns whose train / validation / test distributions are compared (on the store's fixed bins)."""


class FeatureSetVersionNotFound(LookupError):
    """The requested feature-set version does not exist (or had nothing committed at ``as_of``)."""


class UnusableSnapshot(ValueError):
    """The snapshot's columns are not the ones the model is built for."""


@dataclass(frozen=True)
class TrainingRequest:
    """What to train on: a DAG run's parameters, resolved."""

    as_of: datetime
    """Snapshot time: the store is read as it was committed then (naive UTC)."""
    window_days: int = 90
    feature_set_version: int | None = None
    """None: the newest version committed at ``as_of``."""
    tune: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "window_days": self.window_days,
            "feature_set_version": self.feature_set_version,
            "tune": self.tune,
        }


@dataclass(frozen=True)
class Snapshot:
    """A point-in-time read of the feature store and its lineage."""

    features: pd.DataFrame
    feature_set: str
    version: int
    as_of: datetime
    start: date
    end: date
    partitions: list[PartitionInfo] = field(repr=False)

    @property
    def checksum(self) -> str:
        return frame_checksum(self.features)

    @property
    def validation_ids(self) -> list[str]:
        """Validation results linked by the partitions (one per run that committed them), sorted."""
        return sorted({p.validation_id for p in self.partitions if p.validation_id})


def parse_request(params: dict[str, Any], settings: Settings, now: datetime | None = None) -> TrainingRequest:
    """A :class:`TrainingRequest` from DAG params (``as_of`` ISO text or None, version None or int, ...)."""
    as_of_text = params.get("as_of")
    as_of = datetime.fromisoformat(as_of_text) if as_of_text else (now or datetime.now(UTC))
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    version = params.get("feature_set_version")
    return TrainingRequest(
        as_of=as_of,
        window_days=int(params.get("window_days") or settings.training_window_days),
        feature_set_version=int(version) if version not in (None, "") else None,
        tune=bool(params.get("tune", False)),
    )


def take_snapshot(store: FeatureStore, feature_set: str, request: TrainingRequest) -> Snapshot:
    """The last ``window_days`` committed feature days at ``as_of``, checked for the model's columns.

    Raises:
        FeatureSetVersionNotFound: the requested version does not exist or had no commit by ``as_of``.
        NotEnoughData: nothing committed by ``as_of``.
        UnusableSnapshot: a column the model needs is missing or of another type, or an unknown one is there.
    """
    from fti.store.feature_store import FeatureSetNotFound

    try:
        known = [v.version for v in store.versions(feature_set)]
    except FeatureSetNotFound as exc:
        raise NotEnoughData(f"nothing to train on: {exc}") from exc
    version = request.feature_set_version
    if version is not None and version not in known:
        raise FeatureSetVersionNotFound(
            f"feature set {feature_set!r} has no version {version}; versions: {known}"
        )
    try:
        version = version or store.latest_version(feature_set, request.as_of)
    except FeatureSetNotFound as exc:
        raise NotEnoughData(f"nothing to train on: {exc}") from exc
    days = store.committed_days(feature_set, version, request.as_of)
    if not days:
        raise FeatureSetVersionNotFound(
            f"feature set {feature_set!r} v{version} had nothing committed by {request.as_of.isoformat()}"
        )
    end = days[-1]
    start = end - timedelta(days=request.window_days - 1)
    features = store.read(feature_set, start, end, as_of=request.as_of, version=version)
    check_model_columns(features, f"{feature_set} v{version}")
    partitions = store.snapshot_partitions(feature_set, start, end, request.as_of, version)
    return Snapshot(features, feature_set, version, request.as_of, start, end, partitions)


def check_model_columns(features: pd.DataFrame, name: str) -> None:
    """Refuse a snapshot the model cannot use, naming each offending column.

    The model is built for :data:`~fti.features.demand.KEY_COLUMNS` and
    :data:`~fti.features.demand.FEATURE_COLUMNS`: each feature must be there and numeric. A column
    outside both is refused too rather than silently ignored: a schema change that adds a feature
    needs a model change that uses it.
    """
    import pandas as pd

    problems = [f"missing column {c!r}" for c in [*KEY_COLUMNS, *FEATURE_COLUMNS] if c not in features]
    problems += [
        f"column {c!r} is {features[c].dtype}, not numeric"
        for c in FEATURE_COLUMNS
        if c in features and not pd.api.types.is_numeric_dtype(features[c])
    ]
    known = {*KEY_COLUMNS, *FEATURE_COLUMNS}
    problems += [
        f"column {c!r} ({features[c].dtype}) is not a model input" for c in features if c not in known
    ]
    if problems:
        raise UnusableSnapshot(f"snapshot of {name} cannot train the model: " + "; ".join(problems))


def labelled_rows(features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """One row per entity, feature day and horizon whose target day is in the snapshot, with its label."""
    return attach_labels(expand_horizons(features, horizon_days), features[["entity", "date", "demand"]])


def split_rows(rows: pd.DataFrame, horizon_days: int) -> TimeSplit:
    """Train / validation / test by feature day, ``horizon_days`` apart (see :func:`split_by_time`)."""
    return split_by_time(rows, VALIDATION_DAYS, TEST_DAYS, horizon_days)


def frame_checksum(frame: pd.DataFrame) -> str:
    """Content hash of a snapshot, recorded as lineage."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def code_version() -> str:
    """The git commit of the checkout (``+dirty`` with uncommitted changes), or the package version."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        from importlib.metadata import version

        return f"fti-airflow=={version('fti-airflow')}"


def check_inputs(settings: Settings, request: TrainingRequest) -> dict[str, Any]:
    """Fail before any training when the registry is down or the snapshot cannot train a model.

    Returns:
        The request with the resolved feature-set version, the snapshot's span and its row counts.
    """
    assert settings.mlflow_tracking_uri
    registry.check_available(settings.mlflow_tracking_uri)
    snapshot = take_snapshot(feature_store(settings), settings.feature_set, request)
    split = split_rows(labelled_rows(snapshot.features, settings.horizon_days), settings.horizon_days)
    summary = {
        **request.as_dict(),
        "feature_set": snapshot.feature_set,
        "feature_set_version": snapshot.version,
        "snapshot_start": snapshot.start.isoformat(),
        "snapshot_end": snapshot.end.isoformat(),
        "snapshot_rows": len(snapshot.features),
        "train_rows": len(split.train),
        "validation_rows": len(split.validation),
        "test_rows": len(split.test),
    }
    log.info("training inputs: %s", summary)
    return summary


def train_and_register(
    settings: Settings,
    request: TrainingRequest,
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Snapshot, split, (tune,) fit, analyse, log and register the model as ``challenger``.

    ``params`` override the model's default parameters (tuning, when asked, starts from them).

    Returns:
        Model name, version and run id, the headline metrics, the MLflow links and the lineage tags.
    """
    from fti.analysis.report import analyse
    from fti.training.model import DEFAULT_PARAMS, feature_importance, fit
    from fti.training.tuning import TuningBudget, tune

    assert settings.mlflow_tracking_uri and settings.mlflow_artifact_uri
    registry.check_available(settings.mlflow_tracking_uri)
    snapshot = take_snapshot(feature_store(settings), settings.feature_set, request)
    h = settings.horizon_days
    split = split_rows(labelled_rows(snapshot.features, h), h)
    params = {**DEFAULT_PARAMS, **(params or {})}
    tuning_summary: dict[str, Any] = {}
    if request.tune:
        budget = TuningBudget(trials=settings.tune_trials, minutes=settings.tune_minutes)
        result = tune(split.train, LABEL, budget)
        params = {**params, **result.best_params}
        tuning_summary = {
            "tune_trials": len(result.trials),
            "tune_s": round(result.elapsed_s, 1),
            "tune_cv_wape": result.best_wape,
            "tune_stopped_by": result.stopped_by,
        }
    pipeline = fit(split.train, LABEL, params)
    predicted = pipeline.predict(split.test[MODEL_INPUTS])
    analysis = analyse(
        split.test,
        predicted,
        snapshot.features[["entity", "date", "demand"]],
        feature_importance(pipeline),
        {"train": split.train, "validation": split.validation, "test": split.test},
        SPLIT_DRIFT_COLUMNS,
        slice_factor=settings.slice_flag_factor,
        drift_threshold=settings.split_drift_threshold,
    )
    tags = lineage_tags(settings, request, snapshot, split, code or code_version())
    client = registry.configure(settings.mlflow_tracking_uri)
    experiment = registry.ensure_experiment(client, settings.model_name, settings.mlflow_artifact_uri)
    with tempfile.TemporaryDirectory(prefix="fti-analysis-") as folder:
        out = Path(folder)
        files = analysis.write_plots(out)
        (out / "analysis.json").write_text(json.dumps(analysis.to_dict(), indent=2, default=str))
        (out / "lineage.json").write_text(json.dumps(_lineage_document(snapshot, tuning_summary), indent=2))
        ref = registry.log_and_register(
            pipeline,
            settings.model_name,
            experiment,
            input_example=split.test[MODEL_INPUTS].head(5),
            metrics={**analysis.as_metrics(), **_numeric(tuning_summary)},
            params={**params, **request.as_dict(), "horizon_days": h},
            tags=tags,
            artifacts=[*files, out / "analysis.json", out / "lineage.json"],
            run_name=f"{settings.feature_set}-v{snapshot.version}-{request.as_of:%Y%m%dT%H%M}",
        )
    registry.set_alias(client, ref, registry.CHALLENGER)
    links = mlflow_links(settings, experiment, ref)
    for name, url in links.items():
        log.info("MLflow %s: %s", name, url)
    metrics = analysis.as_metrics()
    log.info("test WAPE %.4f; baselines %s", metrics["test_wape"], analysis.baselines)
    return {
        "model": ref.name,
        "version": ref.version,
        "run_id": ref.run_id,
        "metrics": {k: metrics[k] for k in sorted(metrics) if not k.startswith("slice_")},
        "tuning": tuning_summary,
        "links": links,
        **tags,
    }


def lineage_tags(
    settings: Settings, request: TrainingRequest, snapshot: Snapshot, split: TimeSplit, code: str
) -> dict[str, str]:
    """Tags of the run and the model version: enough to rebuild the exact training data later."""
    test_days = sorted(split.test["date"].unique())
    ids = snapshot.validation_ids
    return {
        "environment": settings.env.value,
        "feature_set": snapshot.feature_set,
        "feature_set_version": str(snapshot.version),
        "as_of": snapshot.as_of.isoformat(),
        "window_days": str(request.window_days),
        "snapshot_start": snapshot.start.isoformat(),
        "snapshot_end": snapshot.end.isoformat(),
        "snapshot_rows": str(len(snapshot.features)),
        "snapshot_checksum": snapshot.checksum,
        "train_rows": str(len(split.train)),
        "validation_rows": str(len(split.validation)),
        "test_rows": str(len(split.test)),
        "test_start": str(test_days[0]),
        "test_end": str(test_days[-1]),
        "horizon_days": str(settings.horizon_days),
        # The newest validation covers the newest partition; the full list is in lineage.json.
        "validation_id": _newest_validation(snapshot) or "none",
        "validation_ids": str(len(ids)),
        "code_version": code,
        "tuned": str(request.tune).lower(),
    }


def _numeric(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}


def _newest_validation(snapshot: Snapshot) -> str | None:
    linked = [p for p in snapshot.partitions if p.validation_id]
    return max(linked, key=lambda p: (p.committed_at, p.id)).validation_id if linked else None


def _lineage_document(snapshot: Snapshot, tuning: dict[str, Any]) -> dict[str, Any]:
    return {
        "feature_set": snapshot.feature_set,
        "version": snapshot.version,
        "as_of": snapshot.as_of.isoformat(),
        "partitions": [
            {"day": p.day.isoformat(), "id": p.id, "checksum": p.checksum, "validation_id": p.validation_id}
            for p in snapshot.partitions
        ],
        "validation_ids": snapshot.validation_ids,
        "tuning": tuning,
    }


def mlflow_links(settings: Settings, experiment_id: str, ref: registry.ModelRef) -> dict[str, str]:
    """Where the run (metrics, plots) and the model version are in the MLflow UI."""
    ui = settings.mlflow_ui_url.rstrip("/")
    return {
        "run": f"{ui}/#/experiments/{experiment_id}/runs/{ref.run_id}",
        "plots": f"{ui}/#/experiments/{experiment_id}/runs/{ref.run_id}/artifacts",
        "model_version": f"{ui}/#/models/{ref.name}/versions/{ref.version}",
    }


def evaluation_rows(settings: Settings, tags: dict[str, str]) -> pd.DataFrame:
    """The labelled test rows of a registered version, rebuilt from its lineage tags.

    Only the test days and the days their targets fall on are read (at the version's ``as_of``),
    which gives the same rows as the full snapshot did: a label only needs its target day's demand.
    """
    store = feature_store(settings)
    test_start = date.fromisoformat(tags["test_start"])
    end = date.fromisoformat(tags["snapshot_end"])
    features = store.read(
        tags["feature_set"],
        test_start,
        end,
        as_of=datetime.fromisoformat(tags["as_of"]),
        version=int(tags["feature_set_version"]),
    )
    rows = labelled_rows(features, int(tags["horizon_days"]))
    return rows[rows["date"] >= test_start]


def score_on_window(settings: Settings, rows: pd.DataFrame, ref: registry.ModelRef) -> ChampionScore:
    """WAPE of version ``ref`` on ``rows``; its ``as_of`` from its tags (None when it has none)."""
    from fti.analysis.metrics import regression_metrics

    client = registry.configure(settings.mlflow_tracking_uri or "")
    tags = client.get_model_version(ref.name, ref.version).tags
    model = registry.load_model(ref)
    wape = regression_metrics(rows[LABEL].to_numpy(), model.predict(rows[MODEL_INPUTS]))["wape"]
    as_of = datetime.fromisoformat(tags["as_of"]) if tags.get("as_of") else None
    return ChampionScore(version=ref.version, wape=wape, as_of=as_of)


def promote(settings: Settings, version: str) -> dict[str, Any]:
    """Pass registered ``version`` through the gate; it becomes ``champion`` only if it is better.

    The candidate's own and its baselines' WAPE come from its run; the champion is scored on the
    candidate's test window under the promotion lock (:func:`fti.registry.promotion.promote_if_better`).
    """
    assert settings.mlflow_tracking_uri and settings.catalog_url
    registry.check_available(settings.mlflow_tracking_uri)
    client = registry.configure(settings.mlflow_tracking_uri)
    found = client.get_model_version(settings.model_name, version)
    candidate = registry.ModelRef(settings.model_name, str(found.version), str(found.run_id))
    tags = dict(found.tags)
    metrics = client.get_run(candidate.run_id).data.metrics
    baselines = {name: metrics[f"{name}_wape"] for name in ("seasonal_naive", "moving_average")}
    rows = evaluation_rows(settings, tags)

    def score(champion: registry.ModelRef) -> ChampionScore:
        return score_on_window(settings, rows, champion)

    def gate(champion: ChampionScore | None) -> GateDecision:
        return decide(
            metrics["test_wape"],
            datetime.fromisoformat(tags["as_of"]),
            baselines,
            champion,
            tolerance=settings.promotion_tolerance,
            baseline_margin=settings.baseline_margin,
        )

    lock = partial(promotion_lock, settings.catalog_url, settings.model_name)
    result = promote_if_better(client, candidate, score, gate, lock)
    (log.info if result.decision.promote else log.warning)(
        "%s v%s: %s", candidate.name, candidate.version, result.decision.summary
    )
    return {
        "model": candidate.name,
        "candidate": candidate.version,
        "promoted": result.decision.promote,
        "reasons": result.decision.reasons,
        "previous_champion": result.previous.version if result.previous else None,
        "champion": result.champion.version if result.champion else None,
    }
