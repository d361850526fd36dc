"""Batch inference on a real store, MLflow registry and Redis: known-future inputs, pinning, drift, atomic
publication, staged chunks."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis

from fti.cache import predictions as cache
from fti.contracts import PinnedModel
from fti.features.model_inputs import KnownFutureMissing
from fti.features.schema import bins, drift_columns, model_inputs
from fti.monitoring.drift_check import DriftFailed
from fti.pipelines.champion import resolve_champion
from fti.pipelines.inference import (
    InferenceSchemaMismatch,
    check_inputs,
    forecast_inputs,
    origin_rows,
    plan_run,
    predict_chunk,
    publish,
)
from fti.registry import mlflow_registry as registry
from fti.resources import Resources
from fti.specs import DatasetSpec

pytestmark = pytest.mark.integration


def run_batch(
    resources: Resources,
    spec: DatasetSpec,
    airflow_run_id: str = "manual__1",
    pinned: PinnedModel | None = None,
) -> dict[str, Any]:
    """The DAG's steps in order, in this process (the DAG maps predict_chunk over the chunks)."""
    pinned = pinned or resolve_champion(resources, spec)
    checked = check_inputs(resources, spec, pinned, airflow_run_id)
    chunks = plan_run(resources, spec, pinned, checked, airflow_run_id)
    written = [predict_chunk(resources, spec, pinned, chunk) for chunk in chunks]
    published = publish(resources, spec, pinned, checked, chunks, written, airflow_run_id)
    return {"published": published, "chunks": chunks, "run": chunks[0].run, "checked": checked}


def run_values(client: redis.Redis, prefix: str, run: str) -> dict[bytes, dict[bytes, bytes]]:
    """Every hash of a run's namespace, by key: what readers can see of it."""
    keys = sorted(client.scan_iter(match=f"{prefix}:run:{run}:b:*"))
    return {key: client.hgetall(key) for key in keys}


def newest(resources: Resources, spec: DatasetSpec) -> tuple[Any, pd.DataFrame]:
    day = resources.store.committed_days(spec.feature_set)[-1]
    return day, resources.store.read(spec.feature_set, day, day)


