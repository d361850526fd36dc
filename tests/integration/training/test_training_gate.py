"""Training on a real feature store and a real MLflow registry: lineage, the gate, rollback, promotion."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fti.cli import app
from fti.contracts import Lineage, TrainedModel, TrainingRequest
from fti.features.schema import model_inputs
from fti.pipelines.gate import promote
from fti.pipelines.training import train_and_register
from fti.registry import mlflow_registry as registry
from fti.registry import promotion
from fti.resources import Resources
from fti.settings import Environment, Settings
from fti.specs import DatasetSpec
from fti.training.evaluation import evaluation_rows
from fti.training.snapshot import frame_checksum, take_snapshot
from tests.harness.signals import wait_for_file

pytestmark = pytest.mark.integration

AS_OF = datetime(2030, 1, 1)
"""After every commit of the fixture store: the whole store is visible."""
RUN_METRICS = {
    "training_s",
    "split_drift_threshold",
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
HOLD_S = 2.0
"""How long a promotion waiting for the lock is watched: many of the lock's 0.2 s polls."""


def request(spec: DatasetSpec, **changes: Any) -> TrainingRequest:
    fields = {"dataset": spec.name, "as_of": AS_OF, "window": spec.model.training_window, **changes}
    return TrainingRequest.model_validate(fields)


def train(resources: Resources, spec: DatasetSpec, params: dict[str, Any] | None = None) -> TrainedModel:
    """Train and register through the pipeline step, with :data:`FAST_PARAMS` updated by ``params``."""
    return train_and_register(resources, spec, request(spec), params={**FAST_PARAMS, **(params or {})})


def champion(resources: Resources, spec: DatasetSpec) -> str | None:
    try:
        return registry.resolve_alias(
            resources.registry, resources.model_name(spec), registry.CHAMPION
        ).version
    except registry.ModelNotFound:
        return None


def test_registered_version_carries_lineage_metrics_and_analysis(
    resources: Resources, sales: DatasetSpec
) -> None:
    trained = train(resources, sales)

    client = resources.registry
    version = client.get_model_version(resources.model_name(sales), trained.version)
    assert Lineage.from_tags(version.tags) == trained.lineage
    snapshot = take_snapshot(resources.store, sales, request(sales))
    assert trained.lineage.snapshot_checksum == snapshot.checksum
    assert snapshot.checksum != frame_checksum(snapshot.features)  # the known-future rows are part of it
    assert trained.lineage.snapshot_rows == len(snapshot.features)
    assert trained.lineage.future_feature_set_version == 1 and trained.lineage.as_of == AS_OF
    assert trained.lineage.spec_sha256 == sales.source_sha256
    assert trained.lineage.validation_id in {v.id for v in resources.store.validations(sales.feature_set)}
    challenger = registry.resolve_alias(client, resources.model_name(sales), registry.CHALLENGER)
    assert challenger.version == trained.version
    assert champion(resources, sales) is None, "training alone never makes a champion: the gate does"

    run = client.get_run(trained.run_id)
    assert RUN_METRICS <= set(run.data.metrics), RUN_METRICS - set(run.data.metrics)
    assert run.data.metrics["training_s"] > 0  # the run is opened only to log: its duration is not the fit's
    artifacts = {a.path for a in client.list_artifacts(trained.run_id, "analysis")}
    assert {"analysis/predicted_vs_actual.png", "analysis/feature_importance.png"} <= artifacts
    assert "analysis/analysis.json" in artifacts and "analysis/lineage.json" in artifacts
    assert trained.links["run"].endswith(f"/runs/{trained.run_id}")


def test_the_model_uses_the_known_future_covariates_at_the_target_week(
    resources: Resources, sales: DatasetSpec
) -> None:
    trained = train(resources, sales)
    rows = evaluation_rows(resources, sales, trained.lineage)
    model = registry.load_model(registry.ModelRef(trained.name, trained.version, trained.run_id))
    assert {"price", "promo", "price_vs_product_mean"} <= set(model.named_steps["preprocess"].numeric)
    base = model.predict(rows[model_inputs(sales)])
    promoted = model.predict(rows[model_inputs(sales)].assign(promo=1, price=rows["price"] * 0.7))
    assert (promoted - base).mean() > 0, "a promotion with a lower price should lift the forecast"


