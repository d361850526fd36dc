"""The routes that read Redis: lookups, entities, the live run, health, and the index page. All awaited.

Every Redis error becomes the answer the sync service gave: down, hung (each command bounded by
``FTI_LOOKUP_TIMEOUT_S``, one retry) or without the lookup functions is a 503 saying so, a BUSY
reply (a script holding the server) is a 503 "busy", nothing live is a 404.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

    from fti.settings import Settings


def lookup_router(redis_url: str, settings: Settings, openapi: Callable[[], dict[str, Any]]) -> APIRouter:
    """The routes over the cache at ``redis_url`` (connected on the first request)."""
    from fastapi import APIRouter, Header, HTTPException, Query
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, Response

    from fti.cache.aio import AsyncPredictionClient, async_lookup_connection, entity_page
    from fti.cache.entities import MAX_LIMIT, StaleCursor
    from fti.serving.pages import ENDPOINTS, docs_html, index_html
    from fti.specs import DatasetSpec, SpecError, load_dataset, spec_files

    redis = async_lookup_connection(redis_url, settings.lookup_timeout_s, settings.serve_pool_size)
    answering = _answering(redis_url)
    clients: dict[str, tuple[AsyncPredictionClient, DatasetSpec]] = {}

    @asynccontextmanager
    async def closing(app: Any) -> AsyncIterator[None]:
        yield
        await redis.aclose(close_connection_pool=True)  # a stopped server leaves no connection open

    router = APIRouter(lifespan=closing)

    def client_of(dataset: str) -> tuple[AsyncPredictionClient, DatasetSpec]:
        if dataset not in clients:
            try:
                spec = load_dataset(settings.specs_dir, dataset)  # type: ignore[arg-type]
            except SpecError as exc:
                raise HTTPException(404, f"no data set {dataset!r}: {exc.problems[0]}") from exc
            clients[dataset] = (AsyncPredictionClient(redis, settings.cache_prefix(dataset)), spec)
        return clients[dataset]

    def bad(name: str, where: str, value: str, exc: ValueError) -> RequestValidationError:
        return RequestValidationError(
            [{"type": "value_error", "loc": (where, name), "msg": str(exc), "input": value}]
        )

    @router.get("/", response_model=None)
    async def index(accept: str = Header("")) -> Response | dict[str, Any]:  # noqa: B008
        """The data sets with their live run, and what this service answers (HTML for a browser)."""
        found = await datasets()
        if "text/html" in accept:
            return HTMLResponse(index_html(found, ENDPOINTS))
        return {"service": "fti predictions", "datasets": found, "docs": "/docs", "endpoints": ENDPOINTS}

    @router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> str:
        return docs_html(openapi())

    @router.get("/datasets")
    async def datasets() -> list[dict[str, Any]]:
        """The data sets of the specs folder, their grain and horizon, and the run live now."""
        out = []
        for path in spec_files(settings.specs_dir):  # type: ignore[arg-type]
            try:
                client, spec = client_of(path.stem)
            except HTTPException:
                continue
            with answering():
                meta = await client.live()
            live = meta["run"] if meta else None
            out.append(
                {"dataset": spec.name, "grain": spec.calendar.describe(), "horizon": spec.forecast.horizon}
                | {"live_run": live}
            )
        return out

    @functools.lru_cache(maxsize=4096)  # lookups ask for a horizon's few periods over and over
    def checked_period(dataset: str, period: str) -> None:
        client_of(dataset)[1].calendar.parse(period)

    @router.get("/{dataset}/predictions/{entity:path}/{period}", response_model=None)
    async def prediction(dataset: str, entity: str, period: str) -> Response:
        """The live prediction of ``entity`` (URL-encoded) for ``period``."""
        client, _ = client_of(dataset)
        try:
            checked_period(dataset, period)
        except ValueError as exc:
            raise bad("period", "path", period, exc) from exc
        with answering():
            found = await client.prediction(entity, period)
        body = {
            "dataset": dataset,
            "entity": found.entity,
            "period": found.period,
            "prediction": found.value,
            "quantiles": dict(found.quantiles),  # {"p10": ..., "p50": ..., "p90": ...}; {} without
            "run": found.run,
            "model_version": found.model_version,
        }
        return Response(json.dumps(body).encode(), media_type="application/json")  # no re-encoding pass

    @router.get("/{dataset}/entities")
    async def entities(
        dataset: str,
        prefix: str = "",
        limit: int = Query(50, ge=1, le=MAX_LIMIT),  # noqa: B008 - FastAPI's way, annotations being strings
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of the live run's entities starting with ``prefix``; follow ``next_cursor`` until null
        (a page may hold fewer than ``limit``, even none, while more follow)."""
        client, _ = client_of(dataset)
        try:
            with answering(f"no entities of {dataset!r}: "):
                page = await entity_page(redis, client.prefix, prefix, limit, cursor)
        except StaleCursor as exc:
            raise HTTPException(409, str(exc)) from exc
        except ValueError as exc:
            raise bad("cursor", "query", cursor or "", exc) from exc
        run = page.live
        return {
            "dataset": dataset,
            "run": run.run,
            "first_period": run.first_period,
            "last_period": run.last_period,
            "entities": page.entities,
            "next_cursor": page.next_cursor,
        }

    @router.get("/{dataset}/live")
    async def live(dataset: str) -> dict[str, str]:
        """The live run's id and metadata (model version, counts, periods, timestamps)."""
        client, _ = client_of(dataset)
        with answering():
            meta = await client.live()
        if meta is None:
            raise HTTPException(404, f"nothing of {dataset!r} is live under {client.prefix!r}")
        return meta

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Whether Redis answers a PING."""
        with answering():
            await redis.ping()
        return {"redis": "ok"}

    return router


def _answering(redis_url: str) -> Callable[..., Any]:
    """A context manager turning the cache's errors into HTTP answers (404, 503), naming the cache."""
    from fastapi import HTTPException
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from fti.cache.aio import POOL_EXHAUSTED
    from fti.cache.client import LookupFunctionsMissing, PredictionNotFound
    from fti.cache.connect import address

    where = f"the prediction cache at {address(redis_url)}"

    @contextmanager
    def answering(not_found: str = "") -> Iterator[None]:
        try:
            yield
        except PredictionNotFound as exc:
            raise HTTPException(404, f"{not_found}{exc}") from exc
        except LookupFunctionsMissing as exc:
            raise HTTPException(503, f"{where} cannot serve lookups: {exc}") from exc
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if str(exc) == POOL_EXHAUSTED:
                why = f"{where} is busy: all connections of this worker are in use (FTI_SERVE_POOL_SIZE)"
                raise HTTPException(503, why) from exc
            raise HTTPException(503, f"{where} is not reachable: {exc}") from exc
        except ResponseError as exc:
            if not str(exc).startswith("BUSY"):
                raise  # any other error is a bug, not the cache's state
            raise HTTPException(503, f"{where} is busy: {exc}") from exc

    return answering
