"""Log, register, alias and load models in MLflow (tracking and registry share one URI)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fti.contracts import MODEL_DIGESTS_TAG, ModelDigests
from fti.registry.integrity import check_digests, file_digests, recorded_digests, verify_files

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models.model import ModelInfo
    from mlflow.pyfunc import PyFuncModel
    from sklearn.pipeline import Pipeline

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Distributions the served model needs, pinned to the versions that trained it.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "xgboost-cpu", "pandas", "numpy", "scipy")
#: Name of the logged model in its run, and of the saved-Pipeline directory among its artifacts.
MODEL_ARTIFACT = "model"
PIPELINE_ARTIFACT = "pipeline"
#: Where a pyfunc keeps that directory inside the logged model (MLflow's layout).
PIPELINE_FOLDER = f"artifacts/{PIPELINE_ARTIFACT}"
#: Run folder of the extra files given to :func:`log_and_register` (plots, analysis JSON).
ANALYSIS_DIR = "analysis"


class ModelNotFound(LookupError):
    """The registry has no model (or no version under an alias) of that name."""


class RegistryUnavailable(RuntimeError):
    """The MLflow tracking server does not answer."""


class RegistryRefused(RegistryUnavailable):
    """The MLflow tracking server answers, but refuses the credentials given (HTTP 401 or 403)."""


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


@dataclass(frozen=True)
class ChildRun:
    """A nested run under the training run (one tuning trial): its name, parameters, metrics, tags."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)


def log_and_register(
    pipeline: Pipeline,
    model_name: str,
    experiment_id: str,
    input_example: pd.DataFrame,
    metrics: dict[str, float],
    params: dict[str, Any],
    tags: dict[str, str],
    artifacts: Sequence[Path] = (),
    run_name: str | None = None,
    children: Sequence[ChildRun] = (),
) -> ModelRef:
    """Log a run with the model in native format, then register it as a new, fully tagged version.

    The model is a pyfunc "models from code" (:mod:`fti.registry.pyfunc_model`) whose artifact is
    the JSON + XGBoost directory of :func:`fti.training.serialization.save_pipeline`: nothing is
    pickled. ``artifacts`` (plots, analysis JSON) go into the run under ``analysis/``; ``children``
    (the tuning trials) become nested runs of it.

    Registration comes last and is all or nothing: if tagging the new version fails, the version
    is deleted before the error is re-raised, so no untagged (lineage-less) version is left. Besides
    ``tags`` it carries :data:`~fti.contracts.MODEL_DIGESTS_TAG`, the SHA-256 of every stored file of
    the model, which every load through :func:`load_model` or :func:`load_pyfunc` checks.
    """
    import mlflow

    from fti.training.serialization import save_pipeline

    with tempfile.TemporaryDirectory(prefix="fti-model-") as tmp:
        model_dir = Path(tmp) / PIPELINE_ARTIFACT
        save_pipeline(pipeline, model_dir)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            mlflow.set_tags(tags)
            for path in artifacts:
                mlflow.log_artifact(str(path), artifact_path=ANALYSIS_DIR)
            info = _log_pyfunc(pipeline, model_dir, input_example)
            for child in children:
                with mlflow.start_run(experiment_id=experiment_id, run_name=child.name, nested=True):
                    mlflow.log_params(child.params)
                    mlflow.log_metrics(child.metrics)
                    mlflow.set_tags(child.tags)
        digests = _stored_digests(info.model_uri, model_dir)
    version = _register(
        mlflow.MlflowClient(), info.model_uri, model_name, {**tags, MODEL_DIGESTS_TAG: digests.to_tag()}
    )
    return ModelRef(model_name, version, run.info.run_id)


