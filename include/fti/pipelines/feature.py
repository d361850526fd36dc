"""Feature pipeline steps: plan the partitions, validate their raw rows once, compute and commit features.

1. :func:`plan_partitions`: a scheduled run processes the partition of its data interval; a manual
   run the one asked for, or every landed partition with a full look-back the store lacks.
2. :func:`validate_raw`: checks that every file the run reads (its partitions AND their look-back)
   has landed, naming all that have not; reads them once; validates them with the spec's raw suite
   (and the early-landed future partitions with the known-future suite); records the result; stages
   the validated rows. Nothing is committed when any of it fails.
3. :func:`build_and_commit`: computes the features from exactly the staged rows, checks them with
   the feature suite, and commits one partition per period of the run (and the known-future rows).
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from fti.contracts import CommitSummary, RawCheck

if TYPE_CHECKING:
    import pandas as pd

    from fti.resources import Resources
    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)

RAW = "raw"
FUTURE = "future"


def lookback_partitions(spec: DatasetSpec) -> int:
    """Partitions before a run's first one that its features read."""
    return spec.calendar.partitions_for_periods(spec.features.lookback)


def lookahead_partitions(spec: DatasetSpec) -> int:
    """Partitions after a run's last one whose known-future rows it commits (none without such covariates)."""
    if not spec.covariates.known_future:
        return 0
    return spec.calendar.partitions_for_periods(spec.forecast.gap + spec.forecast.horizon)


def pending_partitions(resources: Resources, spec: DatasetSpec) -> list[date]:
    """Landed partitions with a full look-back of landed history that the store has not committed yet.

    Raises:
        RawDataMissing: nothing has landed for the data set.
    """
    from fti.data.source import RawDataMissing, landed_partitions, landing_dir
    from fti.store.feature_store import FeatureSetNotFound

    raw_dir = resources.settings.raw_dir
    assert raw_dir is not None
    landed = landed_partitions(spec, raw_dir)
    if not landed:
        raise RawDataMissing(
            f"no raw files of {spec.name!r} in {landing_dir(spec, raw_dir)}: land them first "
            f"(`fti data land --dataset {spec.name} FILE...`)"
        )
    first = spec.calendar.next_partition(landed[0], lookback_partitions(spec))
    try:
        committed = set(resources.store.committed_days(spec.feature_set))
    except FeatureSetNotFound:
        committed = set()
    return [d for d in landed if d >= first and d not in committed]


def plan_partitions(
    resources: Resources, spec: DatasetSpec, requested: str | None, run_type: str, interval_start: date | None
) -> list[date]:
    """The partitions a run processes (see the module docstring).

    Raises:
        ValueError: ``requested`` is not a date.
    """
    cal = spec.calendar
    if requested:
        return [cal.partition_start(date.fromisoformat(requested))]
    if run_type in ("scheduled", "backfill") and interval_start is not None:
        return [cal.partition_start(interval_start)]
    return pending_partitions(resources, spec)


def waiting_for_data(
    resources: Resources, spec: DatasetSpec, run_type: str, requested: str | None, partitions: list[date]
) -> str | None:
    """Why a scheduled run skips: its partition's raw data has not landed (None: it runs); see
    :func:`fti.pipelines.scheduled.feature_skip`."""
    from fti.data.source import landed_partitions
    from fti.pipelines.scheduled import feature_skip, skips_when_idle

    reason = None
    if skips_when_idle(run_type, requested):
        raw_dir = resources.settings.raw_dir
        assert raw_dir is not None
        reason = feature_skip(
            spec, raw_dir, run_type, requested, partitions, landed_partitions(spec, raw_dir)
        )
    log.info("%s", reason or _plan_line(partitions))
    return reason


def _plan_line(partitions: list[date]) -> str:
    """The plan task's verdict when the run goes ahead."""
    if not partitions:
        return "plan: nothing to do, every landed partition is committed"
    return f"plan: {len(partitions)} partition(s), {min(partitions)}..{max(partitions)}"


