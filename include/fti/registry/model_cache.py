"""The pinned model, loaded once per worker process and downloaded once per host, always as registered.

Every mapped ``predict_chunk`` of a batch run predicts with the same model version. Loading it costs a
download of the saved pipeline and a rebuild; a worker running several chunks pays that once. Both
layers are keyed by the version's URI and the SHA-256 of the file digests its registry tag
(``model_sha256``) records, and that tag is read from the registry on every call (one small request),
so a copy is reused only while the registry still records exactly its files:

* in memory, per process: the rebuilt Pipeline (the newest :data:`KEEP_IN_MEMORY`);
* on disk, per host, under ``<FTI_CACHE_DIR>/models/<model>/v<version>-<key>/``: the downloaded files,
  checked against the recorded digests before every load. A copy edited on disk is discarded and
  downloaded again (the download must match too, else ``ModelIntegrityError``). Under Airflow each
  task instance is a process of its own, so this copy is what spares the later chunks the download.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from fti.registry import mlflow_registry as registry
from fti.registry.integrity import ModelIntegrityError, verify_files

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from fti.contracts import ModelDigests

log = logging.getLogger(__name__)

KEEP_IN_MEMORY = 2
"""Models kept loaded per process (a run uses one; two cover a promotion between runs)."""
KEEP_ON_DISK = 3
"""Versions kept on disk per registered model; older copies are removed when a new one is stored."""
_loaded: OrderedDict[tuple[str, str], Pipeline] = OrderedDict()


def cached_model(ref: registry.ModelRef, cache_dir: Path | None) -> Pipeline:
    """``ref``'s Pipeline, as :func:`~fti.registry.mlflow_registry.load_model` gives it, loaded at most
    once per process and downloaded at most once per host (``cache_dir`` None: no disk copy).

    Raises:
        ModelIntegrityError: the version recorded no digests, or the downloaded files differ from them.
    """
    from fti.training.serialization import load_pipeline

    recorded = registry.pipeline_digests(ref)
    key = (ref.uri, digests_key(recorded))
    if key in _loaded:
        _loaded.move_to_end(key)
        return _loaded[key]
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="fti-model-") as tmp:
            pipeline = load_pipeline(registry.download_pipeline(ref, recorded, Path(tmp)))
    else:
        pipeline = load_pipeline(host_copy(ref, recorded, cache_dir))
    _loaded[key] = pipeline
    while len(_loaded) > KEEP_IN_MEMORY:
        _loaded.popitem(last=False)
    return pipeline


def forget_loaded() -> None:
    """Drop every model this process holds (the host's copies stay)."""
    _loaded.clear()


def digests_key(recorded: ModelDigests) -> str:
    """SHA-256 of the recorded digests (their tag's canonical JSON): one value for one set of files."""
    return hashlib.sha256(recorded.to_tag().encode()).hexdigest()


def host_copy(ref: registry.ModelRef, recorded: ModelDigests, cache_dir: Path) -> Path:
    """The folder of this host's copy of ``ref``'s pipeline, checked against ``recorded``; downloaded
    (into a temporary folder, then renamed into place) unless an intact copy is there.

    Raises:
        ModelIntegrityError: the downloaded files differ from ``recorded``.
    """
    root = cache_dir / "models" / _safe(ref.name)
    final = root / f"v{_safe(ref.version)}-{digests_key(recorded)[:16]}"
    if final.is_dir():
        try:
            verify_files(final, recorded, str(final))
            return final
        except ModelIntegrityError as exc:
            log.warning("discarding this host's copy of %s and downloading it again: %s", ref.uri, exc)
            shutil.rmtree(final, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    download = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    try:
        local = registry.download_pipeline(ref, recorded, download)
        try:
            local.rename(final)
        except OSError:  # another process on this host stored it first: that copy is checked below
            pass
    finally:
        shutil.rmtree(download, ignore_errors=True)
    verify_files(final, recorded, str(final))
    _prune(root, keep=final)
    return final


def _prune(root: Path, keep: Path) -> None:
    """Remove all but the newest :data:`KEEP_ON_DISK` copies under ``root`` (``keep`` always stays)."""
    copies = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in copies[KEEP_ON_DISK:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip(".") or "_"
