"""Batch inference steps: pin the champion, check the data, predict in chunks, publish atomically.

1. :func:`resolve_champion` reads the ``champion`` alias ONCE; every later step gets the pinned
   version (and its training lineage), so a promotion during the run changes nothing of it.
2. :func:`check_inputs` reads tonight's features (the newest committed day of the champion's
   feature-set version, at a pinned ``as_of``), checks their schema against the model's signature
   and the training snapshot, scores drift per feature against the training snapshot's stored
   statistics, records every score, and fails on a drift failure: before anything is written.
3. :func:`plan_run` opens the run's namespace in Redis and cuts the sorted entities into chunks.
4. :func:`predict_chunk` (one Airflow mapped task per chunk) predicts a chunk's entities for every
   horizon day and writes them; rewriting a chunk writes the same bytes.
5. :func:`publish` makes the run live in one atomic step, only if every chunk is counted.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fti.features.demand import FEATURE_COLUMNS
from fti.features.model_inputs import MODEL_INPUTS, expand_horizons
from fti.monitoring.drift_check import DriftPolicy, DriftReport, Thresholds, score_drift
from fti.pipelines.feature import feature_store
from fti.registry import mlflow_registry as registry

if TYPE_CHECKING:
    import pandas as pd
    import redis

    from fti.settings import Settings
    from fti.store.feature_store import FeatureStore

log = logging.getLogger(__name__)

LINEAGE_KEYS = ("feature_set", "feature_set_version", "snapshot_start", "snapshot_end", "as_of")
"""Training-lineage tags the inference checks need from the champion's version."""


class InferenceSchemaMismatch(ValueError):
    """Tonight's features are not the columns or types the champion was trained on."""


def resolve_champion(settings: Settings) -> dict[str, str]:
    """The champion now, with the training lineage the drift check needs; pinned for the whole run.

    Raises:
        ModelNotFound: there is no champion yet (train and promote one first).
        InferenceSchemaMismatch: the champion has no training lineage (registered by other means).
    """
    assert settings.mlflow_tracking_uri
    registry.check_available(settings.mlflow_tracking_uri)
    client = registry.configure(settings.mlflow_tracking_uri)
    ref = registry.resolve_alias(client, settings.model_name, registry.CHAMPION)
    tags = client.get_model_version(ref.name, ref.version).tags
    missing = [k for k in LINEAGE_KEYS if k not in tags]
    if missing:
        raise InferenceSchemaMismatch(f"champion {ref.name} v{ref.version} lacks lineage tags {missing}")
    log.info("champion pinned: %s v%s (run %s)", ref.name, ref.version, ref.run_id)
    return {
        "read_as_of": pinned_as_of().isoformat(),
        "name": ref.name,
        "version": ref.version,
        "run_id": ref.run_id,
        **{k: tags[k] for k in LINEAGE_KEYS},
    }


def drift_policy(settings: Settings) -> DriftPolicy:
    """Thresholds from the settings: a default pair and per-feature overrides."""
    overrides = {name: Thresholds(*pair) for name, pair in settings.drift_thresholds.items()}
    return DriftPolicy(default=Thresholds(settings.drift_warn, settings.drift_fail), overrides=overrides)


def inference_day(store: FeatureStore, model: dict[str, str], as_of: datetime) -> date:
    """The newest feature day of the champion's feature-set version committed at ``as_of``.

    Raises:
        InferenceSchemaMismatch: a newer feature-set version holds newer days: the schema changed
            after the champion was trained, so it must be retrained before it predicts them.
    """
    feature_set, version = model["feature_set"], int(model["feature_set_version"])
    latest = store.latest_version(feature_set, as_of)
    days = store.committed_days(feature_set, version, as_of)
    if latest != version and (not days or store.committed_days(feature_set, latest, as_of)[-1] > days[-1]):
        raise InferenceSchemaMismatch(
            f"feature set {feature_set!r} is at v{latest}, the champion {model['name']} v{model['version']} "
            f"was trained on v{version}: retrain on the new version before predicting its days"
        )
    return days[-1]


def read_features(settings: Settings, model: dict[str, str], day: date, as_of: datetime) -> pd.DataFrame:
    """Tonight's feature rows, sorted by entity: the same frame in every task."""
    store = feature_store(settings)
    frame = store.read(model["feature_set"], day, day, as_of=as_of, version=int(model["feature_set_version"]))
    return frame.sort_values("entity", kind="stable").reset_index(drop=True)


