"""The model: one scikit-learn Pipeline holding preprocessing, XGBoost and post-processing.

Serving loads this one object, so it can never preprocess differently from training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from fti.features.model_inputs import CATEGORICAL_INPUTS, NUMERIC_INPUTS

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "max_depth": 6,
    "learning_rate": 0.1,
    "subsample": 0.9,
    "colsample_bytree": 0.9,
    "min_child_weight": 1.0,
}


class NonNegativeRegressor(RegressorMixin, BaseEstimator):
    """Wraps a regressor and clips its predictions at 0: demand is never negative."""

    def __init__(self, regressor: Any = None) -> None:
        self.regressor = regressor

    def fit(self, X: Any, y: Any) -> NonNegativeRegressor:
        self.regressor_ = clone(self.regressor).fit(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.clip(self.regressor_.predict(X), 0.0, None)


def build_pipeline(params: dict[str, Any] | None = None, seed: int = 42) -> Pipeline:
    """Unfitted Pipeline: one-hot countries, pass numeric inputs through, XGBoost, clip at 0."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from xgboost import XGBRegressor

    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=20), CATEGORICAL_INPUTS),
            ("numeric", "passthrough", NUMERIC_INPUTS),
        ],
        sparse_threshold=0.0,
    )
    regressor = XGBRegressor(
        **{**DEFAULT_PARAMS, **(params or {})},
        objective="reg:squarederror",
        tree_method="hist",
        n_jobs=2,
        random_state=seed,
    )
    return Pipeline([("preprocess", preprocess), ("model", NonNegativeRegressor(regressor))])


def fit(frame: pd.DataFrame, label: str, params: dict[str, Any] | None = None) -> Pipeline:
    """Fit a new Pipeline on ``frame``'s model inputs against its ``label`` column."""
    pipeline = build_pipeline(params)
    pipeline.fit(frame[CATEGORICAL_INPUTS + NUMERIC_INPUTS], frame[label].to_numpy(dtype="float64"))
    return pipeline
