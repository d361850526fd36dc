"""The feature-store catalog: feature sets, their versions, committed partitions with their column
statistics, and validation results, in SQL.

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

validation_results = sa.Table(
    "validation_results",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("feature_set", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("start_day", sa.Date, nullable=False),
    sa.Column("end_day", sa.Date, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("summary_json", sa.Text, nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Index("ix_validation_results_lookup", "feature_set", "created_at"),
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
    # Added after the first release: create_engine adds it to older catalogs (_add_missing_columns).
    sa.Column("validation_id", sa.String(32), sa.ForeignKey("validation_results.id")),
    # Added later still: the file's byte count, which every read compares (NULL: committed before).
    sa.Column("size_bytes", sa.BigInteger),
    sa.ForeignKeyConstraint(
        ["feature_set", "version"], [feature_set_versions.c.feature_set, feature_set_versions.c.version]
    ),
    sa.Index("ix_partitions_lookup", "feature_set", "version", "day", "committed_at"),
)

partition_statistics = sa.Table(
    "partition_statistics",
    metadata,
    sa.Column("partition_id", sa.Integer, sa.ForeignKey("partitions.id"), primary_key=True),
    sa.Column("column_name", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("stats_json", sa.Text, nullable=False),
)

drift_scores = sa.Table(
    "drift_scores",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feature_set", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("feature_day", sa.Date, nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("column_name", sa.String(200), nullable=False),
    sa.Column("distance", sa.Float, nullable=False),
    sa.Column("warn", sa.Float, nullable=False),
    sa.Column("fail", sa.Float, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Index("ix_drift_scores_lookup", "feature_set", "created_at"),
)
"""Every inference run's drift score per feature (breaches and the rest), for the drift history."""

prediction_runs = sa.Table(
    "prediction_runs",
    metadata,
    sa.Column("dataset", sa.String(200), primary_key=True),
    sa.Column("run", sa.String(100), primary_key=True),
    sa.Column("model_name", sa.String(250), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("feature_set_version", sa.Integer, nullable=False),
    sa.Column("feature_partition", sa.Date, nullable=False),
    sa.Column("first_period", sa.DateTime(timezone=False), nullable=False),
    sa.Column("horizon", sa.Integer, nullable=False),
    sa.Column("entities", sa.BigInteger, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("airflow_run_id", sa.String(250), nullable=False),
    sa.Column("logged_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=False)),
    sa.Index("ix_prediction_runs_lookup", "dataset", "feature_partition"),
)
"""The prediction log: one row per inference run whose predictions were written to the store, with the
Parquet file holding them; ``published_at`` is set once the run went live in Redis."""

realized_accuracy = sa.Table(
    "realized_accuracy",
    metadata,
    sa.Column("dataset", sa.String(200), primary_key=True),
    sa.Column("run", sa.String(100), primary_key=True),
    sa.Column("model_name", sa.String(250), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("feature_partition", sa.Date, nullable=False),
    sa.Column("first_period", sa.DateTime(timezone=False), nullable=False),
    sa.Column("horizon", sa.Integer, nullable=False),
    sa.Column("periods", sa.Integer, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("last_actual", sa.String(32), nullable=False),
    sa.Column("metric", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("expected", sa.Float),
    sa.Column("best_baseline", sa.String(64), nullable=False),
    sa.Column("best_baseline_value", sa.Float),
    sa.Column("coverage", sa.Float),
    sa.Column("document_json", sa.Text, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=False), nullable=False),
)
"""Realized accuracy of each published run, recomputed whenever actuals of its target periods land."""

decay_verdicts = sa.Table(
    "decay_verdicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("ratio", sa.Float),
    sa.Column("realized", sa.Float),
    sa.Column("expected", sa.Float),
    sa.Column("runs", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Index("ix_decay_verdicts_lookup", "dataset", "created_at"),
)
"""Every decay verdict on a champion, with the ratio and runs that decided it."""

retrain_requests = sa.Table(
    "retrain_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(200), nullable=False),
    sa.Column("verdict_id", sa.Integer, sa.ForeignKey("decay_verdicts.id")),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("consumed_at", sa.DateTime(timezone=False)),
    sa.Column("consumed_by", sa.String(250)),
    sa.Index("ix_retrain_requests_lookup", "dataset", "requested_at"),
)
"""Retraining asked for by a failing decay verdict; pending until a training run consumes it."""

#: Columns added to existing tables since the first release, with the SQL that adds them (the
#: same definition as above: ``create_all`` creates missing tables but never alters existing ones).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("partitions", "validation_id", "VARCHAR(32) REFERENCES validation_results (id)"),
    ("partitions", "size_bytes", "BIGINT"),
)


def create_engine(url: str) -> sa.Engine:
    """Engine for the catalog, with its tables created when missing."""
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _enable_sqlite_wal(engine)
    metadata.create_all(engine)
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: sa.Engine) -> None:
    """Bring a catalog created by earlier code up to date: add the columns of ``ADDED_COLUMNS`` it lacks.

    Idempotent. Two processes upgrading at once are safe: SQLite serialises them (BEGIN
    IMMEDIATE) and PostgreSQL's ``IF NOT EXISTS`` lets the second one pass.
    """
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        guard = " IF NOT EXISTS" if conn.dialect.name == "postgresql" else ""
        for table, column, definition in ADDED_COLUMNS:
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN{guard} {column} {definition}")


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
    newest = newest_ids(feature_set, version, start, end, as_of)
    query = sa.select(p).join(newest, p.c.id == newest.c.id).order_by(p.c.day)
    return list(conn.execute(query))


def latest_statistics(
    conn: sa.Connection,
    feature_set: str,
    version: int,
    start: date,
    end: date,
    as_of: datetime,
    column: str | None = None,
) -> list[sa.Row[Any]]:
    """``(day, partition_id, stats_json)`` of the partitions :func:`latest_partitions` returns, by day.

    Partitions committed before statistics were recorded have none, so their days are absent.
    """
    p, s = partitions, partition_statistics
    newest = newest_ids(feature_set, version, start, end, as_of)
    query = (
        sa.select(p.c.day, p.c.id.label("partition_id"), s.c.stats_json)
        .join(newest, p.c.id == newest.c.id)
        .join(s, s.c.partition_id == p.c.id)
        .order_by(p.c.day)
    )
    if column is not None:
        query = query.where(s.c.column_name == column)
    return list(conn.execute(query))


def newest_ids(feature_set: str, version: int, start: date, end: date, as_of: datetime) -> sa.Subquery:
    """``(day, id)`` of the newest partition committed at or before ``as_of`` for each day in [start, end]."""
    p = partitions
    return (
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


def insert_statistics(conn: sa.Connection, partition_id: int, stats: list[tuple[str, str, str]]) -> None:
    """Rows ``(column, kind, stats_json)`` of a partition's statistics, in the transaction that commits it."""
    rows = [{"partition_id": partition_id, "column_name": c, "kind": k, "stats_json": j} for c, k, j in stats]
    if rows:
        conn.execute(partition_statistics.insert(), rows)


def validation_uri(conn: sa.Connection, validation_id: str) -> str | None:
    """Where the document of validation ``validation_id`` is; None when no such validation was recorded."""
    v = validation_results
    uri = conn.execute(sa.select(v.c.uri).where(v.c.id == validation_id)).scalar()
    return None if uri is None else str(uri)