def _log_pyfunc(pipeline: Pipeline, model_dir: Path, input_example: pd.DataFrame) -> ModelInfo:
    """Log the saved Pipeline directory as the active run's ``model`` (a pyfunc from code)."""
    import mlflow
    from mlflow.models import infer_signature

    signature = infer_signature(input_example, pipeline.predict(input_example))
    return mlflow.pyfunc.log_model(
        name=MODEL_ARTIFACT,
        python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={PIPELINE_ARTIFACT: str(model_dir)},
        signature=signature,
        input_example=input_example,
        pip_requirements=[f"{d}=={dist_version(d)}" for d in MODEL_REQUIREMENTS],
    )


def _stored_digests(model_uri: str, written: Path) -> ModelDigests:
    """Digests of the logged model's files as stored, checked to hold the pipeline files written here."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="fti-model-") as tmp:
        stored = file_digests(Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)))
    check_digests(file_digests(written), stored.under(PIPELINE_FOLDER), f"upload of {model_uri}")
    return stored


def _register(client: MlflowClient, model_uri: str, model_name: str, tags: dict[str, str]) -> str:
    """Register ``model_uri`` as a new version of ``model_name`` with ``tags``, or leave no version."""
    import mlflow

    version = str(mlflow.register_model(model_uri, model_name).version)
    try:
        for key, value in tags.items():
            client.set_model_version_tag(model_name, version, key, value)
    except BaseException:
        client.delete_model_version(model_name, version)
        raise
    return version


def check_available(tracking_uri: str, timeout_s: float = 10) -> None:
    """Fail fast when an http(s) tracking server does not answer, or answers but refuses us.

    One plain GET of ``/health`` bounded by ``timeout_s`` as a whole, instead of MLflow's own client,
    which retries for minutes before giving up. User info of the URI is sent as basic auth, as MLflow
    sends it; redirects are not followed. Database and file URIs are not checked.

    Raises:
        RegistryRefused: the server answers 401 or 403 (it is up; the credentials are wrong or missing).
        RegistryUnavailable: it does not answer, or answers 5xx. No message shows the password.
    """
    import urllib.error

    from fti.credentials import redact_text, redact_url
    from fti.httpcall import request

    if urlsplit(tracking_uri).scheme not in ("http", "https"):
        return
    shown = redact_url(tracking_uri)
    url = f"{tracking_uri.rstrip('/')}/health"
    try:
        request(url, timeout_s)
        return
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise RegistryRefused(
                f"MLflow tracking server {shown} answers but refuses GET /health: HTTP {exc.code} "
                f"{exc.reason}; give it valid credentials (user:password in the tracking URI)"
            ) from None
        if exc.code < 500:  # the server is there (an old MLflow without /health answers 404)
            return
        reason = f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError) as exc:  # URLError, refused connections and timeouts are OSErrors
        reason = redact_text(str(getattr(exc, "reason", exc)) or type(exc).__name__)
    raise RegistryUnavailable(
        f"MLflow tracking server {shown} did not answer GET {redact_url(url)} within {timeout_s:g} s: "
        f"{reason}"
    )


def set_alias(client: MlflowClient, ref: ModelRef, alias: str) -> None:
    """Point ``alias`` of the model at ``ref``'s version."""
    client.set_registered_model_alias(ref.name, alias, ref.version)


#: MLflow's error codes for an unknown model (RESOURCE_DOES_NOT_EXIST) and an unset alias (it says
#: INVALID_PARAMETER_VALUE "Registered model alias ... not found").
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})


def resolve_alias(client: MlflowClient, model_name: str, alias: str) -> ModelRef:
    """The version ``alias`` points at now.

    Raises:
        ModelNotFound: no such model, or the alias is unset (the registry said so).
        RegistryUnavailable: the registry failed to answer (not a verdict on the model; the message
            masks the tracking URI's password, which MLflow's own message shows).
    """
    from mlflow.exceptions import MlflowException

    from fti.credentials import redact_text

    try:
        mv = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code not in _NOT_FOUND_CODES:
            raise RegistryUnavailable(
                redact_text(f"the registry did not say where alias {alias!r} of {model_name!r} points: {exc}")
            ) from None
        raise ModelNotFound(
            redact_text(f"model {model_name!r} has no version with alias {alias!r}: {exc}")
        ) from None
    return ModelRef(model_name, str(mv.version), str(mv.run_id))


