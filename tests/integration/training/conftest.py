"""Training fixtures: the session's feature store (``feature_home``) with a new registry per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from fti.settings import Settings


@pytest.fixture
def settings(feature_home: Path, tmp_path: Path) -> Settings:
    """The shared feature store with a registry of its own (MLflow on SQLite under ``tmp_path``)."""
    return Settings(
        var_dir=feature_home,
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlflow_artifact_uri=str(tmp_path / "artifacts"),
    )
