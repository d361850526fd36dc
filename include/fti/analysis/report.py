"""Everything training records about a model beyond its fit: errors, baselines, slices, drift, charts.

:func:`analyse` is the one entry point; :class:`ModelAnalysis` turns its result into the three
forms a model registry wants: flat metrics (:meth:`ModelAnalysis.as_metrics`), a JSON document
(:meth:`ModelAnalysis.to_dict`) and PNG charts (:meth:`ModelAnalysis.write_plots`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fti.analysis import plots
from fti.analysis.baselines import BASELINES
from fti.analysis.drift import flag_drift, split_drift
from fti.analysis.metrics import mase, regression_metrics
from fti.analysis.slices import OTHER_SLICE, SLICE_COLUMNS, flag_slices, slice_metrics, slice_scores

if TYPE_CHECKING:
    import pandas as pd

LABEL = "label"
MIN_SLICE_ROWS = 100
"""Slices with fewer scored rows are pooled (see :func:`fti.analysis.slices.slice_metrics`)."""
MIN_SLICE_SHARE = 0.01
"""Share of actual demand a slice needs to be flagged (see :func:`fti.analysis.slices.flag_slices`)."""


@dataclass(frozen=True)
class ModelAnalysis:
    """How a model did on the test rows, next to the baselines, per slice, and how the windows drifted.

    Attributes:
        overall: :func:`fti.analysis.metrics.regression_metrics` of the model on all test rows.
        baselines: the same metrics of each baseline of :data:`fti.analysis.baselines.BASELINES`.
        slices: dimension (a key column, ``volume_band``, ``horizon``, ...) -> slice table with
            ``share`` and ``flagged`` (:func:`fti.analysis.slices.flag_slices`) and the primary
            metric of the model and of each baseline on the slice, ``<metric>_<who>``
            (:func:`fti.analysis.slices.slice_scores`).
        flagged_slices: the flagged rows of every slice table, with their ``dimension``.
        split_drift: :func:`fti.analysis.drift.split_drift` of the train, validation and test windows.
        flagged_drift: the rows of ``split_drift`` above the threshold, largest first.
        importances: feature name -> importance, as the model reports it.
        intervals: :func:`interval_metrics` of the quantile forecasts, if any.
        metric: the spec's primary metric (``model.metric``), scored per slice for every forecast.
        mase_season: the season (periods) of the naive forecast MASE is scaled by: the grain's, or 1
            when the training window is not longer than it (:func:`fti.analysis.baselines.naive_season`).
        actual: labels of the test rows (for the predicted-vs-actual chart, not serialised).
        predicted: the model's predictions of the test rows (same).
    """

    overall: dict[str, float]
    baselines: dict[str, dict[str, float]]
    slices: dict[str, pd.DataFrame]
    flagged_slices: pd.DataFrame
    split_drift: pd.DataFrame
    flagged_drift: pd.DataFrame
    importances: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, float] = field(default_factory=dict)
    metric: str = "wape"
    mase_season: int | None = None
    actual: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    predicted: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def beats_baselines(self, margin: float = 0.0) -> bool:
        """Whether the model's WAPE is below the best baseline's WAPE x (1 - ``margin``).

        False when a WAPE is NaN (no demand to judge on): an unproven model does not pass.

        Raises:
            ValueError: there are no baselines to compare with.
        """
        if not self.baselines:
            raise ValueError("the analysis has no baselines to compare the model with")
        baseline_wapes = [m["wape"] for m in self.baselines.values()]
        model_wape = self.overall["wape"]
        if math.isnan(model_wape) or any(math.isnan(w) for w in baseline_wapes):
            return False
        return model_wape < min(baseline_wapes) * (1.0 - margin)

    def as_metrics(self) -> dict[str, float]:
        """Flat metrics for MLflow: ``test_<metric>``, ``<baseline>_<metric>``, slice and drift counts.

        Also ``test_rows``, ``slices_flagged``, ``split_drift_max`` (0 with no drift rows), ``mase_season``,
        ``split_drift_flagged``, ``wape_ratio_to_best_baseline`` (model WAPE / best baseline
        WAPE, < 1 beats it; NaN when undefined) and :func:`horizon_scores`.
        """
        metrics = {f"test_{name}": float(value) for name, value in self.overall.items()}
        metrics["test_rows"] = float(len(self.actual))
        for baseline, values in self.baselines.items():
            metrics |= {f"{baseline}_{name}": float(value) for name, value in values.items()}
        best = min((m["wape"] for m in self.baselines.values()), default=math.nan)
        metrics["wape_ratio_to_best_baseline"] = (
            self.overall["wape"] / best if best > 0 and not math.isnan(self.overall["wape"]) else math.nan
        )
        metrics |= {f"test_{name}": float(value) for name, value in self.intervals.items()}
        metrics["slices_flagged"] = float(len(self.flagged_slices))
        drift = self.split_drift["distance"]
        metrics["split_drift_max"] = float(drift.max()) if len(drift) else 0.0
        metrics["split_drift_flagged"] = float(len(self.flagged_drift))
        if self.mase_season is not None:
            metrics["mase_season"] = float(self.mase_season)
        return metrics | horizon_scores(self.slices.get("horizon"), self.metric, ["model", *self.baselines])

    def to_dict(self) -> dict[str, Any]:
        """The whole analysis as a JSON-safe document (NaN as null), for an ``analysis.json`` artifact."""
        return _json_safe(
            {
                "metrics": self.as_metrics(),
                "metric": self.metric,
                "beats_baselines": self.beats_baselines() if self.baselines else False,
                "overall": self.overall,
                "baselines": self.baselines,
                "baseline_descriptions": dict(BASELINES),
                "slices": {name: table.to_dict("records") for name, table in self.slices.items()},
                "flagged_slices": self.flagged_slices.to_dict("records"),
                "split_drift": self.split_drift.to_dict("records"),
                "flagged_drift": self.flagged_drift.to_dict("records"),
                "importances": self.importances,
                "intervals": self.intervals,
            }
        )

    def write_plots(self, directory: str | Path) -> list[Path]:
        """Write ``predicted_vs_actual.png``, ``error_by_<dimension>.png`` per slice table and
        ``feature_importance.png`` into ``directory`` (created if missing); return their paths."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [plots.predicted_vs_actual(self.actual, self.predicted, folder / "predicted_vs_actual.png")]
        for name, table in self.slices.items():
            title = f"WAPE by {name.replace('_', ' ')}"
            path = folder / f"error_by_{name}.png"
            paths.append(plots.error_by_slice(table, path, title, self.overall["wape"]))
        paths.append(plots.feature_importance(self.importances, folder / "feature_importance.png"))
        return paths


