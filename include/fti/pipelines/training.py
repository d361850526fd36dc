"""Training pipeline steps: snapshot the store, split by time, fit, evaluate, register."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fti.analysis.metrics import regression_metrics
from fti.features.model_inputs import LABEL, MODEL_INPUTS, attach_labels, expand_horizons
from fti.pipelines.feature import feature_store
from fti.registry import mlflow_registry as registry
from fti.training.model import DEFAULT_PARAMS, fit
from fti.training.split import NotEnoughData, split_by_time

if TYPE_CHECKING:
    import pandas as pd

    from fti.settings import Settings


def snapshot(settings: Settings, as_of: datetime, window_days: int) -> tuple[pd.DataFrame, int]:
    """The last ``window_days`` feature days committed at ``as_of``, and the feature-set version."""
    store = feature_store(settings)
    version = store.latest_version(settings.feature_set, as_of)
    days = store.committed_days(settings.feature_set, version, as_of)
    if not days:
        raise NotEnoughData(f"feature set {settings.feature_set!r} v{version} has no committed days")
    end = days[-1]
    start = end - timedelta(days=window_days - 1)
    return store.read(settings.feature_set, start, end, as_of=as_of, version=version), version


def frame_checksum(frame: pd.DataFrame) -> str:
    """Content hash of a snapshot, recorded as lineage."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def train_and_register(
    settings: Settings, as_of: datetime | None = None, window_days: int = 90, code_version: str = "dev"
) -> dict[str, Any]:
    """Train on a point-in-time snapshot, evaluate on the test window, register and alias the model."""
    as_of = as_of or datetime.now(UTC).replace(tzinfo=None)
    features, version = snapshot(settings, as_of, window_days)
    h = settings.horizon_days
    rows = attach_labels(expand_horizons(features, h), features[["entity", "date", "demand"]])
    split = split_by_time(rows, validation_days=7, test_days=7, horizon_days=h)
    pipeline = fit(split.train, LABEL)
    metrics = regression_metrics(split.test[LABEL].to_numpy(), pipeline.predict(split.test[MODEL_INPUTS]))
    assert settings.mlflow_tracking_uri and settings.mlflow_artifact_uri
    client = registry.configure(settings.mlflow_tracking_uri)
    experiment = registry.ensure_experiment(client, settings.model_name, settings.mlflow_artifact_uri)
    tags = {
        "feature_set": settings.feature_set,
        "feature_set_version": str(version),
        "as_of": as_of.isoformat(),
        "snapshot_rows": str(len(features)),
        "train_rows": str(len(split.train)),
        "test_rows": str(len(split.test)),
        "snapshot_checksum": frame_checksum(features),
        "code_version": code_version,
    }
    ref = registry.log_and_register(
        pipeline,
        settings.model_name,
        experiment,
        input_example=split.test[MODEL_INPUTS].head(5),
        metrics={f"test_{k}": v for k, v in metrics.items()},
        params=DEFAULT_PARAMS,
        tags=tags,
    )
    registry.set_alias(client, ref, registry.CHALLENGER)
    registry.set_alias(client, ref, registry.CHAMPION)
    return {"model": ref.name, "version": ref.version, "run_id": ref.run_id, "metrics": metrics, **tags}
