"""``fti predictions`` and ``fti serve``: live predictions in Redis, from the shell and over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fti.cli.common import (
    DEFAULT_REDIS,
    DatasetOption,
    LastOption,
    RedisUrl,
    dataset_spec,
    echo_table,
    fail,
    settings,
)

if TYPE_CHECKING:
    from fti.cache.client import Prediction
    from fti.specs import DatasetSpec

app = typer.Typer(help="Predictions: live in Redis, past ones in the prediction log.", no_args_is_help=True)


@app.command("lookup")
def lookup(
    entity: Annotated[str, typer.Argument(help="Entity id, e.g. 'United Kingdom|85123A'.")],
    period: Annotated[str, typer.Argument(help="Period predicted: YYYY-MM-DD (hours: YYYY-MM-DDTHH:00).")],
    dataset: DatasetOption = None,
    redis_url: RedisUrl = DEFAULT_REDIS,
    run: Annotated[
        str | None,
        typer.Option(
            "--run", help="A logged run (`fti predictions runs`): read the prediction log, not Redis."
        ),
    ] = None,
) -> None:
    """The live prediction for one entity and period, or a past run's with --run (exit 1: none; exit 2:
    Redis unreachable or refusing, or the logged run's file changed)."""
    from fti.cache.client import PredictionClient, PredictionNotFound
    from fti.cache.connect import CacheUnavailable, MalformedRedisUrl, lookup_connection
    from fti.store.prediction_log import PredictionLogCorrupted, PredictionLogNotFound

    spec = dataset_spec(dataset)
    try:
        spec.calendar.parse(period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from exc
    found: Prediction
    try:
        if run is not None:
            found = _logged(spec, run, entity, period)
        else:
            reader = lookup_connection(redis_url, settings().lookup_timeout_s)
            client = PredictionClient(reader, settings().cache_prefix(spec.name))
            found = client.prediction(entity, period)
    except (CacheUnavailable, MalformedRedisUrl) as exc:
        raise fail(str(exc), 2) from exc
    except (PredictionNotFound, PredictionLogNotFound) as exc:
        raise fail(f"not found: {exc}") from exc
    except PredictionLogCorrupted as exc:
        raise fail(str(exc), 2) from exc
    levels = "".join(f"\t{name}={value:.4f}" for name, value in found.quantiles.items())
    typer.echo(
        f"{entity}\t{found.period}\t{found.value:.4f}{levels}\trun={found.run}\tmodel=v{found.model_version}"
    )


def _logged(spec: DatasetSpec, run: str, entity: str, period: str) -> Prediction:
    from fti.cli.features import store_location
    from fti.serving.logged import logged_prediction
    from fti.store import FeatureStore

    return logged_prediction(FeatureStore(*store_location()), spec, run, entity, period)


@app.command("runs")
def runs(dataset: DatasetOption = None, last: LastOption = 20) -> None:
    """The runs in the prediction log, newest last: model, feature partition, periods, when published."""
    from fti.cli.features import store_location
    from fti.store import FeatureStore

    spec = dataset_spec(dataset)
    logged = FeatureStore(*store_location()).logged_runs(spec.name)[-last:]
    if not logged:
        raise fail(f"the prediction log of {spec.name!r} is empty: no batch was published yet")
    rows: list[list[object]] = [
        [
            x.run,
            f"v{x.model_version}",
            x.feature_partition.isoformat(),
            spec.calendar.format(x.first_period),
            x.horizon,
            x.entities,
            x.row_count,
            x.published_at,
        ]
        for x in logged
    ]
    echo_table(["run", "model", "features", "first period", "horizon", "entities", "rows", "published"], rows)


@app.command("realized")
def realized(
    dataset: DatasetOption = None,
    run: Annotated[str | None, typer.Option("--run", help="One run: its metrics per horizon.")] = None,
    last: LastOption = 20,
) -> None:
    """Realized accuracy of the published runs (scored as actuals land), then the latest decay verdict."""
    import json

    from fti.cli.features import store_location
    from fti.store import FeatureStore

    spec = dataset_spec(dataset)
    store = FeatureStore(*store_location())
    records = store.realized(spec.name, run)[-last:]
    if not records:
        where = f"run {run!r}" if run else "any published run"
        raise fail(f"no realized accuracy of {where} of {spec.name!r} yet: its actuals have not landed")
    if run is not None:
        slices = json.loads(records[0].document_json)["slices"]["horizon"]
        echo_table(
            ["horizon", "rows", "wape", "mae", "bias"],
            [[s["slice"], s["rows"], s["wape"], s["mae"], s["bias"]] for s in slices],
        )
        return
    metric = records[0].metric
    rows: list[list[object]] = [
        [r.run, f"v{r.model_version}", f"{r.periods}/{r.horizon}", r.row_count, r.value, r.expected, r.ratio,
         r.best_baseline, r.best_baseline_value, r.coverage]
        for r in records
    ]  # fmt: skip
    headers = ["run", "model", "periods", "rows", metric, "expected", "ratio", "baseline", f"its {metric}"]
    headers.append("coverage")
    echo_table(headers, rows)
    verdicts = store.verdicts(spec.name, last=1)
    if verdicts:
        typer.echo(f"decay: {verdicts[-1]['status']}: {verdicts[-1]['reason']}")


@app.command("sample")
def sample(
    dataset: DatasetOption = None,
    n: Annotated[int, typer.Option("--n", min=1, max=1000, help="How many entities.")] = 10,
    redis_url: RedisUrl = DEFAULT_REDIS,
) -> None:
    """Some entities of the live run (from a random place), and a lookup command to paste (exit 1: nothing
    is live; exit 2: Redis unreachable or refusing)."""
    import random
    import shlex
    from urllib.parse import quote

    from fti.cache.client import PredictionNotFound
    from fti.cache.client import live_run as read_live
    from fti.cache.connect import CacheUnavailable, MalformedRedisUrl, lookup_connection
    from fti.cache.entities import Cursor, entity_page, live_of

    spec = dataset_spec(dataset)
    prefix = settings().cache_prefix(spec.name)
    try:
        reader = lookup_connection(redis_url, settings().lookup_timeout_s)
        live = live_of(read_live(reader, prefix), prefix)
        start = Cursor(live.run, random.randrange(live.n_buckets)).encode()
        found = entity_page(reader, prefix, limit=n, cursor=start).entities
        if len(found) < n:  # the random place was near the end: go on from the first bucket
            more = [e for e in entity_page(reader, prefix, limit=n).entities if e not in found]
            found += more[: n - len(found)]
    except (CacheUnavailable, MalformedRedisUrl) as exc:
        raise fail(str(exc), 2) from exc
    except PredictionNotFound as exc:
        raise fail(f"nothing of {spec.name!r} is live yet: {exc}") from exc
    if not found:
        raise fail(f"live run {live.run} of {spec.name!r} holds no entity")
    typer.echo(f"{len(found)} entities of live run {live.run} ({live.first_period} to {live.last_period}):")
    for entity in found:
        typer.echo(f"  {entity}")
    period = live.first_period
    typer.echo("Look one up:")
    typer.echo(f"  fti predictions lookup -d {spec.name} {shlex.quote(found[0])} {period}")
    typer.echo(f"  curl http://127.0.0.1:8000/{spec.name}/predictions/{quote(found[0], safe='')}/{period}")


@app.command("live")
def live(dataset: DatasetOption = None, redis_url: RedisUrl = DEFAULT_REDIS) -> None:
    """Which run is live now, with its model version, periods and counts (exit 1: none is)."""
    from fti.cache.client import live_run
    from fti.cache.connect import CacheUnavailable, MalformedRedisUrl, lookup_connection

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
    workers: Annotated[
        int | None, typer.Option(min=1, help="Server processes (default: one per core).")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput).")] = False,
) -> None:
    """HTTP lookups of live predictions of every data set: GET /, /docs, /datasets, /{dataset}/live,
    /{dataset}/entities, /{dataset}/predictions/{entity}/{period}, /health.

    Percent-encode the entity: /online_retail/predictions/United%20Kingdom%7C85123A/2011-12-10.
    """
    import ipaddress
    import os

    import uvicorn

    from fti.cache.connect import MalformedRedisUrl, check_url

    config = settings()
    loopback = host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)
    if not loopback and config.serve_token is None:
        raise fail(
            f"refusing to serve predictions on {host} without a token: set FTI_SERVE_TOKEN "
            "(clients send Authorization: Bearer <token>), or listen on 127.0.0.1"
        )
    try:
        check_url(redis_url)
    except MalformedRedisUrl as exc:
        raise fail(str(exc), 2) from exc
    os.environ["FTI_REDIS_URL"] = redis_url  # what each worker's app reads (fti.serving.http)
    uvicorn.run(
        "fti.serving.http:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers or os.cpu_count() or 1,
        access_log=access_log,
    )


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