def check_schema(features: pd.DataFrame, signature_inputs: dict[str, str], horizon_days: int) -> None:
    """The model inputs built from ``features`` must be the signature's columns, each of its kind.

    Args:
        signature_inputs: the MLflow signature's input column -> type name (``string``, ``double``, ...).

    Raises:
        InferenceSchemaMismatch: naming every missing, extra or retyped column.
    """
    import pandas as pd

    missing_features = [c for c in FEATURE_COLUMNS if c not in features]
    if missing_features:
        raise InferenceSchemaMismatch(f"features lack columns {missing_features}")
    inputs = expand_horizons(features.head(1), horizon_days)[MODEL_INPUTS]
    problems = [
        f"model expects {c!r}, the features do not have it" for c in signature_inputs if c not in inputs
    ]
    problems += [f"{c!r} is not in the model's signature" for c in inputs if c not in signature_inputs]
    for column, kind in signature_inputs.items():
        if column not in inputs:
            continue
        numeric = pd.api.types.is_numeric_dtype(inputs[column])
        if (kind == "string") == numeric:
            problems.append(f"{column!r} is {inputs[column].dtype}, the signature says {kind}")
    if problems:
        raise InferenceSchemaMismatch(
            "inference inputs do not match the champion's signature: " + "; ".join(problems)
        )


def reference_histograms(
    settings: Settings, model: dict[str, str], columns: list[str]
) -> dict[str, list[int]]:
    """Each column's counts over the champion's training snapshot, from the store's statistics.

    Partitions committed before statistics were recorded have none: then the snapshot's rows are
    read and counted on the same fixed bins.
    """
    from fti.analysis.drift import column_histogram
    from fti.store.feature_store import StatisticsNotFound

    store = feature_store(settings)
    span = (
        model["feature_set"],
        date.fromisoformat(model["snapshot_start"]),
        date.fromisoformat(model["snapshot_end"]),
    )
    as_of, version = datetime.fromisoformat(model["as_of"]), int(model["feature_set_version"])
    try:
        return {
            c: list(store.histogram(span[0], c, span[1], span[2], as_of, version).counts) for c in columns
        }
    except StatisticsNotFound:
        log.warning("training partitions have no statistics: counting the snapshot's rows instead")
        rows = store.read(*span, as_of=as_of, version=version)
        return {c: column_histogram(rows[c], c).tolist() for c in columns}


def check_inputs(settings: Settings, model: dict[str, str], run_id: str, as_of: datetime) -> dict[str, Any]:
    """Schema and drift of tonight's features against the champion's training data; scores recorded.

    Returns:
        The feature day, the entity count and the drift summary (XCom-sized).

    Raises:
        InferenceSchemaMismatch: see :func:`check_schema` and :func:`inference_day`.
        DriftFailed: a feature drifted beyond its failure threshold (scores are recorded first).
    """
    from fti.analysis.drift import column_histogram

    # Each Airflow task is a process of its own: point MLflow at the registry before any lookup.
    registry.configure(settings.mlflow_tracking_uri or "")
    store = feature_store(settings)
    day = inference_day(store, model, as_of)
    features = read_features(settings, model, day, as_of)
    check_schema(features, signature_inputs(model), settings.horizon_days)
    policy = drift_policy(settings)
    columns = list(policy.features)
    current = {c: column_histogram(features[c], c).tolist() for c in columns}
    report: DriftReport = score_drift(reference_histograms(settings, model, columns), current, policy)
    store.record_drift(
        model["feature_set"],
        int(model["feature_set_version"]),
        run_id,
        day,
        f"{model['name']}/{model['version']}",
        report.records(),
    )
    for score in report.scores:
        if score.status != "ok":
            log.warning("drift %s: %s", score.status, score.describe())
    report.raise_for_failure()
    return {"feature_day": day.isoformat(), "entities": len(features), "drift": report.summary()}


def signature_inputs(model: dict[str, str]) -> dict[str, str]:
    """The champion's MLflow signature inputs: column -> type name."""
    from mlflow.models import get_model_info

    info = get_model_info(registry.ModelRef(model["name"], model["version"], model["run_id"]).uri)
    if info.signature is None:
        raise InferenceSchemaMismatch(f"champion {model['name']} v{model['version']} has no signature")
    return {
        str(spec.name): str(spec.type.name if hasattr(spec.type, "name") else spec.type)
        for spec in info.signature.inputs.inputs
    }


def batch_id(feature_day: str, model_version: str, airflow_run_id: str) -> str:
    """Short, key-safe id of one publication: the same for a rerun of the same DAG run."""
    digest = hashlib.sha1(airflow_run_id.encode()).hexdigest()[:8]
    return f"{feature_day.replace('-', '')}-v{model_version}-{digest}"


