"""The batch's model cache with a real MLflow registry: loaded once per process, downloaded once per host,
and never used once it differs from the digests the registry records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fti.contracts import MODEL_DIGESTS_TAG, ModelDigests, PinnedModel
from fti.features.schema import model_inputs
from fti.pipelines.champion import resolve_champion
from fti.pipelines.inference import forecast_inputs, origin_rows
from fti.registry import mlflow_registry as registry
from fti.registry.integrity import ModelIntegrityError, file_digests
from fti.registry.model_cache import cached_model, forget_loaded
from fti.resources import Resources
from fti.specs import DatasetSpec
from tests.integration.inference.test_batch_inference import newest

pytestmark = pytest.mark.integration


@pytest.fixture
def pinned(resources: Resources, sales: DatasetSpec) -> Iterator[PinnedModel]:
    forget_loaded()
    yield resolve_champion(resources, sales)
    forget_loaded()


def ref_of(pinned: PinnedModel) -> registry.ModelRef:
    return registry.ModelRef(pinned.name, pinned.version, pinned.run_id)


def host_copy_files(cache_dir: Path) -> dict[Path, int]:
    """Every file of the host's model copies, by path, with its inode (a download makes new ones)."""
    return {p: p.stat().st_ino for p in (cache_dir / "models").rglob("*") if p.is_file()}


def test_a_model_is_downloaded_once_per_host_and_loaded_once_per_process(
    resources: Resources, sales: DatasetSpec, pinned: PinnedModel, tmp_path: Path
) -> None:
    first = cached_model(ref_of(pinned), tmp_path)
    files = host_copy_files(tmp_path)

    assert cached_model(ref_of(pinned), tmp_path) is first, "loaded once per process"
    forget_loaded()  # as a new worker process on the same host
    again = cached_model(ref_of(pinned), tmp_path)

    assert again is not first and files and host_copy_files(tmp_path) == files, "no second download"
    inputs = forecast_inputs(resources, sales, pinned, origin_rows(newest(resources, sales)[1]).head(20))
    features = inputs[model_inputs(sales)]
    expected = registry.load_model(ref_of(pinned)).predict(features)
    assert np.array_equal(again.predict(features), expected)


def test_an_edited_host_copy_is_discarded_and_downloaded_again(pinned: PinnedModel, tmp_path: Path) -> None:
    cached_model(ref_of(pinned), tmp_path)
    (copy,) = (tmp_path / "models").glob("*/v*")
    recorded = file_digests(copy)
    victim = next(p for p in copy.rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes() + b" ")
    forget_loaded()

    cached_model(ref_of(pinned), tmp_path)

    assert file_digests(copy) == recorded


def test_a_digest_changed_in_the_registry_is_honoured_even_for_a_model_in_memory(
    resources: Resources, pinned: PinnedModel, tmp_path: Path
) -> None:
    cached_model(ref_of(pinned), tmp_path)
    client = resources.registry
    tag = dict(client.get_model_version(pinned.name, pinned.version).tags)[MODEL_DIGESTS_TAG]
    files = ModelDigests.from_tag(tag).files
    loaded = next(name for name in files if name.startswith(f"{registry.PIPELINE_FOLDER}/"))
    changed = ModelDigests(files=dict(files, **{loaded: "0" * 64})).to_tag()
    client.set_model_version_tag(pinned.name, pinned.version, MODEL_DIGESTS_TAG, changed)
    try:
        with pytest.raises(ModelIntegrityError, match="0" * 64):
            cached_model(ref_of(pinned), tmp_path)
    finally:
        client.set_model_version_tag(pinned.name, pinned.version, MODEL_DIGESTS_TAG, tag)
    assert cached_model(ref_of(pinned), tmp_path) is not None
