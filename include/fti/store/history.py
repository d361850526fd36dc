"""What the catalog remembers of a feature set: its versions, its commits and its validations.

Read-only views for people (the ``fti features`` commands) and for checks; small frozen records,
one per catalog row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from fti.store import catalog


@dataclass(frozen=True)
class VersionInfo:
    """One schema version of a feature set."""

    version: int
    columns: int
    """Columns in its schema."""
    schema_hash: str
    created_at: datetime
    days: int
    """Days with at least one committed partition."""
    commits: int
    """Partitions committed (rewrites of a day included)."""


@dataclass(frozen=True)
class PartitionInfo:
    """One committed partition, with the outcome of the validation its writer linked (None: no link)."""

    id: int
    day: date
    version: int
    row_count: int
    checksum: str
    committed_at: datetime
    run_id: str | None
    uri: str
    validation_id: str | None
    validation_success: bool | None


@dataclass(frozen=True)
class ValidationRecord:
    """One recorded validation: its outcome, its summary, and where the full document is."""

    id: str
    feature_set: str
    run_id: str
    start: date
    end: date
    success: bool
    summary: dict[str, Any]
    uri: str
    created_at: datetime

    @property
    def evaluated(self) -> int | None:
        """Expectations evaluated (``evaluated``, or Great Expectations' ``evaluated_expectations``)."""
        return _first_int(self.summary, "evaluated", "evaluated_expectations")

    @property
    def failed(self) -> int | None:
        """Expectations that failed (``failed``, or ``unsuccessful_expectations``)."""
        return _first_int(self.summary, "failed", "unsuccessful_expectations")

    @property
    def failing(self) -> list[str]:
        """Names of failing expectations the summary lists (``failing``); may be fewer than :attr:`failed`."""
        names = self.summary.get("failing")
        return [str(n) for n in names] if isinstance(names, list) else []


def versions(conn: sa.Connection, feature_set: str) -> list[VersionInfo]:
    """Every version of ``feature_set``, oldest first (empty when it has none)."""
    v, p = catalog.feature_set_versions, catalog.partitions
    joined = v.outerjoin(p, (p.c.feature_set == v.c.feature_set) & (p.c.version == v.c.version))
    query = (
        sa.select(
            v.c.version,
            v.c.schema_json,
            v.c.schema_hash,
            v.c.created_at,
            sa.func.count(sa.distinct(p.c.day)),
            sa.func.count(p.c.id),
        )
        .select_from(joined)
        .where(v.c.feature_set == feature_set)
        .group_by(v.c.version, v.c.schema_json, v.c.schema_hash, v.c.created_at)
        .order_by(v.c.version)
    )
    return [
        VersionInfo(int(r[0]), len(json.loads(r[1])), r[2], r[3], int(r[4]), int(r[5]))
        for r in conn.execute(query)
    ]


def commits(conn: sa.Connection, feature_set: str, last: int | None = None) -> list[PartitionInfo]:
    """The partitions of ``feature_set`` in commit order; only the ``last`` newest when given."""
    p = catalog.partitions
    query = _partition_infos().where(p.c.feature_set == feature_set).order_by(p.c.id.desc()).limit(last)
    rows = [PartitionInfo(**r._asdict()) for r in conn.execute(query)]
    return rows[::-1]


def visible(
    conn: sa.Connection, feature_set: str, version: int, start: date, end: date, as_of: datetime
) -> list[PartitionInfo]:
    """The partitions a point-in-time read of [start, end] at ``as_of`` returns, by day (its lineage)."""
    p = catalog.partitions
    newest = catalog.newest_ids(feature_set, version, start, end, as_of)
    query = _partition_infos().join(newest, p.c.id == newest.c.id).order_by(p.c.day)
    return [PartitionInfo(**r._asdict()) for r in conn.execute(query)]


def _partition_infos() -> sa.Select[Any]:
    """Columns of :class:`PartitionInfo`, each partition joined to the validation its writer linked."""
    p, vr = catalog.partitions, catalog.validation_results
    return sa.select(
        p.c.id,
        p.c.day,
        p.c.version,
        p.c.row_count,
        p.c.checksum,
        p.c.committed_at,
        p.c.run_id,
        p.c.uri,
        p.c.validation_id,
        vr.c.success.label("validation_success"),
    ).select_from(p.outerjoin(vr, vr.c.id == p.c.validation_id))


def validations(conn: sa.Connection, feature_set: str, last: int | None = None) -> list[ValidationRecord]:
    """The validations recorded for ``feature_set``, oldest first; only the ``last`` newest when given."""
    vr = catalog.validation_results
    query = (
        sa.select(vr)
        .where(vr.c.feature_set == feature_set)
        .order_by(vr.c.created_at.desc(), vr.c.id.desc())
        .limit(last)
    )
    return [validation_record(r) for r in conn.execute(query)][::-1]


def validation_record(row: sa.Row[Any]) -> ValidationRecord:
    """The record of a ``validation_results`` row."""
    return ValidationRecord(
        id=row.id,
        feature_set=row.feature_set,
        run_id=row.run_id,
        start=row.start_day,
        end=row.end_day,
        success=bool(row.success),
        summary=json.loads(row.summary_json),
        uri=row.uri,
        created_at=row.created_at,
    )


def _first_int(summary: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        if isinstance(summary.get(key), int | float) and not isinstance(summary.get(key), bool):
            return int(summary[key])
    return None
