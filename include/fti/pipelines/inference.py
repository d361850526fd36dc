"""Batch inference steps: pin the champion, check the data, predict in chunks, publish atomically.

1. :func:`resolve_champion` reads the ``champion`` alias ONCE; every later step gets the pinned
   version and its training lineage, so a promotion during the run changes nothing of it.
2. :func:`check_inputs` reads the newest committed partition of the champion's feature-set version
   (at a pinned ``as_of``); the rows at its last period are the *origin*, predicted from. It checks
   that the known-future covariates of the forecast periods have landed, that the model inputs are
   the champion's signature, and scores drift per feature against the training snapshot's stored
   statistics (every score recorded); any failure stops the run before anything is written.
3. :func:`plan_run` reads the partition once, sorts the origin rows in bucket order, stages each
   chunk's rows (and their known-future rows) as Parquet files of their own, whose SHA-256, size and
   row count travel in the chunk's :class:`~fti.contracts.ChunkPlan`, and opens the run's namespace
   in Redis.
4. :func:`predict_chunk` (one mapped task per chunk) reads only its own files, checked against the
   plan (``StagedFileCorrupted``), loads the model once per process and host
   (:mod:`fti.registry.model_cache`), predicts every forecast period and writes them; rewriting a
   chunk writes the same bytes. It also stages the chunk's rows for the prediction log.
5. :func:`publish` commits the run's prediction log to the store (:mod:`fti.pipelines.prediction_log`),
   then makes the run live in one atomic step, only if every chunk is counted, and removes the run's
   staging folder. A run that fails keeps its folder, so a retried or cleared task reads the same
   files; the folder goes when that run publishes.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np

from fti.contracts import (
    CheckedInputs,
    ChunkPlan,
    DriftSummary,
    Lineage,
    PinnedModel,
    Published,
    StagedFile,
)
from fti.features.model_inputs import TARGET_PERIOD
from fti.features.schema import ENTITY, PERIOD, bins, future_columns, key_columns, model_inputs
from fti.inference.checks import check_schema, drift_policy, reference_histograms, signature_inputs
from fti.inference.inputs import (  # noqa: F401 - the steps' errors and inputs, importable from here
    InferenceSchemaMismatch,
    forecast_inputs,
    future_rows,
    inference_partition,
    origin_rows,
    partition_rows,
)
from fti.monitoring.drift_check import DriftReport, score_drift
from fti.pipelines.prediction_log import log_predictions, stage_log_rows
from fti.registry import mlflow_registry as registry
from fti.training.intervals import level_names

if TYPE_CHECKING:
    import pandas as pd

    from fti.resources import Resources
    from fti.settings import Settings
    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)

ORIGIN, PLANNED = "origin", "planned"
"""Staging files of a run: the origin rows, and their known-future rows (``horizon`` rows each)."""


def resolve_champion(resources: Resources, spec: DatasetSpec) -> PinnedModel:
    """The champion now, with its training lineage; pinned for the whole run.

    Raises:
        ModelNotFound: there is no champion yet (train and promote one first).
        InferenceSchemaMismatch: the champion has no complete lineage (registered by other means).
    """
    client = resources.registry
    ref = registry.resolve_alias(client, resources.model_name(spec), registry.CHAMPION)
    tags = dict(client.get_model_version(ref.name, ref.version).tags)
    missing = Lineage.missing_tags(tags)
    if missing:
        raise InferenceSchemaMismatch(f"champion {ref.name} v{ref.version} lacks lineage tags {missing}")
    pinned = PinnedModel(
        name=ref.name,
        version=ref.version,
        run_id=ref.run_id,
        read_as_of=utcnow(),
        lineage=Lineage.from_tags(tags),
    )
    log.info(
        "champion pinned: %s v%s (run %s), store read as of %s",
        ref.name,
        ref.version,
        ref.run_id,
        pinned.read_as_of.isoformat(),
    )
    return pinned


def no_champion(resources: Resources, spec: DatasetSpec, run_type: str) -> str | None:
    """Why a scheduled run skips: there is no champion yet (None: it runs); see
    :func:`fti.pipelines.scheduled.inference_skip`."""
    from fti.pipelines.scheduled import inference_skip, skips_when_idle

    if not skips_when_idle(run_type):
        return None
    try:
        champion: str | None = registry.resolve_alias(
            resources.registry, resources.model_name(spec), registry.CHAMPION
        ).version
    except registry.ModelNotFound:
        champion = None
    reason = inference_skip(spec.name, run_type, champion)
    if reason:
        log.info("%s", reason)
    return reason


def check_inputs(resources: Resources, spec: DatasetSpec, pinned: PinnedModel, run_id: str) -> CheckedInputs:
    """Known-future completeness, schema and drift of tonight's inputs; drift scores are recorded.

    Raises:
        InferenceSchemaMismatch: see :func:`check_schema` and :func:`inference_partition`.
        KnownFutureMissing: planned values of a forecast period have not landed.
        DriftFailed: a feature drifted beyond its failure threshold (scores are recorded first).
    """
    from fti.analysis.drift import column_histogram

    policy = drift_policy(resources.settings, spec)  # a misspelt override fails before any read
    day = inference_partition(resources, spec, pinned)
    rows = partition_rows(resources, spec, pinned, day, verify="digest")  # drift is judged on these rows
    origin = origin_rows(rows)
    if origin.empty:
        raise InferenceSchemaMismatch(f"partition {day} of {spec.feature_set!r} has no rows to predict from")
    inputs = forecast_inputs(resources, spec, pinned, origin)
    check_schema(inputs, spec, signature_inputs(resources, pinned))
    edges = bins(spec)
    current = {c: column_histogram(rows[c], c, edges).tolist() for c in policy.features}
    report: DriftReport = score_drift(reference_histograms(resources, spec, pinned), current, policy)
    resources.store.record_drift(
        spec.feature_set,
        pinned.lineage.feature_set_version,
        run_id,
        day,
        f"{pinned.name}/{pinned.version}",
        report.records(),
    )
    for score in report.scores:
        if score.status != "ok":
            log.warning("drift %s: %s", score.status, score.describe())
    (log.info if report.status == "ok" else log.warning)("%s", report.verdict_line())
    report.raise_for_failure()
    cal = spec.calendar
    first = inputs[TARGET_PERIOD].min()
    worst = max(report.scores, key=lambda score: score.distance, default=None)
    return CheckedInputs(
        feature_partition=day,
        origin=cal.format(origin[PERIOD].iloc[0]),
        first_period=cal.format(first),
        entities=len(origin),
        drift=DriftSummary(
            status=report.status,
            scored=len(report.scores),
            warned=sum(s.status == "warn" for s in report.scores),
            failed=sum(s.status == "fail" for s in report.scores),
            max_feature=worst.feature if worst else None,
            max_distance=round(worst.distance, 4) if worst else 0.0,
        ),
    )


def batch_id(feature_partition: date, model_version: str, airflow_run_id: str) -> str:
    """Short, key-safe id of one publication: the same for a rerun of the same DAG run."""
    digest = hashlib.sha1(airflow_run_id.encode()).hexdigest()[:8]
    return f"{feature_partition:%Y%m%d}-v{model_version}-{digest}"


def plan_run(
    resources: Resources, spec: DatasetSpec, pinned: PinnedModel, checked: CheckedInputs, airflow_run_id: str
) -> list[ChunkPlan]:
    """Stage the origin rows in bucket order, open the run's namespace (meta ``writing``), cut the chunks.

    Raises:
        CacheMemoryRefused: the cache's eviction policy or free memory cannot hold the run; nothing
            was staged or written.
    """
    from fti.cache import predictions as cache
    from fti.cache.memory import require_capacity

    settings = resources.settings
    client = resources.redis  # Redis must answer before anything is staged
    rows = partition_rows(resources, spec, pinned, checked.feature_partition)
    origin = origin_rows(rows)
    run = batch_id(checked.feature_partition, pinned.version, airflow_run_id)
    n, size, horizon = len(origin), settings.inference_chunk_entities, spec.forecast.horizon
    levels = pinned.lineage.levels
    plan = cache.plan_run(run, checked.first_period, horizon, n, 1 + len(levels))
    require_capacity(client, origin[ENTITY].astype(str).tolist(), horizon, plan.values_per_period)
    # Chunks are slices of the entities in bucket order: each chunk then fills whole buckets with a
    # few large writes. The order depends only on the entities and the plan.
    ordered = origin.iloc[cache.bucket_order(plan, origin[ENTITY].astype(str).tolist())]
    staged = _stage_chunks(resources, spec, pinned, ordered, staging_run(airflow_run_id))
    meta = {
        "dataset": spec.name,
        "grain": spec.time.grain.value,
        "week_start": str(spec.calendar.week_start),
        "origin": checked.origin,
        "model_name": pinned.name,
        "model_version": pinned.version,
        "model_run_id": pinned.run_id,
        "feature_set": spec.feature_set,
        "feature_set_version": str(pinned.lineage.feature_set_version),
        "feature_partition": checked.feature_partition.isoformat(),
        "airflow_run_id": airflow_run_id,
        "started_at": datetime.now(UTC).isoformat(),
        "quantiles": ",".join(level_names(levels)) if levels else "",
    }
    cache.begin_run(client, resources.cache_prefix(spec), plan, meta, ttl_s=_ttl_s(settings))
    log.info(
        "planned %s: %d entities x %d periods from %s in %d chunk(s) of up to %d entities",
        run, n, horizon, checked.first_period, len(staged), size,
    )  # fmt: skip
    return [
        ChunkPlan(
            run=run,
            inputs=inputs,
            planned=planned,
            first_period=checked.first_period,
            horizon=horizon,
            n_buckets=plan.n_buckets,
            values_per_period=plan.values_per_period,
            expected_predictions=n * horizon,
            chunks_total=len(staged),
            chunk_id=f"{i:05d}",
            start=i * size,
            stop=min((i + 1) * size, n),
        )
        for i, (inputs, planned) in enumerate(staged)
    ]


def staging_run(airflow_run_id: str) -> str:
    """The run's folder in the store's staging area (apart from a feature run of the same id)."""
    return f"inference__{airflow_run_id}"


def _stage_chunks(
    resources: Resources, spec: DatasetSpec, pinned: PinnedModel, ordered: pd.DataFrame, run: str
) -> list[tuple[StagedFile, StagedFile | None]]:
    """Stage each chunk's origin rows (and their known-future rows) as files of their own, once."""
    store, size, horizon = resources.store, resources.settings.inference_chunk_entities, spec.forecast.horizon
    planned = None
    if spec.covariates.known_future:
        # In the same order (horizon rows per entity), so a chunk reads only its own entities'
        # known-future rows instead of every forecast partition of the whole run.
        expanded = forecast_inputs(resources, spec, pinned, ordered[[ENTITY, PERIOD]], planned_ratios=False)
        names = [c for c in future_columns(spec) if c not in key_columns(spec)]
        planned = expanded[[ENTITY, TARGET_PERIOD, *names]].rename(columns={TARGET_PERIOD: PERIOD})
    staged = []
    for i, start in enumerate(range(0, len(ordered), size)):
        inputs = store.stage(spec.name, run, f"{ORIGIN}-{i:05d}", ordered.iloc[start : start + size])
        future = None
        if planned is not None:
            rows = planned.iloc[start * horizon : (start + size) * horizon]
            future = store.stage(spec.name, run, f"{PLANNED}-{i:05d}", rows)
        staged.append((inputs, future))
    return staged