def test_model_beats_baselines_and_becomes_champion_then_a_worse_model_is_refused(
    resources: Resources, sales: DatasetSpec
) -> None:
    good = train(resources, sales)
    assert good.metrics["test_wape"] < min(
        good.metrics["seasonal_naive_wape"], good.metrics["moving_average_wape"]
    )

    first = promote(resources, sales, good.version)
    assert first.promoted and first.rule == "first-champion" and champion(resources, sales) == good.version
    assert first.summary.startswith(f"PROMOTED v{good.version} (first champion): "), first.summary

    weak = train(resources, sales, WEAK_PARAMS)
    assert weak.metrics["test_wape"] > good.metrics["test_wape"]
    refused = promote(resources, sales, weak.version)

    assert not refused.promoted and refused.rule == "baseline"  # two stumps do not beat the baselines
    assert champion(resources, sales) == good.version, "the champion stays"
    stays = f"REFUSED v{weak.version} (champion stays v{good.version}): "
    assert refused.summary.startswith(stays), refused.summary
    tags = resources.registry.get_model_version(resources.model_name(sales), weak.version).tags
    assert tags["gate"] == "failed" and tags["gate_rule"] == "baseline"
    assert "does not beat the best baseline" in tags["gate_reason"]


def test_a_second_model_on_the_same_snapshot_must_be_strictly_better(
    resources: Resources, sales: DatasetSpec
) -> None:
    first = train(resources, sales)
    assert promote(resources, sales, first.version).promoted
    same = train(resources, sales)  # the same snapshot and parameters: the same WAPE
    verdict = promote(resources, sales, same.version)
    assert (verdict.promoted, verdict.rule) == (False, "not-better-than-champion")
    assert "on the same snapshot" in verdict.reasons[-1]


def _promote_pausing_before_the_alias_moves(
    settings: Settings, spec: DatasetSpec, version: str, held: Path, release: Path
) -> None:
    """In a child process: promote ``version``, pausing under the promotion lock once the gate has
    decided and just before ``champion`` moves; creating ``held`` says it got there, ``release`` resumes."""
    move = promotion.set_alias

    def paused(client: Any, ref: registry.ModelRef, alias: str) -> None:
        held.touch()
        wait_for_file(release, 120)
        move(client, ref, alias)

    promotion.set_alias = paused
    promote(Resources(settings), spec, version)


@contextmanager
def paused_promotion(resources: Resources, spec: DatasetSpec, version: str, tmp_path: Path) -> Iterator[Path]:
    """While the block runs, a spawned process promoting ``version`` holds the promotion lock, paused
    just before ``champion`` moves; touch the yielded path to let it finish (leaving the block does too)."""
    held, release = tmp_path / "held", tmp_path / "release"
    holder = multiprocessing.get_context("spawn").Process(
        target=_promote_pausing_before_the_alias_moves,
        args=(resources.settings, spec, version, held, release),
    )
    holder.start()
    try:
        wait_for_file(held, 120, holder)
        yield release
    finally:
        release.touch()
        holder.join(60)
    assert holder.exitcode == 0, f"the paused promotion failed (exit code {holder.exitcode})"


