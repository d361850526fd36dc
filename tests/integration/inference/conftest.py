"""Inference fixtures: a champion trained and promoted once per session on the session's feature store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from fti.pipelines.training import TrainingRequest, promote, train_and_register
from fti.settings import Settings


@pytest.fixture(scope="session")
def champion_home(feature_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose registry (a session's own) has a champion trained on ``feature_home``."""
    registry_dir = tmp_path_factory.mktemp("inference-registry")
    settings = Settings(
        var_dir=feature_home,
        mlflow_tracking_uri=f"sqlite:///{registry_dir / 'mlflow.db'}",
        mlflow_artifact_uri=str(registry_dir / "artifacts"),
        inference_chunk_entities=25,
    )
    request = TrainingRequest(as_of=datetime(2030, 1, 1), window_days=80)
    trained = train_and_register(settings, request, params={"n_estimators": 60, "max_depth": 4})
    assert promote(settings, trained["version"])["promoted"], "the fixture needs a champion"
    return settings


@pytest.fixture
def settings(champion_home: Settings, redis_client: object) -> Settings:
    """The champion's settings with a Redis prefix of the test's own (``redis_client`` flushes per test)."""
    return champion_home
