"""What the store keeps besides features: validation results (a JSON document each) and drift scores."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fti.store import catalog, documents, history
from fti.store.base import StoreBase, ValidationNotFound
from fti.store.base import utcnow as _utcnow

if TYPE_CHECKING:
    import pandas as pd


class RecordsMixin(StoreBase):
    """Validation results and drift scores, recorded in the catalog next to the partitions."""

    def record_validation(
        self,
        feature_set: str,
        run_id: str,
        start: date,
        end: date,
        success: bool,
        summary: dict[str, Any],
        document: dict[str, Any],
    ) -> str:
        """Keep a validation of the days [start, end]: its document as a file, its outcome in the catalog.

        The document is written (atomically) to
        ``<store_uri>/_validation/<feature_set>/<run id>-<id prefix>.json`` before its catalog row
        is committed, so a recorded validation always has its document. Values without a JSON form
        (NaN, infinities) are written as null.

        Args:
            summary: a few counts and names, e.g. ``ValidationReport.summary()``: ``evaluated``,
                ``failed`` and ``failing`` (names) are what ``fti features validations`` shows.
            document: the full result, e.g. Great Expectations' ``to_json_dict()``.

        Returns:
            The validation's id, for :meth:`write`'s ``validation_id``.
        """
        if end < start:
            raise ValueError(f"validation of {feature_set!r}: end {end} is before start {start}")
        validation_id = uuid.uuid4().hex
        summary_json = documents.dumps(summary)
        payload = documents.dumps(document, indent=2).encode()
        folder = f"{self._root}/_validation/{feature_set}"
        name = f"{documents.safe_name(run_id)}-{validation_id[:8]}.json"
        uri = self._write_atomically(folder, name, payload)
        with self.engine.begin() as conn:
            conn.execute(
                catalog.validation_results.insert().values(
                    id=validation_id,
                    feature_set=feature_set,
                    run_id=run_id,
                    start_day=start,
                    end_day=end,
                    success=bool(success),
                    summary_json=summary_json,
                    uri=uri,
                    created_at=_utcnow(),
                )
            )
        return validation_id

    def record_drift(
        self,
        feature_set: str,
        version: int,
        run_id: str,
        feature_day: date,
        model: str,
        scores: list[dict[str, Any]],
    ) -> int:
        """Keep one inference run's drift scores (``feature``, ``distance``, ``warn``, ``fail``, ``status``).

        A rerun of the same ``run_id`` replaces its scores, so the history has one set per run.

        Returns:
            The number of scores recorded.
        """
        table = catalog.drift_scores
        now = _utcnow()
        rows = [
            {
                "feature_set": feature_set,
                "version": version,
                "run_id": run_id,
                "feature_day": feature_day,
                "model": model,
                "column_name": str(s["feature"]),
                "distance": float(s["distance"]),
                "warn": float(s["warn"]),
                "fail": float(s["fail"]),
                "status": str(s["status"]),
                "created_at": now,
            }
            for s in scores
        ]
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.feature_set == feature_set, table.c.run_id == run_id))
            if rows:
                conn.execute(table.insert(), rows)
        return len(rows)

    def drift_history(self, feature_set: str, last_runs: int | None = None) -> pd.DataFrame:
        """Recorded drift scores of ``feature_set``, oldest first (of the ``last_runs`` newest runs if given).

        Columns: run_id, feature_day, model, version, feature, distance, warn, fail, status, created_at.
        """
        import pandas as pd

        t = catalog.drift_scores
        query = sa.select(
            t.c.run_id,
            t.c.feature_day,
            t.c.model,
            t.c.version,
            t.c.column_name.label("feature"),
            t.c.distance,
            t.c.warn,
            t.c.fail,
            t.c.status,
            t.c.created_at,
        ).where(t.c.feature_set == feature_set)
        if last_runs is not None:
            newest = (
                sa.select(t.c.run_id)
                .where(t.c.feature_set == feature_set)
                .group_by(t.c.run_id)
                .order_by(sa.func.max(t.c.created_at).desc())
                .limit(last_runs)
            )
            query = query.where(t.c.run_id.in_(newest.scalar_subquery()))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.created_at, t.c.id)).all()
        return pd.DataFrame(rows, columns=list(query.selected_columns.keys()))

    def validation_document(self, validation_id: str) -> dict[str, Any]:
        """The full document :meth:`record_validation` wrote for ``validation_id``.

        Raises:
            ValidationNotFound: no validation with that id was recorded.
        """
        with self.engine.connect() as conn:
            uri = _check_validation(conn, validation_id)
        fs, _ = self._fs
        with fs.open_input_stream(uri) as stream:
            document: dict[str, Any] = json.loads(stream.read())
        return document

    def validations(self, feature_set: str, last: int | None = None) -> list[history.ValidationRecord]:
        """Validations recorded for ``feature_set``, oldest first; the ``last`` newest when given."""
        with self.engine.connect() as conn:
            return history.validations(conn, feature_set, last)


def _check_validation(conn: sa.Connection, validation_id: str) -> str:
    """The document URI of validation ``validation_id``; raises ValidationNotFound when unknown."""
    uri = catalog.validation_uri(conn, validation_id)
    if uri is None:
        raise ValidationNotFound(f"no validation with id {validation_id!r} was recorded in the catalog")
    return uri
