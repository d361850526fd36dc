"""Error per slice of the scored rows (a country, a volume band) and the slices that stand out.

An overall WAPE hides where a model fails: a model can be good on the few big sellers that carry
most demand and poor on a whole country. The dimensions follow the spec (:func:`slice_keys`): each
key column and categorical attribute with few enough values, the volume band, the horizon. Slices
are scored with the same metrics as the whole (:func:`fti.analysis.metrics.regression_metrics`),
from per-slice sums in one group-by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from fti.analysis.metrics import regression_metrics, safe_ratio

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec

VOLUME_BANDS: tuple[tuple[str, float], ...] = (
    ("none", 0.0),
    ("low", 0.25),
    ("medium", 1.0),
    ("high", 4.0),
    ("top", np.inf),
)
"""Band label and its upper bound (inclusive) on a row's moving average (the target's mean over the
activity window known at the feature period) RELATIVE to the mean target of all scored rows: ``none``
= 0 (nothing in the window), ``low`` up to a quarter of the average series, ``medium`` up to the
average, ``high`` up to 4 times it, ``top`` above. Fixed ratios, not quantiles, so a band means the
same thing in every model's report of a data set."""

MAX_SLICES = 60
"""A key column or attribute with more distinct values than this is not a slice dimension (a slice
per product of thousands would be noise); the volume band covers such entities."""

OTHER_SLICE = "(other)"
"""Label of the pooled slices smaller than ``min_rows`` (brackets: no key value is called that)."""

SLICE_COLUMNS = ["slice", "rows", "actual_sum", "wape", "mae", "rmse", "bias"]


def volume_band(average: np.ndarray, scale: float) -> pd.Series:
    """The :data:`VOLUME_BANDS` label of each row, an ordered categorical, from its moving average."""
    import pandas as pd

    relative = np.asarray(average, dtype="float64") / (scale if scale > 0 else 1.0)
    edges = [-np.inf, *(upper for _, upper in VOLUME_BANDS)]
    labels = [name for name, _ in VOLUME_BANDS]
    return pd.Series(pd.cut(relative, bins=edges, labels=labels, right=True), name="volume_band")


def slice_keys(rows: pd.DataFrame, spec: DatasetSpec, average: np.ndarray) -> dict[str, pd.Series]:
    """The slicings of scored rows: key columns and categorical attributes of at most
    :data:`MAX_SLICES` values, the volume band, and the horizon (the last two in order)."""
    import pandas as pd

    candidates = [
        *spec.entity.key_fields,
        *(k for k, kind in spec.static_fields.items() if kind == "categorical"),
    ]
    keys = {
        c: rows[c].astype(str).reset_index(drop=True) for c in candidates if rows[c].nunique() <= MAX_SLICES
    }
    scale = float(rows["label"].mean()) if len(rows) else 0.0
    keys["volume_band"] = volume_band(average, scale)
    horizon = rows["horizon"]
    keys["horizon"] = pd.Series(pd.Categorical(horizon, categories=sorted(horizon.unique()), ordered=True))
    return keys


def slice_metrics(actual: np.ndarray, predicted: np.ndarray, keys: pd.Series, min_rows: int) -> pd.DataFrame:
    """One row per slice: ``slice``, ``rows``, ``actual_sum``, ``wape``, ``mae``, ``rmse``, ``bias``.

    Slices of fewer than ``min_rows`` rows are pooled into one :data:`OTHER_SLICE` slice instead
    of being dropped, so the slices still add up to every row and their WAPEs average (weighted by
    ``actual_sum``) to the overall WAPE. Slices of an ordered categorical key keep its order; any
    other keys are listed by demand, largest first; the pooled slice comes last. Missing keys form
    a slice ``"nan"``.

    Raises:
        ValueError: ``actual``, ``predicted`` and ``keys`` differ in length.
    """
    import pandas as pd

    actual = np.asarray(actual, dtype="float64").ravel()
    predicted = np.asarray(predicted, dtype="float64").ravel()
    if not (len(actual) == len(predicted) == len(keys)):
        raise ValueError(
            f"actual ({len(actual)}), predicted ({len(predicted)}) and keys ({len(keys)}) must pair up by row"
        )
    error = predicted - actual
    parts = pd.DataFrame(
        {
            "key": keys.array,  # keeps a categorical's order
            "actual": actual,
            "abs_actual": np.abs(actual),
            "abs_error": np.abs(error),
            "squared_error": error**2,
            "error": error,
        }
    )
    sums = parts.groupby("key", observed=True, dropna=False, sort=True).agg(
        rows=("actual", "size"), **{c: (c, "sum") for c in parts.columns[1:]}
    )
    sums.index = sums.index.astype(str)
    ordered = isinstance(keys.dtype, pd.CategoricalDtype) and bool(keys.dtype.ordered)
    if not ordered:
        sums = sums.sort_values("actual", ascending=False, kind="stable")
    small = sums["rows"] < min_rows
    if small.any():
        pooled = sums[small].sum().rename(OTHER_SLICE)
        sums = pd.concat([sums[~small], pooled.to_frame().T])
    return _metrics_of_sums(sums)


