"""Committing partitions: Parquet files written atomically, made visible by one catalog transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fti.store import catalog
from fti.store.base import ConcurrentCommit, FeatureSetNotFound, StoreBase
from fti.store.base import utcnow as _utcnow
from fti.store.records import _check_validation
from fti.store.statistics import compute_statistics

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


class CommitsMixin(StoreBase):
    """Writes: a batch of partitions committed all or nothing, identical bytes committing nothing new."""

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
        exactly one commits. A partition whose bytes are already the latest commits nothing (its
        file is rewritten with those bytes if it was damaged or lost since).

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
                self._restore_if_damaged(known.uri, payloads[d])
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
                        feature_set=feature_set,
                        version=versions[d],
                        day=d,
                        uri=uris[d],
                        row_count=tables[d].num_rows,
                        checksum=checksums[d],
                        size_bytes=len(payloads[d]),
                        committed_at=committed_at,
                        run_id=run_id,
                        validation_id=validation_id,
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
