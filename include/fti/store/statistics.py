"""Per-column statistics of a partition, recorded in the catalog with the commit that wrote it.

Histograms count values on FIXED bin edges per column (given by the caller, from the data-set spec:
:func:`fti.features.schema.bins`; :data:`DEFAULT_EDGES` otherwise), never on edges taken
from the data, so the histograms of every partition of a feature-set version line up bin by bin:
they can be summed over days (:func:`sum_histograms`) and two windows compared (e.g. by
Jensen-Shannon distance). Bins are half-open ``[edge_i, edge_i+1)``; the last one also holds its
right edge, as in ``numpy.histogram``.

Importing this module imports neither numpy nor pandas; the functions do, when called.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Kind = Literal["numeric", "string"]

QUANTILES: tuple[tuple[str, float], ...] = (
    ("p01", 0.01),
    ("p05", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
    ("p99", 0.99),
)
"""Quantiles recorded for numeric columns (numpy's default, linear interpolation)."""

STATISTICS_COLUMNS: list[str] = [
    "day",
    "version",
    "partition_id",
    "column",
    "kind",
    "count",
    "null_count",
    "infinite_count",
    "mean",
    "std",
    "min",
    "max",
    *(label for label, _ in QUANTILES),
    "out_of_range",
    "distinct_count",
]
"""Columns of ``FeatureStore.statistics``: day, version and id of a partition, then
:meth:`FeatureStatistics.as_record` of one of its columns."""

INF = math.inf
_DECADES = range(-2, 7)
DEFAULT_EDGES: tuple[float, ...] = (
    -INF,
    *sorted(-(m * 10.0**k) for k in _DECADES for m in (1, 2, 5)),
    0.0,
    *sorted(m * 10.0**k for k in _DECADES for m in (1, 2, 5)),
    INF,
)
"""Edges of a numeric column without edges of its own: 0, then 1-2-5 steps per decade from 0.01 to
5e6 on both sides, open-ended. Fixed, never taken from the data."""
SHARE_EDGES: tuple[float, ...] = (*(round(0.05 * k, 2) for k in range(20)), 1.0, 1.0000001)
"""Shares in [0, 1], 5-point steps (1.0 has a bin of its own)."""


def unit_edges(low: int, high: int) -> tuple[float, ...]:
    """One bin per integer of ``[low, high]``, each integer in the middle of its bin."""
    return tuple(k - 0.5 for k in range(low, high + 2))


class BinEdgesMismatch(ValueError):
    """Histograms on different bin edges were to be added up."""


@dataclass(frozen=True)
class FeatureStatistics:
    """Statistics of one column of one partition.

    ``count`` is the number of non-null values (``count + null_count`` = rows). For numeric
    columns, mean, std (sample, ``ddof=1``), min, max and quantiles describe the finite values
    (``None`` when there are none; std also with one), infinities are counted in
    ``infinite_count``, and the histogram counts every non-null value on ``bin_edges``, except the
    ``out_of_range`` ones outside them. String columns have ``distinct_count`` instead.
    """

    column: str
    kind: Kind
    count: int
    null_count: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    infinite_count: int = 0
    bin_edges: tuple[float, ...] = ()
    histogram: tuple[int, ...] = ()
    out_of_range: int = 0
    distinct_count: int | None = None

    def to_json(self) -> str:
        """Strict JSON (infinite edges as the strings ``"inf"`` and ``"-inf"``)."""
        data = dict(self.__dict__)
        data["bin_edges"] = [e if math.isfinite(e) else str(e) for e in self.bin_edges]
        data["histogram"] = list(self.histogram)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def as_record(self) -> dict[str, Any]:
        """The scalar statistics, quantiles as columns ``p01`` .. ``p99`` (no edges, no histogram)."""
        skipped = ("quantiles", "bin_edges", "histogram")
        return {k: v for k, v in self.__dict__.items() if k not in skipped} | self.quantiles

    @classmethod
    def from_json(cls, text: str) -> FeatureStatistics:
        """The statistics :meth:`to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        data["bin_edges"] = tuple(float(e) for e in data["bin_edges"])
        data["histogram"] = tuple(data["histogram"])
        return cls(**data)


@dataclass(frozen=True)
class Histogram:
    """Counts of one numeric column summed over the partitions of ``days``."""

    column: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    out_of_range: int
    days: tuple[date, ...]

    @property
    def total(self) -> int:
        """Values counted in the bins."""
        return sum(self.counts)

    def frequencies(self) -> tuple[float, ...]:
        """Share of the values in each bin (all 0 when nothing was counted)."""
        total = self.total
        return tuple(c / total if total else 0.0 for c in self.counts)


def bin_edges(column: str, bins: Mapping[str, Sequence[float]] = MappingProxyType({})) -> tuple[float, ...]:
    """The edges ``column`` is counted on: its entry in ``bins``, else :data:`DEFAULT_EDGES`."""
    edges = tuple(float(e) for e in bins.get(column, DEFAULT_EDGES))
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"bin edges of {column!r} must be 2 or more strictly increasing values: {edges}")
    return edges


def column_kind(series: pd.Series) -> Kind | None:
    """``numeric`` (booleans included), ``string``, or None for columns without statistics (dates, ...).

    A string dtype is ``string`` even when every value is null; an ``object`` column is ``string``
    only when its non-null values are strings (so an all-null ``object`` column gets none).
    """
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if types.is_bool_dtype(dtype) or (types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype)):
        return "numeric"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if isinstance(dtype, pd.CategoricalDtype):
        return "string" if types.infer_dtype(dtype.categories) == "string" else None
    if types.is_object_dtype(dtype):
        return "string" if types.infer_dtype(series, skipna=True) == "string" else None
    return None


def compute_statistics(
    frame: pd.DataFrame, bins: Mapping[str, Sequence[float]] = MappingProxyType({})
) -> list[FeatureStatistics]:
    """Statistics of every numeric and string column of ``frame``, in column order.

    Args:
        frame: the rows of one partition.
        bins: histogram edges by column name; numeric columns not in it get :data:`DEFAULT_EDGES`.
    """
    stats = []
    for name in frame.columns:
        series = frame[name]
        kind = column_kind(series)
        if kind == "numeric":
            stats.append(_numeric(str(name), series, bin_edges(str(name), bins)))
        elif kind == "string":
            stats.append(_string(str(name), series))
    return stats


def sum_histograms(column: str, stats: Sequence[tuple[date, FeatureStatistics]]) -> Histogram:
    """Add up the histograms of ``column`` of several days.

    Raises:
        ValueError: ``stats`` is empty or holds a string column.
        BinEdgesMismatch: two days were counted on different edges.
    """
    if not stats:
        raise ValueError(f"no statistics of {column!r} to add up")
    first_day, first = stats[0]
    counts = [0] * len(first.histogram)
    out_of_range = 0
    for day, s in stats:
        if s.kind != "numeric":
            raise ValueError(f"{column!r} is a {s.kind} column on {day}: it has no histogram")
        if s.bin_edges != first.bin_edges:
            raise BinEdgesMismatch(
                f"{column!r} was counted on edges {s.bin_edges} on {day} but {first.bin_edges} on {first_day}"
            )
        counts = [a + b for a, b in zip(counts, s.histogram, strict=True)]
        out_of_range += s.out_of_range
    return Histogram(column, first.bin_edges, tuple(counts), out_of_range, tuple(d for d, _ in stats))


def _numeric(name: str, series: pd.Series, edges: tuple[float, ...]) -> FeatureStatistics:
    import numpy as np

    values = series.dropna().to_numpy(dtype="float64")
    finite = values[np.isfinite(values)]
    counts, out_of_range = histogram_counts(values, edges)
    moments: dict[str, Any] = {}
    if len(finite):
        q = np.quantile(finite, [p for _, p in QUANTILES])
        moments = {
            "mean": float(finite.mean()),
            "std": float(finite.std(ddof=1)) if len(finite) > 1 else None,
            "min": float(finite.min()),
            "max": float(finite.max()),
            "quantiles": {label: float(v) for (label, _), v in zip(QUANTILES, q, strict=True)},
        }
    return FeatureStatistics(
        column=name,
        kind="numeric",
        count=len(values),
        null_count=len(series) - len(values),
        infinite_count=len(values) - len(finite),
        bin_edges=edges,
        histogram=counts,
        out_of_range=out_of_range,
        **moments,
    )


def histogram_counts(values: np.ndarray, edges: Sequence[float]) -> tuple[tuple[int, ...], int]:
    """Counts per bin ``[e_i, e_i+1)`` (the last bin closed), and how many values fell outside.

    Public so that every histogram compared with a stored one (drift checks of training windows
    and of nightly inference) is counted by this very rule. NaN counts as outside.
    """
    import numpy as np

    e = np.asarray(edges, dtype="float64")
    bins = len(e) - 1
    index = np.searchsorted(e, values, side="right") - 1
    index[values == e[-1]] = bins - 1
    inside = (index >= 0) & (index < bins)
    counts = np.bincount(index[inside], minlength=bins)
    return tuple(int(c) for c in counts), int((~inside).sum())


def _string(name: str, series: pd.Series) -> FeatureStatistics:
    values = series.dropna()
    return FeatureStatistics(
        column=name,
        kind="string",
        count=len(values),
        null_count=len(series) - len(values),
        distinct_count=int(values.nunique()),
    )
