"""The rows a batch logs: what was predicted for each entity and period, by which model, from what.

Values are float32, exactly as Redis holds them, so a logged run equals what was served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fti.features.model_inputs import HORIZON, TARGET_PERIOD
from fti.features.schema import ENTITY, PERIOD
from fti.store.prediction_log import LOG_KEYS

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

POINT = "point"


def log_rows(inputs: pd.DataFrame, values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """One row per entity and step: :data:`~fti.store.prediction_log.LOG_KEYS`, the point, the quantiles.

    Args:
        inputs: the model inputs, one row per entity and step (``entity``, ``period``, ``horizon``,
            ``target_period``), entity-major as :func:`~fti.features.model_inputs.expand_horizons` makes them.
        values: ``entities x horizon`` points, or ``entities x horizon x (1 + len(names))`` (point first).
        names: the quantile columns (``p10``, ``p50``, ``p90``), empty for a point forecast.

    Raises:
        ValueError: ``values`` does not hold one value per input row and column.
    """
    flat = np.asarray(values, dtype="float32").reshape(len(inputs), -1)
    if flat.shape[1] != 1 + len(names):
        raise ValueError(f"{flat.shape[1]} values per row for the point and {len(names)} quantiles")
    renamed = inputs[[ENTITY, PERIOD, HORIZON, TARGET_PERIOD]].rename(columns={PERIOD: "feature_period"})
    out = renamed[list(LOG_KEYS)].reset_index(drop=True).astype({ENTITY: str, HORIZON: "int16"})
    for i, name in enumerate([POINT, *names]):
        out[name] = flat[:, i]
    return out


def quantile_columns(names: Iterable[str]) -> list[str]:
    """The quantile columns among logged column names (``p10``, ``p50``, ``p90``), in level order."""
    found = [c for c in names if c.startswith("p") and c[1:].replace(".", "", 1).isdigit()]
    return sorted(found, key=lambda c: float(c[1:]))