def analyse(
    test_rows: pd.DataFrame,
    predicted: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    slices: Mapping[str, pd.Series],
    importances: Mapping[str, float],
    split_windows: Mapping[str, pd.DataFrame],
    drift_columns: Sequence[str],
    bins: Mapping[str, Sequence[float]],
    slice_factor: float = 2.0,
    drift_threshold: float = 0.2,
    *,
    min_slice_rows: int = MIN_SLICE_ROWS,
    min_slice_share: float = MIN_SLICE_SHARE,
    quantiles: np.ndarray | None = None,
    levels: Sequence[float] = (),
    naive_scale: float | None = None,
    naive_season: int | None = None,
    metric: str = "wape",
) -> ModelAnalysis:
    """Score ``predicted`` against ``test_rows[label]``, next to the baselines, per slice, with split drift.

    Args:
        test_rows: expanded, labelled test rows with a ``label`` column.
        predicted: the model's prediction of each test row, in row order.
        baselines: baseline name -> its forecast of each test row
            (:func:`fti.analysis.baselines.baseline_forecasts`).
        slices: dimension name -> the slice of each test row (:func:`fti.analysis.slices.slice_keys`).
        importances: feature name -> importance of the fitted model.
        split_windows: window name -> its rows, e.g. ``{"train": ..., "validation": ..., "test": ...}``.
        drift_columns: columns whose drift between windows is measured.
        bins: histogram edges by column (:func:`fti.features.schema.bins`).
        slice_factor: a slice is flagged when its WAPE exceeds this many times the overall WAPE.
        drift_threshold: Jensen-Shannon distance above which a column's drift is flagged.
        min_slice_rows: slices with fewer rows are pooled into ``(other)``.
        min_slice_share: share of actual demand a slice needs to be flagged.
        quantiles: the model's quantile forecasts of each test row (``len x len(levels)``), if any.
        levels: their levels.
        naive_scale: in-sample MAE of the seasonal naive on the training window
            (:func:`fti.analysis.baselines.naive_scale`); given, every metric set gains ``mase``.
        naive_season: the season that naive forecast used (periods), reported as ``mase_season``.
        metric: the primary metric, scored per slice for the model and every baseline.

    Raises:
        ValueError: ``predicted`` does not pair up with ``test_rows`` or is not finite.
        KeyError: ``test_rows`` has no ``label`` column.
    """
    actual, forecast = _checked(test_rows, predicted)

    def scored(forecast_of: np.ndarray) -> dict[str, float]:
        found = regression_metrics(actual, forecast_of)
        return found if naive_scale is None else found | {"mase": mase(actual, forecast_of, naive_scale)}

    overall = scored(forecast)
    tables = {}
    every = {"model": forecast, **baselines}
    for name, keys in slices.items():
        table = slice_scores(
            slice_metrics(actual, forecast, keys, min_slice_rows), keys, actual, every, metric
        )
        tables[name] = flag_slices(table, overall["wape"], slice_factor, min_slice_share)
    drift = split_drift(split_windows, drift_columns, bins)
    return ModelAnalysis(
        overall=overall,
        baselines={name: scored(forecast_of) for name, forecast_of in baselines.items()},
        slices=tables,
        flagged_slices=_flagged(tables),
        split_drift=drift,
        flagged_drift=flag_drift(drift, drift_threshold),
        importances={str(k): float(v) for k, v in importances.items()},
        intervals=interval_metrics(actual, quantiles, levels) if quantiles is not None else {},
        metric=metric,
        mase_season=naive_season,
        actual=actual,
        predicted=forecast,
    )


