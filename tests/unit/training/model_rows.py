"""Synthetic model-input rows of a spec, for the training tests: every input of the spec, a known label."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fti.features.model_inputs import LABEL
from fti.features.schema import categorical_inputs, numeric_inputs
from fti.settings import PROJECT_ROOT
from fti.specs import DatasetSpec, load_dataset

COUNTRIES = ("United Kingdom", "France", "Germany")
ONLINE_RETAIL = load_dataset(PROJECT_ROOT / "specs", "online_retail")


def model_rows(
    n: int,
    seed: int,
    spec: DatasetSpec = ONLINE_RETAIL,
    categories: Sequence[str] = COUNTRIES,
    slope: float = 2.0,
    shift: float = 0.0,
) -> pd.DataFrame:
    """``n`` rows of ``spec``'s model inputs (numbers 0..29, categories drawn from ``categories``) whose
    label is ``slope * lag_7 + shift`` and nothing else (``lag_1`` for specs without a 7-period lag)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.integers(0, 30, n).astype("float64") for c in numeric_inputs(spec)})
    for position, column in enumerate(categorical_inputs(spec)):
        frame.insert(position, column, rng.choice(list(categories), n))
    signal = "lag_7" if "lag_7" in frame else "lag_1"
    frame[LABEL] = slope * frame[signal] + shift
    return frame
