"""Realized accuracy records: one row per published run, replaced each time more of its actuals land."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from fti.store import catalog
from fti.store.base import StoreBase


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

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> RealizedRecord:
        values = row._mapping
        return cls(**{f.name: values[f.name] for f in fields(cls)})


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
        return [RealizedRecord.from_row(row) for row in rows]
