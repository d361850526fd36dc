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


ENDPOINTS = {
    "/datasets": "the data sets, their grain and horizon, and the run live now",
    "/{dataset}/predictions/{entity}/{period}": "one live prediction (entity percent-encoded), quantiles",
    "/{dataset}/entities": "entities of the live run, paged (?prefix=&limit=&cursor=)",
    "/{dataset}/live": "the live run's metadata",
    "/{dataset}/realized": "realized accuracy of the published runs (?run=R: one, in detail), decay",
    "/health": "whether the cache answers",
    "/docs": "this API, described (/openapi.json: as OpenAPI)",
}


def create_app(redis_url: str, settings: Settings) -> FastAPI:
    """The app reading the cache at ``redis_url`` for every data set of the specs folder.

    Nothing connects here: the Redis connection is made by the first request. A data set is found
    by its spec, read when first asked for. With ``settings.serve_token``, requests need it.
    """
    import hmac

    from fastapi import FastAPI, Header, HTTPException, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from fti.cache.client import (
        LookupFunctionsMissing,
        PredictionClient,
        PredictionNotFound,
        address,
        lookup_connection,
    )
    from fti.cache.entities import MAX_LIMIT, StaleCursor, entity_page
    from fti.serving.pages import docs_html, index_html, validation_detail
    from fti.specs import SpecError, load_dataset, spec_files

    redis = lookup_connection(redis_url, settings.lookup_timeout_s, check=False)
    clients: dict[str, PredictionClient] = {}
    down = (RedisConnectionError, RedisTimeoutError, LookupFunctionsMissing)
    token = settings.serve_token.get_secret_value().encode() if settings.serve_token else None
    app = FastAPI(
        title="fti predictions",
        description="Live forecasts of every data set, from the Redis cache.",
        docs_url=None,
        redoc_url=None,
    )

    @app.middleware("http")
    async def authorised(request: Any, call_next: Any) -> Any:
        """With a token, every request but /health must carry it (compared in constant time)."""
        if token is not None and request.url.path != "/health":
            given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
            if not hmac.compare_digest(given, token):
                detail = "a valid token is required: Authorization: Bearer <FTI_SERVE_TOKEN>"
                return JSONResponse({"detail": detail}, status_code=401)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A bad parameter is a 422 in the CLI's words, not pydantic's list of errors."""
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    def bad(name: str, where: str, value: str, exc: ValueError) -> RequestValidationError:
        return RequestValidationError(
            [{"type": "value_error", "loc": (where, name), "msg": str(exc), "input": value}]
        )

    @app.get("/", response_model=None)
    def index(accept: str = Header("")) -> Response | dict[str, Any]:  # noqa: B008
        """The data sets with their live run, and what this service answers (HTML for a browser)."""
        found = datasets()
        if "text/html" in accept:
            return HTMLResponse(index_html(found, ENDPOINTS))
        return {"service": "fti predictions", "datasets": found, "docs": "/docs", "endpoints": ENDPOINTS}

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> str:
        return docs_html(app.openapi())

    def unavailable(exc: Exception) -> HTTPException:
        why = "cannot serve lookups" if isinstance(exc, LookupFunctionsMissing) else "is not reachable"
        return HTTPException(503, f"the prediction cache at {address(redis_url)} {why}: {exc}")

    def busy_or_raise(exc: ResponseError) -> HTTPException:
        """A BUSY reply (a script running too long) is a 503 with its reason; any other error is a bug."""
        if not str(exc).startswith("BUSY"):
            raise exc
        return HTTPException(503, f"the prediction cache at {address(redis_url)} is busy: {exc}")

    def client_of(dataset: str) -> tuple[PredictionClient, Any]:
        try:
            spec = load_dataset(settings.specs_dir, dataset)  # type: ignore[arg-type]
        except SpecError as exc:
            raise HTTPException(404, f"no data set {dataset!r}: {exc.problems[0]}") from exc
        if dataset not in clients:
            clients[dataset] = PredictionClient(redis, settings.cache_prefix(dataset))
        return clients[dataset], spec

    @app.get("/datasets")
    def datasets() -> list[dict[str, Any]]:
        """The data sets of the specs folder, their grain and horizon, and the run live now."""
        out = []
        for path in spec_files(settings.specs_dir):  # type: ignore[arg-type]
            try:
                client, spec = client_of(path.stem)
                meta = client.live()
            except HTTPException:
                continue
            except down as exc:
                raise unavailable(exc) from exc
            out.append(
                {
                    "dataset": spec.name,
                    "grain": spec.calendar.describe(),
                    "horizon": spec.forecast.horizon,
                    "live_run": meta["run"] if meta else None,
                }
            )
        return out

    @app.get("/{dataset}/predictions/{entity:path}/{period}")
    def prediction(dataset: str, entity: str, period: str) -> dict[str, Any]:
        """The live prediction of ``entity`` (URL-encoded) for ``period``."""
        client, spec = client_of(dataset)
        try:
            spec.calendar.parse(period)
            found = client.prediction(entity, period)
        except ValueError as exc:
            raise bad("period", "path", period, exc) from exc
        except PredictionNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        except down as exc:
            raise unavailable(exc) from exc
        except ResponseError as exc:
            raise busy_or_raise(exc) from exc
        return {
            "dataset": dataset,
            "entity": found.entity,
            "period": found.period,
            "prediction": found.value,
            "quantiles": dict(found.quantiles),  # {"p10": ..., "p50": ..., "p90": ...}; {} without
            "run": found.run,
            "model_version": found.model_version,
        }

    @app.get("/{dataset}/entities")
    def entities(
        dataset: str,
        prefix: str = "",
        limit: int = Query(50, ge=1, le=MAX_LIMIT),  # noqa: B008 - FastAPI's way, annotations being strings
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of the live run's entities starting with ``prefix``; follow ``next_cursor`` until null
        (a page may hold fewer than ``limit``, even none, while more follow)."""
        client, _ = client_of(dataset)
        try:
            page = entity_page(redis, client.prefix, prefix, limit, cursor)
        except StaleCursor as exc:
            raise HTTPException(409, str(exc)) from exc
        except ValueError as exc:
            raise bad("cursor", "query", cursor or "", exc) from exc
        except PredictionNotFound as exc:
            raise HTTPException(404, f"no entities of {dataset!r}: {exc}") from exc
        except down as exc:
            raise unavailable(exc) from exc
        except ResponseError as exc:
            raise busy_or_raise(exc) from exc
        live_run = page.live
        return {
            "dataset": dataset,
            "run": live_run.run,
            "first_period": live_run.first_period,
            "last_period": live_run.last_period,
            "entities": page.entities,
            "next_cursor": page.next_cursor,
        }

    @app.get("/{dataset}/live")
    def live(dataset: str) -> dict[str, str]:
        """The live run's id and metadata (model version, counts, periods, timestamps)."""
        client, _ = client_of(dataset)
        try:
            meta = client.live()
        except down as exc:
            raise unavailable(exc) from exc
        except ResponseError as exc:
            raise busy_or_raise(exc) from exc
        if meta is None:
            raise HTTPException(404, f"nothing of {dataset!r} is live under {client.prefix!r}")
        return meta

    @app.get("/health")
    def health() -> dict[str, str]:
        """Whether Redis answers a PING."""
        try:
            redis.ping()
        except down as exc:
            raise unavailable(exc) from exc
        except ResponseError as exc:
            raise busy_or_raise(exc) from exc
        return {"redis": "ok"}

    from fti.serving.realized_routes import realized_router

    app.include_router(realized_router(settings))
    return app