def validate_raw(resources: Resources, spec: DatasetSpec, partitions: list[date], run_id: str) -> RawCheck:
    """Validate every raw row the run reads, record the result, stage the rows (see module docstring).

    Raises:
        RawDataMissing: a file of the run or of its look-back has not landed (all are named).
        RawSchemaMismatch: a file is not the spec's format or columns (naming file and column).
        ValidationFailed: naming each failing expectation and its observed value; nothing is committed.
    """
    from fti.data.source import read_future, read_partitions
    from fti.validation.raw_suite import build_future_suite, build_raw_suite
    from fti.validation.runner import validate

    if not partitions:
        log.info("raw ok: nothing to validate, no partition planned")
        return RawCheck(dataset=spec.name, partitions=[])
    raw_dir = resources.settings.raw_dir
    assert raw_dir is not None
    cal = spec.calendar
    first, last = min(partitions), max(partitions)
    read_first = cal.next_partition(first, -lookback_partitions(spec))
    started = time.monotonic()
    raw = read_partitions(spec, raw_dir, read_first, last)
    future = read_future(
        spec, raw_dir, cal.next_partition(last), cal.next_partition(last, lookahead_partitions(spec))
    )
    log.info(
        "read %d raw rows of %s..%s (%d partitions with look-back) and %d early future rows in %.1f s",
        len(raw),
        read_first,
        last,
        len(cal.partitions(read_first, last)),
        len(future),
        time.monotonic() - started,
    )
    suites = [build_raw_suite(spec, read_first, last)]
    reports = [validate(raw, suites[0], name=f"raw {spec.name} {read_first}..{last}")]
    if len(future):
        horizon_end = cal.next_partition(last, lookahead_partitions(spec))
        suites.append(build_future_suite(spec, cal.next_partition(last), horizon_end))
        reports.append(validate(future, suites[1], name=f"future {spec.name}"))
    report = reports[0]
    # Great Expectations leaves a suite's meta out of its result: keep it, so the stored document says
    # which interval and which spec (name, SHA-256 of the file) judged the data.
    document = {
        "spec": {"name": spec.name, "sha256": spec.source_sha256},
        "suites": [dict(suite.meta) for suite in suites],
        "results": [r.result_json for r in reports],
    }
    summary = {**report.summary(), "failed": sum(len(r.failures) for r in reports)}
    success = all(r.success for r in reports)
    validation_id = resources.store.record_validation(
        spec.feature_set, run_id, read_first, last, success, summary, document
    )
    for r in reports:
        r.raise_for_failures()
    uri = resources.store.write_staging(spec.name, run_id, RAW, raw)
    if len(future):
        resources.store.write_staging(spec.name, run_id, FUTURE, future)
    log.info(
        "raw ok: %d expectations on %d rows (%s..%s), validation %s",
        summary.get("evaluated") or 0,
        len(raw),
        read_first,
        last,
        validation_id,
    )
    return RawCheck(
        dataset=spec.name,
        partitions=sorted(partitions),
        read_first=read_first,
        validation_id=validation_id,
        evaluated=int(summary.get("evaluated") or 0),
        failed=0,
        rows=len(raw),
        future_rows=len(future),
        staging_uri=uri,
    )


def compute(
    spec: DatasetSpec,
    raw: pd.DataFrame,
    future: pd.DataFrame | None,
    partitions: list[date],
    raw_dir: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Feature rows of ``partitions`` and known-future rows of them and the look-ahead, from raw rows.

    One panel serves both: the planned rows of later partitions add known-future values and never
    touch the periods the features are computed for.
    """
    import numpy as np
    import pandas as pd

    from fti.features.aggregate import to_panel
    from fti.features.engine import build_features, build_future

    cal = spec.calendar
    first_period = cal.start(cal.periods_of_partition(min(partitions))[0])
    last_period = cal.start(cal.periods_of_partition(max(partitions))[1])
    rows = raw if future is None or future.empty else pd.concat([raw, future], ignore_index=True)
    panel = to_panel(rows, spec)
    features = build_features(panel, spec, first_period, last_period, attributes(spec, rows, raw_dir))
    keep = cal.partition_of(features["period"].to_numpy(dtype="datetime64[us]"))
    wanted = np.array(partitions, dtype="datetime64[D]")
    features = features[np.isin(keep, wanted)].reset_index(drop=True)
    if not spec.covariates.known_future:
        return features, None
    last_future = cal.start(
        cal.periods_of_partition(cal.next_partition(max(partitions), lookahead_partitions(spec)))[1]
    )
    return features, build_future(panel, spec, first_period, last_future)


def attributes(spec: DatasetSpec, rows: pd.DataFrame, raw_dir: Path | None) -> pd.DataFrame | None:
    """The static attributes of the entities: from the spec's attributes file (in the landing folder
    under ``raw_dir``), or the rows' latest values."""
    from fti.features.aggregate import static_attributes

    if not spec.covariates.static.columns:
        return None
    if spec.covariates.static.file is None:
        return static_attributes(rows, spec)
    import pandas as pd

    from fti.data.source import landing_dir

    if raw_dir is None:
        raise ValueError(f"data set {spec.name!r} reads its attributes from a file: give the landing root")
    return pd.read_csv(landing_dir(spec, raw_dir) / spec.covariates.static.file)


