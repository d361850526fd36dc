"""When a scheduled run skips instead of working: pure decisions, one per pipeline.

The scheduler starts a run for the interval that just ended as soon as a DAG is unpaused. A run that
cannot succeed (its raw files have not landed, there is no champion yet) or has nothing to do (the
model would learn the very snapshot it was trained on) ends at once as *skipped*, never failed and
never retried, so a manual run is not held behind it (``max_active_runs=1``). Each decision returns the
reason (one line a person reads) or None to run. Only ``scheduled`` runs skip: a manual run, a
backfill and an Asset-triggered run (a retraining request) always do their work and fail loudly when
they cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fti.specs import DatasetSpec

SCHEDULED = "scheduled"
"""Airflow's run type of a run the timetable created (``DagRunType.SCHEDULED``)."""


def skips_when_idle(run_type: str, requested: str | None = None) -> bool:
    """Whether a run may skip: a scheduled run that names no partition of its own."""
    return run_type == SCHEDULED and not requested


def feature_skip(
    spec: DatasetSpec,
    raw_dir: Path,
    run_type: str,
    requested: str | None,
    partitions: Sequence[date],
    landed: Sequence[date],
) -> str | None:
    """Why a scheduled feature run skips: a partition of its interval has not landed (None: run).

    A look-back file that is missing while the run's own partitions have landed is a gap, not a
    wait: that run goes on and fails in ``validate_raw`` naming every missing file.
    """
    if not skips_when_idle(run_type, requested):
        return None
    have = set(landed)
    missing = [day for day in partitions if day not in have]
    if not missing:
        return None
    from fti.data.source import landing_dir, partition_path

    folder = landing_dir(spec, raw_dir)
    if spec.source.layout == "pattern":
        days = ", ".join(d.isoformat() for d in missing)
        files = f"no row of {days} in files matching {spec.source.pattern!r}"
    else:
        files = ", ".join(partition_path(spec, raw_dir, d).name for d in missing)
    newest = f"newest landed partition: {max(landed)}" if landed else "no partition has landed yet"
    return (
        f"scheduled run of {spec.name} partition {', '.join(d.isoformat() for d in partitions)} skipped: "
        f"its raw data has not landed in {folder} ({files}); {newest}. Land it with "
        f"`fti data land --dataset {spec.name} FILE...`, then clear this run, or trigger "
        f"feature_pipeline__{spec.name} manually: without `partition` it commits every landed partition "
        "the store lacks."
    )


@dataclass(frozen=True)
class SnapshotKey:
    """What makes two trainings learn the same thing: the snapshot's content and the spec's file."""

    checksum: str
    spec_sha256: str
    start: date
    end: date


def training_skip(
    dataset: str,
    run_type: str,
    pending_requests: int,
    snapshot: SnapshotKey | None,
    trained: Mapping[str, SnapshotKey],
) -> str | None:
    """Why a scheduled training run skips: nothing new to learn (None: train).

    Args:
        pending_requests: retraining requests not answered yet; any of them makes the run train.
        snapshot: the snapshot the run would read; None when no feature partition is committed.
        trained: registered versions (``"champion v3"``, ``"latest v4"``) and what each learnt.
    """
    if not skips_when_idle(run_type) or pending_requests:
        return None
    manual = f"trigger training_pipeline__{dataset} manually to train anyway"
    if snapshot is None:
        return (
            f"scheduled training of {dataset} skipped: no feature partition is committed yet. "
            f"Run feature_pipeline__{dataset} first (trigger it manually), then {manual}."
        )
    same = [label for label, key in trained.items() if key == snapshot]
    if not same:
        return None
    return (
        f"scheduled training of {dataset} skipped: nothing new to learn; the snapshot "
        f"{snapshot.start}..{snapshot.end} (checksum {snapshot.checksum[:12]}) and the spec are the ones "
        f"{' and '.join(same)} learnt. The next scheduled run trains once new feature partitions are "
        f"committed; {manual}."
    )


def inference_skip(dataset: str, run_type: str, champion: str | None) -> str | None:
    """Why a scheduled batch-inference run skips: there is no champion yet (None: run)."""
    if not skips_when_idle(run_type) or champion is not None:
        return None
    return (
        f"scheduled batch inference of {dataset} skipped: no model has the alias 'champion' yet. Train "
        f"and promote one first (trigger training_pipeline__{dataset}; its gate promotes a model that "
        f"beats the baselines), then trigger batch_inference__{dataset} or wait for its next run."
    )
