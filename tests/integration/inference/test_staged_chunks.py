"""Staged chunks on a real store, MLflow registry and Redis: each chunk reads only its own files, checked
against the digests its plan carries, and the chunked batch is the batch of one whole-day prediction."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

from fti.features.schema import model_inputs
from fti.inference.prediction_log import POINT
from fti.pipelines.champion import resolve_champion
from fti.pipelines.inference import (
    check_inputs,
    forecast_inputs,
    origin_rows,
    plan_run,
    predict_chunk,
)
from fti.registry import mlflow_registry as registry
from fti.resources import Resources
from fti.specs import DatasetSpec
from fti.store.staging import StagedFileCorrupted
from fti.training.intervals import level_names
from fti.training.model import predict_quantiles
from tests.integration.inference.test_batch_inference import newest, run_batch, run_values

pytestmark = pytest.mark.integration


def test_each_chunk_stages_its_own_files_whose_digest_size_and_rows_its_plan_carries(
    resources: Resources, sales: DatasetSpec
) -> None:
    pinned = resolve_champion(resources, sales)
    checked = check_inputs(resources, sales, pinned, "manual__files")
    chunks = plan_run(resources, sales, pinned, checked, "manual__files")

    assert len(chunks) > 1, "the test store must need several chunks"
    assert len({c.inputs.uri for c in chunks}) == len(chunks), "one file per chunk"
    for chunk in chunks:
        assert chunk.planned is not None, "store_sales has known-future prices: staged per chunk too"
        for staged, rows in ((chunk.inputs, chunk.stop - chunk.start), (chunk.planned, 0)):
            payload = Path(staged.uri).read_bytes()
            assert (len(payload), hashlib.sha256(payload).hexdigest()) == (staged.size_bytes, staged.sha256)
            assert staged.rows == (rows or (chunk.stop - chunk.start) * chunk.horizon)
    whole = pd.concat([resources.store.read_staged(c.inputs) for c in chunks], ignore_index=True)
    assert whole["entity"].is_unique and len(whole) == checked.entities


def test_a_chunk_needs_only_its_own_files_not_the_feature_day_nor_other_chunks(
    resources: Resources, sales: DatasetSpec, tmp_path: Path
) -> None:
    pinned = resolve_champion(resources, sales)
    checked = check_inputs(resources, sales, pinned, "manual__alone")
    chunks = plan_run(resources, sales, pinned, checked, "manual__alone")
    for other in chunks[1:]:
        for staged in (other.inputs, other.planned):
            Path(staged.uri).unlink()  # type: ignore[union-attr]
    # A catalog that knows no partition at all: a chunk that read the feature day would fail.
    blind = resources.settings.model_copy(update={"catalog_url": f"sqlite:///{tmp_path / 'empty.db'}"})

    written = predict_chunk(Resources(blind, resources.redis_url), sales, pinned, chunks[0])

    assert written == (chunks[0].stop - chunks[0].start) * sales.forecast.horizon


def test_a_staged_file_changed_after_plan_run_fails_its_chunk_naming_the_file_and_both_digests(
    resources: Resources, sales: DatasetSpec
) -> None:
    pinned = resolve_champion(resources, sales)
    checked = check_inputs(resources, sales, pinned, "manual__tampered")
    chunks = plan_run(resources, sales, pinned, checked, "manual__tampered")
    target = chunks[1].inputs
    rows = resources.store.read_staged(target)
    column = rows.select_dtypes("float").columns[0]
    rows.loc[0, column] = rows[column].iloc[0] + 1
    resources.store.stage(sales.name, "inference__manual__tampered", Path(target.uri).stem, rows)
    seen = hashlib.sha256(Path(target.uri).read_bytes()).hexdigest()

    with pytest.raises(StagedFileCorrupted) as raised:
        predict_chunk(resources, sales, pinned, chunks[1])

    message = str(raised.value)
    assert target.uri in message and target.sha256 in message and seen in message
    assert predict_chunk(resources, sales, pinned, chunks[0]) > 0, "the other chunks are intact"


def test_a_batch_in_many_chunks_equals_one_prediction_of_the_whole_feature_day(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    chunked = run_batch(resources, sales, "manual__chunked")
    settings = resources.settings.model_copy(update={"inference_chunk_entities": 1_000_000})
    single = run_batch(Resources(settings, resources.redis_url), sales, "manual__one-chunk")
    prefix = resources.cache_prefix(sales)

    assert len(chunked["chunks"]) > 1 and len(single["chunks"]) == 1
    values = [run_values(redis_client, prefix, r["run"]) for r in (chunked, single)]
    by_bucket = [{key.rsplit(b":b:", 1)[1]: fields for key, fields in v.items()} for v in values]
    assert by_bucket[0] and by_bucket[0] == by_bucket[1], "Redis holds the same bytes either way"

    # Today's whole-day path: the partition read from the store, every origin row predicted at once.
    pinned = resolve_champion(resources, sales)
    pipeline = registry.load_model(registry.ModelRef(pinned.name, pinned.version, pinned.run_id))
    inputs = forecast_inputs(resources, sales, pinned, origin_rows(newest(resources, sales)[1]))
    features = inputs[model_inputs(sales)]
    names = level_names(pinned.lineage.levels)
    expected = pd.DataFrame(np.asarray(predict_quantiles(pipeline, features), dtype="float32"), columns=names)
    expected = expected.assign(
        entity=inputs["entity"].astype(str).to_numpy(),
        target_period=inputs["target_period"].astype("datetime64[ns]").to_numpy(),
        point=np.asarray(pipeline.predict(features), dtype="float32"),
    )
    logged = resources.store.read_prediction_log(resources.store.logged_run(sales.name, chunked["run"]))
    logged = logged.astype({"target_period": "datetime64[ns]"})
    joined = logged.merge(expected, on=["entity", "target_period"], suffixes=("", "_whole"), validate="1:1")
    assert len(joined) == len(logged) == len(expected)
    for column, mine in ((POINT, "point"), *((n, n) for n in names)):
        assert np.array_equal(joined[column].to_numpy(), joined[f"{mine}_whole"].to_numpy()), column
