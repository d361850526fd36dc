"""Batch inference's prediction log: each chunk stages the rows it predicted, ``publish`` commits them.

A chunk stages its log rows *before* it writes to Redis, so every chunk Redis counted has its rows
staged; :func:`log_predictions` then commits the whole run (idempotent per run) before it goes live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fti.inference.prediction_log import log_rows
from fti.training.intervals import level_names

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from fti.contracts import CheckedInputs, ChunkPlan, PinnedModel
    from fti.resources import Resources
    from fti.specs import DatasetSpec
    from fti.store import FeatureStore
    from fti.store.prediction_log import LoggedRun


def stage_log_rows(
    store: FeatureStore, chunk: ChunkPlan, inputs: pd.DataFrame, values: np.ndarray, levels: Sequence[float]
) -> str:
    """Stage one chunk's log rows beside its staged inputs (the point, then each quantile level when
    ``values`` holds more than one value per period); the staged file's URI."""
    names = level_names(levels) if chunk.values_per_period > 1 else []
    return store.write_staging_beside(chunk.inputs.uri, _log_name(chunk), log_rows(inputs, values, names))


class PredictionLogIncomplete(RuntimeError):
    """The staged log rows of a run do not add up to the predictions planned: nothing was logged."""


def log_predictions(
    resources: Resources,
    spec: DatasetSpec,
    pinned: PinnedModel,
    checked: CheckedInputs,
    chunks: list[ChunkPlan],
    airflow_run_id: str,
) -> LoggedRun:
    """Commit every chunk's staged rows as the run's prediction log (idempotent per run).

    Raises:
        PredictionLogIncomplete: a chunk's rows are missing or the total is not the planned one.
    """
    import pandas as pd

    from fti.store.prediction_log import RunInfo

    store, first = resources.store, chunks[0]
    try:
        folder = first.inputs.uri.rsplit("/", 1)[0]
        parts = [store.read_staging(f"{folder}/{_log_name(c)}.parquet") for c in chunks]
    except FileNotFoundError as exc:
        raise PredictionLogIncomplete(f"run {first.run}: a chunk's log rows are missing ({exc})") from exc
    frame = pd.concat(parts, ignore_index=True)
    if len(frame) != first.expected_predictions:
        raise PredictionLogIncomplete(
            f"run {first.run}: {len(frame)} log rows staged, {first.expected_predictions} planned"
        )
    frame = frame.assign(run=first.run, model_name=pinned.name, model_version=pinned.version)
    info = RunInfo(
        dataset=spec.name,
        run=first.run,
        model_name=pinned.name,
        model_version=pinned.version,
        feature_set_version=pinned.lineage.feature_set_version,
        feature_partition=checked.feature_partition,
        first_period=pd.Timestamp(spec.calendar.parse(first.first_period)).to_pydatetime(),
        horizon=first.horizon,
        entities=checked.entities,
        airflow_run_id=airflow_run_id,
    )
    return store.commit_prediction_log(info, frame)


def _log_name(chunk: ChunkPlan) -> str:
    return f"log-{chunk.chunk_id}"