@pytest.mark.parametrize(
    ("held_first", "rule"), [("better", "not-better-than-champion"), ("worse", "beats-champion")]
)
def test_a_promotion_waits_for_the_lock_and_judges_against_the_champion_set_meanwhile(
    resources: Resources,
    sales: DatasetSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held_first: str,
    rule: str,
) -> None:
    better = train(resources, sales)
    worse = train(resources, sales, {"n_estimators": 15})
    wape = {r.version: r.metrics["test_wape"] for r in (better, worse)}
    assert wape[worse.version] > wape[better.version], wape  # type: ignore[operator]
    baseline = min(better.metrics["seasonal_naive_wape"], better.metrics["moving_average_wape"])  # type: ignore[type-var]
    assert wape[worse.version] < baseline, "both must pass the baselines, or the race proves nothing"  # type: ignore[operator]
    first, second = (better, worse) if held_first == "better" else (worse, better)
    asked = threading.Event()  # the second promotion has asked for the lock
    real_lock = promotion.promotion_lock

    @contextmanager
    def observed_lock(*args: Any, **kwargs: Any) -> Iterator[None]:
        asked.set()
        with real_lock(*args, **kwargs):
            yield

    monkeypatch.setattr(promotion, "promotion_lock", observed_lock)
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        paused_promotion(resources, sales, first.version, tmp_path) as release,
    ):
        waiting = pool.submit(promote, resources, sales, second.version)
        assert asked.wait(120), "the second promotion never asked for the lock"
        time.sleep(HOLD_S)
        assert not waiting.done(), "the second promotion finished while the first held the lock"
        release.touch()
        verdict = waiting.result(timeout=120)

    assert (verdict.previous_champion, verdict.rule) == (first.version, rule), verdict  # read after the wait
    assert champion(resources, sales) == better.version


def invoke(resources: Resources, *args: str) -> Any:
    settings = resources.settings
    env = {
        "FTI_VAR_DIR": str(settings.var_dir),
        "FTI_SPECS_DIR": str(settings.specs_dir),
        "FTI_CATALOG_URL": settings.catalog_url or "",
        "FTI_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri or "",
        "FTI_MLFLOW_ARTIFACT_URI": settings.mlflow_artifact_uri or "",
    }
    from fti.settings import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


def test_rollback_moves_champion_back_in_one_step(resources: Resources, sales: DatasetSpec) -> None:
    first = train(resources, sales)
    second = train(resources, sales, {"n_estimators": 15})
    name = resources.model_name(sales)
    for version in (first.version, second.version):
        registry.set_alias(resources.registry, registry.ModelRef(name, version, ""), registry.CHAMPION)
    assert champion(resources, sales) == second.version

    result = invoke(resources, "models", "rollback", first.version, "--dataset", "store_sales")

    assert result.exit_code == 0, result.output
    assert f"champion v{second.version} -> v{first.version}" in result.output
    assert champion(resources, sales) == first.version
    listed = invoke(resources, "models", "versions", "--dataset", "store_sales")
    assert listed.exit_code == 0 and "champion" in listed.output
    missing = invoke(resources, "models", "rollback", "99", "--dataset", "store_sales")
    assert missing.exit_code == 1 and "no version '99'" in missing.output
    assert champion(resources, sales) == first.version


def test_rollback_to_a_version_that_failed_the_gate_needs_force(
    resources: Resources, sales: DatasetSpec
) -> None:
    good = train(resources, sales)
    assert promote(resources, sales, good.version).promoted
    weak = train(resources, sales, WEAK_PARAMS)
    assert not promote(resources, sales, weak.version).promoted

    refused = invoke(resources, "models", "rollback", weak.version, "--dataset", "store_sales")

    assert refused.exit_code == 1 and "failed the gate" in refused.output and "--force" in refused.output
    assert champion(resources, sales) == good.version
    forced = invoke(resources, "models", "rollback", weak.version, "--dataset", "store_sales", "--force")
    assert forced.exit_code == 0, forced.output
    assert champion(resources, sales) == weak.version
    tags = resources.registry.get_model_version(resources.model_name(sales), weak.version).tags
    assert tags["forced_rollback"] == "true" and tags["rolled_back_from"] == good.version


def test_promote_to_the_same_environment_is_refused(resources: Resources, sales: DatasetSpec) -> None:
    move = ("--dataset", "store_sales", "--from", "staging", "--to", "staging")
    same = invoke(resources, "models", "promote", "1", *move)

    assert same.exit_code == 1 and "both 'staging'" in same.output


