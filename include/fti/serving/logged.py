"""Past predictions from the prediction log: what a run predicted, long after Redis pruned it.

The answers have the type of live lookups (:class:`fti.cache.client.Prediction`), so a caller asks
"what did run R say of this entity for that period" the way it asks what is live now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.cache.client import Prediction, PredictionNotFound
from fti.inference.prediction_log import POINT, quantile_columns

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec
    from fti.store.feature_store import FeatureStore
    from fti.store.prediction_log import LoggedRun

def logged_predictions(store: FeatureStore, spec: DatasetSpec, run: str, entity: str) -> list[Prediction]:
    """Every period run ``run`` predicted for ``entity``, in period order.

    Raises:
        PredictionLogNotFound: the log has no run ``run`` of the data set.
        PredictionLogCorrupted: the run's file is not the one committed.
        PredictionNotFound: the run predicted nothing for ``entity``.
    """
    logged = store.logged_run(spec.name, run)
    rows = store.read_prediction_log(logged, [entity]).sort_values("target_period")
    if rows.empty:
        raise PredictionNotFound(
            f"logged run {run} has no prediction for entity {entity!r} ({logged.entities} entities)"
        )
    return [_prediction(spec, logged, row) for _, row in rows.iterrows()]


def logged_prediction(
    store: FeatureStore, spec: DatasetSpec, run: str, entity: str, period: str
) -> Prediction:
    """What run ``run`` predicted for ``entity`` in ``period`` (written as the data set's grain writes it).

    Raises:
        ValueError: ``period`` is not a period start of the data set's grain.
        PredictionNotFound: the run predicted nothing for that entity and period (saying which it did).
        PredictionLogNotFound, PredictionLogCorrupted: as :func:`logged_predictions`.
    """
    wanted = spec.calendar.format(spec.calendar.parse(period))
    found = logged_predictions(store, spec, run, entity)
    for prediction in found:
        if prediction.period == wanted:
            return prediction
    span = f"{found[0].period} to {found[-1].period}"
    raise PredictionNotFound(f"logged run {run} predicted {entity!r} for {span}, not for {wanted}")


def _prediction(spec: DatasetSpec, logged: LoggedRun, row: pd.Series) -> Prediction:
    return Prediction(
        entity=str(row["entity"]),
        period=spec.calendar.format(row["target_period"]),
        value=float(row[POINT]),
        run=logged.run,
        model_version=logged.model_version,
        quantiles={name: float(row[name]) for name in quantile_columns(row.index)},
    )
