"""What the HTTP service shows a person: the index page, the API page, and 422s in the CLI's words.

Both pages are plain HTML rendered here, with no script and nothing loaded from elsewhere (FastAPI's
own docs pages load Swagger UI from a CDN).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

#: What the service answers, as the index page lists it.
ENDPOINTS = {
    "/datasets": "the data sets, their grain and horizon, and the run live now",
    "/{dataset}/predictions/{entity}/{period}": "one live prediction (entity percent-encoded), quantiles",
    "/{dataset}/entities": "entities of the live run, paged (?prefix=&limit=&cursor=)",
    "/{dataset}/live": "the live run's metadata",
    "/{dataset}/realized": "realized accuracy of the published runs (?run=R: one, in detail), decay",
    "/health": "whether the cache answers",
    "/docs": "this API, described (/openapi.json: as OpenAPI)",
}

_STYLE = (
    "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
    "code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}</style>"
)


def invalid_value(name: str, problem: str) -> str:
    """A bad parameter in the words of ``fti``'s usage errors (click's ``Invalid value for ...``)."""
    return f"Invalid value for {name}: {problem}"


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> str:
    """FastAPI's validation errors as one sentence per parameter, worded as the CLI words them."""
    return "; ".join(invalid_value(str(e["loc"][-1]), _problem(e)) for e in errors)


def _problem(error: Mapping[str, Any]) -> str:
    value, ctx, kind = error.get("input"), error.get("ctx") or {}, error.get("type", "")
    if kind == "int_parsing":
        return f"{value!r} is not a valid integer."
    if kind == "greater_than_equal":
        return f"{value} is not in the range x>={ctx['ge']}."
    if kind == "less_than_equal":
        return f"{value} is not in the range x<={ctx['le']}."
    if kind == "missing":
        return "missing."
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{value!r}: {message}" if kind != "value_error" else message


def index_html(datasets: Iterable[Mapping[str, Any]], endpoints: Mapping[str, str]) -> str:
    """The page at ``/``: each data set with its live run and where to look, then the endpoints."""
    rows = "".join(
        f"<tr><td>{escape(d['dataset'])}</td><td>{escape(str(d['grain']))}</td><td>{d['horizon']}</td>"
        f"<td>{escape(d['live_run'] or 'nothing live')}</td>"
        f'<td><a href="/{escape(d["dataset"])}/entities?limit=20">entities</a> · '
        f'<a href="/{escape(d["dataset"])}/live">live run</a></td></tr>'
        for d in datasets
    )
    listed = "".join(f"<li><code>{escape(p)}</code>: {escape(w)}</li>" for p, w in endpoints.items())
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>fti predictions</title>{_STYLE}</head><body>"
        "<h1>fti predictions</h1><p>Live forecasts of every data set, read from the Redis cache. "
        'The API, described: <a href="/docs">/docs</a> (and <a href="/openapi.json">/openapi.json</a>).</p>'
        "<table><tr><th>data set</th><th>grain</th><th>horizon</th><th>live run</th><th></th></tr>"
        f"{rows}</table><h2>Endpoints</h2><ul>{listed}</ul>"
        "<p>Percent-encode the entity in the path: "
        "<code>/online_retail/predictions/United%20Kingdom%7C85123A/2011-12-10</code>.</p></body></html>"
    )


def docs_html(openapi: Mapping[str, Any]) -> str:
    """The page at ``/docs``: every operation of the OpenAPI document with its parameters and answers."""
    sections = []
    for path, operations in openapi.get("paths", {}).items():
        for method, op in operations.items():
            params = "".join(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
                f"<td>{'yes' if p.get('required') else 'no'}</td>"
                f"<td>{escape(_schema(p.get('schema', {})))}</td></tr>"
                for p in op.get("parameters", [])
            )
            table = (
                f"<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th></tr>{params}</table>"
                if params
                else ""
            )
            answers = ", ".join(escape(code) for code in op.get("responses", {}))
            sections.append(
                f"<h2><code>{method.upper()} {escape(path)}</code></h2>"
                f"<p>{escape(op.get('description') or op.get('summary', ''))}</p>"
                f"{table}<p>answers: {answers}</p>"
            )
    title = escape(openapi.get("info", {}).get("title", "API"))
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>{_STYLE}</head><body>"
        f'<h1>{title}</h1><p><a href="/">index</a> · <a href="/openapi.json">openapi.json</a></p>'
        f"{''.join(sections)}</body></html>"
    )


def _schema(schema: Mapping[str, Any]) -> str:
    """A parameter's type, with its bounds and default."""
    if "anyOf" in schema:
        kind = " or ".join(str(s.get("type", "?")) for s in schema["anyOf"])
    else:
        kind = str(schema.get("type", "?"))
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum") if k in schema]
    default = [f"default {schema['default']!r}"] if "default" in schema else []
    return ", ".join([kind, *bounds, *default])
