"""The prediction log: every published prediction, kept in the store after Redis has pruned its run.

A run's predictions are one Parquet file under ``<store>/_predictions/<dataset>/<run>/``, named by
its SHA-256 like a feature partition, and invisible until its ``prediction_runs`` row is committed.
Committing the same run again with the same bytes changes nothing; a run is *published* once it went
live in Redis (``published_at``). Reads verify the file's digest, so an edited log is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from fti.store import catalog, documents, staging
from fti.store.base import StoreBase, from_row, utcnow

if TYPE_CHECKING:
    import pandas as pd

LOG_KEYS = ("entity", "feature_period", "horizon", "target_period")
"""Columns of a logged row before the values (``point`` then the quantile levels)."""


class PredictionLogNotFound(LookupError):
    """No logged run of that name (or none at all) for the data set."""


class PredictionLogCorrupted(RuntimeError):
    """A logged run's file is not the file that was committed (edited, truncated or replaced)."""


@dataclass(frozen=True)
class RunInfo:
    """What a logged run is: which model predicted what, from which feature partition."""

    dataset: str
    run: str
    model_name: str
    model_version: str
    feature_set_version: int
    feature_partition: date
    first_period: datetime
    horizon: int
    entities: int
    airflow_run_id: str


@dataclass(frozen=True)
class LoggedRun(RunInfo):
    """A run in the prediction log, with its file and when it was logged and published."""

    row_count: int
    uri: str
    checksum: str
    logged_at: datetime
    published_at: datetime | None


class PredictionLogMixin(StoreBase):
    """Commit, list, read and prune logged prediction runs."""

    def commit_prediction_log(self, info: RunInfo, frame: pd.DataFrame) -> LoggedRun:
        """Write ``frame`` (rows of :data:`LOG_KEYS` + values) as run ``info.run``'s log, then commit it.

        Idempotent: the same rows again are a no-op (``logged_at`` stays); other rows for the same run
        (a rerun that predicted differently) replace the committed file in one transaction.
        """
        payload = staging.parquet_bytes(frame)
        checksum = hashlib.sha256(payload).hexdigest()
        r = catalog.prediction_runs
        key = (r.c.dataset == info.dataset, r.c.run == info.run)
        with self.engine.connect() as conn:
            known = conn.execute(sa.select(r.c.checksum).where(*key)).scalar()
        if known != checksum:
            folder = f"{self._root}/_predictions/{info.dataset}/{documents.safe_name(info.run)}"
            uri = self._write_atomically(folder, f"log-{checksum[:16]}.parquet", payload)
            values = {f.name: getattr(info, f.name) for f in fields(RunInfo)}
            values |= {"row_count": len(frame), "uri": uri, "checksum": checksum, "logged_at": utcnow()}
            with self.engine.begin() as conn:
                conn.execute(r.delete().where(*key))
                conn.execute(r.insert().values(**values, published_at=None))
        return self.logged_run(info.dataset, info.run)

    def mark_published(self, dataset: str, run: str, at: datetime | None = None) -> None:
        """Record that ``run`` went live in Redis (the first time only: a retried publish keeps it)."""
        r = catalog.prediction_runs
        with self.engine.begin() as conn:
            conn.execute(
                r.update()
                .where(r.c.dataset == dataset, r.c.run == run, r.c.published_at.is_(None))
                .values(published_at=at or utcnow())
            )

    def logged_run(self, dataset: str, run: str) -> LoggedRun:
        """The logged run ``run`` of ``dataset``.

        Raises:
            PredictionLogNotFound: the log has no such run (naming the newest ones it has).
        """
        r = catalog.prediction_runs
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(r).where(r.c.dataset == dataset, r.c.run == run)).first()
        if row is None:
            newest = [x.run for x in self.logged_runs(dataset)[-5:]]
            raise PredictionLogNotFound(
                f"the prediction log of {dataset!r} has no run {run!r}; newest: {', '.join(newest) or 'none'}"
            )
        return from_row(LoggedRun, row)

    def logged_runs(
        self, dataset: str, as_of: datetime | None = None, published_only: bool = False
    ) -> list[LoggedRun]:
        """Runs of ``dataset`` logged by ``as_of`` (default: now), oldest feature partition first."""
        r = catalog.prediction_runs
        query = sa.select(r).where(r.c.dataset == dataset, r.c.logged_at <= (as_of or utcnow()))
        if published_only:
            query = query.where(r.c.published_at.is_not(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(r.c.feature_partition, r.c.logged_at)).all()
        return [from_row(LoggedRun, row) for row in rows]

    def read_prediction_log(self, logged: LoggedRun, entities: list[str] | None = None) -> pd.DataFrame:
        """The logged rows of a run (only ``entities``' when given), after checking the file's digest.

        Raises:
            PredictionLogCorrupted: the file's SHA-256 is not the committed one, or the file is gone.
        """
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        fs, _ = self._fs
        try:
            with fs.open_input_stream(logged.uri) as handle:
                payload = handle.read()
        except FileNotFoundError as exc:
            raise PredictionLogCorrupted(f"logged run {logged.run!r}: {logged.uri} is gone") from exc
        actual = hashlib.sha256(payload).hexdigest()
        if actual != logged.checksum:
            raise PredictionLogCorrupted(
                f"logged run {logged.run!r}: {logged.uri} has SHA-256 {actual}, the catalog committed "
                f"{logged.checksum}: the file was changed after it was logged"
            )
        table = pq.read_table(pa.BufferReader(payload))
        if entities is not None:
            table = table.filter(pc.is_in(table["entity"], value_set=pa.array(entities, pa.string())))
        return table.to_pandas()

    def prune_prediction_log(self, dataset: str, keep_days: int) -> list[str]:
        """Forget runs whose feature partition is over ``keep_days`` older than the newest one's; their names.

        Retention counts in data time (feature partitions), not wall-clock time, so replaying old
        data keeps its log. The rows go first, then the files: a reader never opens a missing file.
        """
        import pyarrow.fs as pafs

        runs = self.logged_runs(dataset)
        if not runs:
            return []
        cutoff = runs[-1].feature_partition - timedelta(days=keep_days)
        old = [x for x in runs if x.feature_partition < cutoff]
        if not old:
            return []
        r = catalog.prediction_runs
        with self.engine.begin() as conn:
            conn.execute(r.delete().where(r.c.dataset == dataset, r.c.run.in_([x.run for x in old])))
        fs, _ = self._fs
        for x in old:
            folder = x.uri.rsplit("/", 1)[0]
            if fs.get_file_info(folder).type != pafs.FileType.NotFound:
                fs.delete_dir(folder)
        return [x.run for x in old]

