"""View models of the control room: what each section shows, built from plain records (pure).

Every section is either its view model or :class:`Unavailable` with the reason, so a missing
catalog, registry or cache shows as a sentence on the page instead of an error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fti.store.history import ValidationRecord
    from fti.ui.quantiles_view import EntityForecast
    from fti.ui.realized_view import RealizedView
    from fti.ui.training_view import TrainingView

#: Metadata of the live run shown first, in this order; the other fields follow by name.
LIVE_FIELDS = (
    "dataset",
    "model_name",
    "model_version",
    "feature_set",
    "feature_set_version",
    "feature_partition",
    "origin",
    "first_period",
    "horizon",
    "grain",
    "entities",
    "predictions",
    "drift_status",
    "drift_max_feature",
    "drift_max_distance",
    "published_at",
    "airflow_run_id",
)


@dataclass(frozen=True)
class Unavailable:
    """A section with nothing to show, and why: the page prints the reason instead."""

    reason: str


@dataclass(frozen=True)
class ValidationRow:
    """One recorded validation, as the table shows it."""

    id: str
    created_at: datetime
    run_id: str
    start: date
    end: date
    passed: bool
    evaluated: int | None
    failed: int | None
    failing: list[str]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def result(self) -> str:
        return "passed" if self.passed else "failed"


@dataclass(frozen=True)
class DriftPoint:
    """One run's distance for one feature."""

    run_id: str
    feature_day: str
    at: datetime
    distance: float
    status: str


@dataclass(frozen=True)
class DriftSeries:
    """A feature's distances over the runs, oldest first, with its newest thresholds."""

    feature: str
    warn: float
    fail: float
    points: tuple[DriftPoint, ...]

    @property
    def latest(self) -> DriftPoint:
        return self.points[-1]


@dataclass(frozen=True)
class ChampionRecord:
    """What the registry says of the champion: its version, links and ``analysis.json`` (or why not)."""

    name: str
    version: str
    run_id: str
    run_url: str
    model_url: str
    analysis: dict[str, Any] | Unavailable
    run_started: datetime | None = None
    run_ended: datetime | None = None
    run_metrics: dict[str, float] = field(default_factory=dict)
    """The run's logged metrics (``training_s``, ``split_drift_*``...)."""


@dataclass(frozen=True)
class MetricRow:
    """Overall test metrics of the model or of one baseline."""

    label: str
    is_model: bool
    wape: float | None
    mae: float | None
    rmse: float | None
    bias: float | None
    mape: float | None = None
    bias_pct: float | None = None
    mase: float | None = None


@dataclass(frozen=True)
class SliceRow:
    """One slice of the champion's test rows (a country, a volume band)."""

    slice: str
    rows: int | None
    share: float | None
    wape: float | None
    mae: float | None
    bias: float | None
    flagged: bool
    wape_vs_overall: float | None
    """Slice WAPE / overall WAPE: how much worse (> 1) or better the slice is than the whole."""


@dataclass(frozen=True)
class ChampionView:
    """The champion, its metrics next to the baselines', and per slice."""

    name: str
    version: str
    run_id: str
    run_url: str
    model_url: str
    beats_baselines: bool | None
    metrics: list[MetricRow] | Unavailable
    slices: dict[str, list[SliceRow]] = field(default_factory=dict)
    intervals: dict[str, float] = field(default_factory=dict)
    """The test window's interval metrics (``coverage_p10_p90``, ``nominal_coverage``, ``pinball_p50``...)."""
    mase_season: int | None = None
    """The season (periods) of the naive forecast that scales MASE (1 when the window was too short)."""


@dataclass(frozen=True)
class LiveView:
    """The run live in Redis and its metadata, the important fields first."""

    run: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True)
class ControlRoom:
    """Everything the page shows, for one data set (its feature set and its model)."""

    dataset: str
    datasets: list[str]
    model_name: str
    generated_at: datetime
    validations: list[ValidationRow] | Unavailable
    drift: list[DriftSeries] | Unavailable
    champion: ChampionView | Unavailable
    live: LiveView | Unavailable
    realized: RealizedView | Unavailable = field(default_factory=lambda: Unavailable("not gathered"))
    training: TrainingView | Unavailable = field(default_factory=lambda: Unavailable("not gathered"))
    entity: str = ""
    """The entity asked for in the page's picker ("" when none)."""
    forecast: EntityForecast | Unavailable | None = None
    """The live quantiles of the entity asked for (None: no entity asked)."""


def validation_rows(
    records: Sequence[ValidationRecord] | Unavailable, feature_set: str
) -> list[ValidationRow] | Unavailable:
    """The validations, newest first; Unavailable when none was recorded."""
    if isinstance(records, Unavailable):
        return records
    if not records:
        return Unavailable(f"no validation recorded yet for feature set {feature_set!r}")
    rows = [
        ValidationRow(
            r.id, r.created_at, r.run_id, r.start, r.end, r.success, r.evaluated, r.failed, r.failing
        )
        for r in records
    ]
    return sorted(rows, key=lambda r: r.created_at, reverse=True)


