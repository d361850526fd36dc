"""The checks of a batch's inputs before anything is written: the champion's signature, drift thresholds,
the training snapshot's histograms."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fti.features.schema import bins, drift_columns, model_inputs
from fti.inference.inputs import InferenceSchemaMismatch
from fti.monitoring.drift_check import DriftPolicy, Thresholds

if TYPE_CHECKING:
    import pandas as pd

    from fti.contracts import PinnedModel
    from fti.resources import Resources
    from fti.settings import Settings
    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)


def drift_policy(settings: Settings, spec: DatasetSpec) -> DriftPolicy:
    """Thresholds from the settings (a default pair, per-feature overrides) for the spec's drift columns.

    Raises:
        ValueError: an override names a feature the data set does not score.
    """
    overrides = {name: Thresholds(*pair) for name, pair in settings.drift_thresholds.items()}
    default = Thresholds(settings.drift_warn, settings.drift_fail)
    return DriftPolicy(default=default, overrides=overrides, features=drift_columns(spec))


def check_schema(inputs: pd.DataFrame, spec: DatasetSpec, signature: dict[str, str]) -> None:
    """The model inputs built from tonight's rows must be the signature's columns, each of its kind.

    Raises:
        InferenceSchemaMismatch: naming every missing, extra or retyped column.
    """
    import pandas as pd

    columns = model_inputs(spec)
    problems = [f"model expects {c!r}, the inputs do not have it" for c in signature if c not in columns]
    problems += [f"{c!r} is not in the model's signature" for c in columns if c not in signature]
    for column, kind in signature.items():
        if column in inputs and (kind == "string") == pd.api.types.is_numeric_dtype(inputs[column]):
            problems.append(f"{column!r} is {inputs[column].dtype}, the signature says {kind}")
    if problems:
        raise InferenceSchemaMismatch(
            "inference inputs do not match the champion's signature (retrain after a spec change): "
            + "; ".join(problems)
        )


def signature_inputs(resources: Resources, pinned: PinnedModel) -> dict[str, str]:
    """The champion's MLflow signature inputs: column -> type name."""
    from mlflow.models import get_model_info

    resources.registry  # noqa: B018 - each task is a process of its own: point MLflow at the registry first
    info = get_model_info(pinned.uri)
    if info.signature is None:
        raise InferenceSchemaMismatch(f"champion {pinned.name} v{pinned.version} has no signature")
    return {
        str(spec.name): str(spec.type.name if hasattr(spec.type, "name") else spec.type)
        for spec in info.signature.inputs.inputs
    }


def reference_histograms(
    resources: Resources, spec: DatasetSpec, pinned: PinnedModel
) -> dict[str, list[int]]:
    """Each scored column's counts over the champion's training snapshot, from the store's statistics."""
    from fti.analysis.drift import column_histogram
    from fti.store.feature_store import StatisticsNotFound

    lineage, store = pinned.lineage, resources.store
    span = (spec.feature_set, lineage.snapshot_start, lineage.snapshot_end)
    columns = drift_columns(spec)
    try:
        return {
            c: list(
                store.histogram(
                    span[0], c, span[1], span[2], lineage.as_of, lineage.feature_set_version
                ).counts
            )
            for c in columns
        }
    except StatisticsNotFound:
        log.warning("training partitions have no statistics: counting the snapshot's rows instead")
        rows = store.read(*span, as_of=lineage.as_of, version=lineage.feature_set_version, verify="digest")
        edges = bins(spec)
        return {c: column_histogram(rows[c], c, edges).tolist() for c in columns}
