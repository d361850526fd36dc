"""Staging files: rows one task hands the next through the store, because XCom carries only references.

``validate_raw`` stages the typed raw rows it validated, so ``build_and_commit`` computes from exactly
those rows; ``plan_run`` stages the sorted inference inputs, so each mapped ``predict_chunk`` reads
only its own slice. A staging file lives under ``<store>/_staging/<dataset>/<run>/`` and is written
atomically; the step that consumed it last deletes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.store import documents
from fti.store.base import StoreBase

if TYPE_CHECKING:
    import pandas as pd


class StagingMixin(StoreBase):
    """Write, read and delete a run's staging files."""

    def write_staging(
        self, dataset: str, run_id: str, name: str, frame: pd.DataFrame, row_group_size: int | None = None
    ) -> str:
        """Write ``frame`` as ``<name>.parquet`` of the run; returns its URI (for XCom)."""
        folder = f"{self._root}/_staging/{dataset}/{documents.safe_name(run_id)}"
        return self._write_atomically(folder, f"{name}.parquet", parquet_bytes(frame, row_group_size))

    def write_staging_beside(self, uri: str, name: str, frame: pd.DataFrame) -> str:
        """Write ``frame`` as ``<name>.parquet`` in the folder of staging file ``uri`` (same run); its URI."""
        return self._write_atomically(uri.rsplit("/", 1)[0], f"{name}.parquet", parquet_bytes(frame, None))

    def read_staging(self, uri: str, start: int | None = None, stop: int | None = None) -> pd.DataFrame:
        """The staged rows, or only rows ``[start, stop)`` (reading just the row groups that hold them).

        Raises:
            FileNotFoundError: the file is gone (a later step consumed it, or it was never written).
        """
        import pyarrow.parquet as pq

        fs, _ = self._fs
        with fs.open_input_file(uri) as handle:
            parquet = pq.ParquetFile(handle)
            if start is None and stop is None:
                return parquet.read().to_pandas()
            first, last = start or 0, parquet.metadata.num_rows if stop is None else stop
            groups, offset, skip = [], 0, None
            for g in range(parquet.num_row_groups):
                rows = parquet.metadata.row_group(g).num_rows
                if offset + rows > first and offset < last:
                    groups.append(g)
                    skip = first - offset if skip is None else skip
                offset += rows
            if not groups:
                return parquet.schema_arrow.empty_table().to_pandas()
            table = parquet.read_row_groups(groups)
            return table.slice(skip or 0, last - first).to_pandas()

    def delete_staging(self, dataset: str, run_id: str) -> None:
        """Remove every staging file of a run (nothing happens when there is none)."""
        import pyarrow.fs as pafs

        fs, _ = self._fs
        folder = f"{self._root}/_staging/{dataset}/{documents.safe_name(run_id)}"
        if fs.get_file_info(folder).type != pafs.FileType.NotFound:
            fs.delete_dir(folder)


def parquet_bytes(frame: pd.DataFrame, row_group_size: int | None = None) -> bytes:
    """``frame`` as zstd Parquet without its index: the same rows give the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, sink, compression="zstd", row_group_size=row_group_size)
    return bytes(sink.getvalue().to_pybytes())
