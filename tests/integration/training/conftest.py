"""Training fixtures: the session's store_sales feature store (``sales_home``), a registry per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from fti.resources import Resources
from fti.settings import Settings
from fti.specs import DatasetSpec
from tests.integration.conftest import SPECS, spec_of


@pytest.fixture(scope="module")
def sales() -> DatasetSpec:
    return spec_of("store_sales")


@pytest.fixture
def resources(sales_home: Path, tmp_path: Path) -> Resources:
    """The shared feature store with a registry of its own (MLflow on SQLite under ``tmp_path``)."""
    settings = Settings(
        var_dir=sales_home,
        specs_dir=SPECS,
        raw_dir=sales_home / "raw",
        store_uri=str(sales_home / "store"),
        catalog_url=f"sqlite:///{sales_home / 'catalog.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlflow_artifact_uri=str(tmp_path / "artifacts"),
    )
    return Resources(settings)
