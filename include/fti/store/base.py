"""What every part of the store shares: the catalog engine, the file system, atomic writes, errors."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from fti.store import catalog
from fti.store.integrity import VerifyMode

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs


TEMP_PREFIX = ".tmp-"
"""Names of files being written; a file of this name that stays behind is an orphan (``fti features gc``)."""


class ConcurrentCommit(RuntimeError):
    """Another writer committed the same partition while this one was writing; this one committed nothing."""


class FeatureSetNotFound(LookupError):
    """A feature set (or version of it) that the catalog does not know was asked for."""


class StatisticsNotFound(LookupError):
    """No partition of the days asked for has statistics of the column asked for."""


class ValidationNotFound(LookupError):
    """A validation id that the catalog has not recorded was given."""


R = TypeVar("R")


def from_row(cls: type[R], row: sa.Row[Any]) -> R:
    """The dataclass ``cls`` of a catalog row whose columns carry its fields' names."""
    values = row._mapping
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def utcnow() -> datetime:
    """Now, as the catalog stores times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class StoreBase:
    """The store's root URI and catalog URL, and the two clients built from them on first use.

    Args:
        store_uri: root of the Parquet files, a local path or any URI pyarrow's filesystems open.
        catalog_url: SQLAlchemy URL of the catalog.
        verify: what every read of a partition checks at least (``FTI_STORE_VERIFY``): ``size``,
            or ``digest`` to compare the SHA-256 on every read, not only on those that ask for it.
        timeout_s: bound of one request to an object store (``FTI_STORE_TIMEOUT_S``; see
            :func:`fti.store.object_store.open_filesystem`); a local path has none.
    """

    def __init__(
        self, store_uri: str, catalog_url: str, verify: VerifyMode = "size", timeout_s: float = 10.0
    ) -> None:
        self.store_uri = store_uri
        self.catalog_url = catalog_url
        self.verify: VerifyMode = verify
        self.timeout_s = timeout_s

    @cached_property
    def engine(self) -> sa.Engine:
        return catalog.create_engine(self.catalog_url)

    @cached_property
    def _fs(self) -> tuple[pafs.FileSystem, str]:
        from fti.store.object_store import open_filesystem

        return open_filesystem(self.store_uri, self.timeout_s)

    @property
    def _root(self) -> str:
        return self._fs[1].rstrip("/")

    def _write_atomically(self, folder: str, name: str, payload: bytes) -> str:
        """Write under a temporary name (``TEMP_PREFIX``), then rename: a reader never sees a partial file.

        A write that fails (disk full, file-size limit) removes its temporary file before raising.
        """
        fs, _ = self._fs
        fs.create_dir(folder, recursive=True)
        final = f"{folder}/{name}"
        temp = f"{folder}/{TEMP_PREFIX}{uuid.uuid4().hex}.{name.rsplit('.', 1)[-1]}"
        try:
            with fs.open_output_stream(temp) as out:
                out.write(payload)
            fs.move(temp, final)
        except BaseException:
            _remove_quietly(fs, temp)
            raise
        return final

    def _restore_if_damaged(self, uri: str, payload: bytes) -> None:
        """Rewrite the committed file ``uri`` with ``payload`` (its committed bytes) unless it holds them."""
        fs, _ = self._fs
        try:
            with fs.open_input_file(uri) as handle:
                intact = handle.size() == len(payload) and handle.read_buffer() == payload
        except FileNotFoundError:
            intact = False
        if not intact:
            folder, name = uri.rsplit("/", 1)
            self._write_atomically(folder, name, payload)

    def latest_version(
        self, feature_set: str, as_of: datetime | None = None, conn: sa.Connection | None = None
    ) -> int:
        """Highest version of ``feature_set`` with a partition committed by ``as_of`` (default: now).

        Raises:
            FeatureSetNotFound: nothing of ``feature_set`` was committed by then.
        """
        p = catalog.partitions
        query = sa.select(sa.func.max(p.c.version)).where(
            p.c.feature_set == feature_set, p.c.committed_at <= (as_of or utcnow())
        )
        with _maybe_connect(self.engine, conn) as c:
            version = c.execute(query).scalar()
        if version is None:
            when = f" as of {as_of.isoformat()}" if as_of else ""
            raise FeatureSetNotFound(
                f"feature set {feature_set!r} has no committed version{when} in the catalog"
            )
        return int(version)

    def _schema(self, conn: sa.Connection, feature_set: str, version: int) -> pa.Schema:
        import pyarrow as pa

        v = catalog.feature_set_versions
        found = conn.execute(
            sa.select(v.c.schema_json).where(v.c.feature_set == feature_set, v.c.version == version)
        ).scalar()
        if found is None:
            raise FeatureSetNotFound(f"feature set {feature_set!r} has no version {version}")
        return pa.schema([(name, _arrow_type(t)) for name, t in json.loads(found)])


def _remove_quietly(fs: pafs.FileSystem, path: str) -> None:
    """Delete ``path`` if it is there; a failure to delete must not hide the error being raised."""
    with suppress(OSError):  # e.g. never created: the open itself failed
        fs.delete_file(path)


def _arrow_type(name: str) -> pa.DataType:
    import pyarrow as pa

    aliases = {"string": pa.string(), "large_string": pa.large_string(), "date32[day]": pa.date32()}
    return aliases.get(name) or pa.type_for_alias(name)


@contextmanager
def _maybe_connect(engine: sa.Engine, conn: sa.Connection | None) -> Iterator[sa.Connection]:
    """Use the given connection, or open (and close) one."""
    if conn is not None:
        yield conn
        return
    with engine.connect() as owned:
        yield owned
