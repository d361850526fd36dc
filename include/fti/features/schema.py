"""The columns a spec's feature sets hold, in order, and how each is binned: one source for every step.

The engine writes these columns, the feature suite checks them, training and inference read them,
and the drift checks bin them on the same fixed edges the store records statistics on. Pure Python:
importing this module imports neither pandas nor numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fti.specs.model import DatasetSpec

ENTITY = "entity"
PERIOD = "period"

CALENDAR_RANGES: Mapping[str, tuple[int, int]] = {
    "hour": (0, 23),
    "day_of_week": (0, 6),
    "day_of_month": (1, 31),
    "day_of_year": (1, 366),
    "week_of_year": (1, 53),
    "month": (1, 12),
    "is_holiday": (0, 1),
    "holiday_days": (0, 31),
}
"""Closed value ranges of the calendar and holiday features."""


def key_columns(spec: DatasetSpec) -> list[str]:
    """``entity``, the key fields, ``period``: what identifies a stored row."""
    return [ENTITY, *spec.entity.key_fields, PERIOD]


def calendar_names(spec: DatasetSpec) -> list[str]:
    """The calendar features and the holiday feature, as stored."""
    from fti.specs.rules import holiday_feature

    names = list(spec.features.calendar)
    return names + ([holiday_feature(spec)] if spec.features.holidays else [])


def _is_future(spec: DatasetSpec, column: str) -> bool:
    return column in {c.field for c in spec.covariates.known_future}


def feature_names(spec: DatasetSpec) -> list[str]:
    """The computed features of the main feature set, in stored order."""
    f = spec.features
    names = [f"lag_{k}" for k in f.lags]
    names += [n for r in f.rolling for n in r.feature_names().values()]
    names += calendar_names(spec)
    names += [r.name for r in f.ratios if not _is_future(spec, r.numerator.column)]
    names += [c.feature_name for c in f.cross if not _is_future(spec, c.column)]
    return names


def stored_columns(spec: DatasetSpec) -> list[str]:
    """Every column of the main feature set, in order: keys, attributes, target, past-only, features."""
    return [
        *key_columns(spec),
        *spec.static_fields,
        spec.target.name,
        *(c.field for c in spec.covariates.past_only),
        *feature_names(spec),
    ]


def future_feature_names(spec: DatasetSpec) -> list[str]:
    """Ratios and cross features made of known-future covariates (they live in the future set)."""
    f = spec.features
    names = [r.name for r in f.ratios if _is_future(spec, r.numerator.column)]
    return names + [c.feature_name for c in f.cross if _is_future(spec, c.column)]


def planned_ratio_names(spec: DatasetSpec) -> list[str]:
    """Known-future covariates over stored values, computed with the model inputs (not stored)."""
    return [r.name for r in spec.features.planned_ratios]


def future_columns(spec: DatasetSpec) -> list[str]:
    """Every column of the future feature set: keys, known-future covariates, their features."""
    return [*key_columns(spec), *(c.field for c in spec.covariates.known_future), *future_feature_names(spec)]


def categorical_inputs(spec: DatasetSpec) -> list[str]:
    """Model inputs one-hot encoded: the spec's ``model.categorical``."""
    return list(spec.model.categorical)


def numeric_inputs(spec: DatasetSpec) -> list[str]:
    """Model inputs used as numbers, in order: stored numeric columns, horizon, the target period's
    calendar, known-future covariates (and their features) at the target period, planned ratios."""
    numeric_static = [k for k, kind in spec.static_fields.items() if kind == "numeric"]
    stored = [spec.target.name, *(c.field for c in spec.covariates.past_only), *feature_names(spec)]
    target_calendar = [f"target_{name}" for name in calendar_names(spec)]
    future = [c.field for c in spec.covariates.known_future] + future_feature_names(spec)
    return [*numeric_static, *stored, "horizon", *target_calendar, *future, *planned_ratio_names(spec)]


def model_inputs(spec: DatasetSpec) -> list[str]:
    """Every model input column, categorical first."""
    return categorical_inputs(spec) + numeric_inputs(spec)


def drift_columns(spec: DatasetSpec) -> list[str]:
    """Stored numeric columns scored for drift: all but the calendar and holiday features and the
    group aggregates (a cross feature that is not relative), of which one inference partition holds a
    handful of values by construction (one weekday; one total per store), so their distance to a
    training window is large whatever the data."""
    few = set(calendar_names(spec)) | {c.feature_name for c in spec.features.cross if not c.relative}
    numeric_static = [k for k, kind in spec.static_fields.items() if kind == "numeric"]
    stored = [spec.target.name, *(c.field for c in spec.covariates.past_only), *feature_names(spec)]
    return [c for c in numeric_static + stored if c not in few]


def bins(spec: DatasetSpec) -> dict[str, tuple[float, ...]]:
    """Histogram edges by column where they differ from the store's default (1-2-5 steps per decade):
    counts, shares, calendar features and the horizon."""
    from fti.store.statistics import SHARE_EDGES, unit_edges

    edges: dict[str, tuple[float, ...]] = {}
    for rolling in spec.features.rolling:
        for stat, name in rolling.feature_names().items():
            if stat == "nonzero_count":
                edges[name] = unit_edges(0, rolling.window)
            elif stat == "nonzero_share":
                edges[name] = SHARE_EDGES
    for name in calendar_names(spec):
        low, high = CALENDAR_RANGES[name]
        edges[name] = edges[f"target_{name}"] = unit_edges(low, high)
    edges["horizon"] = unit_edges(0, spec.forecast.gap + spec.forecast.horizon)
    return edges
