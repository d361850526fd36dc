"""The lookup service as it was before issue 14: one process, a sync handler over the sync client.

Only ``fti bench http`` serves it, as the labelled baseline of the same run (``sync_1_process``):
each request hops to Starlette's thread pool and waits for the GIL. Not a product path.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def sync_app() -> FastAPI:
    """The old prediction route (``def``, the sync ``PredictionClient``), for uvicorn's factory."""
    from fastapi import FastAPI, HTTPException

    from fti.cache.client import PredictionClient, PredictionNotFound
    from fti.cache.connect import lookup_connection
    from fti.settings import get_settings
    from fti.specs import load_dataset

    settings = get_settings()
    redis = lookup_connection(os.environ["FTI_REDIS_URL"], settings.lookup_timeout_s, check=False)
    app = FastAPI(docs_url=None, redoc_url=None)
    clients: dict[str, PredictionClient] = {}

    @app.get("/{dataset}/predictions/{entity:path}/{period}")
    def prediction(dataset: str, entity: str, period: str) -> dict[str, Any]:
        spec = load_dataset(settings.specs_dir, dataset)  # type: ignore[arg-type]  # as the old route did
        spec.calendar.parse(period)
        client = clients.setdefault(dataset, PredictionClient(redis, settings.cache_prefix(dataset)))
        try:
            found = client.prediction(entity, period)
        except PredictionNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        return {
            "dataset": dataset,
            "entity": found.entity,
            "period": found.period,
            "prediction": found.value,
            "quantiles": dict(found.quantiles),
            "run": found.run,
            "model_version": found.model_version,
        }

    return app
