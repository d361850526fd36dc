"""A point-in-time snapshot of a data set's feature store, and the labelled rows made from it.

Each training step re-reads the snapshot it needs (same feature sets, versions and ``as_of``: the
same rows, byte for byte), so the steps hand each other only small records and any can be retried.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from fti.features.model_inputs import add_planned_ratios, attach_future, attach_labels, expand_horizons
from fti.features.schema import ENTITY, PERIOD, future_columns, stored_columns
from fti.training.split import NotEnoughData

if TYPE_CHECKING:
    import pandas as pd

    from fti.contracts import TrainingRequest
    from fti.specs import DatasetSpec
    from fti.store.feature_store import FeatureStore
    from fti.store.history import PartitionInfo


class FeatureSetVersionNotFound(LookupError):
    """The requested feature-set version does not exist (or had nothing committed at ``as_of``)."""


class UnusableSnapshot(ValueError):
    """The snapshot's columns are not the ones the spec's model is built from."""


@dataclass(frozen=True)
class Snapshot:
    """A point-in-time read of the feature store and its lineage."""

    features: pd.DataFrame
    future: pd.DataFrame | None
    feature_set: str
    version: int
    future_version: int | None
    as_of: datetime
    start: date
    end: date
    partitions: list[PartitionInfo] = field(repr=False)

    @property
    def checksum(self) -> str:
        digest = frame_checksum(self.features)
        if self.future is not None:
            digest = hashlib.sha256((digest + frame_checksum(self.future)).encode()).hexdigest()
        return digest

    @property
    def validation_ids(self) -> list[str]:
        """Validation results linked by the partitions (one per run that committed them), sorted."""
        return sorted({p.validation_id for p in self.partitions if p.validation_id})

    @property
    def newest_validation(self) -> str | None:
        """The validation of the newest committed partition (it covers the newest data)."""
        linked = [p for p in self.partitions if p.validation_id]
        return max(linked, key=lambda p: (p.committed_at, p.id)).validation_id if linked else None

    def actuals(self, spec: DatasetSpec) -> pd.DataFrame:
        """``entity``, ``period`` and the target of every stored row (labels and baselines read these)."""
        return self.features[[ENTITY, PERIOD, spec.target.name]]


def take_snapshot(store: FeatureStore, spec: DatasetSpec, request: TrainingRequest) -> Snapshot:
    """The last ``request.window`` feature periods committed at ``as_of``, checked for the spec's columns.

    Raises:
        FeatureSetVersionNotFound: the requested version does not exist or had no commit by ``as_of``.
        NotEnoughData: nothing committed by ``as_of``.
        UnusableSnapshot: a stored column is missing, of another kind, or unknown to the spec.
    """
    from fti.store.feature_store import FeatureSetNotFound

    feature_set = spec.feature_set
    try:
        known = [v.version for v in store.versions(feature_set)]
        version = request.feature_set_version or store.latest_version(feature_set, request.as_of)
    except FeatureSetNotFound as exc:
        raise NotEnoughData(f"nothing to train {spec.name!r} on: {exc}") from exc
    if version not in known:
        raise FeatureSetVersionNotFound(
            f"feature set {feature_set!r} has no version {version}; versions: {known}"
        )
    days = store.committed_days(feature_set, version, request.as_of)
    if not days:
        raise FeatureSetVersionNotFound(
            f"feature set {feature_set!r} v{version} had nothing committed by {request.as_of.isoformat()}"
        )
    end = days[-1]
    start = window_start(spec, end, request.window)
    features = store.read(feature_set, start, end, as_of=request.as_of, version=version, verify="digest")
    features = _last_periods(features, spec, request.window)
    check_columns(features, stored_columns(spec), f"{feature_set} v{version}")
    future, future_version = _future_rows(store, spec, start, request.as_of)
    partitions = store.snapshot_partitions(feature_set, start, end, request.as_of, version)
    return Snapshot(
        features, future, feature_set, version, future_version, request.as_of, start, end, partitions
    )


def window_start(spec: DatasetSpec, last_partition: date, periods: int) -> date:
    """The first partition a window of ``periods`` feature periods ending in ``last_partition`` touches."""
    cal = spec.calendar
    last_period = cal.periods_of_partition(last_partition)[1]
    first = cal.start(last_period - periods + 1)
    return cal.partition_start(first.astype("datetime64[D]").item())


def _last_periods(features: pd.DataFrame, spec: DatasetSpec, periods: int) -> pd.DataFrame:
    """Rows of the last ``periods`` periods of the window's partitions (hourly partitions hold 24)."""
    if features.empty:
        return features
    index = spec.calendar.index(features[PERIOD].to_numpy(dtype="datetime64[us]"))
    keep = index > index.max() - periods
    return features[keep].reset_index(drop=True)


def _future_rows(
    store: FeatureStore, spec: DatasetSpec, start: date, as_of: datetime
) -> tuple[pd.DataFrame | None, int | None]:
    """The known-future rows from ``start`` on, as committed at ``as_of`` (None without such covariates)."""
    from fti.store.feature_store import FeatureSetNotFound

    if not spec.covariates.known_future:
        return None, None
    try:
        version = store.latest_version(spec.future_feature_set, as_of)
        days = store.committed_days(spec.future_feature_set, version, as_of)
    except FeatureSetNotFound:
        return None, None
    rows = store.read(spec.future_feature_set, start, days[-1], as_of=as_of, version=version, verify="digest")
    check_columns(rows, future_columns(spec), f"{spec.future_feature_set} v{version}")
    return rows, version


def check_columns(frame: pd.DataFrame, expected: list[str], name: str) -> None:
    """Refuse stored rows whose columns are not exactly the spec's, naming each offending column.

    A column the spec does not know is refused too rather than silently ignored: a schema change
    that adds a feature needs a spec (and model) that uses it.
    """
    import pandas as pd

    problems = [f"missing column {c!r}" for c in expected if c not in frame]
    problems += [f"column {c!r} ({frame[c].dtype}) is not in the spec" for c in frame if c not in expected]
    keys = {ENTITY, PERIOD}
    problems += [
        f"column {c!r} is {frame[c].dtype}, not numeric"
        for c in expected
        if c in frame
        and c not in keys
        and frame[c].dtype == object
        and not pd.api.types.is_string_dtype(frame[c])
    ]
    if problems:
        raise UnusableSnapshot(f"snapshot of {name} does not fit the spec: " + "; ".join(problems))


def labelled_rows(snapshot: Snapshot, spec: DatasetSpec) -> pd.DataFrame:
    """One row per entity, feature period and step whose target is known, with its label."""
    expanded = attach_future(expand_horizons(snapshot.features, spec), snapshot.future, spec)
    return attach_labels(add_planned_ratios(expanded, spec), snapshot.actuals(spec), spec)


def frame_checksum(frame: pd.DataFrame) -> str:
    """Content hash of a frame, recorded as lineage."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()
