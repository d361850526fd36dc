"""The model in a real MLflow registry (SQLite store): native format, no pickle, all-or-nothing versions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.pipeline import Pipeline

from fti.contracts import MODEL_DIGESTS_TAG, Lineage
from fti.features.model_inputs import LABEL
from fti.features.schema import model_inputs, numeric_inputs
from fti.registry import mlflow_registry as registry
from fti.settings import PROJECT_ROOT
from fti.specs import DatasetSpec, load_dataset
from fti.training.model import fit
from tests.harness.services import free_port

pytestmark = pytest.mark.integration

SPEC = load_dataset(PROJECT_ROOT / "specs", "online_retail")
MODEL = "fti-online_retail-sandbox"
MODEL_INPUTS = model_inputs(SPEC)
LINEAGE = Lineage(
    environment="sandbox", dataset="online_retail", spec_sha256=SPEC.source_sha256 or "none",
    feature_set="online_retail", feature_set_version=3, as_of=datetime(2011, 12, 10, 4, 0), window=90,
    snapshot_start=date(2011, 9, 11), snapshot_end=date(2011, 12, 9), snapshot_rows=1000,
    snapshot_checksum="c0ffee", train_rows=700, validation_rows=150, test_rows=150, test_start="2011-12-03",
    test_end="2011-12-09", horizon=7, gap=0, validation_id="f00d", validation_ids=90, code_version="abc123",
    tuned=False,
)  # fmt: skip
TAGS = LINEAGE.to_tags()


def model_rows(n: int, seed: int) -> pd.DataFrame:
    """online_retail model inputs whose label is twice lag_7."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.integers(0, 30, n).astype("float64") for c in numeric_inputs(SPEC)})
    frame.insert(0, "country", rng.choice(["United Kingdom", "France", "Germany"], n))
    frame[LABEL] = 2.0 * frame["lag_7"]
    return frame


@dataclass(frozen=True)
class Registered:
    """One logged and registered model, with what was logged."""

    client: MlflowClient
    ref: registry.ModelRef
    pipeline: Pipeline
    inputs: pd.DataFrame


def new_registry(root: Path) -> tuple[MlflowClient, str]:
    client = registry.configure(f"sqlite:///{root / 'mlflow.db'}")
    return client, registry.ensure_experiment(client, MODEL, str(root / "artifacts"))


def log(pipeline: Pipeline, experiment: str, artifacts: list[Path] | None = None) -> registry.ModelRef:
    return registry.log_and_register(
        pipeline,
        MODEL,
        experiment,
        input_example=model_rows(5, seed=9)[MODEL_INPUTS],
        metrics={"test_wape": 0.5},
        params={"n_estimators": 20},
        tags=TAGS,
        artifacts=artifacts or [],
        run_name="native-model-test",
    )


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    root = tmp_path_factory.mktemp("registry")
    client, experiment = new_registry(root)
    pipeline = fit(SPEC, model_rows(400, seed=1), LABEL, params={"n_estimators": 20, "max_depth": 3})
    (root / "analysis.json").write_text('{"wape": 0.5}')
    (root / "residuals.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    ref = log(pipeline, experiment, [root / "analysis.json", root / "residuals.png"])
    yield Registered(client, ref, pipeline, model_rows(200, seed=2)[MODEL_INPUTS])


def test_registered_version_carries_the_tags_and_the_run_its_analysis_files(registered: Registered) -> None:
    version = registered.client.get_model_version(MODEL, registered.ref.version)

    assert {k: v for k, v in version.tags.items() if k != MODEL_DIGESTS_TAG} == TAGS
    assert MODEL_DIGESTS_TAG in version.tags  # its files' digests, see test_registry_model_integrity
    assert Lineage.from_tags(version.tags) == LINEAGE  # the lineage is read back from the tags alone
    assert Lineage.missing_tags(registered.client.get_run(registered.ref.run_id).data.tags) == []
    assert version.run_id == registered.ref.run_id
    analysis = [f.path for f in registered.client.list_artifacts(registered.ref.run_id, "analysis")]
    assert sorted(analysis) == ["analysis/analysis.json", "analysis/residuals.png"]
    assert registered.client.get_run(registered.ref.run_id).info.run_name == "native-model-test"


def test_load_model_predicts_identically_to_the_in_memory_pipeline(registered: Registered) -> None:
    loaded = registry.load_model(registered.ref)

    np.testing.assert_array_equal(
        loaded.predict(registered.inputs), registered.pipeline.predict(registered.inputs)
    )


def test_generic_pyfunc_loading_predicts_the_same(registered: Registered) -> None:
    model = mlflow.pyfunc.load_model(registered.ref.uri)

    predictions = np.asarray(model.predict(registered.inputs))

    np.testing.assert_array_equal(predictions, registered.pipeline.predict(registered.inputs))


def test_a_log1p_model_without_a_clip_predicts_the_same_through_the_registry(tmp_path: Path) -> None:
    document = SPEC.model_dump(mode="json", by_alias=True, exclude_none=True)
    document["features"]["target_transform"] = "log1p"
    document["target"]["non_negative"] = False
    spec = DatasetSpec.model_validate(document)
    _, experiment = new_registry(tmp_path)
    pipeline = fit(spec, model_rows(300, seed=4), LABEL, params={"n_estimators": 10, "max_depth": 3})
    inputs = model_rows(100, seed=5)[MODEL_INPUTS]

    ref = log(pipeline, experiment)

    expected = pipeline.predict(inputs)
    np.testing.assert_array_equal(registry.load_model(ref).predict(inputs), expected)
    np.testing.assert_array_equal(np.asarray(mlflow.pyfunc.load_model(ref.uri).predict(inputs)), expected)


def test_the_logged_model_is_json_and_a_booster_with_no_pickle_anywhere(
    registered: Registered, tmp_path: Path
) -> None:
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=registered.ref.uri, dst_path=str(tmp_path)))

    names = {p.name for p in local.rglob("*") if p.is_file()}
    assert {"booster.ubj", "pipeline.json", "MLmodel"} <= names
    assert "python_model.pkl" not in names
    assert not [n for n in names if n.endswith((".pkl", ".pickle"))]
    assert "skops" not in (local / "requirements.txt").read_text()


def test_check_available_fails_fast_naming_an_unanswering_server() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    with pytest.raises(registry.RegistryUnavailable, match=uri):
        registry.check_available(uri, timeout_s=5)

    assert time.monotonic() - started < 15


def test_check_available_does_not_probe_a_database_store(tmp_path: Path) -> None:
    registry.check_available(f"sqlite:///{tmp_path / 'not-created.db'}")

    assert not (tmp_path / "not-created.db").exists()


def test_a_failure_while_tagging_the_version_leaves_no_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, experiment = new_registry(tmp_path)
    pipeline = fit(SPEC, model_rows(200, seed=3), LABEL, params={"n_estimators": 5, "max_depth": 2})

    def fail(*args: object, **kwargs: object) -> None:
        raise ConnectionError("registry went away while tagging")

    monkeypatch.setattr(MlflowClient, "set_model_version_tag", fail)
    with pytest.raises(ConnectionError, match="while tagging"):
        log(pipeline, experiment)

    assert client.search_model_versions(f"name='{MODEL}'") == []
