"""Prediction intervals: quantiles of the forecast from one multi-quantile XGBoost, calibrated per level.

The quantile model learns every level of the spec's ``model.quantiles`` at once (XGBoost's
``reg:quantileerror`` with a list of ``quantile_alpha``). Quantile regression alone rarely covers what
it promises on intermittent data, so each level off the median is then *calibrated on its own side* on
the validation window (one-sided conformal calibration, as in conformalized quantile regression,
Romano et al. 2019, but per level): a level ``a`` below the median gets the offset that leaves a share
``a`` of the calibration actuals below it, a level above the median the offset that leaves ``1 - a``
above it, each with the finite-sample ``(1 + 1/n)`` correction. The share is counted on the bound as
it is served (:func:`apply_offsets`): floored where the model floors its predictions (a count is never
below 0, so a 0 actual is always inside an upper bound at 0) and held on the median's side of the next
inner level. The median (a level of 0.5) keeps offset 0: the point of the distribution a planner reads
first is never moved. Levels never cross.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MEDIAN = 0.5
NUDGE = 1e-9
"""How far a level is pulled past the calibration rows it must leave on its wrong side
(:func:`_one_sided`); a level below the median served within twice that of the floor is the floor."""


def ordered(values: np.ndarray) -> np.ndarray:
    """Quantiles per row made non-decreasing across levels (no crossing)."""
    return np.maximum.accumulate(np.sort(np.asarray(values, dtype="float64"), axis=1), axis=1)


def apply_offsets(
    levels: Sequence[float], quantiles: np.ndarray, offsets: np.ndarray, floor: float | None = None
) -> np.ndarray:
    """``quantiles + offsets`` as served: each level below the median at most the next level up, each
    above at least the next level down (so the median's column is never moved), then at least ``floor``.

    Args:
        levels: the quantile levels, increasing.
        quantiles: ``rows x len(levels)`` uncalibrated quantiles, in order per row (:func:`ordered`).
        offsets: one offset per level (:func:`conformal_offsets`).
        floor: the model's floor on its predictions (0 for a count), or None.
    """
    out = np.asarray(quantiles, dtype="float64") + np.asarray(offsets, dtype="float64")
    for i in _outward(levels):
        inner = _inner(levels, i)
        if inner is not None:
            bound = np.minimum if levels[i] < MEDIAN else np.maximum
            out[:, i] = bound(out[:, i], out[:, inner])
    out = ordered(out)  # a no-op with a median level; without one the two inner levels may still cross
    return out if floor is None else _floored(levels, out, floor)


def _floored(levels: Sequence[float], quantiles: np.ndarray, floor: float) -> np.ndarray:
    """``quantiles`` at least ``floor``, each level below the median exactly the floor when within
    ``2 * NUDGE`` of it: its pull past a 0 actual would otherwise serve ``1e-9`` and leave that 0
    outside it. Order is kept: rounding down to the floor is non-decreasing and never passes a level
    above."""
    out = np.maximum(quantiles, floor)
    lower = [i for i, level in enumerate(levels) if level < MEDIAN]
    out[:, lower] = np.where(out[:, lower] <= floor + 2 * NUDGE, floor, out[:, lower])
    return out


def conformal_offsets(
    levels: Sequence[float], quantiles: np.ndarray, actual: np.ndarray, floor: float | None = None
) -> np.ndarray:
    """Per-level offsets so that each level below the median has its level's share of ``actual`` below
    it, and each level above the median ``1 - level`` above it, once served by :func:`apply_offsets`.

    Args:
        levels: the quantile levels, increasing.
        quantiles: ``len(actual) x len(levels)`` uncalibrated quantiles of the calibration rows.
        actual: the calibration rows' actual values.
        floor: the model's floor on its predictions, or None.

    Returns:
        One finite offset per level, 0 for a level of 0.5; zeros without calibration rows.
    """
    offsets = np.zeros(len(levels))
    y = np.asarray(actual, dtype="float64")
    if not len(y):
        return offsets
    for i in _outward(levels):
        served = apply_offsets(levels, quantiles, offsets, floor)
        inner = _inner(levels, i)
        anchor = served[:, inner] if inner is not None else None
        offsets[i] = _one_sided(levels[i], quantiles[:, i], y, anchor, floor)
    return offsets


def _one_sided(
    level: float, quantile: np.ndarray, y: np.ndarray, anchor: np.ndarray | None, floor: float | None
) -> float:
    """The offset of one level: the ``(1 + 1/n)``-corrected conformal quantile of its one-sided scores.

    A row is on the level's correct side iff its score is at most the offset's size; rows that the
    anchor (the served inner level) or the floor already put there score ``-inf``."""
    lower = level < MEDIAN
    share = (1.0 - level) if lower else level  # of rows to keep on the correct side
    score = (quantile - y) if lower else (y - quantile)
    always = np.zeros(len(y), dtype=bool) if anchor is None else (y >= anchor if lower else y <= anchor)
    if floor is not None and not lower:
        always |= y <= floor
    score = np.where(always, -np.inf, score)
    rank = min(1.0, share * (1 + 1 / len(y)))
    q = float(np.quantile(score, rank, method="higher"))
    finite = score[np.isfinite(score)]
    if q == -np.inf:  # the anchor or the floor alone keep enough rows: pull the level onto them
        q = float(finite.min()) - NUDGE if len(finite) else 0.0
    elif q == np.inf:  # rows below the floor can never be covered: cover all the others
        q = float(finite.max()) if len(finite) else 0.0
    return -q if lower else q


def _outward(levels: Sequence[float]) -> list[int]:
    """Indices of the levels off the median, each side from the median outwards."""
    below = [i for i, level in enumerate(levels) if level < MEDIAN]
    above = [i for i, level in enumerate(levels) if level > MEDIAN]
    return below[::-1] + above


def _inner(levels: Sequence[float], i: int) -> int | None:
    """The neighbouring level on the median's side of level ``i``, if it is not across the median."""
    j = i + 1 if levels[i] < MEDIAN else i - 1
    if not 0 <= j < len(levels):
        return None
    across = levels[j] > MEDIAN if levels[i] < MEDIAN else levels[j] < MEDIAN
    return None if across else j


def level_names(levels: Sequence[float]) -> list[str]:
    """``p10``, ``p50``, ``p90`` ... (``p2.5`` for a level off the whole percents)."""
    return [f"p{round(level * 100, 1):g}" for level in levels]
