"""The feature-store catalog: feature sets, their versions and committed partitions, in SQL.

A partition's Parquet file is invisible to readers until its row here is committed; readers
only ever open files the catalog names. SQLite by default, PostgreSQL in the production stack.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

feature_set_versions = sa.Table(
    "feature_set_versions",
    metadata,
    sa.Column("feature_set", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_hash", sa.String(64), nullable=False),
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.UniqueConstraint("feature_set", "schema_hash", name="uq_feature_set_schema"),
)

partitions = sa.Table(
    "partitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feature_set", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("committed_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("run_id", sa.String(250)),
    sa.ForeignKeyConstraint(
        ["feature_set", "version"], [feature_set_versions.c.feature_set, feature_set_versions.c.version]
    ),
    sa.Index("ix_partitions_lookup", "feature_set", "version", "day", "committed_at"),
)


def create_engine(url: str) -> sa.Engine:
    """Engine for the catalog, with its tables created when missing."""
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _enable_sqlite_wal(engine)
    metadata.create_all(engine)
    return engine


def _enable_sqlite_wal(engine: sa.Engine) -> None:
    """WAL lets readers work beside the one writer; BEGIN IMMEDIATE serialises writers up front.

    Without IMMEDIATE, two writers that both read the latest partition and then insert would
    race; with it, the second waits (``busy_timeout``) and then sees the first one's commit.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own: we do, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_feature_set_version(conn: sa.Connection, feature_set: str, version: int) -> None:
    """Hold the version's row until commit, so commits to one feature-set version never interleave.

    PostgreSQL takes a row lock (``FOR UPDATE``); SQLite's transactions already hold the write lock.
    """
    v = feature_set_versions
    conn.execute(
        sa.select(v.c.version).where(v.c.feature_set == feature_set, v.c.version == version).with_for_update()
    )


def latest_partitions(
    conn: sa.Connection, feature_set: str, version: int, start: date, end: date, as_of: datetime
) -> list[sa.Row[Any]]:
    """The newest partition committed at or before ``as_of`` for each day in [start, end]."""
    p = partitions
    newest = (
        sa.select(p.c.day, sa.func.max(p.c.id).label("id"))
        .where(
            p.c.feature_set == feature_set,
            p.c.version == version,
            p.c.day >= start,
            p.c.day <= end,
            p.c.committed_at <= as_of,
        )
        .group_by(p.c.day)
        .subquery()
    )
    query = sa.select(p).join(newest, p.c.id == newest.c.id).order_by(p.c.day)
    return list(conn.execute(query))
