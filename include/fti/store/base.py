"""What every part of the store shares: the catalog engine, the file system, atomic writes, errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from fti.store import catalog

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    import sqlalchemy as sa


class ConcurrentCommit(RuntimeError):
    """Another writer committed the same partition while this one was writing; this one committed nothing."""


class FeatureSetNotFound(LookupError):
    """A feature set (or version of it) that the catalog does not know was asked for."""


class StatisticsNotFound(LookupError):
    """No partition of the days asked for has statistics of the column asked for."""


class ValidationNotFound(LookupError):
    """A validation id that the catalog has not recorded was given."""


def utcnow() -> datetime:
    """Now, as the catalog stores times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class StoreBase:
    """The store's root URI and catalog URL, and the two clients built from them on first use.

    Args:
        store_uri: root of the Parquet files, a local path or any URI pyarrow's filesystems open.
        catalog_url: SQLAlchemy URL of the catalog.
    """

    def __init__(self, store_uri: str, catalog_url: str) -> None:
        self.store_uri = store_uri
        self.catalog_url = catalog_url

    @cached_property
    def engine(self) -> sa.Engine:
        return catalog.create_engine(self.catalog_url)

    @cached_property
    def _fs(self) -> tuple[pafs.FileSystem, str]:
        import pyarrow.fs as pafs

        return pafs.FileSystem.from_uri(self.store_uri)

    @property
    def _root(self) -> str:
        return self._fs[1].rstrip("/")

    def _write_atomically(self, folder: str, name: str, payload: bytes) -> str:
        """Write under a temporary name, then rename: a reader never sees a partial file."""
        fs, _ = self._fs
        fs.create_dir(folder, recursive=True)
        final = f"{folder}/{name}"
        temp = f"{folder}/.tmp-{uuid.uuid4().hex}.{name.rsplit('.', 1)[-1]}"
        with fs.open_output_stream(temp) as out:
            out.write(payload)
        fs.move(temp, final)
        return final
