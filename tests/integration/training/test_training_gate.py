"""Training on a real feature store and a real MLflow registry: lineage, the gate, rollback, promotion."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fti.cli import app
from fti.pipelines.feature import feature_store
from fti.pipelines.training import (
    TrainingRequest,
    frame_checksum,
    promote,
    take_snapshot,
    train_and_register,
)
from fti.registry import mlflow_registry as registry
from fti.settings import Environment, Settings

AS_OF = datetime(2030, 1, 1)
"""After every commit of the fixture store: the whole store is visible."""
LINEAGE_TAGS = {
    "environment",
    "feature_set",
    "feature_set_version",
    "as_of",
    "window_days",
    "snapshot_start",
    "snapshot_end",
    "snapshot_rows",
    "snapshot_checksum",
    "train_rows",
    "validation_rows",
    "test_rows",
    "test_start",
    "test_end",
    "horizon_days",
    "validation_id",
    "validation_ids",
    "code_version",
    "tuned",
}
RUN_METRICS = {
    "test_wape",
    "test_rmse",
    "test_mae",
    "test_bias",
    "seasonal_naive_wape",
    "moving_average_wape",
}
FAST_PARAMS = {"n_estimators": 60, "max_depth": 4}
"""The tests' "good" model: fewer, shallower trees than the defaults, seconds to fit."""
WEAK_PARAMS = {"n_estimators": 2, "max_depth": 1, "learning_rate": 0.01}
"""A deliberately worse model: two stumps barely moved from the base score."""


def train(settings: Settings, params: dict[str, Any] | None = None, **request: Any) -> dict[str, Any]:
    """Train and register through the pipeline step, with :data:`FAST_PARAMS` updated by ``params``."""
    request_ = TrainingRequest(as_of=AS_OF, window_days=80, **request)
    return train_and_register(settings, request_, params={**FAST_PARAMS, **(params or {})})


def champion(settings: Settings) -> str | None:
    client = registry.configure(settings.mlflow_tracking_uri or "")
    try:
        return registry.resolve_alias(client, settings.model_name, registry.CHAMPION).version
    except registry.ModelNotFound:
        return None


def test_registered_version_carries_lineage_metrics_and_analysis(settings: Settings) -> None:
    trained = train(settings)

    client = registry.configure(settings.mlflow_tracking_uri or "")
    version = client.get_model_version(settings.model_name, trained["version"])
    assert LINEAGE_TAGS <= set(version.tags), LINEAGE_TAGS - set(version.tags)
    tags = version.tags
    snapshot = take_snapshot(feature_store(settings), settings.feature_set, TrainingRequest(AS_OF, 80))
    assert tags["snapshot_checksum"] == frame_checksum(snapshot.features)
    assert tags["snapshot_rows"] == str(len(snapshot.features))
    assert tags["feature_set_version"] == "1" and tags["as_of"] == AS_OF.isoformat()
    assert tags["validation_id"] in {v.id for v in feature_store(settings).validations(settings.feature_set)}
    challenger = registry.resolve_alias(client, settings.model_name, registry.CHALLENGER)
    assert challenger.version == trained["version"]
    assert champion(settings) is None, "training alone never makes a champion: the gate does"

    run = client.get_run(trained["run_id"])
    assert RUN_METRICS <= set(run.data.metrics), RUN_METRICS - set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(trained["run_id"], "analysis")}
    assert {"analysis/predicted_vs_actual.png", "analysis/feature_importance.png"} <= artifacts
    assert "analysis/analysis.json" in artifacts and "analysis/lineage.json" in artifacts
    assert trained["links"]["run"].endswith(f"/runs/{trained['run_id']}")


def test_model_beats_baselines_and_becomes_champion_then_a_worse_model_is_refused(settings: Settings) -> None:
    good = train(settings)
    assert good["metrics"]["test_wape"] < min(
        good["metrics"]["seasonal_naive_wape"], good["metrics"]["moving_average_wape"]
    )

    first = promote(settings, good["version"])
    assert first["promoted"] and champion(settings) == good["version"]

    weak = train(settings, WEAK_PARAMS)
    assert weak["metrics"]["test_wape"] > good["metrics"]["test_wape"]
    refused = promote(settings, weak["version"])

    assert not refused["promoted"]
    assert champion(settings) == good["version"], "the champion stays"
    client = registry.configure(settings.mlflow_tracking_uri or "")
    tags = client.get_model_version(settings.model_name, weak["version"]).tags
    assert tags["gate"] == "failed"
    assert f"champion v{good['version']}" in tags["gate_reason"] or "baseline" in tags["gate_reason"]


def _promote_in_child(settings: Settings, version: str) -> dict[str, Any]:
    return promote(settings, version)


