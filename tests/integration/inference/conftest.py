"""Inference fixtures: a champion trained and promoted once per session on the store_sales store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from fti.contracts import TrainingRequest
from fti.pipelines.gate import promote
from fti.pipelines.training import train_and_register
from fti.resources import Resources
from fti.settings import Settings
from fti.specs import DatasetSpec
from tests.integration.conftest import SPECS, spec_of


@pytest.fixture(scope="session")
def sales() -> DatasetSpec:
    return spec_of("store_sales")


@pytest.fixture(scope="session")
def champion_settings(
    sales_home: Path, tmp_path_factory: pytest.TempPathFactory, sales: DatasetSpec
) -> Settings:
    """Settings whose registry (a session's own) has a champion trained on ``sales_home``."""
    registry_dir = tmp_path_factory.mktemp("inference-registry")
    settings = Settings(
        var_dir=sales_home,
        specs_dir=SPECS,
        raw_dir=sales_home / "raw",
        store_uri=str(sales_home / "store"),
        catalog_url=f"sqlite:///{sales_home / 'catalog.db'}",
        mlflow_tracking_uri=f"sqlite:///{registry_dir / 'mlflow.db'}",
        mlflow_artifact_uri=str(registry_dir / "artifacts"),
        inference_chunk_entities=25,
    )
    resources = Resources(settings)
    request = TrainingRequest(
        dataset=sales.name, as_of=datetime(2030, 1, 1), window=sales.model.training_window
    )
    trained = train_and_register(resources, sales, request, params={"n_estimators": 60, "max_depth": 4})
    assert promote(resources, sales, trained.version).promoted, "the fixture needs a champion"
    return settings


@pytest.fixture
def resources(champion_settings: Settings, redis_url: str, redis_client: object) -> Resources:
    """The champion's system with the session's Redis (``redis_client`` flushes it per test)."""
    return Resources(champion_settings, redis_url)


@pytest.fixture
def own(resources: Resources, tmp_path: Path) -> Resources:
    """The champion's registry with a copy of the session's store this test may add partitions to.

    The copied catalog still points at the session store's Parquet files (read only); new
    partitions go to the copy's own store folder. Its prediction log starts empty.
    """
    settings = resources.settings
    source = sqlite3.connect(str(settings.catalog_url).removeprefix("sqlite:///"))
    with closing(source), closing(sqlite3.connect(tmp_path / "catalog.db")) as copy:
        source.backup(copy)  # the WAL's commits too (a file copy could miss them)
        with copy:  # the copy's prediction log starts empty: only this test's runs are in it
            copy.execute("DELETE FROM prediction_runs")
            copy.execute("DELETE FROM realized_accuracy")
    copy = Settings(
        var_dir=tmp_path,
        specs_dir=settings.specs_dir,
        store_uri=str(tmp_path / "store"),
        catalog_url=f"sqlite:///{tmp_path / 'catalog.db'}",
        mlflow_tracking_uri=settings.mlflow_tracking_uri,
        mlflow_artifact_uri=settings.mlflow_artifact_uri,
        inference_chunk_entities=settings.inference_chunk_entities,
    )
    return Resources(copy, resources.redis_url)
