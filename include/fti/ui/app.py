"""The control room as a FastAPI app; the Airflow plugin mounts it at ``/fti`` in the API server.

Routes (relative to the mount point)::

    GET /?dataset=D[&entity=E] the page (HTML) of data set D (default: FTI_DATASET or the first spec):
                               validations, drift, champion, its training, live run, entity E's live
                               quantiles, realized accuracy, links to the other data sets
    GET /api/summary?dataset=D the same as JSON, each section {"available": true, "data": ...}
                               or {"available": false, "reason": "..."}
    GET /api/drift?dataset=D   the drift series only (&last_runs=30)
    GET /validations/{id}      the validation document as a page (a table per GX result); 404: unknown
    GET /api/validations/{id}  the same document as JSON
    GET /drift/{run}?dataset=D the drift report of one batch_inference run (404 when none was recorded)
    GET /icon.svg              the navigation icon (public: it shows nothing of the data)

Handlers are plain ``def``: FastAPI runs them in its thread pool, so the store, MLflow and Redis
calls never block the API server's event loop. Building the app connects to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fti.settings import Settings, get_settings
from fti.ui.sources import redis_url_from_env

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.params import Depends

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M3 3v18h18"/>'
    '<path d="m7 15 4-4 3 3 5-6"/></svg>'
)


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
}
"""Sent with every answer of the control room: its page has an inline style sheet and inline SVG only."""


def create_app(
    settings_factory: Callable[[], Settings] = get_settings,
    redis_url: Callable[[], str | None] = redis_url_from_env,
    dependencies: Sequence[Depends] = (),
) -> FastAPI:
    """The control room app.

    Args:
        settings_factory: the settings to show (asked on every request; ``get_settings`` caches).
        redis_url: the Redis of the live predictions, asked on every request (the plugin looks up
            the Airflow connection ``fti_redis_reader``; the default reads ``FTI_REDIS_URL``).
        dependencies: run before every data route, e.g. the Airflow API server's authentication.
    """
    from fastapi import APIRouter, FastAPI, HTTPException, Query
    from fastapi.responses import HTMLResponse, Response

    from fti.ui import sources, views
    from fti.ui.page import render_page

    app = FastAPI(
        title="fti control room",
        description="Validations, drift, the champion model and the live predictions of fti.",
        docs_url=None,  # no docs pages: they would load scripts from a CDN and bypass the login
        redoc_url=None,
        openapi_url=None,
    )
    router = APIRouter(dependencies=list(dependencies))

    @app.middleware("http")
    async def security_headers(request: Any, call_next: Any) -> Any:
        """No script may run, nothing is loaded from elsewhere, no other site may frame the page."""
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def chosen(dataset: str | None) -> str:
        """The data set asked for, or the default one; 404 for a data set without a spec."""
        import os

        known = sources.datasets(settings_factory())
        name = dataset or os.environ.get("FTI_DATASET") or (known[0] if known else "")
        if name not in known:
            raise HTTPException(404, f"no data set {name!r}: the specs folder has {known}")
        return name

    @router.get("/", response_class=HTMLResponse)
    def page(dataset: str | None = None, entity: str = Query("", max_length=200)) -> str:
        """The control room page of one data set (with ``entity``: its live quantiles too)."""
        return render_page(
            sources.gather(settings_factory(), chosen(dataset), redis_url, entity=entity.strip())
        )

    @router.get("/api/summary")
    def summary(dataset: str | None = None) -> dict[str, Any]:
        """Everything the page shows, as JSON."""
        room: dict[str, Any] = views.to_json(sources.gather(settings_factory(), chosen(dataset), redis_url))
        return room

    @router.get("/api/drift")
    def drift(dataset: str | None = None, last_runs: int = Query(30, ge=1, le=1000)) -> dict[str, Any]:
        """Drift scores per feature over the ``last_runs`` newest inference runs."""
        name = chosen(dataset)
        series = views.drift_series(sources.drift_rows(settings_factory(), name, last_runs), name)
        return {"dataset": name, "last_runs": last_runs, "drift": views.section_json(series)}

    @router.get("/api/validations/{validation_id}")
    def validation_document(validation_id: str) -> dict[str, Any]:
        """The full stored document of one validation (Great Expectations' result)."""
        from fti.store.feature_store import ValidationNotFound

        try:
            return sources.validation_document(settings_factory(), validation_id)
        except ValidationNotFound as exc:
            raise HTTPException(404, str(exc)) from exc

    @router.get("/validations/{validation_id}", response_class=HTMLResponse)
    def validation_page(validation_id: str) -> str:
        """The stored document of one validation, each expectation a table row."""
        from fti.ui.validation_page import render_validation

        return render_validation(validation_id, validation_document(validation_id))

    @router.get("/drift/{run_id:path}", response_class=HTMLResponse)
    def drift_report(run_id: str, dataset: str | None = None) -> HTMLResponse:
        """One inference run's drift report: each feature's distance against its thresholds, the verdict."""
        from fti.ui.drift_page import render_run_drift, run_drift

        name = chosen(dataset)
        rows = sources.run_drift_rows(settings_factory(), name, run_id)
        report = rows if isinstance(rows, views.Unavailable) else run_drift(rows, run_id, name)
        found = not isinstance(report, views.Unavailable)
        return HTMLResponse(render_run_drift(name, run_id, report), status_code=200 if found else 404)

    @app.get("/icon.svg", include_in_schema=False)
    def icon() -> Response:
        return Response(ICON, media_type="image/svg+xml")

    app.include_router(router)
    return app
