"""Realized accuracy: a logged run's predictions scored against the actuals that have landed since.

The same metrics, slices and baselines as the training analysis (:mod:`fti.analysis`), on the rows
of one published run whose target period is known: so "how good was what users read" is comparable
with "how good did the model look on its test window".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fti.features.model_inputs import LABEL, attach_labels
from fti.features.schema import ENTITY, PERIOD
from fti.inference.prediction_log import POINT, quantile_columns

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec

MIN_SLICE_ROWS = 30
"""Slices with fewer scored rows are pooled (one run has fewer rows than a training test window)."""


@dataclass(frozen=True)
class RealizedScore:
    """How one logged run did on the actuals known so far.

    Attributes:
        rows: entity-periods scored (those whose target period has landed).
        periods: distinct target periods scored, at most the run's horizon.
        last_actual: the newest target period scored, as the grain writes it.
        overall: point metrics (:func:`fti.analysis.metrics.regression_metrics`, ``mase``) and, for
            runs with quantiles, interval coverage and pinball losses.
        baselines: the same point metrics of each baseline on the same rows.
        slices: dimension (``horizon``, key columns, ``volume_band``) -> one dict per slice.
    """

    rows: int
    periods: int
    last_actual: str
    overall: dict[str, float]
    baselines: dict[str, dict[str, float]]
    slices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def best_baseline(self, metric: str) -> tuple[str, float]:
        """The baseline with the lowest ``metric`` (NaN ones last)."""
        ranked = sorted(self.baselines.items(), key=lambda kv: (np.isnan(kv[1][metric]), kv[1][metric]))
        name, values = ranked[0]
        return name, values[metric]


def labelled_log_rows(log: pd.DataFrame, features: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The logged rows whose target period has an actual, with ``label`` and the origin's key columns.

    Args:
        log: a run's logged rows (:func:`fti.inference.prediction_log.log_rows` plus its run columns).
        features: stored feature rows from before the run's origin through its target periods.
    """
    keys = [c for c in (*spec.entity.key_fields, *spec.static_fields) if c in features and c not in log]
    rows = log.rename(columns={"feature_period": PERIOD})
    if keys:
        origin = features[[ENTITY, PERIOD, *keys]].astype({PERIOD: rows[PERIOD].dtype})
        rows = rows.merge(origin, on=[ENTITY, PERIOD], how="left", validate="many_to_one")
    # A target period counts as landed once the store holds it (absent: zero fills its missing rows).
    return attach_labels(rows, features[[ENTITY, PERIOD, spec.target.name]], spec)


def score(labelled: pd.DataFrame, features: pd.DataFrame, spec: DatasetSpec) -> RealizedScore | None:
    """The realized metrics of :func:`labelled_log_rows`; None when no target period has landed."""
    from fti.analysis.baselines import SEASON, baseline_forecasts, history, naive_scale, naive_season
    from fti.analysis.metrics import mase, regression_metrics
    from fti.analysis.report import interval_metrics
    from fti.analysis.slices import slice_keys, slice_metrics

    if labelled.empty:
        return None
    actuals = features[[ENTITY, PERIOD, spec.target.name]]
    past = history(actuals, spec)
    origin = int(spec.calendar.index(labelled[PERIOD].to_numpy(dtype="datetime64[us]")).max())
    scale = naive_scale(past, origin, naive_season(past, origin, SEASON[spec.time.grain]))
    actual = labelled[LABEL].to_numpy(dtype="float64")

    def scored(predicted: np.ndarray) -> dict[str, float]:
        return regression_metrics(actual, predicted) | {"mase": mase(actual, predicted, scale)}

    point = labelled[POINT].to_numpy(dtype="float64")
    overall = scored(point)
    names = quantile_columns(labelled.columns)
    if names:
        levels = [float(n[1:]) / 100 for n in names]
        overall |= interval_metrics(actual, labelled[names].to_numpy(dtype="float64"), levels)
    forecasts = baseline_forecasts(labelled, actuals, spec, past)
    slices = {
        dimension: slice_metrics(actual, point, keys, MIN_SLICE_ROWS).to_dict("records")
        for dimension, keys in slice_keys(labelled, spec, forecasts["moving_average"]).items()
    }
    targets = labelled["target_period"]
    return RealizedScore(
        rows=len(labelled),
        periods=int(targets.nunique()),
        last_actual=spec.calendar.format(targets.max()),
        overall=overall,
        baselines={name: scored(values) for name, values in forecasts.items()},
        slices=slices,
    )