def predict_chunk(resources: Resources, spec: DatasetSpec, pinned: PinnedModel, chunk: ChunkPlan) -> int:
    """Predict and write one chunk of entities for every forecast period; returns predictions written."""
    from fti.cache import predictions as cache
    from fti.registry.model_cache import cached_model
    from fti.training.model import predict_quantiles

    store = resources.store
    part = store.read_staged(chunk.inputs)  # raises StagedFileCorrupted unless the bytes plan_run wrote
    planned = store.read_staged(chunk.planned) if chunk.planned is not None else None
    inputs = forecast_inputs(resources, spec, pinned, part, planned)
    resources.registry  # noqa: B018 - points MLflow at the registry before the model is downloaded
    ref = registry.ModelRef(pinned.name, pinned.version, pinned.run_id)
    pipeline = cached_model(ref, resources.settings.cache_dir)
    features = inputs[model_inputs(spec)]
    predicted = np.asarray(pipeline.predict(features), dtype="float32").reshape(len(part), chunk.horizon)
    values: np.ndarray = predicted
    if chunk.values_per_period > 1:  # the point, then each quantile, per period
        quantiles = np.asarray(predict_quantiles(pipeline, features), dtype="float32")
        stacked = np.concatenate([predicted.reshape(-1, 1), quantiles], axis=1)
        values = stacked.reshape(len(part), chunk.horizon, chunk.values_per_period)
    # The log's rows first: a chunk Redis counted always has its rows staged for the log.
    stage_log_rows(store, chunk, inputs, values, pinned.lineage.levels)
    plan = cache.RunPlan(
        chunk.run, chunk.first_period, chunk.horizon, chunk.n_buckets, chunk.values_per_period
    )
    written = cache.write_chunk(
        resources.redis,
        resources.cache_prefix(spec),
        plan,
        chunk.chunk_id,
        part[ENTITY].astype(str).tolist(),
        values,
        ttl_s=_ttl_s(resources.settings),
    )
    log.info("%s: wrote %d predictions of %d entities (model v%s)", chunk.label, written, len(part),
             pinned.version)  # fmt: skip
    return written


