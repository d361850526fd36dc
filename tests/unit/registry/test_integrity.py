"""Model-file digests: hashing a folder, comparing with the record, the compact tag."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from fti.contracts import MAX_TAG_CHARS, ModelDigests
from fti.registry.integrity import ModelIntegrityError, file_digests, recorded_digests, verify_files


def model_folder(root: Path) -> Path:
    (root / "artifacts" / "pipeline").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "artifacts" / "pipeline" / "pipeline.json").write_text('{"format_version": 2}\n')
    (root / "registered_model_meta").write_text("model_name: m\n")  # MLflow's client writes it on download
    return root


def test_file_digests_hash_every_file_by_its_relative_path_except_mlflows_download_note(
    tmp_path: Path,
) -> None:
    digests = file_digests(model_folder(tmp_path))

    assert digests.files == {
        "MLmodel": hashlib.sha256(b"flavors: {}\n").hexdigest(),
        "artifacts/pipeline/pipeline.json": hashlib.sha256(b'{"format_version": 2}\n').hexdigest(),
    }
    pipeline_json = digests.files["artifacts/pipeline/pipeline.json"]
    assert digests.under("artifacts/pipeline").files == {"pipeline.json": pipeline_json}


def test_an_unchanged_folder_verifies(tmp_path: Path) -> None:
    folder = model_folder(tmp_path)

    verify_files(folder, file_digests(folder), "models:/m/1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "MLmodel").write_text("flavors: {evil: 1}\n"), "models:/m/1: MLmodel has SHA-256 "),
        (lambda f: (f / "MLmodel").unlink(), "models:/m/1: MLmodel is missing; SHA-256 "),
        (lambda f: (f / "extra.py").write_text("x = 1\n"), "extra.py .* is not among the files recorded"),
    ],
    ids=["edited", "removed", "added"],
)
def test_an_edited_removed_or_added_file_is_refused_by_name(
    tmp_path: Path, change: Callable[[Path], object], message: str
) -> None:
    folder = model_folder(tmp_path)
    recorded = file_digests(folder)
    change(folder)

    with pytest.raises(ModelIntegrityError, match=message):
        verify_files(folder, recorded, "models:/m/1")


def test_the_tag_round_trips_compactly_and_refuses_what_mlflow_cannot_hold() -> None:
    digests = ModelDigests(files={f"file{i}": "a" * 64 for i in range(3)})

    assert ModelDigests.from_tag(digests.to_tag()) == digests
    assert " " not in digests.to_tag()
    with pytest.raises(ValueError, match=f"at most {MAX_TAG_CHARS}"):
        ModelDigests(files={f"file{i}": "a" * 64 for i in range(80)}).to_tag()
    with pytest.raises(ValidationError):
        ModelDigests.from_tag('{"MLmodel": "not-a-digest"}')


def test_a_version_without_the_tag_is_refused() -> None:
    with pytest.raises(ModelIntegrityError, match="models:/m/1 has no 'model_sha256' tag"):
        recorded_digests({"gate": "passed"}, "models:/m/1")
