"""Closing the loop: when actuals land, score every published run that predicted them.

:func:`score_realized` runs after ``feature_pipeline`` commits partitions: each published run of the
prediction log with a target period in those partitions is scored again from scratch on every actual
known now (:mod:`fti.monitoring.realized`) and its record replaced, so re-running a period recomputes
the same figures. :func:`judge_decay` then compares the champion's realized error with its held-out
error (:mod:`fti.monitoring.decay`) and, when it fails, records a retraining request.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from fti.contracts import CommitSummary, LoopCheck
from fti.monitoring.decay import DecayPolicy, DecayStatus, DecayVerdict, decay_verdict
from fti.monitoring.realized import labelled_log_rows, score
from fti.store import documents
from fti.store.base import utcnow
from fti.store.realized import RealizedRecord, RetrainRequest

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


@dataclass(frozen=True)
class DecayOutcome:
    """A decay verdict, as recorded, and the retraining request it made (None: none was needed, one was
    pending already, or the last one is too recent)."""

    verdict: DecayVerdict
    verdict_id: int
    request: RetrainRequest | None

    def alert(self) -> dict[str, Any]:
        """The webhook body (``text`` for people, fields for machines)."""
        asked = f"retraining requested (#{self.request.id})" if self.request else "no new retraining request"
        v = self.verdict
        return {
            "text": f"[fti] {v.dataset}: model decay {v.status.value.upper()}: {v.reason}; {asked}",
            "dataset": v.dataset,
            "status": v.status.value,
            "ratio": v.ratio,
            "model_version": v.model_version,
            "runs": list(v.runs),
            "request_id": self.request.id if self.request else None,
        }


def judge_decay(resources: Resources, spec: DatasetSpec) -> DecayOutcome | None:
    """The decay verdict on the champion from the realized records; a failing one asks for retraining.

    None when there is no champion yet. A request is made at most once per
    ``FTI_RETRAIN_MIN_INTERVAL_HOURS`` and never while one is pending (see
    :meth:`fti.store.realized.DecayMixin.request_retraining`).
    """
    from fti.registry.mlflow_registry import CHAMPION, ModelNotFound, resolve_alias

    settings = resources.settings
    try:
        version = resolve_alias(resources.registry, resources.model_name(spec), CHAMPION).version
    except ModelNotFound:
        return None
    policy = DecayPolicy(settings.decay_warn, settings.decay_fail, settings.decay_window_runs)
    verdict = decay_verdict(spec.name, version, resources.store.realized(spec.name), policy)
    verdict_id = resources.store.record_verdict(verdict)
    request = None
    if verdict.status is DecayStatus.FAIL:
        interval = timedelta(hours=settings.retrain_min_interval_hours)
        request = resources.store.request_retraining(spec.name, verdict.reason, verdict_id, interval)
    log.info("DECAY %s: %s; %s", verdict.status.value, verdict.reason,
             f"retraining request #{request.id}" if request else "no new retraining request")  # fmt: skip
    return DecayOutcome(verdict, verdict_id, request)


def close_the_loop(resources: Resources, spec: DatasetSpec, committed: CommitSummary) -> LoopCheck:
    """After a feature commit: score the runs whose actuals landed, judge decay, alert on warn or fail."""
    from fti import notify

    records = score_realized(resources, spec, committed.first, committed.last)
    outcome = judge_decay(resources, spec) if records else None
    if outcome is None:
        why = "no champion" if records else "no published run has a target period in the committed partitions"
        log.info("DECAY not judged: %s", why)
        return LoopCheck(dataset=spec.name, scored=[r.run for r in records])
    if outcome.verdict.status in (DecayStatus.WARN, DecayStatus.FAIL):
        notify.send_alert(outcome.alert(), f"the decay verdict of {spec.name}")
    return LoopCheck(
        dataset=spec.name,
        scored=[r.run for r in records],
        decay=outcome.verdict.status.value,
        ratio=outcome.verdict.ratio,
        reason=outcome.verdict.reason,
        request_id=outcome.request.id if outcome.request else None,
    )


def consume_retraining(resources: Resources, spec: DatasetSpec, training_run: str) -> list[int]:
    """Mark every pending retraining request of the data set as answered by ``training_run``; their ids."""
    answered = resources.store.consume_retrain_requests(spec.name, training_run)
    for request in answered:
        log.info(
            "answering retraining request #%s of %s: %s", request.id, request.requested_at, request.reason
        )
    return [r.id for r in answered]


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