def test_batch_publishes_every_entity_and_period_and_lookups_equal_the_champion(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    result = run_batch(resources, sales)

    day, rows = newest(resources, sales)
    prefix = resources.cache_prefix(sales)
    assert len(result["chunks"]) > 1, "the test store must need several chunks"
    meta = cache.live_run(redis_client, prefix)
    assert meta is not None and meta["model_version"] == result["published"].model_version
    assert int(meta["predictions"]) == len(rows) * sales.forecast.horizon
    assert meta["feature_partition"] == day.isoformat() and meta["drift_status"] in ("ok", "warn")
    assert (meta["grain"], meta["first_period"]) == ("week", (day + timedelta(weeks=1)).isoformat())

    pinned = resolve_champion(resources, sales)
    pipeline = registry.load_model(registry.ModelRef(pinned.name, pinned.version, pinned.run_id))
    origin = origin_rows(rows)
    sample = origin.iloc[[0, len(origin) // 2, len(origin) - 1]]
    inputs = forecast_inputs(resources, sales, pinned, sample)
    assert inputs["price"].notna().all(), "the planned prices of the forecast weeks were joined"
    expected = np.asarray(pipeline.predict(inputs[model_inputs(sales)]), dtype="float32")
    keys = inputs[["entity", "target_period"]].itertuples(index=False)
    for (entity, target), value in zip(keys, expected, strict=True):
        found, run = cache.lookup(redis_client, prefix, entity, sales.calendar.format(target))
        assert run == result["run"]
        assert found == pytest.approx(float(value), rel=1e-6)
    with pytest.raises(cache.PredictionNotFound):
        cache.lookup(redis_client, prefix, "S9|P9", (day + timedelta(weeks=1)).isoformat())
    with pytest.raises(cache.PredictionNotFound, match="outside live run"):
        cache.lookup(redis_client, prefix, origin["entity"].iloc[0], (day + timedelta(weeks=6)).isoformat())
    with pytest.raises(ValueError, match="is not the start of a week"):
        cache.lookup(redis_client, prefix, origin["entity"].iloc[0], (day + timedelta(days=8)).isoformat())
    assert not (Path(str(resources.settings.store_uri)) / "_staging" / "store_sales").exists() or not any(
        (Path(str(resources.settings.store_uri)) / "_staging" / "store_sales").iterdir()
    ), "publish removes the run's staged inputs"


def test_drift_scores_of_every_run_are_recorded(resources: Resources, sales: DatasetSpec) -> None:
    run_batch(resources, sales, "manual__drift-history")

    history = resources.store.drift_history(sales.feature_set)
    mine = history[history["run_id"] == "manual__drift-history"]
    assert sorted(mine["feature"]) == sorted(drift_columns(sales))
    assert mine["distance"].between(0, 1).all() and set(mine["status"]) <= {"ok", "warn"}


def test_each_step_logs_one_verdict_line_a_person_reads_at_a_glance(
    resources: Resources, sales: DatasetSpec, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fti.pipelines.inference"):
        result = run_batch(resources, sales, "manual__verdict-lines")

    said = [r.getMessage() for r in caplog.records if r.name == "fti.pipelines.inference"]
    checked, run = result["checked"], result["run"]

    def lines(pattern: str) -> list[str]:
        return [m for m in said if re.fullmatch(pattern, m)]

    drift = lines(rf"drift {checked.drift.status}: \d+ features, max \w+ \d\.\d{{3}} [<>] (warn|fail) [\d.]+")
    assert len(drift) == 1 and f"max {checked.drift.max_feature} " in drift[0], said
    assert len(lines(rf"planned {re.escape(run)}: \d+ entities x \d+ periods from .+")) == 1, said
    wrote = lines(r"chunk \d+ \(rows \d+\.\.\d+\): wrote \d+ predictions of \d+ entities \(model v\d+\)")
    assert len(wrote) == len(result["chunks"]), said
    assert len(lines(rf"LIVE {re.escape(run)}: .+")) == 1, said


def test_rerunning_the_same_logical_run_publishes_the_same_values(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    first = run_batch(resources, sales, "scheduled__2024-04-20")
    before = run_values(redis_client, resources.cache_prefix(sales), first["run"])

    again = run_batch(resources, sales, "scheduled__2024-04-20")

    assert again["run"] == first["run"]
    assert before and run_values(redis_client, resources.cache_prefix(sales), again["run"]) == before


def test_the_champion_is_pinned_even_if_the_alias_moves_during_the_run(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    pinned = resolve_champion(resources, sales)
    client, name = resources.registry, resources.model_name(sales)
    copied = client.copy_model_version(f"models:/{name}/{pinned.version}", name)
    for key, value in client.get_model_version(name, pinned.version).tags.items():
        client.set_model_version_tag(name, copied.version, key, value)
    try:
        checked = check_inputs(resources, sales, pinned, "manual__pinned")
        registry.set_alias(client, registry.ModelRef(name, str(copied.version), ""), registry.CHAMPION)
        chunks = plan_run(resources, sales, pinned, checked, "manual__pinned")
        written = [predict_chunk(resources, sales, pinned, c) for c in chunks]
        publish(resources, sales, pinned, checked, chunks, written, "manual__pinned")
    finally:
        registry.set_alias(client, registry.ModelRef(name, pinned.version, ""), registry.CHAMPION)

    meta = cache.live_run(redis_client, resources.cache_prefix(sales))
    assert meta is not None and meta["model_version"] == pinned.version != str(copied.version)


def test_drift_beyond_the_failure_threshold_stops_the_run_and_the_previous_batch_stays_live(
    own: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    previous = run_batch(own, sales, "manual__before-drift")
    prefix = own.cache_prefix(sales)
    live_before = cache.live_run(redis_client, prefix)
    keys_before = sorted(redis_client.keys("*"))
    day, rows = newest(own, sales)
    shifted = rows.copy()
    target_columns = [
        "units",
        "lag_1",
        "lag_2",
        "lag_4",
        "lag_52",
        "rolling_mean_4",
        "rolling_mean_13",
        "store_units",
    ]
    for column in target_columns:  # a broken upstream: every unit count 40 times too large
        shifted[column] = shifted[column] * 40 + 50
    own.store.write(sales.feature_set, day, shifted, bins=bins(sales))  # the latest week again, broken

    with pytest.raises(DriftFailed) as failed:
        run_batch(own, sales, "manual__drifted")

    assert "nothing was published" in str(failed.value) and "units: JS distance" in str(failed.value)
    assert cache.live_run(redis_client, prefix) == live_before
    assert sorted(redis_client.keys("*")) == keys_before, "a failed check writes nothing to Redis"
    assert (
        live_before is not None
        and live_before["feature_partition"] == previous["checked"].feature_partition.isoformat()
    )
    history = own.store.drift_history(sales.feature_set)
    drifted = history[history["run_id"] == "manual__drifted"]
    assert "fail" in set(drifted["status"]) and len(drifted) == len(drift_columns(sales))


def test_known_future_values_that_have_not_landed_stop_the_run_before_anything_is_written(
    own: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    day, rows = newest(own, sales)
    later = day + timedelta(weeks=4)  # a week whose plans (the next 4 weeks) have not landed
    own.store.write(
        sales.feature_set, later, rows.assign(period=rows["period"] + pd.Timedelta(weeks=4)), bins=bins(sales)
    )

    with pytest.raises(KnownFutureMissing) as failed:
        run_batch(own, sales, "manual__no-plans")

    assert "'price': " in str(failed.value) and (later + timedelta(weeks=4)).isoformat() in str(failed.value)
    assert redis_client.keys("*") == []


def test_features_of_a_newer_schema_version_need_a_retrained_champion(
    own: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    day, rows = newest(own, sales)
    later = day + timedelta(weeks=1)
    own.store.write(
        sales.feature_set, later, rows.assign(period=rows["period"] + pd.Timedelta(weeks=1), promo_flag=1.0)
    )

    with pytest.raises(InferenceSchemaMismatch, match=r"is at v2, .* was trained on v1: retrain"):
        run_batch(own, sales, "manual__new-schema")
    assert redis_client.keys("*") == []


def test_a_misspelt_drift_threshold_override_is_refused_by_name(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    typo = Resources(
        resources.settings.model_copy(update={"drift_thresholds": {"lag_l": (0.3, 0.5)}}), resources.redis_url
    )
    with pytest.raises(ValueError, match=r"drift thresholds name \['lag_l'\].*FTI_DRIFT_THRESHOLDS"):
        run_batch(typo, sales, "manual__typo")
    assert redis_client.keys("*") == []


def test_redis_down_fails_clearly_before_anything_is_written(
    resources: Resources, sales: DatasetSpec
) -> None:
    from fti.cache.connect import CacheUnavailable
    from tests.harness.services import free_port

    port = free_port()
    down = Resources(resources.settings, f"redis://127.0.0.1:{port}/0")
    pinned = resolve_champion(down, sales)
    checked = check_inputs(down, sales, pinned, "manual__redis-down")
    store = Path(str(down.settings.store_uri))
    files_before = store_files(store)

    with pytest.raises(CacheUnavailable, match=re.escape(f"127.0.0.1:{port}/0 is not reachable")):
        plan_run(down, sales, pinned, checked, "manual__redis-down")

    assert store_files(store) == files_before, "plan_run staged files before it knew Redis answers"


def store_files(root: Path) -> dict[str, int]:
    """Every file under ``root`` (the staging files included) with its modification time in ns."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_cache_that_may_evict_the_live_pointer_stops_the_run_before_anything_is_written(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    from fti.cache.memory import CacheMemoryRefused

    first = run_batch(resources, sales, "manual__before-lru")
    keys_before = sorted(redis_client.keys("*"))
    pinned = resolve_champion(resources, sales)
    checked = check_inputs(resources, sales, pinned, "manual__lru")
    redis_client.config_set("maxmemory", 2**30)
    redis_client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with pytest.raises(CacheMemoryRefused, match="maxmemory-policy is allkeys-lru, expected noeviction"):
            plan_run(resources, sales, pinned, checked, "manual__lru")
    finally:
        redis_client.config_set("maxmemory-policy", "noeviction")
        redis_client.config_set("maxmemory", 0)

    assert sorted(redis_client.keys("*")) == keys_before
    assert cache.live_run(redis_client, resources.cache_prefix(sales))["run"] == first["run"]  # type: ignore[index]
    assert not (Path(str(resources.settings.store_uri)) / "_staging" / "store_sales" / "manual__lru").exists()
