"""Reading a committed partition's file only when it is still the file the catalog committed.

The catalog records each partition's byte size and SHA-256. A read loads the file's bytes once and
compares their count (free: the bytes are in memory anyway) and, when asked, their digest, before
Parquet decodes them. A file rewritten, truncated or extended in place is refused, named.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs
    import sqlalchemy as sa

VerifyMode = Literal["size", "digest"]
"""``size``: compare the byte count only; ``digest``: compare the SHA-256 too."""


class PartitionCorrupted(OSError):
    """A committed partition's file is not the one the catalog committed (size or SHA-256 differ)."""

    def __init__(self, uri: str, what: str, recorded: object, actual: object) -> None:
        super().__init__(
            f"partition file {uri} is corrupted: its {what} is {actual}, the catalog committed {recorded}; "
            "restore it or re-run the partition's feature pipeline"
        )
        self.uri, self.what, self.recorded, self.actual = uri, what, recorded, actual


def stricter(default: VerifyMode, asked: VerifyMode | None) -> VerifyMode:
    """The stronger of the store's default and what a reader asked for."""
    return "digest" if "digest" in (default, asked) else "size"


def read_partition(fs: pafs.FileSystem, row: sa.Row[Any], mode: VerifyMode) -> pa.Table:
    """The Parquet table of catalog ``row``'s file, once its bytes are checked.

    The size is always compared; the digest too with ``mode="digest"``, or when the catalog has no
    size for the row (committed before sizes were recorded).

    Raises:
        PartitionCorrupted: the file's size or SHA-256 differs from the catalog's.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open_input_stream(row.uri) as stream:
        data = stream.read()
    check_bytes(row.uri, data, row.size_bytes, row.checksum, mode)
    return pq.read_table(pa.BufferReader(data))


def check_bytes(uri: str, data: bytes, size: int | None, checksum: str, mode: VerifyMode) -> None:
    """Raise :class:`PartitionCorrupted` unless ``data`` has the recorded size (and digest)."""
    if size is not None and len(data) != size:
        raise PartitionCorrupted(uri, "size in bytes", size, len(data))
    if mode == "digest" or size is None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != checksum:
            raise PartitionCorrupted(uri, "SHA-256", checksum, digest)
