"""HTTP lookups of the live predictions of every data set: a FastAPI app over the lookup client.

Endpoints (``fti serve``, or ``make serve``, runs it with uvicorn)::

    GET /datasets                                      200 [{"dataset", "grain", "horizon", "live_run"}]
    GET /{dataset}/predictions/{entity}/{period}       200 {"dataset", "entity", "period", "prediction",
                                                            "quantiles", "run", "model_version"}
                                                       404 {"detail": "no live prediction ... : <reason>"}
                                                       422 {"detail": "'2011-13-01' is not a day period: ..."}
    GET /{dataset}/entities?prefix=&limit=&cursor=     200 {"dataset", "run", "first_period", "last_period",
                                                            "entities", "next_cursor"}: a page of the live
                                                       run's entities (fti.cache.entities), 409 for a
                                                       cursor of a run no longer live
    GET /{dataset}/live                                200 the live run's metadata, 404 when nothing is live
    GET /{dataset}/realized[?run=R]                    200 {"dataset", "runs": [realized accuracy], "decay"}
    GET /health                                        200 {"redis": "ok"}, 503 when Redis does not answer
    GET /                                              200 the data sets and these endpoints (an HTML page
                                                       for a browser, JSON otherwise)
    GET /docs                                          200 the API as a plain HTML page (/openapi.json)

With a token (``FTI_SERVE_TOKEN``), every endpoint but ``/health`` needs ``Authorization: Bearer
<token>`` (401 otherwise). ``/docs`` is rendered here from ``/openapi.json``, with no script: FastAPI's
Swagger UI would load its scripts from a CDN. Every 422 says ``Invalid value for <parameter>: ...``,
as ``fti`` does for a bad argument.

Entity ids hold spaces and ``|``: percent-encode them in the path, e.g.
``curl http://127.0.0.1:8000/online_retail/predictions/United%20Kingdom%7C85123A/2011-12-10``
(``urllib.parse.quote(entity, safe="")`` in Python). A period is written as the data set's grain
writes it (``2011-12-10``, ``2016-12-19T08:00``). Redis down, hung (every command is bounded by
``FTI_LOOKUP_TIMEOUT_S``, one retry), busy with a long script, or live without the lookup functions a
publish loads is a 503 with the reason, never a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fti.settings import Settings


def create_app(redis_url: str, settings: Settings) -> FastAPI:
    """The app reading the cache at ``redis_url`` for every data set of the specs folder.

    Nothing connects here: connections are made by the first requests, from a pool of
    ``settings.serve_pool_size``. A data set's spec is read when first asked for, then kept. With
    ``settings.serve_token``, requests need it. Lookups are awaited (``redis.asyncio``): one process
    serves many requests at once; ``fti serve --workers N`` runs N such processes.
    """
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from fti.serving.pages import validation_detail

    app = FastAPI(
        title="fti predictions",
        description="Live forecasts of every data set, from the Redis cache.",
        docs_url=None,
        redoc_url=None,
    )
    if settings.serve_token is not None:
        _require_token(app, settings.serve_token.get_secret_value().encode())

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, exc: RequestValidationError) -> JSONResponse:
        """A bad parameter is a 422 in the CLI's words, not pydantic's list of errors."""
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    from fti.serving.lookup_routes import lookup_router
    from fti.serving.realized_routes import realized_router

    app.include_router(lookup_router(redis_url, settings, app.openapi))
    app.include_router(realized_router(settings))
    return app


def app_from_environment() -> FastAPI:
    """The app of ``fti serve``, built in each worker process from ``FTI_REDIS_URL`` and the settings
    (uvicorn's factory: workers are separate processes, so they cannot share an app object)."""
    import os

    from fti.settings import get_settings

    return create_app(os.environ.get("FTI_REDIS_URL", DEFAULT_REDIS_URL), get_settings())


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _require_token(app: FastAPI, token: bytes) -> None:
    """Every request but /health must carry ``token`` (compared in constant time), or it is a 401."""
    import hmac

    from fastapi.responses import JSONResponse

    @app.middleware("http")
    async def authorised(request: Any, call_next: Any) -> Any:
        if request.url.path != "/health":
            given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
            if not hmac.compare_digest(given, token):
                detail = "a valid token is required: Authorization: Bearer <FTI_SERVE_TOKEN>"
                return JSONResponse({"detail": detail}, status_code=401)
        return await call_next(request)