def drift_series(
    rows: Iterable[Mapping[str, Any]] | Unavailable, feature_set: str
) -> list[DriftSeries] | Unavailable:
    """One series per feature (in the order features first appear) from drift-history rows.

    Rows have ``run_id``, ``feature_day``, ``feature``, ``distance``, ``warn``, ``fail``, ``status``
    and ``created_at`` (a datetime or ISO text), as ``FeatureStore.drift_history`` returns them.
    """
    if isinstance(rows, Unavailable):
        return rows
    points: dict[str, list[tuple[DriftPoint, float, float]]] = {}
    for row in rows:
        point = DriftPoint(
            str(row["run_id"]),
            str(row["feature_day"]),
            _as_datetime(row["created_at"]),
            float(row["distance"]),
            str(row["status"]),
        )
        points.setdefault(str(row["feature"]), []).append((point, float(row["warn"]), float(row["fail"])))
    if not points:
        return Unavailable(
            f"no drift scores recorded yet for feature set {feature_set!r} (batch_inference records them)"
        )
    series = []
    for feature, scored in points.items():
        scored.sort(key=lambda p: p[0].at)
        _, warn, fail = scored[-1]
        series.append(DriftSeries(feature, warn, fail, tuple(p for p, _, _ in scored)))
    return series


def champion_view(
    record: ChampionRecord | Unavailable, dimensions: Sequence[str] | None = None
) -> ChampionView | Unavailable:
    """The champion's overall metrics next to each baseline's, and its slices of ``dimensions``
    (default: every dimension of the analysis but the horizon)."""
    if isinstance(record, Unavailable):
        return record
    analysis = record.analysis
    head = (record.name, record.version, record.run_id, record.run_url, record.model_url)
    if isinstance(analysis, Unavailable):
        return ChampionView(*head, beats_baselines=None, metrics=analysis)
    overall = analysis.get("overall") or {}
    metrics = [_metric_row("champion", overall, is_model=True)]
    metrics += [_metric_row(name, m, is_model=False) for name, m in (analysis.get("baselines") or {}).items()]
    tables = analysis.get("slices") or {}
    overall_wape = _number(overall.get("wape"))
    shown = [d for d in tables if d != "horizon"] if dimensions is None else dimensions
    slices = {dim: [_slice_row(s, overall_wape) for s in tables[dim]] for dim in shown if tables.get(dim)}
    beats = analysis.get("beats_baselines")
    intervals = {k: v for k, v in (analysis.get("intervals") or {}).items() if _number(v) is not None}
    season = _number((analysis.get("metrics") or {}).get("mase_season"))
    return ChampionView(
        *head,
        beats_baselines=beats if isinstance(beats, bool) else None,
        metrics=metrics,
        slices=slices,
        intervals=intervals,
        mase_season=None if season is None else int(season),
    )


def live_view(meta: Mapping[str, str] | None | Unavailable) -> LiveView | Unavailable:
    """The live run's metadata, :data:`LIVE_FIELDS` first; Unavailable when nothing is live."""
    if isinstance(meta, Unavailable):
        return meta
    if not meta:
        return Unavailable("nothing is live in Redis yet (batch_inference publishes a run)")
    rest = sorted(k for k in meta if k not in LIVE_FIELDS and k != "run")
    fields = [(k, str(meta[k])) for k in (*LIVE_FIELDS, *rest) if k in meta]
    return LiveView(str(meta.get("run", "?")), fields)


def to_json(value: Any) -> Any:
    """A view model (or a :class:`ControlRoom`) as JSON-safe data.

    A section becomes ``{"available": true, "data": ...}`` or ``{"available": false, "reason": ...}``;
    datetimes become ISO text and NaN or infinite numbers null.
    """
    if isinstance(value, ControlRoom):
        sections = ("validations", "drift", "champion", "live", "realized", "training")
        plain = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {**plain, **{name: section_json(getattr(value, name)) for name in sections}}
    if isinstance(value, Unavailable):
        return {"available": False, "reason": value.reason}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        extra = {"days": value.days, "result": value.result} if isinstance(value, ValidationRow) else {}
        return {**plain, **extra}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def section_json(value: Any) -> dict[str, Any]:
    """A section as ``{"available": true, "data": ...}`` or ``{"available": false, "reason": ...}``."""
    if isinstance(value, Unavailable):
        return {"available": False, "reason": value.reason}
    return {"available": True, "data": to_json(value)}


def _metric_row(label: str, metrics: Mapping[str, Any], is_model: bool) -> MetricRow:
    return MetricRow(
        label,
        is_model,
        _number(metrics.get("wape")),
        _number(metrics.get("mae")),
        _number(metrics.get("rmse")),
        _number(metrics.get("bias")),
        _number(metrics.get("mape")),
        _number(metrics.get("bias_pct")),
        _number(metrics.get("mase")),
    )


def _slice_row(row: Mapping[str, Any], overall_wape: float | None) -> SliceRow:
    wape = _number(row.get("wape"))
    rows = _number(row.get("rows"))
    return SliceRow(
        slice=str(row.get("slice")),
        rows=int(rows) if rows is not None else None,
        share=_number(row.get("share")),
        wape=wape,
        mae=_number(row.get("mae")),
        bias=_number(row.get("bias")),
        flagged=bool(row.get("flagged")),
        wape_vs_overall=wape / overall_wape if wape is not None and overall_wape else None,
    )


def _number(value: Any) -> float | None:
    """A finite float, or None (analysis.json writes NaN as null)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
