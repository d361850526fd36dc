"""Fixtures of the feature-store tests: every test runs on both catalog backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fti.store import FeatureStore


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A catalog in a SQLite file under ``tmp_path``, or in a fresh database of the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(catalog_url: str, tmp_path: Path) -> Iterator[FeatureStore]:
    """A store with Parquet files under ``tmp_path`` and its catalog at ``catalog_url``."""
    feature_store = FeatureStore(str(tmp_path / "store"), catalog_url)
    yield feature_store
    feature_store.engine.dispose()
