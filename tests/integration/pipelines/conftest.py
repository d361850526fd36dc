"""Fixtures of the feature-pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fti.data.synthetic import SyntheticSpec, write_daily
from fti.settings import Settings

#: A small landed data set: 4 feature days after the 28-day look-back.
SMALL_SPEC = SyntheticSpec(n_countries=3, n_items=20, n_days=32)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """One isolated system under ``tmp_path`` with :data:`SMALL_SPEC` landed as daily raw files."""
    write_daily(tmp_path / "raw", SMALL_SPEC)
    return Settings(var_dir=tmp_path, raw_dir=tmp_path / "raw", feature_set="retail_demand")
