"""Fixtures of the integration tests: one feature store built by the real feature pipeline, per session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fti.data.synthetic import SyntheticSpec, write_daily
from fti.pipelines.feature import ingest, pending_days, validate_raw
from fti.settings import Settings

#: 110 calendar days: 28 of look-back, then 82 feature days (enough for train, validation and test);
#: demand dense enough (a line per store, item and day on average) for a model to beat predicting 0.
TRAINING_SPEC = SyntheticSpec(
    n_countries=3, n_items=40, n_days=110, start=date(2024, 1, 1), seed=7, lines_per_cell=1.0
)


@pytest.fixture(scope="session")
def feature_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var folder whose store holds :data:`TRAINING_SPEC`'s features, validated and committed.

    Tests only add feature sets of other names or registries of their own to it, never change it.
    """
    home = tmp_path_factory.mktemp("training-store")
    write_daily(home / "raw", TRAINING_SPEC)
    settings = Settings(var_dir=home)
    days = pending_days(settings)
    summary = validate_raw(settings, days, run_id="fixture")
    ingest(settings, days, run_id="fixture", validation_id=summary["validation_id"])
    return home
