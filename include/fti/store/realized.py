"""Realized accuracy records (one row per published run, replaced as more of its actuals land), decay
verdicts and the retraining requests they make."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fti.store import catalog
from fti.store.base import StoreBase, from_row, utcnow

if TYPE_CHECKING:
    from fti.monitoring.decay import DecayVerdict


@dataclass(frozen=True)
class RealizedRecord:
    """A run's realized error on the data set's metric, next to what its model promised and the baselines.

    ``value`` is the run's realized ``metric`` over ``row_count`` entity-periods of ``periods`` target
    periods (up to ``last_actual``); ``expected`` the model's held-out ``metric`` at training;
    ``document_json`` every metric, baseline and slice (:class:`fti.monitoring.realized.RealizedScore`).
    """

    dataset: str
    run: str
    model_name: str
    model_version: str
    feature_partition: date
    first_period: datetime
    horizon: int
    periods: int
    row_count: int
    last_actual: str
    metric: str
    value: float | None
    expected: float | None
    best_baseline: str
    best_baseline_value: float | None
    coverage: float | None
    document_json: str
    computed_at: datetime

    @property
    def ratio(self) -> float | None:
        """Realized over expected error (1.0: as promised); None when either is unknown."""
        if self.value is None or not self.expected:
            return None
        return self.value / self.expected


class RealizedMixin(StoreBase):
    """Record and list realized accuracy."""

    def record_realized(self, record: RealizedRecord) -> None:
        """Store ``record``, replacing the run's previous one (recomputing a run is idempotent)."""
        r = catalog.realized_accuracy
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        with self.engine.begin() as conn:
            conn.execute(r.delete().where(r.c.dataset == record.dataset, r.c.run == record.run))
            conn.execute(r.insert().values(**values))

    def realized(self, dataset: str, run: str | None = None) -> list[RealizedRecord]:
        """The realized records of ``dataset`` (only ``run``'s when given), oldest feature partition first."""
        r = catalog.realized_accuracy
        query = sa.select(r).where(r.c.dataset == dataset)
        if run is not None:
            query = query.where(r.c.run == run)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(r.c.feature_partition, r.c.run)).all()
        return [from_row(RealizedRecord, row) for row in rows]


@dataclass(frozen=True)
class RetrainRequest:
    """A request for retraining, pending until a training run consumed it."""

    id: int
    dataset: str
    verdict_id: int | None
    reason: str
    requested_at: datetime
    consumed_at: datetime | None
    consumed_by: str | None


class DecayMixin(StoreBase):
    """Record decay verdicts; ask for, list and consume retraining requests, one pending at most."""

    def record_verdict(self, verdict: DecayVerdict) -> int:
        """Keep ``verdict``; its id."""
        v = catalog.decay_verdicts
        values = {
            "dataset": verdict.dataset,
            "model_version": verdict.model_version,
            "status": verdict.status.value,
            "ratio": verdict.ratio,
            "realized": verdict.realized,
            "expected": verdict.expected,
            "runs": ",".join(verdict.runs),
            "reason": verdict.reason,
            "created_at": utcnow(),
        }
        with self.engine.begin() as conn:
            key = conn.execute(v.insert().values(**values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def verdicts(self, dataset: str, last: int = 50) -> list[dict[str, Any]]:
        """The ``last`` decay verdicts of ``dataset``, oldest first, as dicts of the table's columns."""
        v = catalog.decay_verdicts
        query = sa.select(v).where(v.c.dataset == dataset).order_by(v.c.id.desc()).limit(last)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in reversed(conn.execute(query).all())]

    def request_retraining(
        self, dataset: str, reason: str, verdict_id: int | None, min_interval: timedelta
    ) -> RetrainRequest | None:
        """A new pending request, or None when one is pending already (it stands for this one too) or the
        newest request is younger than ``min_interval`` (no retraining storm). One transaction, serialised
        per data set, so two verdicts at once make at most one request."""
        r = catalog.retrain_requests
        now = utcnow()
        with self.engine.begin() as conn:
            _lock_dataset(conn, dataset)
            newest = conn.execute(
                sa.select(r).where(r.c.dataset == dataset).order_by(r.c.id.desc()).limit(1)
            ).first()
            if newest is not None and (
                newest.consumed_at is None or newest.requested_at > now - min_interval
            ):
                return None
            values = {"dataset": dataset, "verdict_id": verdict_id, "reason": reason, "requested_at": now}
            new_id = conn.execute(r.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
            row = conn.execute(sa.select(r).where(r.c.id == new_id)).one()
        return from_row(RetrainRequest, row)

    def consume_retrain_requests(self, dataset: str, by: str) -> list[RetrainRequest]:
        """Mark every pending request of ``dataset`` as answered by training run ``by``; those requests."""
        r = catalog.retrain_requests
        with self.engine.begin() as conn:
            _lock_dataset(conn, dataset)
            pending = (
                conn.execute(sa.select(r.c.id).where(r.c.dataset == dataset, r.c.consumed_at.is_(None)))
                .scalars()
                .all()
            )
            if pending:
                conn.execute(
                    r.update().where(r.c.id.in_(pending)).values(consumed_at=utcnow(), consumed_by=by)
                )
            rows = conn.execute(sa.select(r).where(r.c.id.in_(pending)).order_by(r.c.id)).all()
        return [from_row(RetrainRequest, row) for row in rows]

    def retrain_requests(self, dataset: str, pending_only: bool = False) -> list[RetrainRequest]:
        """Requests of ``dataset``, oldest first (only those no training consumed yet, when asked)."""
        r = catalog.retrain_requests
        query = sa.select(r).where(r.c.dataset == dataset)
        if pending_only:
            query = query.where(r.c.consumed_at.is_(None))
        with self.engine.connect() as conn:
            return [from_row(RetrainRequest, row) for row in conn.execute(query.order_by(r.c.id)).all()]


def _lock_dataset(conn: sa.Connection, dataset: str) -> None:
    """Serialise request bookkeeping per data set: PostgreSQL by a transaction-scoped advisory lock;
    SQLite's ``BEGIN IMMEDIATE`` already holds the database's write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"fti-retrain:{dataset}"}
        )
