"""The control room's HTML: one server-rendered page, inline CSS, no JavaScript (pure).

Sections carry the ids ``validations``, ``drift``, ``champion``, ``training``, ``live``, ``quantiles`` and
``realized``; the validation documents and each run's drift report are pages of their own
(:mod:`fti.ui.validation_page`, :mod:`fti.ui.drift_page`). Links are relative (``validations/<id>``,
``drift/<run id>``), so the page works under any prefix;
links to MLflow open in a new tab, since the page usually sits in an iframe of the Airflow UI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import TypeVar
from urllib.parse import quote

from fti.ui.html import document, missing
from fti.ui.html import external as _external
from fti.ui.html import num as _num
from fti.ui.html import table as _table
from fti.ui.live_table import render_live_fields
from fti.ui.quantiles_view import render_forecast
from fti.ui.realized_view import RealizedView
from fti.ui.svg import drift_chart
from fti.ui.training_view import render_training
from fti.ui.views import (
    ChampionView,
    ControlRoom,
    DriftSeries,
    LiveView,
    MetricRow,
    SliceRow,
    Unavailable,
    ValidationRow,
)

T = TypeVar("T")

REPORT_LINKS = 5
"""Links to the drift report pages of this many newest runs above the charts."""


def render_page(room: ControlRoom) -> str:
    """The whole page for ``room``."""
    title = f"FTI control room: {room.dataset} / {room.model_name}"
    picker = " ".join(
        f"<b>{escape(d)}</b>" if d == room.dataset else f'<a href="?dataset={quote(d)}">{escape(d)}</a>'
        for d in room.datasets
    )
    sections = [
        _section("validations", "Latest validations", room.validations, _validations),
        _section("drift", "Drift over inference runs", room.drift, lambda d: _drift(d, room.dataset)),
        _section("champion", "Champion model", room.champion, _champion),
        _section("training", "Champion's training", room.training, render_training),
        _section("live", "Live in Redis", room.live, _live),
        _section("quantiles", "Forecast of one entity", room, _quantiles),
        _section("realized", "Realized accuracy", room.realized, _realized),
    ]
    nav = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in [("validations", "Validations"), ("drift", "Drift"), ("champion", "Champion"),
                              ("training", "Training"), ("live", "Live"), ("quantiles", "Entity forecast"),
                              ("realized", "Realized")]
    )  # fmt: skip
    header = (
        f'<h1>FTI control room</h1><p class="meta datasets">data set: {picker}</p>'
        f'<p class="meta">feature set <b>{escape(room.dataset)}</b>'
        f" · model <b>{escape(room.model_name)}</b> · as of {room.generated_at:%Y-%m-%d %H:%M:%S} UTC"
        f' · <a href="api/summary?dataset={quote(room.dataset)}">JSON</a></p>'
    )
    return document(title, "\n".join([header, f"<nav>{nav}</nav>", *sections]))


def _section(anchor: str, heading: str, content: T | Unavailable, render: Callable[[T], str]) -> str:
    body = missing(content.reason) if isinstance(content, Unavailable) else render(content)
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>\n{body}\n</section>'


def _validations(rows: list[ValidationRow]) -> str:
    header = ["created at (UTC)", "run", "days", "result", "evaluated", "failed", "failing expectations", ""]
    body = []
    for r in rows:
        days = f"{r.start}" if r.days == 1 else f"{r.start} … {r.end} ({r.days})"
        body.append(
            [
                escape(f"{r.created_at:%Y-%m-%d %H:%M:%S}"),
                escape(r.run_id),
                escape(days),
                f'<span class="{escape(r.result)}">{escape(r.result)}</span>',
                _num(r.evaluated),
                _num(r.failed),
                escape(", ".join(r.failing)) or "–",
                f'<a href="validations/{escape(r.id)}">document</a>',
            ]
        )
    return _table(header, body)


def _drift(series: list[DriftSeries], dataset: str) -> str:
    runs = sorted({p.run_id for s in series for p in s.points})
    latest = [s for s in series if s.latest.status != "ok"]
    summary = f"{len(series)} features over {len(runs)} runs; newest verdicts not ok: " + (
        ", ".join(f'<span class="{escape(s.latest.status)}">{escape(s.feature)}</span>' for s in latest)
        or "none"
    )
    charts = "\n".join(drift_chart(s) for s in series)
    newest = sorted({(p.at, p.run_id) for s in series for p in s.points}, reverse=True)[:REPORT_LINKS]
    reports = ", ".join(
        f'<a href="drift/{quote(run, safe="")}?dataset={quote(dataset, safe="")}">{escape(run)}</a>'
        for _, run in newest
    )
    return (
        f'<p class="meta">{summary}</p>\n<p class="meta run-reports">report of a run: {reports}</p>\n'
        f'<div class="charts">\n{charts}\n</div>'
    )


def _champion(view: ChampionView) -> str:
    beats = {True: "yes", False: "no", None: "unknown"}[view.beats_baselines]
    head = (
        f"<p><b>{escape(view.name)}</b> version <b>{escape(view.version)}</b> · "
        f"{_external(view.run_url, f'MLflow run {view.run_id}')} · "
        f"{_external(view.model_url, 'model version')} · "
        f"beats the baselines: <b>{beats}</b></p>"
    )
    if isinstance(view.metrics, Unavailable):
        return f'{head}\n<p class="missing">{escape(view.metrics.reason)}</p>'
    parts = [head, "<h3>Overall (test window)</h3>", _metrics(view.metrics, view.mase_season)]
    if view.intervals:
        parts.append(_intervals(view.intervals))
    for dimension, rows in view.slices.items():
        parts += [f"<h3>By {escape(dimension.replace('_', ' '))}</h3>", _slices(rows)]
    return "\n".join(parts)


def _metrics(rows: Sequence[MetricRow], mase_season: int | None = None) -> str:
    body = [
        [
            escape(r.label),
            _num(r.wape),
            _num(r.mape),
            _num(r.mae),
            _num(r.rmse),
            _num(r.bias),
            _num(r.bias_pct, "+.1%"),
            _num(r.mase),
        ]
        for r in rows
    ]
    mase = "MASE" if mase_season is None else f"MASE (season {mase_season})"
    table = _table(["", "WAPE", "MAPE", "MAE", "RMSE", "bias", "bias % of demand", mase], body)
    # The first data row is the model's: make it stand out.
    return table.replace("<tr><td>", '<tr class="model"><td>', 1)


def _intervals(intervals: Mapping[str, float]) -> str:
    """The interval's coverage against its nominal share, each side's miss, then each level's pinball loss."""
    coverage = next((k for k in intervals if k.startswith("coverage_")), None)
    parts = []
    if coverage is not None:
        low, high = coverage.removeprefix("coverage_").split("_", 1)
        nominal = intervals.get("nominal_coverage")
        promised = f" (nominal {_num(nominal, '.0%')})" if nominal is not None else ""
        parts.append(
            f"interval {escape(low.upper())}–{escape(high.upper())} covers "
            f"<b>{_num(intervals[coverage], '.1%')}</b> of the test actuals{promised}"
        )
    sides = [  # share_below_p10 -> "below P10 0.7%": each side's own miss, nominal = its level's
        f"{side} {escape(level.upper())} {_num(v, '.1%')}"
        for k, v in intervals.items()
        if k.startswith(("share_below_", "share_above_"))
        for _, side, level in [k.split("_", 2)]
    ]
    if sides:
        parts.append("actuals " + ", ".join(sides))
    pinball = [
        f"{escape(k.removeprefix('pinball_').upper())} {_num(v)}"
        for k, v in intervals.items()
        if k.startswith("pinball_")
    ]
    if pinball:
        parts.append("pinball loss " + ", ".join(pinball))
    return f'<p class="meta">{" · ".join(parts)}</p>'


