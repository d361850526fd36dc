"""What a training run is asked to do, and why a scheduled one skips: nothing new to learn.

The training DAG's first task calls both before :func:`fti.pipelines.training.check_inputs`: the
request comes from the DAG params; a scheduled run without a pending retraining request skips when
the champion or the newest registered version already learnt tonight's snapshot
(:func:`fti.pipelines.scheduled.training_skip`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fti.contracts import Lineage, TrainingRequest
from fti.pipelines.scheduled import SnapshotKey
from fti.registry import mlflow_registry as registry
from fti.training.snapshot import take_snapshot

if TYPE_CHECKING:
    from fti.resources import Resources
    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)


def parse_request(params: dict[str, Any], spec: DatasetSpec, now: datetime | None = None) -> TrainingRequest:
    """A :class:`TrainingRequest` from DAG params (``as_of`` ISO text or None, version, window, tune)."""
    as_of_text = params.get("as_of")
    as_of = datetime.fromisoformat(as_of_text) if as_of_text else (now or datetime.now(UTC))
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    version = params.get("feature_set_version")
    return TrainingRequest(
        dataset=spec.name,
        as_of=as_of,
        window=int(params.get("window") or spec.model.training_window),
        feature_set_version=int(version) if version not in (None, "") else None,
        tune=bool(params.get("tune", False)),
    )


def nothing_new(
    resources: Resources, spec: DatasetSpec, request: TrainingRequest, run_type: str
) -> str | None:
    """Why a scheduled run skips (:func:`fti.pipelines.scheduled.training_skip`); None: it trains.

    Reads the snapshot only for a scheduled run without a pending retraining request.
    """
    from fti.pipelines.scheduled import skips_when_idle, training_skip
    from fti.training.snapshot import FeatureSetVersionNotFound
    from fti.training.split import NotEnoughData

    if not skips_when_idle(run_type):
        return None
    pending = len(resources.store.retrain_requests(spec.name, pending_only=True))
    if pending:
        return None
    try:
        snapshot = take_snapshot(resources.store, spec, request)
    except (NotEnoughData, FeatureSetVersionNotFound):
        key = None
    else:
        key = SnapshotKey(snapshot.checksum, spec.source_sha256 or "none", snapshot.start, snapshot.end)
    reason = training_skip(spec.name, run_type, pending, key, trained_on(resources, spec))
    if reason:
        log.info("%s", reason)
    return reason


def trained_on(resources: Resources, spec: DatasetSpec) -> dict[str, SnapshotKey]:
    """What the champion and the newest registered version learnt (by their lineage tags), by label."""
    found = registry.champion_and_newest(resources.registry, resources.model_name(spec))
    keys = {}
    for label, tags in found.items():
        if not Lineage.missing_tags(tags):
            lineage = Lineage.from_tags(tags)
            keys[label] = SnapshotKey(
                lineage.snapshot_checksum, lineage.spec_sha256, lineage.snapshot_start, lineage.snapshot_end
            )
    return keys