def slice_scores(
    table: pd.DataFrame, keys: pd.Series, actual: np.ndarray, forecasts: Mapping[str, np.ndarray], metric: str
) -> pd.DataFrame:
    """``table`` (:func:`slice_metrics`) with a ``<metric>_<who>`` column per forecast: the ``metric``
    of :func:`fti.analysis.metrics.regression_metrics` of forecast ``who`` (the model, each baseline) on
    each slice's rows, the pooled :data:`OTHER_SLICE` too, so every forecast is judged on the same rows.

    Raises:
        ValueError: a forecast does not pair up with ``actual`` by row.
    """
    import pandas as pd

    labels = keys.astype(str).to_numpy()
    labels = np.where(np.isin(labels, table["slice"].to_numpy()), labels, OTHER_SLICE)
    rows = pd.Series(np.arange(len(labels))).groupby(labels).indices
    empty = np.empty(0, dtype="int64")
    out = table.copy()
    for who, forecast in forecasts.items():
        values = np.asarray(forecast, dtype="float64").ravel()
        if len(values) != len(actual):
            raise ValueError(f"forecast {who!r} has {len(values)} rows for {len(actual)} actuals")
        out[f"{metric}_{who}"] = [
            regression_metrics(actual[i], values[i])[metric]
            for i in (rows.get(s, empty) for s in out["slice"])
        ]
    return out


def flag_slices(
    table: pd.DataFrame, overall_wape: float, factor: float = 2.0, min_share: float = 0.01
) -> pd.DataFrame:
    """``table`` with ``share`` (of the table's actual demand) and ``flagged`` columns.

    A slice is flagged when its WAPE exceeds ``factor`` x ``overall_wape`` AND it carries at least
    ``min_share`` of actual demand: a slice of a handful of units has a WAPE that swings by
    hundreds of percent on one sale, so it would be flagged on noise, and fixing it would not move
    the business anyway. NaN WAPEs (no demand) and a NaN overall WAPE flag nothing.
    """
    out = table.copy()
    total = float(out["actual_sum"].sum())
    out["share"] = out["actual_sum"] / total if total > 0 else 0.0
    out["flagged"] = (out["wape"] > factor * overall_wape) & (out["share"] >= min_share)
    return out


def _metrics_of_sums(sums: pd.DataFrame) -> pd.DataFrame:
    """The :data:`SLICE_COLUMNS` table from per-slice sums (rows, actual, abs_actual, abs_error, ...)."""
    import pandas as pd

    rows = sums["rows"].to_numpy(dtype="float64")
    abs_error = sums["abs_error"].to_numpy(dtype="float64")
    wape = [safe_ratio(e, a) for e, a in zip(abs_error, sums["abs_actual"], strict=True)]
    return pd.DataFrame(
        {
            "slice": sums.index.astype(str),
            "rows": rows.astype("int64"),
            "actual_sum": sums["actual"].to_numpy(dtype="float64"),
            "wape": np.asarray(wape, dtype="float64"),
            "mae": abs_error / rows,
            "rmse": np.sqrt(sums["squared_error"].to_numpy(dtype="float64") / rows),
            "bias": sums["error"].to_numpy(dtype="float64") / rows,
        },
        columns=SLICE_COLUMNS,
    )