def _slices(rows: Sequence[SliceRow]) -> str:
    header = ["slice", "rows", "share of demand", "WAPE", "× overall WAPE", "MAE", "bias", "flagged"]
    body = [
        [
            escape(r.slice),
            _num(r.rows),
            _num(r.share, ".1%"),
            _num(r.wape),
            _num(r.wape_vs_overall, ".2f"),
            _num(r.mae),
            _num(r.bias),
            '<span class="fail">flagged</span>' if r.flagged else "",
        ]
        for r in rows
    ]
    return _table(header, body)


def _live(view: LiveView) -> str:
    return f"<p>live run <b>{escape(view.run)}</b></p>\n" + render_live_fields(view.fields)


def _quantiles(room: ControlRoom) -> str:
    return render_forecast(room.dataset, room.entity, room.forecast)


def _realized(view: RealizedView) -> str:
    verdict = view.verdict
    said = (
        f'decay <span class="{escape(str(verdict["status"]))}">{escape(str(verdict["status"]))}</span>: '
        f"{escape(str(verdict['reason']))}"
        if verdict
        else "no decay verdict yet"
    )
    lines = f"dashed: the champion's held-out {view.metric} × {view.warn:g} (warn), × {view.fail:g} (fail)"
    charts = "\n".join(drift_chart(s, cap=None, day_label="first period") for s in view.series)
    header = ["run", "model", "first period", "periods", "rows", view.metric, "expected", "ratio",
              "best baseline", "coverage", "nominal"]  # fmt: skip
    rows = [
        [escape(r.run), escape(f"v{r.model_version}"), escape(f"{r.first_period:%Y-%m-%d %H:%M}"),
         escape(r.periods), _num(r.rows), _num(r.value), _num(r.expected), _num(r.ratio, ".3g"),
         escape(f"{r.best_baseline} ") + _num(r.best_baseline_value), _num(r.coverage, ".1%"),
         _num(r.nominal_coverage, ".0%")]
        for r in view.rows
    ]  # fmt: skip
    return (
        f'<p class="meta">{said}</p>\n<p class="meta">{escape(lines)}</p>\n'
        f'<div class="charts">\n{charts}\n</div>\n' + _table(header, rows)
    )
