"""One inference run's drift report as a page: each feature's Jensen-Shannon distance against its warn
and fail thresholds, and the run's verdict (pure).

The rows are the ones ``batch_inference``'s ``check_inputs`` records for its Airflow run id
(``FeatureStore.drift_history``); the "Drift report" button of that run's tasks opens this page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from fti.ui.html import document, missing, num, status, table
from fti.ui.views import Unavailable

_SEVERITY = {"ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's score in the run."""

    feature: str
    distance: float
    warn: float
    fail: float
    status: str


@dataclass(frozen=True)
class RunDrift:
    """One run's drift report: feature partition, model, verdict and the features (worst first)."""

    run_id: str
    feature_day: str
    model: str
    verdict: str
    features: list[FeatureDrift]

    @property
    def worst(self) -> FeatureDrift:
        return self.features[0]


def run_drift(rows: Iterable[Mapping[str, Any]], run_id: str, dataset: str) -> RunDrift | Unavailable:
    """The report of ``run_id`` from drift-history rows (other runs' rows are ignored)."""
    mine = [r for r in rows if str(r["run_id"]) == run_id]
    if not mine:
        return Unavailable(
            f"no drift scores recorded for run {run_id!r} of {dataset!r}: check_inputs records them "
            "before judging, so this run stopped earlier (or is not a batch_inference run of this data set)"
        )
    features = [
        FeatureDrift(
            str(r["feature"]), float(r["distance"]), float(r["warn"]), float(r["fail"]), str(r["status"])
        )
        for r in mine
    ]
    features.sort(key=lambda f: (-_SEVERITY.get(f.status, 3), -f.distance, f.feature))
    verdict = max((f.status for f in features), key=lambda s: _SEVERITY.get(s, 3))
    return RunDrift(run_id, str(mine[0]["feature_day"]), str(mine[0]["model"]), verdict, features)


def verdict_line(report: RunDrift) -> str:
    """``drift ok: 11 features, max lag_28 0.138 < warn 0.2`` (plain text)."""
    from fti.monitoring.drift_check import verdict_line as line

    worst = max(report.features, key=lambda f: f.distance)
    return line(report.verdict, len(report.features), worst.feature, worst.distance, worst.warn, worst.fail)


def render_run_drift(dataset: str, run_id: str, report: RunDrift | Unavailable) -> str:
    """The page: verdict, then a row per feature with its distance, thresholds and status."""
    back = f'<p><a href="../?dataset={quote(dataset, safe="")}#drift">← control room</a></p>'
    title = f"Drift report of {run_id}"
    head = f"{back}<h1>{escape(title)}</h1>"
    if isinstance(report, Unavailable):
        return document(title, head + missing(report.reason))
    rows = [
        [escape(f.feature), num(f.distance, ".3f"), num(f.warn, "g"), num(f.fail, "g"), status(f.status)]
        for f in report.features
    ]
    body = (
        f'<p class="meta">data set {escape(dataset)} · feature partition {escape(report.feature_day)}'
        f" · model {escape(report.model)}</p>"
        f'<p class="verdict {escape(report.verdict)}">{escape(verdict_line(report))}</p>'
        + table(["feature", "JS distance", "warn above", "fail above", "status"], rows, "run-drift")
    )
    return document(title, head + body)
