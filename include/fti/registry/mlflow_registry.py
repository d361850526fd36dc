"""Log, register, alias and load models in MLflow (tracking and registry share one URI)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.pipeline import Pipeline

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Distributions the served model needs, pinned to the versions that trained it.
MODEL_REQUIREMENTS = ("scikit-learn", "xgboost-cpu", "pandas", "numpy", "scipy", "skops")
#: The only non-sklearn types the skops-serialised model may contain: loading refuses anything else.
TRUSTED_TYPES = [
    "fti.training.model.NonNegativeRegressor",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBRegressor",
]


class ModelNotFound(LookupError):
    """The registry has no model (or no version under an alias) of that name."""


@dataclass(frozen=True)
class ModelRef:
    """A registered model version: small enough for XCom."""

    name: str
    version: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def configure(tracking_uri: str) -> MlflowClient:
    """Point MLflow's tracking and registry at ``tracking_uri`` and return a client."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def ensure_experiment(client: MlflowClient, name: str, artifact_root: str) -> str:
    """Id of experiment ``name``, created with its artifacts under ``artifact_root`` when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name, artifact_location=f"{artifact_root.rstrip('/')}/{name}"))


def log_and_register(
    pipeline: Pipeline,
    model_name: str,
    experiment_id: str,
    input_example: pd.DataFrame,
    metrics: dict[str, float],
    params: dict[str, Any],
    tags: dict[str, str],
) -> ModelRef:
    """Log the fitted Pipeline with its signature, metrics and lineage tags and register a new version."""
    import mlflow
    from mlflow.models import infer_signature

    signature = infer_signature(input_example, pipeline.predict(input_example))
    requirements = [f"{d}=={dist_version(d)}" for d in MODEL_REQUIREMENTS]
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=signature,
            input_example=input_example,
            pip_requirements=requirements,
            registered_model_name=model_name,
            serialization_format="skops",
            skops_trusted_types=TRUSTED_TYPES,
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    return ModelRef(model_name, version, run.info.run_id)


def set_alias(client: MlflowClient, ref: ModelRef, alias: str) -> None:
    """Point ``alias`` of the model at ``ref``'s version."""
    client.set_registered_model_alias(ref.name, alias, ref.version)


def resolve_alias(client: MlflowClient, model_name: str, alias: str) -> ModelRef:
    """The version ``alias`` points at now; raises :class:`ModelNotFound` when unset."""
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        raise ModelNotFound(f"model {model_name!r} has no version with alias {alias!r}: {exc}") from exc
    return ModelRef(model_name, str(mv.version), str(mv.run_id))


def load_model(ref: ModelRef) -> Pipeline:
    """Load exactly the version ``ref`` names (never the alias, which may move meanwhile)."""
    import mlflow

    return mlflow.sklearn.load_model(ref.uri)
