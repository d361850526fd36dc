"""What a batch predicts from: the newest partition, its origin rows, known-future rows, model inputs."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from fti.features.model_inputs import (
    TARGET_PERIOD,
    add_planned_ratios,
    attach_future,
    check_future_complete,
    expand_horizons,
)
from fti.features.schema import ENTITY, PERIOD

if TYPE_CHECKING:
    import pandas as pd

    from fti.contracts import PinnedModel
    from fti.resources import Resources
    from fti.specs import DatasetSpec
    from fti.store.integrity import VerifyMode


class InferenceSchemaMismatch(ValueError):
    """Tonight's inputs are not the columns or types the champion was trained on."""


def inference_partition(resources: Resources, spec: DatasetSpec, pinned: PinnedModel) -> date:
    """The newest partition of the champion's feature-set version committed at the pinned time.

    Raises:
        InferenceSchemaMismatch: a newer feature-set version holds newer partitions: the schema
            changed after the champion was trained, so it must be retrained before it predicts them.
    """
    store, as_of, version = resources.store, pinned.read_as_of, pinned.lineage.feature_set_version
    latest = store.latest_version(spec.feature_set, as_of)
    days = store.committed_days(spec.feature_set, version, as_of)
    newer = store.committed_days(spec.feature_set, latest, as_of) if latest != version else []
    if latest != version and (not days or newer[-1] > days[-1]):
        raise InferenceSchemaMismatch(
            f"feature set {spec.feature_set!r} is at v{latest}, the champion {pinned.name} v{pinned.version} "
            f"was trained on v{version}: retrain on the new version before predicting its partitions"
        )
    return days[-1]


def partition_rows(
    resources: Resources, spec: DatasetSpec, pinned: PinnedModel, day: date, verify: VerifyMode | None = None
) -> pd.DataFrame:
    """The feature rows of one partition, as committed at the pinned time (``verify``: see ``read``)."""
    version = pinned.lineage.feature_set_version
    store = resources.store
    return store.read(spec.feature_set, day, day, as_of=pinned.read_as_of, version=version, verify=verify)


def origin_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows at the partition's last period (the forecast origin), sorted by entity."""
    if rows.empty:
        return rows
    origin = rows[PERIOD].max()
    at = rows[rows[PERIOD] == origin]
    return at.sort_values(ENTITY, kind="stable").reset_index(drop=True)


def future_rows(resources: Resources, spec: DatasetSpec, pinned: PinnedModel, first: date, last: date) -> Any:
    """Known-future rows of partitions ``first`` .. ``last`` at the pinned time (None without any)."""
    from fti.store.feature_store import FeatureSetNotFound

    if not spec.covariates.known_future:
        return None
    try:
        return resources.store.read(spec.future_feature_set, first, last, as_of=pinned.read_as_of)
    except FeatureSetNotFound:
        return None


def forecast_inputs(
    resources: Resources,
    spec: DatasetSpec,
    pinned: PinnedModel,
    origin: pd.DataFrame,
    planned: pd.DataFrame | None = None,
    planned_ratios: bool = True,
) -> pd.DataFrame:
    """Origin rows expanded to every forecast period, with the known-future covariates joined and the
    planned ratios computed.

    ``planned``: the known-future rows to join (a chunk's staged slice); default: read from the store.
    ``planned_ratios``: False when ``origin`` holds only the keys (staging the known-future rows).

    Raises:
        KnownFutureMissing: a known-future covariate has not landed for a forecast period.
    """
    expanded = expand_horizons(origin, spec)
    if spec.covariates.known_future and len(expanded):
        if planned is None:
            periods = expanded[TARGET_PERIOD].to_numpy(dtype="datetime64[us]")
            first, last = (
                spec.calendar.partition_start(p.astype("datetime64[D]").item())
                for p in (periods.min(), periods.max())
            )
            planned = future_rows(resources, spec, pinned, first, last)
        expanded = attach_future(expanded, planned, spec)
        check_future_complete(expanded, spec)
        if planned_ratios:
            expanded = add_planned_ratios(expanded, spec)
    return expanded