def test_only_a_version_that_passed_the_gate_is_copied_from_staging_to_production(
    resources: Resources, sales: DatasetSpec
) -> None:
    staging = Resources(resources.settings.model_copy(update={"env": Environment.STAGING}))
    passed = train(staging, sales)
    failed = train(staging, sales, WEAK_PARAMS)
    assert promote(staging, sales, passed.version).promoted
    assert not promote(staging, sales, failed.version).promoted

    move = ("--dataset", "store_sales", "--from", "staging", "--to", "production")
    refused = invoke(resources, "models", "promote", failed.version, *move)
    assert refused.exit_code == 1 and "did not pass the gate" in refused.output

    copied = invoke(resources, "models", "promote", passed.version, *move)
    assert copied.exit_code == 0, copied.output
    production = registry.resolve_alias(resources.registry, "fti-store_sales-production", registry.CHAMPION)
    tags = resources.registry.get_model_version("fti-store_sales-production", production.version).tags
    assert tags["copied_from"] == f"fti-store_sales-staging/{passed.version}"
    assert tags["snapshot_checksum"] == passed.lineage.snapshot_checksum
    rows = evaluation_rows(resources, sales, passed.lineage)
    source = registry.load_model(registry.ModelRef(passed.name, passed.version, passed.run_id))
    assert (registry.load_model(production).predict(rows) == source.predict(rows)).all()


def registered_versions(resources: Resources, spec: DatasetSpec) -> list[Any]:
    return list(resources.registry.search_model_versions(f"name = '{resources.model_name(spec)}'"))


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"feature_set_version": 7}, "FeatureSetVersionNotFound", "has no version 7"),
        ({"window": 12}, "NotEnoughData", "need at least"),
    ],
    ids=["unknown-version", "too-small"],
)
def test_bad_training_input_fails_before_registering_anything(
    resources: Resources, sales: DatasetSpec, change: dict[str, Any], error: str, words: str
) -> None:
    from fti.pipelines.training import check_inputs

    with pytest.raises(Exception) as raised:
        check_inputs(resources, sales, request(sales, **change))

    assert type(raised.value).__name__ == error and words in str(raised.value)
    assert registered_versions(resources, sales) == []


def test_an_empty_store_is_not_enough_data(resources: Resources, sales: DatasetSpec, tmp_path: Path) -> None:
    from fti.pipelines.training import check_inputs
    from fti.training.split import NotEnoughData

    empty = Resources(resources.settings.model_copy(update={"catalog_url": f"sqlite:///{tmp_path / 'c.db'}"}))
    with pytest.raises(NotEnoughData, match="nothing to train 'store_sales' on"):
        check_inputs(empty, sales, request(sales))


def test_a_snapshot_with_a_column_the_spec_does_not_know_is_refused(
    resources: Resources, sales: DatasetSpec, tmp_path: Path
) -> None:
    from fti.pipelines.training import check_inputs
    from fti.training.snapshot import UnusableSnapshot

    rows = take_snapshot(resources.store, sales, request(sales)).features
    other = Resources(
        resources.settings.model_copy(
            update={"catalog_url": f"sqlite:///{tmp_path / 'c.db'}", "store_uri": str(tmp_path / "store")}
        )
    )
    last = rows[rows["period"] == rows["period"].max()]
    other.store.write(
        sales.feature_set, last["period"].iloc[0].date(), last.assign(note="free text").reset_index(drop=True)
    )

    with pytest.raises(UnusableSnapshot, match=r"column 'note' \(str\) is not in the spec"):
        check_inputs(other, sales, request(sales))
    assert registered_versions(other, sales) == []


def test_registry_down_is_a_clear_error_before_any_work(resources: Resources, sales: DatasetSpec) -> None:
    from fti.pipelines.training import check_inputs
    from tests.harness.services import free_port

    down = Resources(
        resources.settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}"})
    )

    with pytest.raises(registry.RegistryUnavailable, match="127.0.0.1"):
        check_inputs(down, sales, request(sales))
