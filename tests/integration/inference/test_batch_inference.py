"""Batch inference on a real store, MLflow registry and Redis: pinning, drift, atomic publication."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

from fti.cache import predictions as cache
from fti.features.demand import DEMAND_COLUMNS
from fti.features.model_inputs import MODEL_INPUTS, expand_horizons
from fti.monitoring.drift_check import DRIFT_FEATURES, DriftFailed
from fti.pipelines.feature import feature_store
from fti.pipelines.inference import (
    InferenceSchemaMismatch,
    check_inputs,
    pinned_as_of,
    plan_run,
    predict_chunk,
    publish,
    resolve_champion,
)
from fti.registry import mlflow_registry as registry
from fti.settings import Settings


def run_batch(
    settings: Settings,
    client: redis.Redis,
    airflow_run_id: str = "manual__1",
    model: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The DAG's steps in order, in this process (the DAG maps predict_chunk over the chunks)."""
    model = model or resolve_champion(settings)
    as_of = pinned_as_of(model["read_as_of"])
    checked = check_inputs(settings, model, airflow_run_id, as_of)
    chunks = plan_run(client, settings, model, checked, airflow_run_id)
    written = [predict_chunk(client, settings, model, checked, chunk, as_of) for chunk in chunks]
    published = publish(client, settings, model, checked, chunks, written)
    return {"published": published, "chunks": chunks, "run": chunks[0]["run"], **checked}


def run_values(client: redis.Redis, prefix: str, run: str) -> dict[bytes, dict[bytes, bytes]]:
    """Every hash of a run's namespace, by key: what readers can see of it."""
    keys = sorted(client.scan_iter(match=f"{prefix}:run:{run}:b:*"))
    return {key: client.hgetall(key) for key in keys}


def newest_features(settings: Settings) -> Any:
    store = feature_store(settings)
    day = store.committed_days(settings.feature_set)[-1]
    return day, store.read(settings.feature_set, day, day).sort_values("entity").reset_index(drop=True)


