"""Prediction intervals: quantiles of the forecast from one multi-quantile XGBoost, conformalised.

The quantile model learns every level of the spec's ``model.quantiles`` at once (XGBoost's
``reg:quantileerror`` with a list of ``quantile_alpha``). Quantile regression alone often covers
less than it promises on intermittent data, so the outer interval is then *conformalised* on the
validation window (conformalized quantile regression, Romano et al. 2019): with ``E`` the amount by
which each validation actual falls outside ``[lowest, highest]`` (negative inside), the lowest level
is lowered and the highest raised by the ``(1 - a)(1 + 1/n)`` quantile of ``E``, ``1 - a`` the
interval's nominal coverage. Levels never cross: they are sorted per row after every step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ordered(values: np.ndarray) -> np.ndarray:
    """Quantiles per row made non-decreasing across levels (no crossing)."""
    return np.maximum.accumulate(np.sort(np.asarray(values, dtype="float64"), axis=1), axis=1)


def conformal_offsets(levels: Sequence[float], quantiles: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Offsets to add to each level so that ``[lowest, highest]`` covers its nominal share of ``actual``.

    Args:
        levels: the quantile levels, increasing (at least two).
        quantiles: ``len(actual) x len(levels)`` predicted quantiles of the calibration rows.
        actual: the calibration rows' actual values.

    Returns:
        One offset per level: ``-Q`` for the lowest, ``+Q`` for the highest, 0 between (``Q`` may be
        negative: an interval that covers too much is narrowed). Zeros without calibration rows.
    """
    offsets = np.zeros(len(levels))
    y = np.asarray(actual, dtype="float64")
    if len(levels) < 2 or not len(y):
        return offsets
    low, high = quantiles[:, 0], quantiles[:, -1]
    outside = np.maximum(low - y, y - high)
    nominal = levels[-1] - levels[0]
    rank = min(1.0, nominal * (1 + 1 / len(y)))
    q = float(np.quantile(outside, rank, method="higher"))
    offsets[0], offsets[-1] = -q, q
    return offsets


def level_names(levels: Sequence[float]) -> list[str]:
    """``p10``, ``p50``, ``p90`` ... (``p2.5`` for a level off the whole percents)."""
    return [f"p{round(level * 100, 1):g}" for level in levels]
