"""The demand model as an MLflow pyfunc, logged as "models from code" (never imported by fti itself).

MLflow copies this file into the logged model and executes it when the model is loaded with
``mlflow.pyfunc.load_model``; the :func:`mlflow.models.set_model` call at the bottom tells it which
object is the model. Nothing is pickled: the fitted Pipeline is the model's ``pipeline`` artifact,
the JSON + XGBoost directory written by :func:`fti.training.serialization.save_pipeline`. The
``fti`` package must be importable where the model is loaded (it is in every image of this project).
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

#: Key of the saved-pipeline directory in the model's artifacts.
PIPELINE_ARTIFACT = "pipeline"


class DemandModel(PythonModel):
    """Predicts demand with the saved Pipeline: preprocessing, XGBoost and clipping in one object."""

    def load_context(self, context: Any) -> None:
        from fti.training.serialization import load_pipeline

        self.pipeline = load_pipeline(Path(context.artifacts[PIPELINE_ARTIFACT]))

    # A DataFrame hint is one MLflow accepts without deriving a schema from it (no annotations
    # import: MLflow evaluates the hint): the logged signature stays the schema of requests.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        """Demand predictions (clipped at 0) for a DataFrame of the model inputs."""
        return self.pipeline.predict(model_input)


set_model(DemandModel())
