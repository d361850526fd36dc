"""Scheduled training and inference runs on a real store and registry: they skip when there is
nothing new to learn or no champion to serve, and never otherwise (fti.pipelines.scheduled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fti.pipelines.champion import no_champion
from fti.pipelines.gate import promote
from fti.pipelines.training_request import nothing_new
from fti.resources import Resources
from fti.specs import DatasetSpec
from tests.integration.conftest import system
from tests.integration.training.test_training_gate import request, train

pytestmark = pytest.mark.integration


def test_a_scheduled_training_trains_once_then_skips_on_the_same_snapshot_and_manual_runs_still_train(
    resources: Resources, sales: DatasetSpec
) -> None:
    assert nothing_new(resources, sales, request(sales), "scheduled") is None  # nothing registered yet
    gone = no_champion(resources, sales, "scheduled")
    assert gone is not None and "no model has the alias 'champion' yet" in gone

    trained = train(resources, sales)
    assert promote(resources, sales, trained.version).promoted
    reason = nothing_new(resources, sales, request(sales), "scheduled")

    assert reason is not None and f"champion v{trained.version} learnt" in reason, reason
    assert trained.lineage.snapshot_checksum[:12] in reason
    for run_type in ("manual", "asset_triggered"):
        assert nothing_new(resources, sales, request(sales), run_type) is None, run_type
    shorter = request(sales, window=sales.model.training_window - 4)  # another snapshot: new rows to learn
    assert nothing_new(resources, sales, shorter, "scheduled") is None
    assert no_champion(resources, sales, "scheduled") is None


def test_a_scheduled_training_on_an_empty_store_skips_and_points_at_the_feature_pipeline(
    sales: DatasetSpec, tmp_path: Path
) -> None:
    empty = system(tmp_path / "var")

    reason = nothing_new(empty, sales, request(sales), "scheduled")

    assert reason is not None and "no feature partition is committed yet" in reason, reason
    assert "Run feature_pipeline__store_sales first" in reason
