"""How far apart the distributions of a feature are in two windows of rows.

Shared by training (train vs validation vs test windows) and nightly inference (scored rows vs
the training window). Values are counted on the store's FIXED bin edges
(:func:`fti.features.schema.bins` of the data set), the very edges of the histograms recorded with each
partition, so a window can be compared with stored statistics without re-reading its rows. The
distance is the Jensen-Shannon distance with base 2: symmetric, 0 for identical and 1 for
disjoint distributions, finite even when a bin is empty on one side (unlike KL divergence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from fti.store.statistics import bin_edges, histogram_counts

if TYPE_CHECKING:
    import pandas as pd

DRIFT_COLUMNS = ["feature", "pair", "distance"]
PAIR_SEPARATOR = "~"


def js_distance(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two histograms of counts on the same bins.

    Counts are normalised to frequencies first. Two empty histograms (no values counted) are the
    same distribution: 0.0; one empty and one not share nothing: 1.0. Never NaN.

    Raises:
        ValueError: the histograms have different lengths, or a count is negative or not finite.
    """
    from scipy.spatial.distance import jensenshannon

    p_counts = _counts(p, "p")
    q_counts = _counts(q, "q")
    if p_counts.shape != q_counts.shape:
        raise ValueError(f"histograms of {p_counts.size} and {q_counts.size} bins cannot be compared")
    p_total, q_total = p_counts.sum(), q_counts.sum()
    if p_total == 0 or q_total == 0:
        return 0.0 if p_total == q_total else 1.0
    distance = jensenshannon(p_counts / p_total, q_counts / q_total, base=2)
    # Rounding can make the divergence a hair below 0 for identical inputs, and sqrt of it NaN.
    return float(np.clip(np.nan_to_num(distance, nan=0.0), 0.0, 1.0))


def column_histogram(
    values: pd.Series | np.ndarray | Sequence[float],
    column: str,
    bins: Mapping[str, Sequence[float]] = MappingProxyType({}),
) -> np.ndarray:
    """Counts of ``values`` on the store's edges for ``column`` (:func:`fti.store.statistics.bin_edges`).

    Missing values are not counted, nor values outside the edges (as in the stored histograms,
    which keep those in ``out_of_range``), so the result adds up bin by bin with a stored
    :class:`fti.store.statistics.Histogram` of the same column.
    """
    if hasattr(values, "to_numpy"):  # a Series, possibly nullable (pd.NA)
        array = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        array = np.asarray(values, dtype="float64").ravel()
    counts, _ = histogram_counts(array[~np.isnan(array)], bin_edges(column, bins))
    return np.asarray(counts, dtype="int64")


def split_drift(
    windows: Mapping[str, pd.DataFrame],
    columns: Sequence[str],
    bins: Mapping[str, Sequence[float]] = MappingProxyType({}),
) -> pd.DataFrame:
    """:func:`js_distance` of every column between every pair of windows, in the windows' order.

    With ``{"train": ..., "validation": ..., "test": ...}`` the pairs are ``train~validation``,
    ``train~test`` and ``validation~test``.

    Returns:
        Columns ``feature``, ``pair``, ``distance``; one row per column and pair.

    Raises:
        KeyError: a window lacks one of ``columns``.
    """
    import pandas as pd

    for name, frame in windows.items():
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"window {name!r} has no column(s) {missing} to measure drift on")
    counts = {
        (name, c): column_histogram(frame[c], c, bins) for name, frame in windows.items() for c in columns
    }
    records = [
        (c, f"{a}{PAIR_SEPARATOR}{b}", js_distance(counts[a, c], counts[b, c]))
        for c in columns
        for a, b in combinations(windows, 2)
    ]
    return pd.DataFrame.from_records(records, columns=DRIFT_COLUMNS)


def flag_drift(table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The rows of a :func:`split_drift` table whose distance is above ``threshold``, largest first."""
    above = table[table["distance"] > threshold]
    return above.sort_values("distance", ascending=False, kind="stable").reset_index(drop=True)


def _counts(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """``values`` as a flat float64 array of finite, non-negative counts."""
    counts = np.asarray(values, dtype="float64").ravel()
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError(f"histogram {name} must hold finite, non-negative counts, got {counts.tolist()}")
    return counts
