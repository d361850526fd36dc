"""SHA-256 digests of a model's files: recorded at registration, checked before anything is loaded.

The registry (MLflow's database) is the trusted record; the artifact store (a shared folder, a bucket)
may be edited by anyone who can write there. So every file of a logged model is hashed when the
version is registered, the digests become the version's :data:`~fti.contracts.MODEL_DIGESTS_TAG`,
and a loader checks the downloaded files against that tag, not against anything stored beside them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fti.contracts import MODEL_DIGESTS_TAG, ModelDigests

#: Written by MLflow's client into a downloaded registered model (its name and version); never stored.
WRITTEN_ON_DOWNLOAD = frozenset({"registered_model_meta"})
_CHUNK = 1 << 20


class ModelIntegrityError(RuntimeError):
    """A model's files differ from the digests recorded when it was registered, or none were recorded."""


def file_digests(directory: Path) -> ModelDigests:
    """SHA-256 of every file under ``directory``, keyed by its path relative to it (``/``-separated)."""
    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        if name not in WRITTEN_ON_DOWNLOAD:
            files[name] = _sha256(path)
    return ModelDigests(files=files)


def check_digests(recorded: ModelDigests, actual: ModelDigests, where: str) -> None:
    """Raise :class:`ModelIntegrityError` unless ``actual`` has exactly the files and digests ``recorded``.

    Args:
        recorded: The digests recorded at registration (the trusted side).
        actual: The digests of the files about to be read.
        where: What is being checked, for the message (e.g. ``models:/name/3``).
    """
    for name in sorted(set(recorded.files) | set(actual.files)):
        expected, seen = recorded.files.get(name), actual.files.get(name)
        if expected == seen:
            continue
        if seen is None:
            problem = f"{name} is missing; SHA-256 {expected} was recorded"
        elif expected is None:
            problem = f"{name} (SHA-256 {seen}) is not among the files recorded at registration"
        else:
            problem = f"{name} has SHA-256 {seen}, but {expected} was recorded at registration"
        raise ModelIntegrityError(
            f"{where}: {problem}; the model's files were changed after it was registered"
        )


def verify_files(directory: Path, recorded: ModelDigests, where: str) -> None:
    """Check every file under ``directory`` against ``recorded`` (see :func:`check_digests`)."""
    check_digests(recorded, file_digests(directory), where)


def recorded_digests(tags: dict[str, str], where: str) -> ModelDigests:
    """The digests a model version's ``tags`` recorded; refuses a version that has none."""
    value = tags.get(MODEL_DIGESTS_TAG)
    if not value:
        raise ModelIntegrityError(
            f"{where} has no {MODEL_DIGESTS_TAG!r} tag, so its files cannot be checked (it was registered "
            "before fti recorded model digests, or the tag was removed): retrain to register a new, "
            "checkable version, or roll back to a version that has the tag"
        )
    return ModelDigests.from_tag(value)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
