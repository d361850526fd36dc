"""The control room's realized-accuracy section: realized against expected error over the published runs.

Pure: built from the catalog's realized records and decay verdicts (:mod:`fti.store.realized`). One
series per horizon (and one overall) of the data set's metric at each run, with the champion's
held-out error times the decay thresholds as its warn and fail lines; a table of the runs with the
model version that served each and the coverage of its published intervals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fti.store.realized import RealizedRecord
from fti.ui.views import DriftPoint, DriftSeries, Unavailable


@dataclass(frozen=True)
class RealizedRow:
    """One published run's realized accuracy, as the table shows it."""

    run: str
    model_version: str
    first_period: datetime
    periods: str
    rows: int
    value: float | None
    expected: float | None
    ratio: float | None
    best_baseline: str
    best_baseline_value: float | None
    coverage: float | None
    nominal_coverage: float | None


@dataclass(frozen=True)
class RealizedView:
    """The section: metric, thresholds (as ratios), the newest verdict, the charts' series, the runs."""

    metric: str
    warn: float
    fail: float
    verdict: Mapping[str, Any] | None
    series: list[DriftSeries]
    rows: list[RealizedRow]


def realized_view(
    records: Sequence[RealizedRecord] | Unavailable,
    verdicts: Sequence[Mapping[str, Any]] | Unavailable,
    warn: float,
    fail: float,
    dataset: str,
) -> RealizedView | Unavailable:
    """The section of ``records`` (oldest first); Unavailable when no run was scored yet."""
    if isinstance(records, Unavailable):
        return records
    if not records:
        return Unavailable(
            f"no published run of {dataset!r} has landed actuals yet (feature_pipeline scores them)"
        )
    ordered = sorted(records, key=lambda r: (r.first_period, r.run))
    metric = ordered[-1].metric
    documents = [json.loads(r.document_json) for r in ordered]
    latest = verdicts[-1] if not isinstance(verdicts, Unavailable) and verdicts else None
    return RealizedView(
        metric=metric,
        warn=warn,
        fail=fail,
        verdict=latest,
        series=_series(ordered, documents, metric, warn, fail),
        rows=[_row(r, d) for r, d in zip(reversed(ordered), reversed(documents), strict=True)],
    )


def _series(
    records: Sequence[RealizedRecord],
    documents: Sequence[Mapping[str, Any]],
    metric: str,
    warn: float,
    fail: float,
) -> list[DriftSeries]:
    """``all horizons`` then one series per horizon; lines at the newest expected error x warn / fail."""
    expected = next((r.expected for r in reversed(records) if r.expected), None) or 0.0
    values: dict[str, list[DriftPoint]] = {f"{metric}, all horizons": []}
    for record, document in zip(records, documents, strict=True):
        tip = f"{record.run} · model v{record.model_version}"
        day = f"{record.first_period:%Y-%m-%d %H:%M}"
        overall = document["overall"].get(metric)
        if overall is not None:
            values[f"{metric}, all horizons"].append(_point(tip, day, record, overall, warn, fail))
        for row in document["slices"].get("horizon", []):
            value = row.get(metric, row.get("wape"))
            if value is not None:
                name = f"{metric if metric in row else 'wape'}, horizon {row['slice']}"
                values.setdefault(name, []).append(_point(tip, day, record, value, warn, fail))
    return [
        DriftSeries(name, expected * warn, expected * fail, tuple(points))
        for name, points in values.items()
        if points
    ]


def _point(tip: str, day: str, record: RealizedRecord, value: float, warn: float, fail: float) -> DriftPoint:
    ratio = value / record.expected if record.expected else None
    status = "unknown" if ratio is None else "fail" if ratio > fail else "warn" if ratio > warn else "ok"
    return DriftPoint(tip, day, record.first_period, float(value), status)


def _row(record: RealizedRecord, document: Mapping[str, Any]) -> RealizedRow:
    return RealizedRow(
        run=record.run,
        model_version=record.model_version,
        first_period=record.first_period,
        periods=f"{record.periods}/{record.horizon}",
        rows=record.row_count,
        value=record.value,
        expected=record.expected,
        ratio=record.ratio,
        best_baseline=record.best_baseline,
        best_baseline_value=record.best_baseline_value,
        coverage=record.coverage,
        nominal_coverage=document["overall"].get("nominal_coverage"),
    )
