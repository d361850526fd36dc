"""Synthetic runs for the prediction-cache tests: entity ids, predictions and writing a whole run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
import redis

from fti.cache.predictions import RunPlan, begin_run, go_live, plan_run, write_chunk

PREFIX = "fti:test"
TTL_S = 3600
FIRST_PERIOD = "2024-03-02"
FIRST_DATE = date(2024, 3, 2)  # the same first period, as a date object (lookups take both)
HORIZON = 7
DAILY: Mapping[str, str] = {"grain": "day", "week_start": "0"}
"""The calendar of a run, in its metadata as inference writes it (``week_start`` 0 = Monday)."""
HOURLY: Mapping[str, str] = {"grain": "hour", "week_start": "0"}
DAILY_WITH_QUANTILES: Mapping[str, str] = {**DAILY, "quantiles": "p10,p50,p90"}
"""A daily run that stores P10, P50 and P90 after each point value."""

#: The ``publish`` fixture: ``publish(run, names, rows, first_period=..., keep_runs=5, chunk=50,
#: calendar=DAILY, prefix=PREFIX) -> RunPlan``.
Publish = Callable[..., RunPlan]


def entities(n: int, start: int = 0) -> list[str]:
    """``n`` entity ids shaped like the real ones (country|stock code, with a space and a pipe)."""
    countries = ("United Kingdom", "France", "Germany", "EIRE", "Netherlands")
    return [f"{countries[i % len(countries)]}|{85000 + i}{'ABC'[i % 3]}" for i in range(start, start + n)]


def values(n: int, base: float, horizon: int = HORIZON, start: int = 0) -> np.ndarray:
    """Predictions ``base + entity index + period / 4``: exact in float32, different for every cell."""
    rows = np.arange(start, start + n, dtype=np.float64)[:, None] + np.arange(horizon) / 4
    return (base + rows).astype(np.float32)


def with_quantiles(points: np.ndarray) -> np.ndarray:
    """``points`` (entities x horizon) with P10 = point - 1, P50 = point, P90 = point + 2 after each."""
    return np.stack([points, points - 1, points, points + 2], axis=2).astype(np.float32)


def write_all(
    client: redis.Redis,
    plan: RunPlan,
    names: Sequence[str],
    rows: np.ndarray,
    chunk: int = 50,
    prefix: str = PREFIX,
    calendar: Mapping[str, str] = DAILY,
) -> tuple[int, int]:
    """Begin ``plan`` (its calendar in the metadata) and write every chunk; returns (chunks, predictions)."""
    begin_run(client, prefix, plan, {"model_version": "3", **calendar}, TTL_S)
    written = [
        write_chunk(client, prefix, plan, f"c{i:04d}", names[s : s + chunk], rows[s : s + chunk], TTL_S)
        for i, s in enumerate(range(0, len(names), chunk))
    ]
    return len(written), sum(written)


def publish_run(
    client: redis.Redis,
    run: str,
    names: Sequence[str],
    rows: np.ndarray,
    first_period: str = FIRST_PERIOD,
    keep_runs: int = 5,
    chunk: int = 50,
    calendar: Mapping[str, str] = DAILY,
    prefix: str = PREFIX,
) -> RunPlan:
    """Publish a whole run into ``client`` and make it live: all steps. ``rows`` of shape
    (entities, horizon, 1 + k) publish k quantiles, named by the ``quantiles`` of ``calendar``."""
    per_period = rows.shape[2] if rows.ndim == 3 else 1  # the point, then the calendar's "quantiles"
    plan = plan_run(run, first_period, rows.shape[1], len(names), per_period)
    chunks, predictions = write_all(client, plan, names, rows, chunk, prefix, calendar)
    meta = {"model_version": "3", "feature_set_version": "1"}
    go_live(client, prefix, plan, chunks, predictions, meta, keep_runs, TTL_S)
    return plan