def horizon_scores(table: pd.DataFrame | None, metric: str, who: Sequence[str]) -> dict[str, float]:
    """``h<k>_<metric>_<who>``: each forecast's primary metric on the rows of horizon ``k`` (the rows
    of the ``horizon`` slice table but the pooled one, which has no single horizon)."""
    if table is None:
        return {}
    found: dict[str, float] = {}
    for row in table[table["slice"] != OTHER_SLICE].to_dict("records"):
        found |= {f"h{row['slice']}_{metric}_{name}": float(row[f"{metric}_{name}"]) for name in who}
    return found


def interval_metrics(actual: np.ndarray, quantiles: np.ndarray, levels: Sequence[float]) -> dict[str, float]:
    """Coverage of the outer interval (``coverage_p10_p90``), each side's miss (``share_below_p10`` and
    ``share_above_p90``, nominal 0.1 each: on mostly-zero counts nothing can be below a P10 of 0, so the
    coverage stays above nominal however well each side is calibrated) and each level's pinball loss."""
    from fti.analysis.metrics import coverage, pinball
    from fti.training.intervals import level_names

    names = level_names(levels)
    found = {f"coverage_{names[0]}_{names[-1]}": coverage(actual, quantiles[:, 0], quantiles[:, -1])}
    found["nominal_coverage"] = float(levels[-1] - levels[0])
    if len(actual):
        found[f"share_below_{names[0]}"] = float(np.mean(actual < quantiles[:, 0]))
        found[f"share_above_{names[-1]}"] = float(np.mean(actual > quantiles[:, -1]))
    for i, (name, level) in enumerate(zip(names, levels, strict=True)):
        found[f"pinball_{name}"] = pinball(actual, quantiles[:, i], level)
    return found


def _checked(test_rows: pd.DataFrame, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions as float64 arrays, after the checks that make every metric meaningful."""
    if LABEL not in test_rows.columns:
        raise KeyError(f"test_rows need a {LABEL!r} column to be scored; they have {list(test_rows.columns)}")
    forecast = np.asarray(predicted, dtype="float64").ravel()
    if len(forecast) != len(test_rows):
        raise ValueError(f"{len(forecast)} predictions for {len(test_rows)} test rows; expected one per row")
    if not np.isfinite(forecast).all():
        raise ValueError(f"{int((~np.isfinite(forecast)).sum())} predictions are NaN or infinite")
    return test_rows[LABEL].to_numpy(dtype="float64"), forecast


def _flagged(slices: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The flagged rows of every slice table, after a ``dimension`` column naming their table."""
    import pandas as pd

    columns = ["dimension", *SLICE_COLUMNS, "share", "flagged"]
    parts = [table[table["flagged"]].assign(dimension=name) for name, table in slices.items()]
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python ones, NaN and infinities as None, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