def champion_and_newest(client: MlflowClient, model_name: str) -> dict[str, dict[str, str]]:
    """The tags of the champion and of the newest version, by label (``champion v3``, ``newest v4``);
    empty when nothing is registered.

    Raises:
        RegistryUnavailable: the registry failed to answer.
    """
    found: dict[str, dict[str, str]] = {}
    try:
        champion: str | None = resolve_alias(client, model_name, CHAMPION).version
    except ModelNotFound:
        champion = None
    versions = {str(v.version): v for v in client.search_model_versions(f"name = '{model_name}'")}
    if champion is not None and champion in versions:
        found[f"champion v{champion}"] = dict(versions[champion].tags)
    newest = max(versions, key=int, default=None)
    if newest is not None and newest != champion:
        found[f"newest v{newest}"] = dict(versions[newest].tags)
    return found


def load_model(ref: ModelRef) -> Pipeline:
    """Load exactly the version ``ref`` names (never the alias, which may move meanwhile).

    Downloads only the model's saved-pipeline directory, checks its files against the digests the
    version recorded at registration, and rebuilds the Pipeline from JSON and XGBoost's own format:
    no pickle is read, no code of the logged model runs, and no MLflow model environment is needed.
    (:func:`fti.registry.model_cache.cached_model` does the same, once per process and host.)

    Raises:
        ModelIntegrityError: a file differs from its recorded digest, or the version recorded none.
    """
    from fti.training.serialization import load_pipeline

    recorded = pipeline_digests(ref)
    with tempfile.TemporaryDirectory(prefix="fti-model-") as tmp:
        return load_pipeline(download_pipeline(ref, recorded, Path(tmp)))


def pipeline_digests(ref: ModelRef) -> ModelDigests:
    """The digests of the saved-pipeline files that ``ref``'s version recorded at registration.

    Raises:
        ModelIntegrityError: the version recorded none.
    """
    return _recorded_digests(ref).under(PIPELINE_FOLDER)


def download_pipeline(ref: ModelRef, recorded: ModelDigests, into: Path) -> Path:
    """Download ``ref``'s saved-pipeline directory under ``into`` and check it against ``recorded``.

    Raises:
        ModelIntegrityError: a downloaded file differs from ``recorded``.
    """
    import mlflow

    uri = f"{ref.uri}/{PIPELINE_FOLDER}"
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(into)))
    verify_files(local, recorded, uri)
    return local


def load_pyfunc(ref: ModelRef) -> PyFuncModel:
    """The version as an MLflow pyfunc, every file of it (its code too) checked before MLflow runs any.

    ``mlflow.pyfunc.load_model`` executes the model's code file; this downloads the whole model,
    checks it against the digests recorded at registration, and only then loads that checked copy.

    Raises:
        ModelIntegrityError: a file differs from its recorded digest, or the version recorded none.
    """
    import mlflow

    recorded = _recorded_digests(ref)
    with tempfile.TemporaryDirectory(prefix="fti-model-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref.uri, dst_path=tmp))
        verify_files(local, recorded, ref.uri)
        return mlflow.pyfunc.load_model(str(local))


def _recorded_digests(ref: ModelRef) -> ModelDigests:
    """The digests ``ref``'s version recorded at registration (the registry's tag, never a stored file)."""
    import mlflow

    return recorded_digests(mlflow.MlflowClient().get_model_version(ref.name, ref.version).tags, ref.uri)


def mlflow_links(ui_url: str, experiment_id: str, ref: ModelRef) -> dict[str, str]:
    """Where the run (metrics, plots) and the model version are in the MLflow UI."""
    ui = ui_url.rstrip("/")
    return {
        "run": f"{ui}/#/experiments/{experiment_id}/runs/{ref.run_id}",
        "plots": f"{ui}/#/experiments/{experiment_id}/runs/{ref.run_id}/artifacts",
        "model_version": f"{ui}/#/models/{ref.name}/versions/{ref.version}",
    }