def publish(
    resources: Resources,
    spec: DatasetSpec,
    pinned: PinnedModel,
    checked: CheckedInputs,
    chunks: list[ChunkPlan],
    written: list[int],
    airflow_run_id: str,
) -> Published:
    """Log the run's predictions in the store, then make it live in one atomic step, only if Redis counted
    every chunk's predictions; runs beyond the log's retention are forgotten afterwards."""
    from fti.cache import predictions as cache

    first = chunks[0]
    logged = log_predictions(resources, spec, pinned, checked, chunks, airflow_run_id)
    meta = {
        "entities": str(checked.entities),
        "predictions": str(sum(written)),
        "drift_status": checked.drift.status,
        "drift_max_feature": str(checked.drift.max_feature),
        "drift_max_distance": str(checked.drift.max_distance),
        "published_at": datetime.now(UTC).isoformat(),
    }
    result = cache.go_live(
        resources.redis,
        resources.cache_prefix(spec),
        cache.RunPlan(first.run, first.first_period, first.horizon, first.n_buckets, first.values_per_period),
        expected_chunks=first.chunks_total,
        expected_predictions=first.expected_predictions,
        meta=meta,
        keep_runs=resources.settings.keep_runs,
        ttl_s=_ttl_s(resources.settings),
    )
    resources.store.mark_published(spec.name, first.run)
    resources.store.delete_staging(spec.name, staging_run(airflow_run_id))
    forgotten = resources.store.prune_prediction_log(spec.name, resources.settings.prediction_log_keep_days)
    log.info(
        "LIVE %s: %s predictions of %s entities from %s (model v%s); replaced %s; logged %s rows at %s, "
        "forgot %s",
        first.run,
        meta["predictions"],
        checked.entities,
        first.first_period,
        pinned.version,
        result["previous"] or "nothing",
        logged.row_count,
        logged.uri,
        forgotten or "no run",
    )
    return Published(
        run=first.run,
        model_version=pinned.version,
        entities=checked.entities,
        predictions=sum(written),
        first_period=first.first_period,
        drift_status=checked.drift.status,
    )


def _ttl_s(settings: Settings) -> int:
    return int(settings.run_ttl_hours * 3600)


def utcnow() -> datetime:
    """Now, naive UTC (the catalog's time)."""
    return datetime.now(UTC).replace(tzinfo=None)
