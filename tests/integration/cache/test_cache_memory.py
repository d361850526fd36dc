"""Memory of a published run, as Redis itself accounts it: at most 20 bytes per prediction."""

from __future__ import annotations

import pytest
import redis

from fti.cache import layout
from tests.integration.cache.cache_data import (
    DAILY_WITH_QUANTILES,
    PREFIX,
    Publish,
    entities,
    values,
    with_quantiles,
)

pytestmark = pytest.mark.integration

N_ENTITIES, HORIZON = 100_000, 7
MAX_BYTES_PER_PREDICTION = 20


def test_a_run_of_100k_entities_takes_at_most_20_bytes_per_prediction(
    redis_client: redis.Redis, publish: Publish, record_property: pytest.RecordProperty
) -> None:
    redis_client.set("warm-up", 1)  # the keyspace's own first allocations are not the run's
    used_before = int(redis_client.info("memory")["used_memory"])

    plan = publish("run-a", entities(N_ENTITIES), values(N_ENTITIES, base=1.0), chunk=10_000)

    predictions = N_ENTITIES * HORIZON
    keys = list(redis_client.scan_iter(match=layout.run_pattern(PREFIX, "run-a"), count=10_000))
    pipe = redis_client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    per_key = sum(pipe.execute()) / predictions
    per_info = (int(redis_client.info("memory")["used_memory"]) - used_before) / predictions
    record_property("bytes_per_prediction_memory_usage", round(per_key, 2))
    record_property("bytes_per_prediction_used_memory", round(per_info, 2))
    print(f"bytes per prediction: MEMORY USAGE {per_key:.2f}, INFO used_memory {per_info:.2f}")

    assert len(keys) == plan.n_buckets + 2  # the buckets, the chunks and the meta
    assert per_key <= MAX_BYTES_PER_PREDICTION
    assert per_info <= MAX_BYTES_PER_PREDICTION
    encodings = {
        redis_client.object("encoding", layout.bucket_key(PREFIX, "run-a", b))
        for b in range(0, plan.n_buckets, 97)
    }
    assert encodings == {b"listpack"}


MAX_BYTES_PER_ENTITY_PERIOD_WITH_QUANTILES = 40


def test_a_point_and_three_quantiles_take_at_most_40_bytes_per_entity_period(
    redis_client: redis.Redis, publish: Publish, record_property: pytest.RecordProperty
) -> None:
    rows = with_quantiles(values(N_ENTITIES, base=1.0))

    publish("run-q", entities(N_ENTITIES), rows, chunk=10_000, calendar=DAILY_WITH_QUANTILES)

    keys = list(redis_client.scan_iter(match=layout.run_pattern(PREFIX, "run-q"), count=10_000))
    pipe = redis_client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    per_entity_period = sum(pipe.execute()) / (N_ENTITIES * HORIZON)
    record_property("bytes_per_entity_period_with_3_quantiles", round(per_entity_period, 2))
    print(f"bytes per entity-period, point + P10/P50/P90: MEMORY USAGE {per_entity_period:.2f}")

    assert 16 <= per_entity_period <= MAX_BYTES_PER_ENTITY_PERIOD_WITH_QUANTILES  # 4 float32 at least
