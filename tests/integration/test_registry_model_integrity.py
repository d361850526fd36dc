"""A registered model's files in a real MLflow store (SQLite, local artifacts) edited after registration."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.pipeline import Pipeline

from fti.contracts import MODEL_DIGESTS_TAG, ModelDigests
from fti.features.model_inputs import LABEL
from fti.registry import mlflow_registry as registry
from fti.registry.integrity import ModelIntegrityError
from fti.training.model import fit
from fti.training.serialization import UnsupportedModelFormat, load_pipeline
from tests.integration.test_registry_native_model import (
    MODEL,
    MODEL_INPUTS,
    SPEC,
    log,
    model_rows,
    new_registry,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Stored:
    """A freshly registered model, the folder its artifact store keeps it in, and rows to predict."""

    client: MlflowClient
    ref: registry.ModelRef
    pipeline: Pipeline
    folder: Path
    inputs: pd.DataFrame


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[Stored]:
    """A model registered in a registry of this test's own, so each test may edit its files."""
    client, experiment = new_registry(tmp_path)
    pipeline = fit(SPEC, model_rows(300, seed=1), LABEL, params={"n_estimators": 10, "max_depth": 3})
    ref = log(pipeline, experiment)
    (folder,) = (tmp_path / "artifacts").glob(f"{MODEL}/models/*/artifacts")
    yield Stored(client, ref, pipeline, folder, model_rows(300, seed=2)[MODEL_INPUTS])


def edit_pipeline_json(stored: Stored, change: dict[str, object]) -> None:
    """Rewrite the stored ``pipeline.json`` with ``change`` merged into its top level."""
    path = stored.folder / registry.PIPELINE_FOLDER / "pipeline.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))


def test_registration_records_the_digest_of_every_stored_model_file(stored: Stored) -> None:
    tag = stored.client.get_model_version(MODEL, stored.ref.version).tags[MODEL_DIGESTS_TAG]

    on_disk = {
        p.relative_to(stored.folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in stored.folder.rglob("*")
        if p.is_file()
    }
    assert ModelDigests.from_tag(tag).files == on_disk
    assert {"MLmodel", "pyfunc_model.py", "artifacts/pipeline/pipeline.json"} <= set(on_disk)
    assert {"artifacts/pipeline/booster.ubj"} <= set(on_disk)


def test_an_unedited_model_loads_and_predicts_as_registered_through_both_loaders(stored: Stored) -> None:
    expected = stored.pipeline.predict(stored.inputs)

    np.testing.assert_array_equal(registry.load_model(stored.ref).predict(stored.inputs), expected)
    np.testing.assert_array_equal(
        np.asarray(registry.load_pyfunc(stored.ref).predict(stored.inputs)), expected
    )


def test_an_edited_pipeline_json_is_refused_naming_the_file_and_both_digests(stored: Stored) -> None:
    recorded = ModelDigests.from_tag(
        stored.client.get_model_version(MODEL, stored.ref.version).tags[MODEL_DIGESTS_TAG]
    )
    document = json.loads((stored.folder / registry.PIPELINE_FOLDER / "pipeline.json").read_text())
    edit_pipeline_json(stored, {"regressor_params": {**document["regressor_params"], "missing": 0.0}})
    edited = stored.folder / registry.PIPELINE_FOLDER
    # The edit matters: read without the check, the model predicts differently.
    assert (load_pipeline(edited).predict(stored.inputs) != stored.pipeline.predict(stored.inputs)).any()

    actual = hashlib.sha256((edited / "pipeline.json").read_bytes()).hexdigest()
    for load in (registry.load_model, registry.load_pyfunc):
        with pytest.raises(ModelIntegrityError, match="pipeline.json") as error:
            load(stored.ref)
        assert recorded.files["artifacts/pipeline/pipeline.json"] in str(error.value)
        assert actual in str(error.value)


def test_a_booster_file_outside_the_model_folder_is_refused_by_every_loader(stored: Stored) -> None:
    outside = stored.folder.parent / "elsewhere.ubj"
    shutil.copyfile(stored.folder / registry.PIPELINE_FOLDER / "booster.ubj", outside)
    edit_pipeline_json(stored, {"booster_file": str(outside)})

    with pytest.raises(ModelIntegrityError, match="pipeline.json"):
        registry.load_model(stored.ref)
    # The pyfunc's own load cannot see the registry, but it reads no file outside its folder.
    with pytest.raises(UnsupportedModelFormat, match=f"names booster file '{outside}'"):
        mlflow.pyfunc.load_model(stored.ref.uri)


def test_code_prepended_to_the_pyfunc_file_never_runs_in_fti_loaders(stored: Stored, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    code = stored.folder / "pyfunc_model.py"
    code.write_text(f"open({str(marker)!r}, 'w').close()\n" + code.read_text())

    loaded = registry.load_model(stored.ref)  # reads the pipeline folder only, never the code file
    np.testing.assert_array_equal(loaded.predict(stored.inputs), stored.pipeline.predict(stored.inputs))
    with pytest.raises(ModelIntegrityError, match="pyfunc_model.py has SHA-256"):
        registry.load_pyfunc(stored.ref)
    assert not marker.exists()
    mlflow.pyfunc.load_model(stored.ref.uri)  # why the README calls plain pyfunc loading unsafe
    assert marker.exists()


def test_a_version_without_digests_is_refused_saying_how_to_replace_it(stored: Stored) -> None:
    stored.client.delete_model_version_tag(MODEL, stored.ref.version, MODEL_DIGESTS_TAG)

    for load in (registry.load_model, registry.load_pyfunc):
        with pytest.raises(ModelIntegrityError, match=f"has no '{MODEL_DIGESTS_TAG}' tag.*retrain"):
            load(stored.ref)
