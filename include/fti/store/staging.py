"""Staging files: rows one task hands the next through the store, because XCom carries only references.

``validate_raw`` stages the typed raw rows it validated, so ``build_and_commit`` computes from exactly
those rows; ``plan_run`` stages the sorted inference inputs as one file per chunk (:meth:`StagingMixin.stage`,
its digest travelling in the chunk's plan), so each mapped ``predict_chunk`` reads and checks only its
own file. A staging file lives under ``<store>/_staging/<dataset>/<run>/`` and is written
atomically; the step that consumed it last deletes it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from fti.contracts import StagedFile
from fti.store import documents
from fti.store.base import StoreBase

if TYPE_CHECKING:
    import pandas as pd


class StagedFileCorrupted(RuntimeError):
    """A staged file is not the one its writer recorded (size, SHA-256 or rows differ)."""


class StagingMixin(StoreBase):
    """Write, read and delete a run's staging files."""

    def write_staging(self, dataset: str, run_id: str, name: str, frame: pd.DataFrame) -> str:
        """Write ``frame`` as ``<name>.parquet`` of the run; returns its URI (for XCom)."""
        folder = f"{self._root}/_staging/{dataset}/{documents.safe_name(run_id)}"
        return self._write_atomically(folder, f"{name}.parquet", parquet_bytes(frame))

    def write_staging_beside(self, uri: str, name: str, frame: pd.DataFrame) -> str:
        """Write ``frame`` as ``<name>.parquet`` in the folder of staging file ``uri`` (same run); its URI."""
        return self._write_atomically(uri.rsplit("/", 1)[0], f"{name}.parquet", parquet_bytes(frame))

    def read_staging(self, uri: str) -> pd.DataFrame:
        """The staged rows.

        Raises:
            FileNotFoundError: the file is gone (a later step consumed it, or it was never written).
        """
        import pyarrow.parquet as pq

        fs, _ = self._fs
        with fs.open_input_file(uri) as handle:
            return pq.ParquetFile(handle).read().to_pandas()

    def stage(self, dataset: str, run_id: str, name: str, frame: pd.DataFrame) -> StagedFile:
        """Write ``frame`` as ``<name>.parquet`` of the run; its URI, SHA-256, size and rows (for XCom)."""
        payload = parquet_bytes(frame)
        folder = f"{self._root}/_staging/{dataset}/{documents.safe_name(run_id)}"
        uri = self._write_atomically(folder, f"{name}.parquet", payload)
        digest = hashlib.sha256(payload).hexdigest()
        return StagedFile(uri=uri, sha256=digest, size_bytes=len(payload), rows=len(frame))

    def read_staged(self, staged: StagedFile) -> pd.DataFrame:
        """The rows of a file :meth:`stage` wrote, after checking its size, SHA-256 and row count.

        Raises:
            StagedFileCorrupted: the file is not the one staged (other size, digest or rows).
            FileNotFoundError: the file is gone (the run was published, or it was never written).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        fs, _ = self._fs
        with fs.open_input_file(staged.uri) as handle:
            payload = handle.read_buffer()
        digest = hashlib.sha256(payload).hexdigest()
        if payload.size != staged.size_bytes or digest != staged.sha256:
            raise StagedFileCorrupted(
                f"staged file {staged.uri} has {payload.size} bytes with SHA-256 {digest}, but "
                f"{staged.size_bytes} bytes with SHA-256 {staged.sha256} were staged: it was changed after "
                "plan_run wrote it; rerun the whole DAG run (plan_run stages it again)"
            )
        frame = pq.read_table(pa.BufferReader(payload)).to_pandas()
        if len(frame) != staged.rows:  # only a writer bug gets here: the digest matched
            raise StagedFileCorrupted(
                f"staged file {staged.uri} holds {len(frame)} rows, {staged.rows} staged"
            )
        return frame

    def delete_staging(self, dataset: str, run_id: str) -> None:
        """Remove every staging file of a run (nothing happens when there is none)."""
        import pyarrow.fs as pafs

        fs, _ = self._fs
        folder = f"{self._root}/_staging/{dataset}/{documents.safe_name(run_id)}"
        if fs.get_file_info(folder).type != pafs.FileType.NotFound:
            fs.delete_dir(folder)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as zstd Parquet without its index: the same rows give the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())
