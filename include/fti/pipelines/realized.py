"""Closing the loop: when actuals land, score every published run that predicted them.

:func:`score_realized` runs after ``feature_pipeline`` commits partitions: each published run of the
prediction log with a target period in those partitions is scored again from scratch on every actual
known now (:mod:`fti.monitoring.realized`) and its record replaced, so re-running a period recomputes
the same figures.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from fti.monitoring.realized import labelled_log_rows, score
from fti.store import documents
from fti.store.base import utcnow
from fti.store.realized import RealizedRecord

if TYPE_CHECKING:
    from fti.resources import Resources
    from fti.specs import DatasetSpec
    from fti.store.prediction_log import LoggedRun

log = logging.getLogger(__name__)


def score_realized(
    resources: Resources, spec: DatasetSpec, first: date | None, last: date | None
) -> list[RealizedRecord]:
    """Re-score the published runs with a target period in partitions ``[first, last]``; their records."""
    if first is None or last is None:
        return []
    store = resources.store
    runs = [r for r in store.logged_runs(spec.name, published_only=True) if _touches(r, spec, first, last)]
    records = []
    for logged in runs:
        record = score_run(resources, spec, logged)
        if record is None:
            continue
        store.record_realized(record)
        records.append(record)
        log.info(
            "REALIZED %s (model v%s): %s %s over %s rows of %s/%s periods; expected %s; best baseline %s %s",
            record.run, record.model_version, record.metric, record.value, record.row_count,
            record.periods, record.horizon, record.expected, record.best_baseline, record.best_baseline_value,
        )  # fmt: skip
    return records


def score_run(resources: Resources, spec: DatasetSpec, logged: LoggedRun) -> RealizedRecord | None:
    """The realized record of one logged run on the actuals known now; None when none has landed."""
    store, cal = resources.store, spec.calendar
    start = cal.next_partition(
        logged.feature_partition, -cal.partitions_for_periods(spec.model.training_window)
    )
    features = store.read(
        spec.feature_set, start, _last_partition(logged, spec), version=logged.feature_set_version
    )
    labelled = labelled_log_rows(store.read_prediction_log(logged), features, spec)
    found = score(labelled, features, spec)
    if found is None:
        return None
    metric = spec.model.metric
    best, best_value = found.best_baseline(metric)
    coverage = next((v for k, v in found.overall.items() if k.startswith("coverage_")), None)
    return RealizedRecord(
        dataset=spec.name,
        run=logged.run,
        model_name=logged.model_name,
        model_version=logged.model_version,
        feature_partition=logged.feature_partition,
        first_period=logged.first_period,
        horizon=logged.horizon,
        periods=found.periods,
        row_count=found.rows,
        last_actual=found.last_actual,
        metric=metric,
        value=_finite(found.overall[metric]),
        expected=_finite(expected_error(resources, logged, metric)),
        best_baseline=best,
        best_baseline_value=_finite(best_value),
        coverage=_finite(coverage),
        document_json=documents.dumps(asdict(found)),
        computed_at=utcnow(),
    )


def expected_error(resources: Resources, logged: LoggedRun, metric: str) -> float | None:
    """The held-out ``metric`` the run's model was registered with (``test_<metric>`` of its MLflow run)."""
    client = resources.registry
    run_id = client.get_model_version(logged.model_name, logged.model_version).run_id
    value = client.get_run(run_id).data.metrics.get(f"test_{metric}") if run_id else None
    return None if value is None else float(value)


def _touches(logged: LoggedRun, spec: DatasetSpec, first: date, last: date) -> bool:
    """Whether a target period of ``logged`` falls in partitions ``[first, last]``."""
    return spec.calendar.partition_start(logged.first_period.date()) <= last and _last_partition(
        logged, spec
    ) >= spec.calendar.partition_start(first)


def _last_partition(logged: LoggedRun, spec: DatasetSpec) -> date:
    cal = spec.calendar
    last = cal.start(cal.index(np.datetime64(logged.first_period, "us")) + logged.horizon - 1)
    return cal.partition_start(date.fromisoformat(str(np.datetime64(last, "D"))))


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
