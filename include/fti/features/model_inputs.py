"""Turn stored feature rows into model inputs, identically for training and inference.

A stored row describes an entity on its feature day ``date``; the model predicts the demand
``horizon`` days later, so each row is repeated once per horizon with the target's calendar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fti.features.demand import FEATURE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

CATEGORICAL_INPUTS = ["country"]
NUMERIC_INPUTS = [c for c in FEATURE_COLUMNS] + ["horizon", "target_day_of_week"]
MODEL_INPUTS = CATEGORICAL_INPUTS + NUMERIC_INPUTS
LABEL = "label"


def expand_horizons(features: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Repeat each feature row for horizons 1..``horizon_days`` and add the target's date and weekday.

    Returns:
        The feature columns plus ``horizon``, ``target_date`` and ``target_day_of_week``.
    """
    import pandas as pd

    horizons = np.arange(1, horizon_days + 1, dtype="int64")
    # By position: a label-based repeat multiplies rows whose index label is not unique.
    out = features.iloc[np.repeat(np.arange(len(features)), horizon_days)].reset_index(drop=True)
    out["horizon"] = np.tile(horizons, len(features))
    feature_day = pd.to_datetime(out["date"])
    target = feature_day + pd.to_timedelta(out["horizon"], unit="D")
    out["target_date"] = target.dt.date
    out["target_day_of_week"] = target.dt.dayofweek.astype("int64")
    return out


def attach_labels(expanded: pd.DataFrame, demand_by_day: pd.DataFrame) -> pd.DataFrame:
    """Add the label (demand on ``target_date``) to expanded rows, keeping only rows whose target is known.

    Args:
        expanded: output of :func:`expand_horizons`.
        demand_by_day: ``entity``, ``date``, ``demand`` of every stored row; an entity absent on a
            stored day had no sales in its 28-day window, so its demand that day is 0.
    """
    known_days = set(demand_by_day["date"].unique())
    rows = expanded[expanded["target_date"].isin(known_days)]
    actual = demand_by_day.rename(columns={"date": "target_date", "demand": LABEL})[
        ["entity", "target_date", LABEL]
    ]
    labelled = rows.merge(actual, on=["entity", "target_date"], how="left")
    labelled[LABEL] = labelled[LABEL].fillna(0.0)
    return labelled
