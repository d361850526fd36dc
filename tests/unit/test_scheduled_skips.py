"""When a scheduled run skips instead of failing or repeating work (fti.pipelines.scheduled)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fti.pipelines.scheduled import SnapshotKey, feature_skip, inference_skip, training_skip
from fti.settings import PROJECT_ROOT
from fti.specs import load_dataset

STORE_SALES = load_dataset(PROJECT_ROOT / "specs", "store_sales")  # weekly partitions, Parquet files
RAW = Path("/data/raw")
LANDED = [date(2024, 4, 1), date(2024, 4, 8), date(2024, 4, 15)]  # Mondays: week partitions
KEY = SnapshotKey("a" * 64, "spec-sha", date(2022, 1, 3), date(2024, 4, 15))


def test_a_scheduled_feature_run_whose_week_has_not_landed_skips_naming_file_newest_and_what_to_do() -> None:
    reason = feature_skip(STORE_SALES, RAW, "scheduled", None, [date(2026, 11, 23)], LANDED)

    assert reason is not None
    assert reason.startswith("scheduled run of store_sales partition 2026-11-23 skipped:")
    assert "/data/raw/store_sales (2026-11-23.parquet)" in reason
    assert "newest landed partition: 2024-04-15" in reason
    assert "`fti data land --dataset store_sales FILE...`" in reason
    assert "trigger feature_pipeline__store_sales manually" in reason


def test_a_scheduled_feature_run_says_when_nothing_has_landed_at_all() -> None:
    reason = feature_skip(STORE_SALES, RAW, "scheduled", None, [date(2026, 11, 23)], [])

    assert reason is not None and "no partition has landed yet" in reason


def test_a_scheduled_feature_run_whose_week_has_landed_runs_even_if_its_look_back_has_gaps() -> None:
    # The look-back gap is validate_raw's to report, as a failure naming every missing file.
    assert feature_skip(STORE_SALES, RAW, "scheduled", None, [date(2024, 4, 15)], [date(2024, 4, 15)]) is None


@pytest.mark.parametrize(
    ("run_type", "requested"),
    [("manual", None), ("manual", "2026-11-23"), ("backfill", None), ("scheduled", "2026-11-23")],
)
def test_manual_backfill_and_asked_for_feature_runs_never_skip(run_type: str, requested: str | None) -> None:
    assert feature_skip(STORE_SALES, RAW, run_type, requested, [date(2026, 11, 23)], LANDED) is None


def test_a_scheduled_training_run_skips_on_the_snapshot_its_champion_learnt() -> None:
    reason = training_skip("store_sales", "scheduled", 0, KEY, {"champion v2": KEY})

    assert reason is not None
    assert "nothing new to learn" in reason and "champion v2 learnt" in reason
    assert "2022-01-03..2024-04-15 (checksum aaaaaaaaaaaa)" in reason
    assert "trigger training_pipeline__store_sales manually to train anyway" in reason


def test_a_scheduled_training_run_skips_on_the_snapshot_of_the_newest_version_the_gate_refused() -> None:
    champion = SnapshotKey("b" * 64, "spec-sha", date(2022, 1, 3), date(2024, 4, 8))
    reason = training_skip("store_sales", "scheduled", 0, KEY, {"champion v1": champion, "newest v2": KEY})

    assert reason is not None and "newest v2 learnt" in reason and "champion v1" not in reason


@pytest.mark.parametrize(
    "trained",
    [
        {},
        {"champion v1": SnapshotKey("b" * 64, "spec-sha", KEY.start, KEY.end)},  # same span, other rows
        {"champion v1": SnapshotKey(KEY.checksum, "edited-spec", KEY.start, KEY.end)},
    ],
    ids=["nothing-registered", "recommitted-rows", "spec-edited"],
)
def test_a_scheduled_training_run_trains_when_data_or_spec_is_new(trained: dict[str, SnapshotKey]) -> None:
    assert training_skip("store_sales", "scheduled", 0, KEY, trained) is None


def test_a_scheduled_training_run_without_committed_features_skips_pointing_at_the_feature_pipeline() -> None:
    reason = training_skip("store_sales", "scheduled", 0, None, {})

    assert reason is not None
    assert "no feature partition is committed yet" in reason
    assert "Run feature_pipeline__store_sales first" in reason


@pytest.mark.parametrize(
    ("run_type", "pending"),
    [("manual", 0), ("asset_triggered", 0), ("backfill", 0), ("scheduled", 1)],
    ids=["manual", "retraining-asset", "backfill", "scheduled-with-pending-request"],
)
def test_manual_asset_triggered_and_requested_trainings_always_train(run_type: str, pending: int) -> None:
    assert training_skip("store_sales", run_type, pending, KEY, {"champion v2": KEY}) is None
    assert training_skip("store_sales", run_type, pending, None, {}) is None


def test_a_scheduled_inference_run_skips_without_a_champion_and_says_to_train_and_promote() -> None:
    reason = inference_skip("store_sales", "scheduled", None)

    assert reason is not None
    assert reason.startswith("scheduled batch inference of store_sales skipped: no model has the alias")
    assert "Train and promote one first (trigger training_pipeline__store_sales" in reason


@pytest.mark.parametrize(("run_type", "champion"), [("scheduled", "3"), ("manual", None)])
def test_inference_runs_with_a_champion_or_by_hand_never_skip(run_type: str, champion: str | None) -> None:
    assert inference_skip("store_sales", run_type, champion) is None
