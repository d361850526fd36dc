"""A batch-inference run's chunks as staged files: each chunk's origin rows, and their known-future rows.

:func:`fti.pipelines.inference.plan_run` stages them once; each ``predict_chunk`` task reads only its
own files, checked against the digests in its :class:`~fti.contracts.ChunkPlan`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.features.model_inputs import TARGET_PERIOD
from fti.features.schema import ENTITY, PERIOD, future_columns, key_columns
from fti.inference.inputs import forecast_inputs

if TYPE_CHECKING:
    import pandas as pd

    from fti.contracts import PinnedModel, StagedFile
    from fti.resources import Resources
    from fti.specs import DatasetSpec

ORIGIN, PLANNED = "origin", "planned"
"""Staging files of a run: the origin rows, and their known-future rows (``horizon`` rows each)."""


def staging_run(airflow_run_id: str) -> str:
    """The run's folder in the store's staging area (apart from a feature run of the same id)."""
    return f"inference__{airflow_run_id}"


def stage_chunks(
    resources: Resources, spec: DatasetSpec, pinned: PinnedModel, ordered: pd.DataFrame, run: str
) -> list[tuple[StagedFile, StagedFile | None]]:
    """Stage each chunk's origin rows (and their known-future rows) as files of their own, once."""
    store, size, horizon = resources.store, resources.settings.inference_chunk_entities, spec.forecast.horizon
    planned = None
    if spec.covariates.known_future:
        # In the same order (horizon rows per entity), so a chunk reads only its own entities'
        # known-future rows instead of every forecast partition of the whole run.
        expanded = forecast_inputs(resources, spec, pinned, ordered[[ENTITY, PERIOD]], planned_ratios=False)
        names = [c for c in future_columns(spec) if c not in key_columns(spec)]
        planned = expanded[[ENTITY, TARGET_PERIOD, *names]].rename(columns={TARGET_PERIOD: PERIOD})
    staged = []
    for i, start in enumerate(range(0, len(ordered), size)):
        inputs = store.stage(spec.name, run, f"{ORIGIN}-{i:05d}", ordered.iloc[start : start + size])
        future = None
        if planned is not None:
            rows = planned.iloc[start * horizon : (start + size) * horizon]
            future = store.stage(spec.name, run, f"{PLANNED}-{i:05d}", rows)
        staged.append((inputs, future))
    return staged
