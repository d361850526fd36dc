"""HTTP lookups of live predictions: a FastAPI app over :class:`fti.cache.client.PredictionClient`.

Endpoints (``fti serve``, or ``make serve``, runs it with uvicorn)::

    GET /predictions/{entity}/{date}   200 {"entity", "date", "prediction", "run", "model_version"}
                                       404 {"detail": "no live prediction for entity ... : <reason>"}
    GET /live                          200 the live run's metadata, 404 when nothing is live
    GET /health                        200 {"redis": "ok"}, 503 when Redis does not answer

Entity ids hold spaces and ``|``: percent-encode them in the path, e.g.
``curl http://127.0.0.1:8000/predictions/United%20Kingdom%7C85123A/2024-03-05``
(``urllib.parse.quote(entity, safe="")`` in Python). An encoded ``/`` (``%2F``) works too.
A date that is not ``YYYY-MM-DD`` is a 422. Redis down on a lookup is a 503, never a guess.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(redis_url: str, prefix: str) -> FastAPI:
    """The app reading the cache at ``redis_url`` under ``prefix`` (``fti:<env>``).

    Nothing connects here: the Redis connection is made by the first request.
    """
    from fastapi import FastAPI, HTTPException
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from fti.cache.client import PredictionClient, PredictionNotFound, address

    client = PredictionClient.from_url(redis_url, prefix)
    down = (RedisConnectionError, RedisTimeoutError)
    app = FastAPI(title="fti predictions", description="Live demand predictions from the Redis cache.")

    def unavailable(exc: Exception) -> HTTPException:
        return HTTPException(503, f"the prediction cache at {address(redis_url)} is not reachable: {exc}")

    @app.get("/predictions/{entity:path}/{target_date}")
    def prediction(entity: str, target_date: date) -> dict[str, Any]:
        """The live prediction of ``entity`` (URL-encoded) for ``target_date`` (YYYY-MM-DD)."""
        try:
            found = client.prediction(entity, target_date)
        except PredictionNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        except down as exc:
            raise unavailable(exc) from exc
        return {
            "entity": found.entity,
            "date": found.target_date.isoformat(),
            "prediction": found.value,
            "run": found.run,
            "model_version": found.model_version,
        }

    @app.get("/live")
    def live() -> dict[str, str]:
        """The live run's id and metadata (model version, counts, dates, timestamps)."""
        try:
            meta = client.live()
        except down as exc:
            raise unavailable(exc) from exc
        if meta is None:
            raise HTTPException(404, f"nothing is live under {prefix!r}")
        return meta

    @app.get("/health")
    def health() -> dict[str, str]:
        """Whether Redis answers a PING."""
        try:
            client.client.ping()
        except down as exc:
            raise unavailable(exc) from exc
        return {"redis": "ok"}

    return app
