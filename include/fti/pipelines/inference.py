"""Batch inference steps: resolve the champion once, predict every entity x horizon, publish."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from fti.features.model_inputs import MODEL_INPUTS, expand_horizons
from fti.pipelines.feature import feature_store
from fti.registry import mlflow_registry as registry

if TYPE_CHECKING:
    import pandas as pd
    import redis

    from fti.settings import Settings

#: A published run's keys outlive it by this much at most (a safety net behind explicit cleanup).
RUN_TTL_S = 7 * 24 * 3600


def resolve_champion(settings: Settings) -> dict[str, str]:
    """The champion version now; the run uses this version even if the alias moves later."""
    assert settings.mlflow_tracking_uri
    client = registry.configure(settings.mlflow_tracking_uri)
    ref = registry.resolve_alias(client, settings.model_name, registry.CHAMPION)
    return {"name": ref.name, "version": ref.version, "run_id": ref.run_id}


def predict_day(
    settings: Settings, model: dict[str, str], day: date | None = None
) -> tuple[date, pd.DataFrame]:
    """The feature day used and predictions (entity, target_date, prediction) of all its entities.

    ``day`` defaults to the latest committed feature day.
    """
    assert settings.mlflow_tracking_uri
    store = feature_store(settings)
    day = day or store.committed_days(settings.feature_set)[-1]
    features = store.read(settings.feature_set, day, day)
    inputs = expand_horizons(features, settings.horizon_days)
    registry.configure(settings.mlflow_tracking_uri)
    pipeline = registry.load_model(registry.ModelRef(model["name"], model["version"], model["run_id"]))
    out = inputs[["entity", "target_date"]].copy()
    out["prediction"] = pipeline.predict(inputs[MODEL_INPUTS])
    out["target_date"] = out["target_date"].astype(str)
    return day, out


def batch_id(feature_day: str, model_version: str, airflow_run_id: str) -> str:
    """Short, key-safe id of one publication."""
    digest = hashlib.sha1(airflow_run_id.encode()).hexdigest()[:8]
    return f"{feature_day.replace('-', '')}-v{model_version}-{digest}"


def publish(
    client: redis.Redis, settings: Settings, predictions: pd.DataFrame, model: dict[str, str], run: str
) -> dict[str, Any]:
    """Write the batch under its own namespace, then make it live in one step."""
    from fti.cache import predictions as cache

    written = cache.write_run(client, settings.cache_prefix, run, predictions, ttl_s=RUN_TTL_S)
    meta = {
        "model_name": model["name"],
        "model_version": model["version"],
        "predictions": str(written),
        "entities": str(predictions["entity"].nunique()),
        "published_at": datetime.now(UTC).isoformat(),
    }
    cache.go_live(client, settings.cache_prefix, run, meta, ttl_s=RUN_TTL_S)
    return {"run": run, **meta}
