"""Classical forecasts from Nixtla's statsforecast as baselines, on exactly the rows the model is scored on.

Each row's forecast uses only the entity's target up to the row's feature period (its *origin*), as
the model does: for every entity and origin the series up to the origin is forecast ``horizon``
periods ahead and each row takes the step of its target period. The intermittent-demand methods
(Croston optimised, TSB, ADIDA) are cheap and refitted at every origin. AutoETS chooses its model and
parameters once per entity at the entity's first origin (the optimisation costs ~0.1-0.5 s a series)
and then updates its states with the data up to each later origin (statsforecast's ``forward``):
how ETS is run in a rolling evaluation.

A series is the entity's dense history (:class:`fti.analysis.baselines.History`); with
``absent: missing`` a gap carries the last observed value forward and leading gaps are dropped (the
methods need no gaps). Where a method cannot forecast (fewer than :data:`MIN_OBSERVED` values, or
fewer than :data:`MIN_ETS` for AutoETS), the row gets NaN and :func:`classical_forecasts` reports how
many; the caller fills those with its moving average, as it does for the seasonal naive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fti.analysis.baselines import History

CLASSICAL: Mapping[str, str] = MappingProxyType(
    {
        "autoets": "statsforecast AutoETS (error, trend and season chosen by AICc; season of the grain) "
        "fitted at the entity's first origin, its states updated to each origin",
        "croston_optimized": "statsforecast CrostonOptimized: demand size and interval smoothed with "
        "optimised weights (intermittent demand), refitted at each origin",
        "tsb": "statsforecast TSB (Teunter-Syntetos-Babai, alpha_d = alpha_p = 0.1): demand probability "
        "times size, refitted at each origin",
        "adida": "statsforecast ADIDA: aggregated to the mean inter-demand interval, smoothed, "
        "disaggregated, refitted at each origin",
    }
)
"""Classical baseline name -> what it forecasts."""

INTERMITTENT: tuple[str, ...] = ("croston_optimized", "tsb", "adida")
"""The default classical baselines of a data set whose absent periods are 0 (counts, sales)."""

MIN_OBSERVED = 2
"""Fewest observed values an intermittent method is given."""
MIN_ETS = 10
"""Fewest observed values AutoETS is given (statsforecast refuses tiny series)."""

_TSB_ALPHA = 0.1


def series(values: np.ndarray) -> np.ndarray:
    """One entity's history up to an origin as a gap-free series: leading NaNs dropped, later NaNs
    carry the last observed value forward."""
    observed = ~np.isnan(values)
    if not observed.any():
        return values[:0]
    start = int(np.argmax(observed))
    tail = values[start:]
    index = np.where(~np.isnan(tail), np.arange(len(tail)), 0)
    return np.asarray(tail[np.maximum.accumulate(index)], dtype="float64")


Method = Callable[[np.ndarray, int, int], np.ndarray]
"""A forecast of ``h`` periods from a series ``y`` of the entity with code ``entity``."""


def _intermittent(name: str) -> Method:
    from statsforecast.models import ADIDA, TSB, CrostonOptimized

    model: Any = {
        "croston_optimized": CrostonOptimized(),
        "tsb": TSB(alpha_d=_TSB_ALPHA, alpha_p=_TSB_ALPHA),
        "adida": ADIDA(),
    }[name]

    def forecast(y: np.ndarray, h: int, entity: int) -> np.ndarray:
        if len(y) < MIN_OBSERVED:
            return np.full(h, np.nan)
        return np.asarray(model.forecast(y=y, h=h)["mean"], dtype="float64")

    return forecast


def _autoets(season: int) -> Method:
    """AutoETS with one fitted model per entity: the first call for a series length fits, later calls
    (longer series of the same entity) only update the states. Keyed by the caller's entity code."""
    from statsforecast.models import AutoETS

    fitted: dict[int, Any] = {}

    def forecast(y: np.ndarray, h: int, entity: int) -> np.ndarray:
        if len(y) < MIN_ETS:
            return np.full(h, np.nan)
        model = fitted.get(entity)
        if model is None:
            model = AutoETS(season_length=season if len(y) >= 2 * season else 1).fit(y)
            fitted[entity] = model
        return np.asarray(model.forward(y=y, h=h)["mean"], dtype="float64")

    return forecast


def classical_forecasts(
    names: Sequence[str],
    codes: np.ndarray,
    origins: np.ndarray,
    steps: np.ndarray,
    past: History,
    season: int,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Forecasts of each method in ``names`` for rows given as entity code (into ``past``), origin
    (period index of the feature period) and step (target period minus origin, >= 1).

    Returns:
        The forecasts per name (NaN where the method could not forecast) and the count of such rows.

    Raises:
        ValueError: an unknown method name, or a step below 1.
    """
    unknown = sorted(set(names) - set(CLASSICAL))
    if unknown:
        raise ValueError(f"unknown classical baseline(s) {unknown}; known: {sorted(CLASSICAL)}")
    if len(steps) and steps.min() < 1:
        raise ValueError(f"every row must forecast at least one period ahead, got step {steps.min()}")
    out = {name: np.full(len(codes), np.nan) for name in names}
    if not len(codes):
        return out, dict.fromkeys(names, 0)
    horizon = int(steps.max())
    methods = {name: _autoets(season) if name == "autoets" else _intermittent(name) for name in names}
    # rows grouped by (entity, origin), ascending origins per entity: AutoETS fits at the first one
    pairs, inverse = np.unique(np.column_stack([codes, origins]), axis=0, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    bounds = np.searchsorted(inverse.ravel()[order], np.arange(len(pairs) + 1))
    for group, (code, origin) in enumerate(pairs):
        if code < 0:
            continue
        rows = order[bounds[group] : bounds[group + 1]]
        y = series(past.values[code, : max(0, origin - past.first + 1)])
        for name, method in methods.items():
            out[name][rows] = method(y, horizon, int(code))[steps[rows] - 1]
    return out, {name: int(np.isnan(values).sum()) for name, values in out.items()}
