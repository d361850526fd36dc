"""``fti predictions`` and ``fti serve``: live predictions in Redis, from the shell and over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from fti.cli.common import DEFAULT_REDIS, DatasetOption, RedisUrl, dataset_spec, fail, settings

app = typer.Typer(help="Predictions live in Redis.", no_args_is_help=True)


@app.command("lookup")
def lookup(
    entity: Annotated[str, typer.Argument(help="Entity id, e.g. 'United Kingdom|85123A'.")],
    period: Annotated[str, typer.Argument(help="Period predicted: YYYY-MM-DD (hours: YYYY-MM-DDTHH:00).")],
    dataset: DatasetOption = None,
    redis_url: RedisUrl = DEFAULT_REDIS,
) -> None:
    """The live prediction for one entity and period (exit 1: none; exit 2: Redis unreachable or refusing)."""
    from fti.cache.client import (
        CacheUnavailable,
        MalformedRedisUrl,
        PredictionClient,
        PredictionNotFound,
        lookup_connection,
    )

    spec = dataset_spec(dataset)
    try:
        spec.calendar.parse(period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from exc
    try:
        reader = lookup_connection(redis_url, settings().lookup_timeout_s)
        client = PredictionClient(reader, settings().cache_prefix(spec.name))
        found = client.prediction(entity, period)
    except (CacheUnavailable, MalformedRedisUrl) as exc:
        raise fail(str(exc), 2) from exc
    except PredictionNotFound as exc:
        raise fail(f"not found: {exc}") from exc
    levels = "".join(f"\t{name}={value:.4f}" for name, value in found.quantiles.items())
    typer.echo(
        f"{entity}\t{found.period}\t{found.value:.4f}{levels}\trun={found.run}\tmodel=v{found.model_version}"
    )


@app.command("live")
def live(dataset: DatasetOption = None, redis_url: RedisUrl = DEFAULT_REDIS) -> None:
    """Which run is live now, with its model version, periods and counts (exit 1: none is)."""
    from fti.cache.client import CacheUnavailable, MalformedRedisUrl, live_run, lookup_connection

    spec = dataset_spec(dataset)
    try:
        reader = lookup_connection(redis_url, settings().lookup_timeout_s)
        meta = live_run(reader, settings().cache_prefix(spec.name))
    except (CacheUnavailable, MalformedRedisUrl) as exc:
        raise fail(str(exc), 2) from exc
    if meta is None:
        raise fail(f"nothing of {spec.name!r} is live yet")
    for key, value in sorted(meta.items()):
        typer.echo(f"{key:<20} {value}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    redis_url: RedisUrl = DEFAULT_REDIS,
) -> None:
    """HTTP lookups of live predictions of every data set: GET /datasets, /{dataset}/live,
    /{dataset}/predictions/{entity}/{period}, /health.

    Percent-encode the entity: /online_retail/predictions/United%20Kingdom%7C85123A/2011-12-10.
    """
    import ipaddress

    import uvicorn

    from fti.serving.http import create_app

    config = settings()
    loopback = host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)
    if not loopback and config.serve_token is None:
        raise fail(
            f"refusing to serve predictions on {host} without a token: set FTI_SERVE_TOKEN "
            "(clients send Authorization: Bearer <token>), or listen on 127.0.0.1"
        )
    uvicorn.run(create_app(redis_url, config), host=host, port=port)


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
