"""Write and read feature partitions: Parquet through pyarrow, committed through the catalog."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fti.store import catalog, history
from fti.store.base import (  # noqa: F401 - the store's errors are imported from here
    ConcurrentCommit,
    FeatureSetNotFound,
    StatisticsNotFound,
    ValidationNotFound,
)
from fti.store.base import utcnow as _utcnow
from fti.store.records import RecordsMixin, _check_validation
from fti.store.staging import StagingMixin
from fti.store.statistics import (
    STATISTICS_COLUMNS,
    FeatureStatistics,
    Histogram,
    compute_statistics,
    sum_histograms,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


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


class FeatureStore(RecordsMixin, StagingMixin):
    """A versioned, point-in-time correct store of feature partitions (a partition: a day, week or month).

    Args:
        store_uri: root of the Parquet files, a local path or any URI pyarrow's filesystems open.
        catalog_url: SQLAlchemy URL of the catalog.
    """

    def write(
        self,
        feature_set: str,
        day: date,
        frame: pd.DataFrame,
        run_id: str | None = None,
        validation_id: str | None = None,
        bins: Mapping[str, Sequence[float]] = MappingProxyType({}),
    ) -> PartitionRef:
        """Commit ``frame`` as the partition of ``day``; rewriting identical bytes commits nothing new.

        One partition of :meth:`write_partitions`, which says how.
        """
        (ref,) = self.write_partitions(feature_set, {day: frame}, run_id, validation_id, bins)
        return ref

    def write_partitions(
        self,
        feature_set: str,
        frames: Mapping[date, pd.DataFrame],
        run_id: str | None = None,
        validation_id: str | None = None,
        bins: Mapping[str, Sequence[float]] = MappingProxyType({}),
    ) -> list[PartitionRef]:
        """Commit each frame as the partition of its day, all in ONE catalog transaction.

        Files are written first (a partition's file is named by its checksum); then one transaction
        checks that no partition changed since this writer looked, and inserts every new partition
        row with the statistics of its columns (:func:`~fti.store.statistics.compute_statistics`).
        Either all of the batch becomes visible or none of it; of two writers of one partition
        exactly one commits. A partition whose bytes are already the latest commits nothing.

        Args:
            validation_id: what :meth:`record_validation` returned for these rows; the partition
                rows keep it. A rewrite of identical bytes commits nothing, so it keeps the link
                of the partition committed first.
            bins: histogram edges by column for the statistics (:func:`fti.features.schema.bins`).

        Returns:
            One reference per partition, in date order.

        Raises:
            ConcurrentCommit: another writer committed one of these partitions in the meantime;
                nothing of the batch was committed.
            ValidationNotFound: no validation with id ``validation_id`` was recorded.
        """
        days = sorted(frames)
        if not days:
            return []
        tables = self._typed_tables(feature_set, {d: _to_table(frames[d]) for d in days})
        payloads = {d: _parquet_bytes(tables[d]) for d in days}
        checksums = {d: hashlib.sha256(payloads[d]).hexdigest() for d in days}
        with self.engine.begin() as conn:
            if validation_id is not None:
                _check_validation(conn, validation_id)
            versions = {d: self._version_for_schema(conn, feature_set, tables[d].schema) for d in days}
            seen = _latest_by_day(conn, feature_set, versions, days)
        refs: dict[date, PartitionRef] = {}
        todo = []
        for d in days:
            known = seen.get(d)
            if known is not None and known.checksum == checksums[d]:
                refs[d] = PartitionRef(feature_set, versions[d], d.isoformat(), known.uri, known.row_count,
                                       checksums[d], False)  # fmt: skip
            else:
                todo.append(d)
        stats = {d: compute_statistics(frames[d], bins) for d in todo}
        uris = {d: self._write_file(feature_set, versions[d], d, checksums[d], payloads[d]) for d in todo}
        with self.engine.begin() as conn:
            for version in sorted({versions[d] for d in todo}):
                catalog.lock_feature_set_version(conn, feature_set, version)
            now = _latest_by_day(conn, feature_set, versions, todo)
            inserts = []
            for d in todo:
                current, before = now.get(d), seen.get(d)
                if current is not None and current.checksum == checksums[d]:  # another writer, same bytes
                    refs[d] = PartitionRef(feature_set, versions[d], d.isoformat(), current.uri,
                                           current.row_count, checksums[d], False)  # fmt: skip
                    continue
                if current is not None and (before is None or current.id != before.id):
                    raise ConcurrentCommit(
                        f"partition {feature_set} v{versions[d]} {d} was committed by run {current.run_id!r} "
                        f"while this writer wrote it; this writer committed nothing"
                    )
                inserts.append(d)
            committed_at = _utcnow()
            for d in inserts:
                partition_id = conn.execute(
                    catalog.partitions.insert()
                    .values(
                        feature_set=feature_set, version=versions[d], day=d, uri=uris[d],
                        row_count=tables[d].num_rows, checksum=checksums[d], committed_at=committed_at,
                        run_id=run_id, validation_id=validation_id,
                    )  # fmt: skip
                    .returning(catalog.partitions.c.id)
                ).scalar_one()
                rows: list[tuple[str, str, str]] = [(s.column, s.kind, s.to_json()) for s in stats[d]]
                catalog.insert_statistics(conn, partition_id, rows)
                refs[d] = PartitionRef(feature_set, versions[d], d.isoformat(), uris[d], tables[d].num_rows,
                                       checksums[d], True)  # fmt: skip
        return [refs[d] for d in days]

    def _typed_tables(self, feature_set: str, tables: dict[date, pa.Table]) -> dict[date, pa.Table]:
        """Empty tables typed like the batch's first non-empty one, else like the latest version.

        A partition without rows (a closed period) carries no types of its own (empty object
        columns become Arrow ``null``); without this it would look like a schema change.
        """
        filled = [t for t in tables.values() if t.num_rows]
        if len(filled) == len(tables):
            return tables
        schema = filled[0].schema if filled else None
        if schema is None:
            empty = next(iter(tables.values()))
            typed = self._typed_like_latest(feature_set, empty)
            schema = typed.schema
        return {
            d: (schema.empty_table() if t.num_rows == 0 and schema.names == t.schema.names else t)
            for d, t in tables.items()
        }

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

    def statistics(
        self,
        feature_set: str,
        start: date,
        end: date,
        as_of: datetime | None = None,
        version: int | None = None,
    ) -> pd.DataFrame:
        """Statistics of the partitions :meth:`read` would return: one row per day and column.

        Columns are :data:`~fti.store.statistics.STATISTICS_COLUMNS`; rows by day, then in the
        order of the version's schema. A statistic a column does not have is NaN
        (``distinct_count`` of numeric columns, ``mean`` of string ones). Days whose partition was
        committed before statistics were recorded are absent.
        """
        import pandas as pd

        as_of = as_of or _utcnow()
        with self.engine.connect() as conn:
            version = version or self.latest_version(feature_set, as_of, conn=conn)
            position = {f.name: i for i, f in enumerate(self._schema(conn, feature_set, version))}
            rows = catalog.latest_statistics(conn, feature_set, version, start, end, as_of)
        records = [
            {"day": r.day, "version": version, "partition_id": r.partition_id}
            | FeatureStatistics.from_json(r.stats_json).as_record()
            for r in rows
        ]
        records.sort(key=lambda x: (x["day"], position.get(x["column"], len(position))))
        return pd.DataFrame.from_records(records, columns=STATISTICS_COLUMNS)

    def histogram(
        self,
        feature_set: str,
        column: str,
        start: date,
        end: date,
        as_of: datetime | None = None,
        version: int | None = None,
    ) -> Histogram:
        """Bin counts of numeric ``column`` summed over the partitions :meth:`read` would return.

        Raises:
            StatisticsNotFound: no partition of those days has statistics of ``column``.
            BinEdgesMismatch: two days were counted on different edges.
        """
        as_of = as_of or _utcnow()
        with self.engine.connect() as conn:
            version = version or self.latest_version(feature_set, as_of, conn=conn)
            rows = catalog.latest_statistics(conn, feature_set, version, start, end, as_of, column=column)
        if not rows:
            raise StatisticsNotFound(
                f"no partition of {feature_set!r} v{version} from {start} to {end} committed by "
                f"{as_of.isoformat()} has statistics of column {column!r}"
            )
        return sum_histograms(column, [(r.day, FeatureStatistics.from_json(r.stats_json)) for r in rows])

    def versions(self, feature_set: str) -> list[history.VersionInfo]:
        """Every version of ``feature_set``, oldest first.

        Raises:
            FeatureSetNotFound: the catalog has no version of ``feature_set``.
        """
        with self.engine.connect() as conn:
            found = history.versions(conn, feature_set)
        if not found:
            raise FeatureSetNotFound(f"feature set {feature_set!r} has no version in the catalog")
        return found

    def partitions(self, feature_set: str, last: int | None = None) -> list[history.PartitionInfo]:
        """Committed partitions of ``feature_set`` (every version), in commit order; the ``last`` newest."""
        with self.engine.connect() as conn:
            return history.commits(conn, feature_set, last)

    def snapshot_partitions(
        self, feature_set: str, start: date, end: date, as_of: datetime, version: int
    ) -> list[history.PartitionInfo]:
        """The partitions :meth:`read` returns for the same arguments, by day, with their validations."""
        with self.engine.connect() as conn:
            return history.visible(conn, feature_set, version, start, end, as_of)

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

    def _typed_like_latest(self, feature_set: str, table: pa.Table) -> pa.Table:
        """An empty table cast to the latest version's schema when it has the same columns.

        A day without rows (a closed shop) carries no types of its own (empty object columns
        become Arrow ``null``); without this it would look like a schema change and open a new version.
        """
        try:
            with self.engine.connect() as conn:
                schema = self._schema(conn, feature_set, self.latest_version(feature_set, conn=conn))
        except FeatureSetNotFound:
            return table
        return schema.empty_table() if schema.names == table.schema.names else table

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
        """The partition's Parquet file, named by its checksum."""
        folder = f"{self._root}/{feature_set}/v{version}/date={day.isoformat()}"
        return self._write_atomically(folder, f"part-{checksum[:16]}.parquet", payload)



def _latest_by_day(
    conn: sa.Connection, feature_set: str, versions: Mapping[date, int], days: Sequence[date]
) -> dict[date, sa.Row[Any]]:
    """The newest committed partition of each day (of that day's version), in one query per version."""
    found: dict[date, sa.Row[Any]] = {}
    now = _utcnow()
    for version in sorted({versions[d] for d in days}):
        wanted = {d for d in days if versions[d] == version}
        rows = catalog.latest_partitions(conn, feature_set, version, min(wanted), max(wanted), now)
        found |= {r.day: r for r in rows if r.day in wanted}
    return found


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