def plan_run(
    client: redis.Redis,
    settings: Settings,
    model: dict[str, str],
    checked: dict[str, Any],
    airflow_run_id: str,
) -> list[dict[str, Any]]:
    """Open the run's namespace (meta in state ``writing``) and cut the entities into chunks.

    Returns:
        One self-contained record per chunk (the run's id, first date, bucket count, expected totals
        and the chunk's slice of the entity-sorted features): what each mapped task gets.
    """
    from fti.cache import predictions as cache

    day = date.fromisoformat(checked["feature_day"])
    run = batch_id(checked["feature_day"], model["version"], airflow_run_id)
    n, size = int(checked["entities"]), settings.inference_chunk_entities
    plan = cache.plan_run(run, day + timedelta(days=1), settings.horizon_days, n)
    meta = {
        "model_name": model["name"],
        "model_version": model["version"],
        "model_run_id": model["run_id"],
        "feature_set": model["feature_set"],
        "feature_set_version": model["feature_set_version"],
        "feature_day": checked["feature_day"],
        "airflow_run_id": airflow_run_id,
        "started_at": datetime.now(UTC).isoformat(),
    }
    cache.begin_run(client, settings.cache_prefix, plan, meta, ttl_s=_ttl_s(settings))
    starts = range(0, n, size)
    common = {
        "run": run,
        "first_date": plan.first_date.isoformat(),
        "n_buckets": plan.n_buckets,
        "expected_predictions": n * settings.horizon_days,
        "chunks_total": len(starts),
    }
    return [{**common, "chunk_id": f"{i // size:05d}", "start": i, "stop": min(i + size, n)} for i in starts]


def _run_plan(chunk: dict[str, Any], settings: Settings) -> Any:
    from fti.cache import predictions as cache

    return cache.RunPlan(
        chunk["run"], date.fromisoformat(chunk["first_date"]), settings.horizon_days, int(chunk["n_buckets"])
    )


def predict_chunk(
    client: redis.Redis,
    settings: Settings,
    model: dict[str, str],
    checked: dict[str, Any],
    chunk: dict[str, Any],
    as_of: datetime,
) -> int:
    """Predict and write one chunk of entities for every horizon day; returns predictions written."""
    import numpy as np

    from fti.cache import predictions as cache

    plan = _run_plan(chunk, settings)
    features = read_features(settings, model, date.fromisoformat(checked["feature_day"]), as_of)
    # Chunks are slices of the entities in bucket order: each chunk then fills whole buckets with
    # a few large writes. The order depends only on the entities and the plan: every task agrees.
    features = features.iloc[cache.bucket_order(plan, features["entity"].astype(str).tolist())]
    part = features.iloc[int(chunk["start"]) : int(chunk["stop"])]
    registry.configure(settings.mlflow_tracking_uri or "")
    pipeline = registry.load_model(registry.ModelRef(model["name"], model["version"], model["run_id"]))
    h = settings.horizon_days
    predicted = pipeline.predict(expand_horizons(part, h)[MODEL_INPUTS])
    values = np.asarray(predicted, dtype="float32").reshape(len(part), h)
    return cache.write_chunk(
        client,
        settings.cache_prefix,
        plan,
        chunk["chunk_id"],
        part["entity"].astype(str).tolist(),
        values,
        ttl_s=_ttl_s(settings),
    )


def publish(
    client: redis.Redis,
    settings: Settings,
    model: dict[str, str],
    checked: dict[str, Any],
    chunks: list[dict[str, Any]],
    written: list[int],
) -> dict[str, Any]:
    """Make the run live in one atomic step, only if Redis counted every chunk's predictions."""
    from fti.cache import predictions as cache

    plan = chunks[0]
    drift = checked["drift"]
    meta = {
        "entities": str(checked["entities"]),
        "predictions": str(sum(written)),
        "drift_status": str(drift["status"]),
        "drift_max_feature": str(drift["max_feature"]),
        "drift_max_distance": str(drift["max_distance"]),
        "published_at": datetime.now(UTC).isoformat(),
    }
    result = cache.go_live(
        client,
        settings.cache_prefix,
        _run_plan(plan, settings),
        expected_chunks=int(plan["chunks_total"]),
        expected_predictions=int(plan["expected_predictions"]),
        meta=meta,
        keep_runs=settings.keep_runs,
        ttl_s=_ttl_s(settings),
    )
    log.info("run %s is live: %s", plan["run"], result)
    return {"run": plan["run"], "model_version": model["version"], **meta}


def _ttl_s(settings: Settings) -> int:
    return int(settings.run_ttl_hours * 3600)


def pinned_as_of(value: str | None = None) -> datetime:
    """The run's store read time: given (a retry keeps it), or now (naive UTC)."""
    if value:
        return datetime.fromisoformat(value)
    return datetime.now(UTC).replace(tzinfo=None)
