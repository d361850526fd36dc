"""The control room's "Forecast of one entity" section: the live run's point forecast and published
quantiles (P10, P50, P90...) of the entity typed in, per period of the horizon (pure).

The values are read by :mod:`fti.ui.sources` through :class:`fti.cache.client.PredictionClient`, the
reader the HTTP service uses, so the page shows what a lookup over HTTP answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from fti.ui.html import missing, num, table
from fti.ui.views import Unavailable


@dataclass(frozen=True)
class ForecastRow:
    """One period of the horizon: the point forecast and each quantile (None: no prediction, NaN)."""

    period: str
    point: float | None
    quantiles: tuple[float | None, ...]


@dataclass(frozen=True)
class EntityForecast:
    """An entity's live forecasts: the run, the model version, the quantile names and one row per period."""

    entity: str
    run: str
    model_version: str | None
    quantile_names: tuple[str, ...]
    rows: list[ForecastRow]


def forecast_rows(
    periods: Sequence[str], found: Mapping[str, tuple[float, Mapping[str, float]]], names: Sequence[str]
) -> list[ForecastRow]:
    """A row per period, in order: its point value and quantiles from ``found`` (None when absent)."""
    rows = []
    for period in periods:
        value = found.get(period)
        if value is None:
            rows.append(ForecastRow(period, None, tuple(None for _ in names)))
        else:
            point, quantiles = value
            rows.append(ForecastRow(period, point, tuple(quantiles.get(n) for n in names)))
    return rows


def render_forecast(dataset: str, entity: str, forecast: EntityForecast | Unavailable | None) -> str:
    """The picker (a GET form, no script) and, for an entity asked for, its table or why there is none."""
    form = (
        '<form method="get" action="#quantiles" class="entity-picker">'
        f'<input type="hidden" name="dataset" value="{escape(dataset)}">'
        f'<label>entity <input name="entity" value="{escape(entity)}" placeholder="e.g. UK|85123A"></label> '
        '<button type="submit">Show forecast</button></form>'
    )
    if forecast is None:
        return (
            form + '<p class="meta">type an entity key to see its live forecast and quantiles per period</p>'
        )
    if isinstance(forecast, Unavailable):
        return form + missing(forecast.reason)
    header = ["period", *(n.upper() for n in forecast.quantile_names), "point forecast"]
    rows = [
        [escape(r.period), *(num(q) for q in r.quantiles), f"<b>{num(r.point)}</b>"] for r in forecast.rows
    ]
    head = (
        f'<p class="meta">entity <b>{escape(forecast.entity)}</b> · live run {escape(forecast.run)}'
        f" · model version {escape(forecast.model_version or '?')}</p>"
    )
    return form + head + table(header, rows, "entity-forecast")
