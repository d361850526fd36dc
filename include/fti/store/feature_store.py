"""The feature store: reads point in time, statistics, versions; the rest (writes, records...) by mixin."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from fti.store import catalog, history, integrity
from fti.store.base import (  # noqa: F401 - the store's errors are imported from here
    ConcurrentCommit,
    FeatureSetNotFound,
    StatisticsNotFound,
    ValidationNotFound,
)
from fti.store.base import utcnow as _utcnow
from fti.store.cleanup import CleanupMixin
from fti.store.commits import CommitsMixin, PartitionRef  # noqa: F401 - importable from here
from fti.store.integrity import PartitionCorrupted  # noqa: F401 - the store's errors are imported from here
from fti.store.prediction_log import PredictionLogMixin
from fti.store.realized import DecayMixin, RealizedMixin
from fti.store.records import RecordsMixin
from fti.store.staging import StagingMixin
from fti.store.statistics import (
    STATISTICS_COLUMNS,
    FeatureStatistics,
    Histogram,
    sum_histograms,
)

if TYPE_CHECKING:
    import pandas as pd


class FeatureStore(
    CommitsMixin, RecordsMixin, StagingMixin, CleanupMixin, PredictionLogMixin, RealizedMixin, DecayMixin
):
    """A versioned, point-in-time correct store of feature partitions (a partition: a day, week or month).

    Args:
        store_uri: root of the Parquet files, a local path or any URI pyarrow's filesystems open.
        catalog_url: SQLAlchemy URL of the catalog.
    """

    def read(
        self,
        feature_set: str,
        start: date,
        end: date,
        as_of: datetime | None = None,
        version: int | None = None,
        verify: integrity.VerifyMode | None = None,
    ) -> pd.DataFrame:
        """Rows of the days in [start, end] exactly as they were committed at ``as_of`` (default: now).

        Each file's size is compared with the catalog's; its SHA-256 too when ``verify="digest"``
        (reads for training and drift ask for it) or when the store's ``verify`` is ``digest``.

        Raises:
            PartitionCorrupted: a file is not the one committed; the error names it.
        """
        import pyarrow as pa

        as_of = as_of or _utcnow()
        with self.engine.connect() as conn:
            version = version or self.latest_version(feature_set, as_of, conn=conn)
            rows = catalog.latest_partitions(conn, feature_set, version, start, end, as_of)
            schema = self._schema(conn, feature_set, version)
        fs, _ = self._fs
        mode = integrity.stricter(self.verify, verify)
        tables = [integrity.read_partition(fs, r, mode) for r in rows]
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
