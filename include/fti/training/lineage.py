"""A model's lineage: everything needed to rebuild its exact training data later, as tags and a document."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

from fti.contracts import Lineage, TrainingRequest
from fti.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from fti.settings import Settings
    from fti.specs import DatasetSpec
    from fti.training.snapshot import Snapshot
    from fti.training.split import TimeSplit


def code_version() -> str:
    """The git commit of the checkout (``+dirty`` with uncommitted changes), or the package version."""
    try:
        git = ["git", "-C", str(PROJECT_ROOT)]
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        from importlib.metadata import version

        return f"fti-airflow=={version('fti-airflow')}"


def build_lineage(
    settings: Settings,
    spec: DatasetSpec,
    request: TrainingRequest,
    snapshot: Snapshot,
    split: TimeSplit,
    code: str,
    fit_rows: int | None = None,
) -> Lineage:
    """Everything needed to rebuild the exact training data later (set as tags of run and version)."""
    cal = spec.calendar
    test_periods = split.test["period"]
    return Lineage(
        environment=settings.env.value,
        dataset=spec.name,
        spec_sha256=spec.source_sha256 or "none",
        feature_set=snapshot.feature_set,
        feature_set_version=snapshot.version,
        future_feature_set_version=snapshot.future_version,
        as_of=snapshot.as_of,
        window=request.window,
        snapshot_start=snapshot.start,
        snapshot_end=snapshot.end,
        snapshot_rows=len(snapshot.features),
        snapshot_checksum=snapshot.checksum,
        train_rows=len(split.train),
        validation_rows=len(split.validation),
        test_rows=len(split.test),
        test_start=cal.format(test_periods.min()),
        test_end=cal.format(test_periods.max()),
        horizon=spec.forecast.horizon,
        gap=spec.forecast.gap,
        validation_id=snapshot.newest_validation or "none",
        validation_ids=len(snapshot.validation_ids),
        code_version=code,
        tuned=request.tune,
        quantiles=",".join(f"{level:g}" for level in spec.model.quantiles),
        refit=fit_rows is not None,
        fit_rows=fit_rows,
    )


def lineage_document(snapshot: Snapshot, tuning: dict[str, Any]) -> dict[str, Any]:
    """Every partition and validation of the snapshot, and the tuning: the run's ``lineage.json``."""
    return {
        "feature_set": snapshot.feature_set,
        "version": snapshot.version,
        "future_version": snapshot.future_version,
        "as_of": snapshot.as_of.isoformat(),
        "partitions": [
            {"day": p.day.isoformat(), "id": p.id, "checksum": p.checksum, "validation_id": p.validation_id}
            for p in snapshot.partitions
        ],
        "validation_ids": snapshot.validation_ids,
        "tuning": tuning,
    }