@pytest.mark.parametrize("order", ["better_first", "worse_first"])
def test_two_concurrent_promotions_leave_the_better_model_as_champion(settings: Settings, order: str) -> None:
    better = train(settings)
    worse = train(settings, {"n_estimators": 15})
    wape = {r["version"]: r["metrics"]["test_wape"] for r in (better, worse)}
    assert wape[worse["version"]] > wape[better["version"]], wape
    baseline = min(better["metrics"]["seasonal_naive_wape"], better["metrics"]["moving_average_wape"])
    assert wape[worse["version"]] < baseline, "both must pass the baselines, or the race proves nothing"
    versions = [better["version"], worse["version"]]
    if order == "worse_first":
        versions.reverse()

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(pool.map(_promote_in_child, [settings, settings], versions))

    assert champion(settings) == better["version"]
    assert sum(r["promoted"] for r in results) >= 1
    by_version = {r["candidate"]: r for r in results}
    assert by_version[better["version"]]["promoted"]


def invoke(settings: Settings, *args: str) -> Any:
    env = {
        "FTI_VAR_DIR": str(settings.var_dir),
        "FTI_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri or "",
        "FTI_MLFLOW_ARTIFACT_URI": settings.mlflow_artifact_uri or "",
    }
    from fti.settings import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


def test_rollback_moves_champion_back_in_one_step(settings: Settings) -> None:
    first = train(settings)
    second = train(settings, {"n_estimators": 15})
    client = registry.configure(settings.mlflow_tracking_uri or "")
    for version in (first["version"], second["version"]):
        registry.set_alias(client, registry.ModelRef(settings.model_name, version, ""), registry.CHAMPION)
    assert champion(settings) == second["version"]

    result = invoke(settings, "models", "rollback", first["version"])

    assert result.exit_code == 0, result.output
    assert f"champion v{second['version']} -> v{first['version']}" in result.output
    assert champion(settings) == first["version"]
    listed = invoke(settings, "models", "versions")
    assert listed.exit_code == 0 and "champion" in listed.output
    missing = invoke(settings, "models", "rollback", "99")
    assert missing.exit_code == 1 and "no version '99'" in missing.output
    assert champion(settings) == first["version"]


def test_only_a_version_that_passed_the_gate_is_copied_from_staging_to_production(settings: Settings) -> None:
    staging = settings.model_copy(update={"env": Environment.STAGING})
    passed = train(staging)
    failed = train(staging, WEAK_PARAMS)
    assert promote(staging, passed["version"])["promoted"]
    assert not promote(staging, failed["version"])["promoted"]

    move = ("--from", "staging", "--to", "production")
    refused = invoke(settings, "models", "promote", failed["version"], *move)
    assert refused.exit_code == 1 and "did not pass the gate" in refused.output

    copied = invoke(settings, "models", "promote", passed["version"], *move)
    assert copied.exit_code == 0, copied.output
    client = registry.configure(settings.mlflow_tracking_uri or "")
    production = registry.resolve_alias(client, "fti-demand-production", registry.CHAMPION)
    tags = client.get_model_version("fti-demand-production", production.version).tags
    assert tags["copied_from"] == f"fti-demand-staging/{passed['version']}"
    assert tags["snapshot_checksum"] == passed["snapshot_checksum"]
    assert registry.load_model(production).predict is not None


def registered_versions(settings: Settings) -> list[Any]:
    client = registry.configure(settings.mlflow_tracking_uri or "")
    return list(client.search_model_versions(f"name = '{settings.model_name}'"))


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda s, r: (s, {**r, "feature_set_version": 7}), "FeatureSetVersionNotFound", "has no version 7"),
        (lambda s, r: (s, {**r, "window_days": 21}), "NotEnoughData", "need at least"),
        (
            lambda s, r: (s.model_copy(update={"feature_set": "nothing_here"}), r),
            "NotEnoughData",
            "nothing_here",
        ),
    ],
    ids=["unknown-version", "too-small", "empty-store"],
)
def test_bad_training_input_fails_before_registering_anything(
    settings: Settings,
    change: Callable[[Settings, dict[str, Any]], tuple[Settings, dict[str, Any]]],
    error: str,
    words: str,
) -> None:
    from fti.pipelines.training import check_inputs

    changed, request = change(settings, {"as_of": AS_OF, "window_days": 80})

    with pytest.raises(Exception) as raised:
        check_inputs(changed, TrainingRequest(**request))

    assert type(raised.value).__name__ == error and words in str(raised.value)
    assert registered_versions(settings) == []


def test_a_snapshot_with_a_column_the_model_cannot_use_is_refused(settings: Settings, tmp_path: Path) -> None:
    from fti.pipelines.training import UnusableSnapshot, check_inputs

    store = feature_store(settings)
    isolated = settings.model_copy(update={"feature_set": "with_extra_column"})
    rows = take_snapshot(store, settings.feature_set, TrainingRequest(AS_OF, 80)).features
    for day, frame in rows.groupby("date"):
        store.write("with_extra_column", day, frame.assign(note="free text").reset_index(drop=True))

    with pytest.raises(UnusableSnapshot, match=r"column 'note' \(str\) is not a model input"):
        check_inputs(isolated, TrainingRequest(AS_OF, 80))
    assert registered_versions(settings) == []


def test_registry_down_is_a_clear_error_before_any_work(settings: Settings) -> None:
    from fti.pipelines.training import check_inputs
    from tests.harness.services import free_port

    down = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}"})

    with pytest.raises(registry.RegistryUnavailable, match="127.0.0.1"):
        check_inputs(down, TrainingRequest(AS_OF, 80))
