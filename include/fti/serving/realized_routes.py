"""``GET /{dataset}/realized``: how the published runs did once their actuals landed, and the decay verdict.

Read from the feature store's catalog (:mod:`fti.store.realized`), not from Redis.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

    from fti.settings import Settings


def realized_router(settings: Settings) -> APIRouter:
    """The route, reading the store the settings point at (connected on the first request)."""
    from fastapi import APIRouter, HTTPException
    from sqlalchemy.exc import OperationalError

    from fti.specs import SpecError, load_dataset
    from fti.store import FeatureStore

    router = APIRouter()
    stores: list[FeatureStore] = []

    def store() -> FeatureStore:
        if not stores:
            assert settings.store_uri and settings.catalog_url
            stores.append(FeatureStore(settings.store_uri, settings.catalog_url))
        return stores[0]

    @router.get("/{dataset}/realized")
    def realized(dataset: str, run: str | None = None) -> dict[str, Any]:
        """Realized accuracy per published run (with every metric, baseline and slice for ``?run=``)."""
        try:
            load_dataset(settings.specs_dir, dataset)  # type: ignore[arg-type]
        except SpecError as exc:
            raise HTTPException(404, f"no data set {dataset!r}: {exc.problems[0]}") from exc
        try:
            records = store().realized(dataset, run)
            verdicts = store().verdicts(dataset, last=1)
        except OperationalError as exc:
            raise HTTPException(503, f"the feature-store catalog cannot be read: {exc.orig}") from exc
        if run is not None and not records:
            raise HTTPException(404, f"run {run!r} of {dataset!r} has no realized accuracy (yet)")
        runs = []
        for record in records:
            fields = asdict(record)
            document = json.loads(fields.pop("document_json"))
            runs.append(fields | {"ratio": record.ratio} | ({"detail": document} if run else {}))
        return {"dataset": dataset, "runs": runs, "decay": verdicts[-1] if verdicts else None}

    return router
