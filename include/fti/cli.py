"""The `fti` command-line tool: data, feature store, predictions. `fti --help` lists the commands."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

app = typer.Typer(help="fti-airflow: feature, training and inference pipelines.", no_args_is_help=True)
data_app = typer.Typer(help="The demo data: fetch and drop it as daily raw files.", no_args_is_help=True)
features_app = typer.Typer(help="The feature store's catalog.", no_args_is_help=True)
predictions_app = typer.Typer(help="Predictions live in Redis.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(predictions_app, name="predictions")
bench_app = typer.Typer(
    help="Benchmarks: print a table, record figures in bench/results.json.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")

RedisUrl = Annotated[str, typer.Option(envvar="FTI_REDIS_URL", help="Redis to read from.")]


@data_app.command("fetch")
def data_fetch() -> None:
    """Download the Online Retail II data once (SHA-256 checked) into the cache folder."""
    from fti.data.online_retail import fetch
    from fti.settings import get_settings

    settings = get_settings()
    assert settings.cache_dir
    typer.echo(f"cached: {fetch(settings.cache_dir)}")


@data_app.command("load")
def data_load(
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), default: all.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), default: all.")] = None,
    country: Annotated[list[str] | None, typer.Option(help="Keep only these countries.")] = None,
) -> None:
    """Drop the cached data into the landing folder as one raw CSV per day."""
    from fti.data.online_retail import fetch, split_daily
    from fti.settings import get_settings

    settings = get_settings()
    assert settings.cache_dir and settings.raw_dir
    paths = split_daily(
        fetch(settings.cache_dir),
        settings.raw_dir,
        start=date.fromisoformat(start) if start else None,
        end=date.fromisoformat(end) if end else None,
        countries=country or None,
    )
    typer.echo(f"{len(paths)} daily raw files in {settings.raw_dir}")


@features_app.command("list")
def features_list() -> None:
    """Feature sets, versions and committed partitions."""
    import sqlalchemy as sa

    from fti.settings import get_settings
    from fti.store import catalog

    settings = get_settings()
    assert settings.catalog_url
    engine = catalog.create_engine(settings.catalog_url)
    p = catalog.partitions
    query = (
        sa.select(
            p.c.feature_set,
            p.c.version,
            sa.func.count(sa.distinct(p.c.day)),
            sa.func.min(p.c.day),
            sa.func.max(p.c.day),
            sa.func.sum(p.c.row_count),
        )
        .group_by(p.c.feature_set, p.c.version)
        .order_by(p.c.feature_set, p.c.version)
    )
    with engine.connect() as conn:
        rows = list(conn.execute(query))
    typer.echo(f"{'feature set':<20} {'version':>7} {'days':>6} {'first':>10} {'last':>10} {'rows':>12}")
    for fs, version, days, first, last, total in rows:
        typer.echo(f"{fs:<20} {version:>7} {days:>6} {first!s:>10} {last!s:>10} {total:>12}")


@predictions_app.command("lookup")
def predictions_lookup(
    entity: Annotated[str, typer.Argument(help="Entity id, e.g. 'United Kingdom|85123A'.")],
    target_date: Annotated[str, typer.Argument(help="Date predicted, YYYY-MM-DD.")],
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
) -> None:
    """The live prediction for one entity and date."""
    from fti.cache.client import connect
    from fti.cache.predictions import PredictionNotFound, lookup
    from fti.settings import get_settings

    try:
        value, run = lookup(connect(redis_url), get_settings().cache_prefix, entity, target_date)
    except PredictionNotFound as exc:
        typer.echo(f"not found: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{entity}\t{target_date}\t{value:.4f}\trun={run}")


@predictions_app.command("live")
def predictions_live(redis_url: RedisUrl = "redis://127.0.0.1:6379/0") -> None:
    """Which run is live now, with its model version and counts."""
    from fti.cache.client import connect
    from fti.cache.predictions import live_run
    from fti.settings import get_settings

    meta = live_run(connect(redis_url), get_settings().cache_prefix)
    if meta is None:
        typer.echo("nothing is live yet", err=True)
        raise typer.Exit(1)
    for key, value in meta.items():
        typer.echo(f"{key:<16} {value}")


@bench_app.command("features")
def bench_features(
    results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json",
) -> None:
    """Full Online Retail II history: read raw + compute features + commit, wall time and peak memory."""
    from pathlib import Path

    from fti.bench import features
    from fti.bench import results as record
    from fti.settings import get_settings

    cache_dir = get_settings().cache_dir
    assert cache_dir
    figures = features.run(cache_dir)
    record.record(Path(results), "features", figures)
    rows = [
        ("full_history_s", f"{figures['full_history_s']:.1f}", "raw read + features + commit, 2 cores"),
        ("full_history_peak_mb", f"{figures['full_history_peak_mb']:.0f}", "peak RSS of that process"),
        ("full_history_days", str(figures["full_history_days"]), "daily partitions committed"),
        ("full_history_rows", str(figures["full_history_rows"]), "feature rows"),
    ]
    typer.echo(record.table(rows))
    typer.echo(f"recorded under 'features' in {results}")


@bench_app.command("all")
def bench_all(results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json") -> None:
    """Every benchmark in turn."""
    bench_features(results)


if __name__ == "__main__":
    app()
