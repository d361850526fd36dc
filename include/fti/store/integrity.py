"""Reading a committed partition's file only when it is still the file the catalog committed.

The catalog records each partition's byte size and SHA-256. A read compares the open file's size
(free) and, when asked, the SHA-256 of its bytes (read once, then decoded from memory) before
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
            "restore it, or re-run the partition's feature pipeline (which rewrites the committed bytes)"
        )
        self.uri, self.what, self.recorded, self.actual = uri, what, recorded, actual


def stricter(default: VerifyMode, asked: VerifyMode | None) -> VerifyMode:
    """The stronger of the store's default and what a reader asked for."""
    return "digest" if "digest" in (default, asked) else "size"


def read_partition(fs: pafs.FileSystem, row: sa.Row[Any], mode: VerifyMode) -> pa.Table:
    """The Parquet table of catalog ``row``'s file, once the file is checked.

    The size is always compared (the open file's, no extra request); the digest too with
    ``mode="digest"``, or when the catalog has no size for the row (committed before sizes were
    recorded): the file is then read whole once, hashed, and decoded from memory.

    Raises:
        PartitionCorrupted: the file's size or SHA-256 differs from the catalog's.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open_input_file(row.uri) as handle:
        if row.size_bytes is not None and handle.size() != row.size_bytes:
            raise PartitionCorrupted(row.uri, "size in bytes", row.size_bytes, handle.size())
        if mode == "size" and row.size_bytes is not None:
            return pq.read_table(handle)
        data = handle.read_buffer()
    digest = hashlib.sha256(memoryview(data)).hexdigest()
    if digest != row.checksum:
        raise PartitionCorrupted(row.uri, "SHA-256", row.checksum, digest)
    return pq.read_table(pa.BufferReader(data))