def test_batch_publishes_every_entity_and_horizon_and_lookups_equal_the_champion(
    settings: Settings, redis_client: redis.Redis
) -> None:
    result = run_batch(settings, redis_client)

    day, features = newest_features(settings)
    h = settings.horizon_days
    assert len(result["chunks"]) > 1, "the test store must need several chunks"
    meta = cache.live_run(redis_client, settings.cache_prefix)
    assert meta is not None and meta["model_version"] == result["published"]["model_version"]
    assert int(meta["predictions"]) == len(features) * h
    assert meta["feature_day"] == day.isoformat() and meta["drift_status"] in ("ok", "warn")

    model = resolve_champion(settings)
    pipeline = registry.load_model(registry.ModelRef(model["name"], model["version"], model["run_id"]))
    sample = features.iloc[[0, len(features) // 2, len(features) - 1]]
    inputs = expand_horizons(sample, h)
    expected = np.asarray(pipeline.predict(inputs[MODEL_INPUTS]), dtype="float32")
    keys = inputs[["entity", "target_date"]].itertuples(index=False)
    for (entity, target), value in zip(keys, expected, strict=True):
        found, run = cache.lookup(redis_client, settings.cache_prefix, entity, target)
        assert run == result["run"]
        assert found == pytest.approx(float(value), rel=1e-6)
    with pytest.raises(cache.PredictionNotFound):
        cache.lookup(redis_client, settings.cache_prefix, "Nowhere|00000", day + timedelta(days=1))
    with pytest.raises(cache.PredictionNotFound):
        cache.lookup(
            redis_client, settings.cache_prefix, sample["entity"].iloc[0], day + timedelta(days=h + 1)
        )


def test_drift_scores_of_every_run_are_recorded(settings: Settings, redis_client: redis.Redis) -> None:
    run_batch(settings, redis_client, "manual__drift-history")

    history = feature_store(settings).drift_history(settings.feature_set)
    mine = history[history["run_id"] == "manual__drift-history"]
    assert sorted(mine["feature"]) == sorted(DRIFT_FEATURES)
    assert mine["distance"].between(0, 1).all() and set(mine["status"]) <= {"ok", "warn"}


def test_rerunning_the_same_logical_run_publishes_the_same_values(
    settings: Settings, redis_client: redis.Redis
) -> None:
    first = run_batch(settings, redis_client, "scheduled__2024-04-20")
    before = run_values(redis_client, settings.cache_prefix, first["run"])

    again = run_batch(settings, redis_client, "scheduled__2024-04-20")

    assert again["run"] == first["run"]
    assert before and run_values(redis_client, settings.cache_prefix, again["run"]) == before


def test_the_champion_is_pinned_even_if_the_alias_moves_during_the_run(
    settings: Settings, redis_client: redis.Redis
) -> None:
    model = resolve_champion(settings)
    client = registry.configure(settings.mlflow_tracking_uri or "")
    versions = client.search_model_versions(f"name = '{settings.model_name}'")
    other = max(int(v.version) for v in versions) + 1
    copied = client.copy_model_version(
        f"models:/{settings.model_name}/{model['version']}", settings.model_name
    )
    assert int(copied.version) == other
    for key, value in client.get_model_version(settings.model_name, model["version"]).tags.items():
        client.set_model_version_tag(settings.model_name, copied.version, key, value)
    try:
        as_of = pinned_as_of(model["read_as_of"])
        checked = check_inputs(settings, model, "manual__pinned", as_of)
        registry.set_alias(client, registry.ModelRef(settings.model_name, str(other), ""), registry.CHAMPION)
        chunks = plan_run(redis_client, settings, model, checked, "manual__pinned")
        written = [predict_chunk(redis_client, settings, model, checked, c, as_of) for c in chunks]
        publish(redis_client, settings, model, checked, chunks, written)
    finally:
        registry.set_alias(
            client, registry.ModelRef(settings.model_name, model["version"], ""), registry.CHAMPION
        )

    meta = cache.live_run(redis_client, settings.cache_prefix)
    assert meta is not None and meta["model_version"] == model["version"] != str(other)


@pytest.fixture
def own_store(settings: Settings, tmp_path: Path) -> Settings:
    """The champion's registry with a copy of the session's store this test may add days to.

    The copied catalog still points at the session store's Parquet files (read only); new days go
    to the copy's own store folder.
    """
    shutil.copytree(settings.var_dir, tmp_path / "var", ignore=shutil.ignore_patterns("raw"))
    return Settings(
        var_dir=tmp_path / "var",
        mlflow_tracking_uri=settings.mlflow_tracking_uri,
        mlflow_artifact_uri=settings.mlflow_artifact_uri,
        inference_chunk_entities=settings.inference_chunk_entities,
    )


def test_drift_beyond_the_failure_threshold_stops_the_run_and_the_previous_batch_stays_live(
    own_store: Settings, redis_client: redis.Redis
) -> None:
    settings = own_store
    previous = run_batch(settings, redis_client, "manual__before-drift")
    live_before = cache.live_run(redis_client, settings.cache_prefix)
    keys_before = sorted(redis_client.keys("*"))
    day, features = newest_features(settings)
    shifted = features.copy()
    for column in DEMAND_COLUMNS:  # a broken upstream: every unit count 40 times too large
        shifted[column] = shifted[column] * 40 + 50
    later = day + timedelta(days=1)
    feature_store(settings).write(settings.feature_set, later, shifted.assign(date=later))

    with pytest.raises(DriftFailed) as failed:
        run_batch(settings, redis_client, "manual__drifted")

    assert "nothing was published" in str(failed.value) and "demand: JS distance" in str(failed.value)
    assert cache.live_run(redis_client, settings.cache_prefix) == live_before
    assert sorted(redis_client.keys("*")) == keys_before, "a failed check writes nothing to Redis"
    assert live_before is not None and live_before["feature_day"] == previous["feature_day"]
    history = feature_store(settings).drift_history(settings.feature_set)
    drifted = history[history["run_id"] == "manual__drifted"]
    assert "fail" in set(drifted["status"]) and len(drifted) == len(DRIFT_FEATURES)


def test_features_of_a_newer_schema_version_need_a_retrained_champion(
    own_store: Settings, redis_client: redis.Redis
) -> None:
    settings = own_store
    day, features = newest_features(settings)
    later = day + timedelta(days=1)
    feature_store(settings).write(settings.feature_set, later, features.assign(date=later, promo_flag=1.0))

    with pytest.raises(InferenceSchemaMismatch, match=r"is at v2, .* was trained on v1: retrain"):
        run_batch(settings, redis_client, "manual__new-schema")
    assert redis_client.keys("*") == []


def test_redis_down_fails_clearly_before_anything_is_written(settings: Settings) -> None:
    from fti.cache.client import connect
    from tests.harness.services import free_port

    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:\d+"):
        connect(f"redis://127.0.0.1:{free_port()}/0")
