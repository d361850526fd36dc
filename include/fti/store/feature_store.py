"""Write and read feature partitions: Parquet through pyarrow, committed through the catalog."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fti.store import catalog

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.fs as pafs


class ConcurrentCommit(RuntimeError):
    """Another writer committed the same partition while this one was writing; this one committed nothing."""


class FeatureSetNotFound(LookupError):
    """A feature set (or version of it) that the catalog does not know was asked for."""


@dataclass(frozen=True)
class PartitionRef:
    """What a commit made visible: small enough for XCom."""

    feature_set: str
    version: int
    day: str
    uri: str
    row_count: int
    checksum: str
    committed: bool

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class FeatureStore:
    """A versioned, point-in-time correct store of daily feature partitions.

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

    def write(
        self, feature_set: str, day: date, frame: pd.DataFrame, run_id: str | None = None
    ) -> PartitionRef:
        """Commit ``frame`` as the partition of ``day``; rewriting identical bytes commits nothing new.

        The file is written first and committed by one catalog row. The commit checks that the
        partition it started from is still the latest, so of two writers of one partition exactly
        one commits.

        Raises:
            ConcurrentCommit: another writer committed this partition in the meantime.
        """
        table = _to_table(frame)
        payload = _parquet_bytes(table)
        checksum = hashlib.sha256(payload).hexdigest()
        with self.engine.begin() as conn:
            version = self._version_for_schema(conn, feature_set, table.schema)
            seen = _latest_one(conn, feature_set, version, day)
        if seen is not None and seen.checksum == checksum:
            return PartitionRef(
                feature_set, version, day.isoformat(), seen.uri, seen.row_count, checksum, False
            )
        uri = self._write_file(feature_set, version, day, checksum, payload)
        with self.engine.begin() as conn:
            catalog.lock_feature_set_version(conn, feature_set, version)
            now = _latest_one(conn, feature_set, version, day)
            if now is not None and now.checksum == checksum:  # the other writer committed these bytes
                return PartitionRef(
                    feature_set, version, day.isoformat(), now.uri, now.row_count, checksum, False
                )
            if now is not None and (seen is None or now.id != seen.id):
                raise ConcurrentCommit(
                    f"partition {feature_set} v{version} {day} was committed by run {now.run_id!r} "
                    f"while this writer wrote it; this writer committed nothing"
                )
            conn.execute(
                catalog.partitions.insert().values(
                    feature_set=feature_set,
                    version=version,
                    day=day,
                    uri=uri,
                    row_count=table.num_rows,
                    checksum=checksum,
                    committed_at=_utcnow(),
                    run_id=run_id,
                )
            )
        return PartitionRef(feature_set, version, day.isoformat(), uri, table.num_rows, checksum, True)

    def read(
        self,
        feature_set: str,
        start: date,
        end: date,
        as_of: datetime | None = None,
        version: int | None = None,
    ) -> pd.DataFrame:
        """Rows of the days in [start, end] exactly as they were committed at ``as_of`` (default: now)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        as_of = as_of or _utcnow()
        with self.engine.connect() as conn:
            version = version or self.latest_version(feature_set, as_of, conn=conn)
            rows = catalog.latest_partitions(conn, feature_set, version, start, end, as_of)
            schema = self._schema(conn, feature_set, version)
        fs, _ = self._fs
        tables = [pq.read_table(r.uri, filesystem=fs) for r in rows]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return table.to_pandas()

    def latest_version(
        self, feature_set: str, as_of: datetime | None = None, conn: sa.Connection | None = None
    ) -> int:
        """Highest version of ``feature_set`` with a partition committed by ``as_of`` (default: now).

        Raises:
            FeatureSetNotFound: nothing of ``feature_set`` was committed by then.
        """
        p = catalog.partitions
        query = sa.select(sa.func.max(p.c.version)).where(
            p.c.feature_set == feature_set, p.c.committed_at <= (as_of or _utcnow())
        )
        with _maybe_connect(self.engine, conn) as c:
            version = c.execute(query).scalar()
        if version is None:
            when = f" as of {as_of.isoformat()}" if as_of else ""
            raise FeatureSetNotFound(
                f"feature set {feature_set!r} has no committed version{when} in the catalog"
            )
        return int(version)

    def committed_days(
        self, feature_set: str, version: int | None = None, as_of: datetime | None = None
    ) -> list[date]:
        """Days with at least one partition committed at or before ``as_of`` (default: now), in order."""
        p = catalog.partitions
        as_of = as_of or _utcnow()
        with self.engine.connect() as conn:
            version = version or self.latest_version(feature_set, as_of, conn=conn)
            query = (
                sa.select(p.c.day)
                .where(p.c.feature_set == feature_set, p.c.version == version, p.c.committed_at <= as_of)
                .distinct()
            )
            return sorted(conn.execute(query).scalars())

    def _version_for_schema(self, conn: sa.Connection, feature_set: str, schema: pa.Schema) -> int:
        """The version whose schema is ``schema``, created when the schema is new."""
        v = catalog.feature_set_versions
        schema_json = json.dumps([[f.name, str(f.type)] for f in schema], separators=(",", ":"))
        schema_hash = hashlib.sha256(schema_json.encode()).hexdigest()
        found = conn.execute(
            sa.select(v.c.version).where(v.c.feature_set == feature_set, v.c.schema_hash == schema_hash)
        ).scalar()
        if found is not None:
            return int(found)
        latest = conn.execute(
            sa.select(sa.func.max(v.c.version)).where(v.c.feature_set == feature_set)
        ).scalar()
        version = int(latest or 0) + 1
        conn.execute(
            v.insert().values(
                feature_set=feature_set,
                version=version,
                schema_hash=schema_hash,
                schema_json=schema_json,
                created_at=_utcnow(),
            )
        )
        return version

    def _schema(self, conn: sa.Connection, feature_set: str, version: int) -> pa.Schema:
        import pyarrow as pa

        v = catalog.feature_set_versions
        found = conn.execute(
            sa.select(v.c.schema_json).where(v.c.feature_set == feature_set, v.c.version == version)
        ).scalar()
        if found is None:
            raise FeatureSetNotFound(f"feature set {feature_set!r} has no version {version}")
        return pa.schema([(name, _arrow_type(t)) for name, t in json.loads(found)])

    def _write_file(self, feature_set: str, version: int, day: date, checksum: str, payload: bytes) -> str:
        """Write under a temporary name, then rename: a reader never sees a partial file."""
        fs, root = self._fs
        folder = f"{root.rstrip('/')}/{feature_set}/v{version}/date={day.isoformat()}"
        fs.create_dir(folder, recursive=True)
        final = f"{folder}/part-{checksum[:16]}.parquet"
        temp = f"{folder}/.tmp-{uuid.uuid4().hex}.parquet"
        with fs.open_output_stream(temp) as out:
            out.write(payload)
        fs.move(temp, final)
        return final


def _latest_one(conn: sa.Connection, feature_set: str, version: int, day: date) -> sa.Row[Any] | None:
    rows = catalog.latest_partitions(conn, feature_set, version, day, day, _utcnow())
    return rows[0] if rows else None


def _to_table(frame: pd.DataFrame) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def _parquet_bytes(table: pa.Table) -> bytes:
    """Deterministic Parquet bytes: same rows in, same bytes out (so reruns are byte-identical)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return sink.getvalue().to_pybytes()


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