def build_and_commit(resources: Resources, spec: DatasetSpec, check: RawCheck, run_id: str) -> CommitSummary:
    """Compute features from the staged rows, check them, commit one partition per period of the run.

    Raises:
        ValidationFailed: the features break the feature suite; nothing is committed.
    """
    from fti.features.schema import bins
    from fti.validation.feature_suite import build_feature_suite
    from fti.validation.runner import validate

    store = resources.store
    if not check.partitions or check.staging_uri is None:
        log.info("committed 0 partitions: nothing was planned")
        return CommitSummary(
            dataset=spec.name,
            partitions=0,
            committed=0,
            unchanged=0,
            rows=0,
            first=None,
            last=None,
            versions=[],
        )
    raw = store.read_staging(check.staging_uri)
    future = (
        store.read_staging(check.staging_uri.replace(f"/{RAW}.parquet", f"/{FUTURE}.parquet"))
        if check.future_rows
        else None
    )
    started = time.monotonic()
    features, future_rows = compute(spec, raw, future, check.partitions, resources.settings.raw_dir)
    log.info(
        "computed %d feature rows of %d partitions in %.1f s",
        len(features),
        len(check.partitions),
        time.monotonic() - started,
    )
    validate(features, build_feature_suite(spec), name=f"features {spec.name}").raise_for_failures()
    edges = bins(spec)
    refs = store.write_partitions(
        spec.feature_set,
        _by_partition(spec, features, check.partitions),
        run_id=run_id,
        validation_id=check.validation_id,
        bins=edges,
    )
    future_committed = 0
    if future_rows is not None:
        days = sorted(set(_partitions_of(spec, future_rows)))
        future_refs = store.write_partitions(
            spec.future_feature_set,
            _by_partition(spec, future_rows, days),
            run_id=run_id,
            validation_id=check.validation_id,
            bins=edges,
        )
        future_committed = sum(r.committed for r in future_refs)
    store.delete_staging(spec.name, run_id)
    committed = [r for r in refs if r.committed]
    summary = CommitSummary(
        dataset=spec.name,
        partitions=len(refs),
        committed=len(committed),
        unchanged=len(refs) - len(committed),
        rows=sum(r.row_count for r in refs),
        first=min(check.partitions),
        last=max(check.partitions),
        versions=sorted({r.version for r in refs}),
        future_committed=future_committed,
    )
    log.info(
        "committed %d of %d partitions (%d unchanged), %d rows, %s..%s; %d known-future partitions",
        summary.committed,
        summary.partitions,
        summary.unchanged,
        summary.rows,
        summary.first,
        summary.last,
        future_committed,
    )
    return summary


def _partitions_of(spec: DatasetSpec, rows: pd.DataFrame) -> list[date]:
    """The distinct partitions of ``rows``, in order (made dates once each, not once per row)."""
    import numpy as np

    from fti.periods import as_dates

    return as_dates(np.unique(spec.calendar.partition_of(rows["period"].to_numpy(dtype="datetime64[us]"))))


def _by_partition(spec: DatasetSpec, rows: pd.DataFrame, partitions: list[date]) -> dict[date, pd.DataFrame]:
    """``rows`` cut by partition; a partition without rows gets an empty frame (a closed period)."""
    import numpy as np

    keys = spec.calendar.partition_of(rows["period"].to_numpy(dtype="datetime64[us]"))
    groups: dict[date, pd.DataFrame] = {}
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    for day in sorted(partitions):
        lo, hi = (
            np.searchsorted(sorted_keys, np.datetime64(day, "D"), "left"),
            np.searchsorted(sorted_keys, np.datetime64(day, "D"), "right"),
        )
        groups[day] = rows.iloc[order[lo:hi]].reset_index(drop=True)
    return groups
