"""The control room's "Champion's training" section: how long it trained, how its windows drifted, the
slices where it forecasts nothing, and its primary metric next to every baseline's per horizon and
slice (:mod:`fti.ui.baseline_scores`) (pure).

Built from what training logs to MLflow: the run's start and end, its metrics (``training_s``,
``split_drift_max``, ``split_drift_flagged``, ``split_drift_threshold``) and its ``analysis.json``
(``split_drift`` rows and the per-slice tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from fti.ui.baseline_scores import ScoreTable, render_scores, score_tables
from fti.ui.html import missing, num, table
from fti.ui.views import ChampionRecord, Unavailable

ZERO_TOLERANCE = 1e-6
"""A slice's mean prediction at most this share of its mean actual (or of 1 unit) counts as zero."""


@dataclass(frozen=True)
class SplitDriftRow:
    """A feature's largest Jensen-Shannon distance between two of the train/validation/test windows."""

    feature: str
    distance: float
    pair: str
    flagged_pairs: int


@dataclass(frozen=True)
class ZeroSlice:
    """A slice of the test rows where the champion's forecasts average zero (it predicts nothing)."""

    dimension: str
    slice: str
    rows: int | None
    share: float | None
    actual_mean: float | None


@dataclass(frozen=True)
class TrainingView:
    """The champion's training, as the section shows it."""

    version: str
    run_id: str
    training_s: float | None
    """Seconds of ``train_and_register`` up to logging (snapshot, tuning, fits, analysis): its metric."""
    run_open_s: float | None
    """How long the MLflow run itself was open: it is opened only to log, so this is seconds, not the fit."""
    drift_threshold: float
    threshold_logged: bool
    drift_flagged: int | None
    drift_max: float | None
    drift: list[SplitDriftRow] = field(default_factory=list)
    zero_slices: list[ZeroSlice] = field(default_factory=list)
    scores: list[ScoreTable] = field(default_factory=list)


def training_view(record: ChampionRecord | Unavailable, threshold: float) -> TrainingView | Unavailable:
    """The section of the champion ``record``; ``threshold`` is used when its run logged none."""
    if isinstance(record, Unavailable):
        return record
    metrics = record.run_metrics
    analysis = record.analysis if not isinstance(record.analysis, Unavailable) else {}
    logged = _number(metrics.get("split_drift_threshold"))
    limit = logged if logged is not None else threshold
    open_s = (
        (record.run_ended - record.run_started).total_seconds()
        if record.run_started and record.run_ended
        else None
    )
    flagged = _number(metrics.get("split_drift_flagged"))
    return TrainingView(
        version=record.version,
        run_id=record.run_id,
        training_s=_number(metrics.get("training_s")),
        run_open_s=open_s,
        drift_threshold=limit,
        threshold_logged=logged is not None,
        drift_flagged=int(flagged) if flagged is not None else None,
        drift_max=_number(metrics.get("split_drift_max")),
        drift=split_drift_rows(analysis.get("split_drift") or [], limit),
        zero_slices=zero_slices(analysis.get("slices") or {}),
        scores=score_tables(analysis),
    )


def split_drift_rows(rows: list[Mapping[str, Any]], threshold: float) -> list[SplitDriftRow]:
    """One row per feature (largest distance first) from ``analysis.json``'s ``split_drift`` records."""
    worst: dict[str, SplitDriftRow] = {}
    for row in rows:
        distance = _number(row.get("distance"))
        if distance is None:
            continue
        feature = str(row.get("feature"))
        seen = worst.get(feature)
        above = (seen.flagged_pairs if seen else 0) + (distance > threshold)
        if seen is None or distance > seen.distance:
            worst[feature] = SplitDriftRow(feature, distance, str(row.get("pair", "")), above)
        else:
            worst[feature] = SplitDriftRow(feature, seen.distance, seen.pair, above)
    return sorted(worst.values(), key=lambda r: (-r.distance, r.feature))


def zero_slices(tables: Mapping[str, list[Mapping[str, Any]]]) -> list[ZeroSlice]:
    """The slices of every dimension whose mean prediction (bias + mean actual) is zero.

    A slice's ``bias`` is ``mean(predicted - actual)``, so its mean prediction is
    ``bias + actual_sum / rows``; forecasts that never go below zero average zero only when each is zero.
    """
    found = []
    for dimension, rows in tables.items():
        for row in rows:
            count, bias, actual_sum = (
                _number(row.get("rows")),
                _number(row.get("bias")),
                _number(row.get("actual_sum")),
            )
            if not count or bias is None or actual_sum is None:
                continue
            actual_mean = actual_sum / count
            if abs(bias + actual_mean) <= ZERO_TOLERANCE * max(1.0, abs(actual_mean)):
                share = _number(row.get("share"))
                found.append(ZeroSlice(dimension, str(row.get("slice")), int(count), share, actual_mean))
    return found


def render_training(view: TrainingView) -> str:
    """The section's HTML: duration, split drift (summary and per feature), zero-forecast slices, the
    model against the baselines per horizon and slice."""
    return "\n".join([_duration(view), _split_drift(view), _zero(view), render_scores(view.scores)])


def _duration(view: TrainingView) -> str:
    opened = f"the MLflow run was open {num(view.run_open_s, '.1f')} s (opened only to log the result)"
    version = f'<p class="duration">version {escape(view.version)}'
    if view.training_s is None:
        return f"{version}: no training time was logged (older run); {opened}</p>"
    minutes = f" ({view.training_s / 60:.1f} min)" if view.training_s >= 60 else ""
    return (
        f"{version} trained in <b>{num(view.training_s, '.1f')} s</b>{minutes} "
        f"(snapshot, tuning, fits and analysis: metric <code>training_s</code>); {opened}</p>"
    )


def _split_drift(view: TrainingView) -> str:
    source = "logged with the run" if view.threshold_logged else "current setting"
    head = (
        f'<h3>Split drift (train, validation, test windows)</h3><p class="meta">'
        f"{num(view.drift_flagged)} feature-window pairs above {num(view.drift_threshold, 'g')} ({source}); "
        f"largest distance {num(view.drift_max, '.3f')}</p>"
    )
    if not view.drift:
        return head + missing("analysis.json has no split drift rows")
    rows = [
        [escape(r.feature), num(r.distance, ".3f"), escape(r.pair),
         f'<span class="fail">{r.flagged_pairs}</span>' if r.flagged_pairs else "0"]
        for r in view.drift
    ]  # fmt: skip
    return head + table(
        ["feature", "largest JS distance", "between", "pairs above threshold"], rows, "split-drift"
    )


def _zero(view: TrainingView) -> str:
    head = f"<h3>Slices where the champion predicts zero: {len(view.zero_slices)}</h3>"
    if not view.zero_slices:
        return head + '<p class="meta">none: every slice gets a non-zero forecast on average</p>'
    rows = [
        [
            escape(z.dimension.replace("_", " ")),
            escape(z.slice),
            num(z.rows),
            num(z.share, ".1%"),
            num(z.actual_mean),
        ]
        for z in view.zero_slices
    ]
    return head + table(
        ["by", "slice", "test rows", "share of demand", "mean actual per row"], rows, "zero-slices"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)
