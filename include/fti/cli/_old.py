"""The `fti` command-line tool: data, feature store, predictions. `fti --help` lists the commands."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from fti.settings import Settings

app = typer.Typer(help="fti-airflow: feature, training and inference pipelines.", no_args_is_help=True)
data_app = typer.Typer(help="The demo data: fetch and drop it as daily raw files.", no_args_is_help=True)
features_app = typer.Typer(help="The feature store's catalog.", no_args_is_help=True)
predictions_app = typer.Typer(help="Predictions live in Redis.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(predictions_app, name="predictions")
models_app = typer.Typer(help="The model registry: versions, rollback, promotion.", no_args_is_help=True)
app.add_typer(models_app, name="models")
bench_app = typer.Typer(
    help="Benchmarks: print a table, record figures in bench/results.json.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")

RedisUrl = Annotated[str, typer.Option(envvar="FTI_REDIS_URL", help="Redis to read from.")]
EnvOption = Annotated[
    str | None, typer.Option("--env", help="Environment (sandbox, staging, production); default FTI_ENV.")
]


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


FeatureSetArg = Annotated[str, typer.Argument(help="Feature set, e.g. retail_demand.")]
LastOption = Annotated[int, typer.Option("--last", min=1, help="Show only the N newest.")]


@features_app.command("versions")
def features_versions(feature_set: FeatureSetArg) -> None:
    """Versions of a feature set: columns of its schema, days and commits, creation time."""
    from fti.store import FeatureStore
    from fti.store.feature_store import FeatureSetNotFound

    try:
        found = FeatureStore(*_store_location()).versions(feature_set)
    except FeatureSetNotFound as exc:
        raise _fail(str(exc)) from exc
    _echo_table(
        ["version", "columns", "days", "commits", "schema", "created_at"],
        [[v.version, v.columns, v.days, v.commits, v.schema_hash[:12], v.created_at] for v in found],
    )


@features_app.command("partitions")
def features_partitions(feature_set: FeatureSetArg, last: LastOption = 20) -> None:
    """Committed partitions, oldest of the N newest first, with the outcome of their validation."""
    from fti.store import FeatureStore

    found = FeatureStore(*_store_location()).partitions(feature_set, last)
    if not found:
        raise _fail(f"feature set {feature_set!r} has no committed partition")
    verdict = {True: "ok", False: "FAILED", None: "-"}
    _echo_table(
        ["day", "version", "rows", "checksum", "committed_at", "run_id", "validation"],
        [
            [
                p.day,
                p.version,
                p.row_count,
                p.checksum[:12],
                p.committed_at,
                p.run_id,
                verdict[p.validation_success],
            ]
            for p in found
        ],
    )


@features_app.command("stats")
def features_stats(
    feature_set: FeatureSetArg,
    day: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD), default: the latest committed.")] = None,
    version: Annotated[int | None, typer.Option(help="Version, default: the latest.")] = None,
) -> None:
    """Statistics of each column of one day's partition: count, nulls, mean, median, 99th percentile."""
    from fti.store import FeatureStore
    from fti.store.feature_store import FeatureSetNotFound

    store = FeatureStore(*_store_location())
    try:
        version = version or store.latest_version(feature_set)
        days = [_parse_day(day)] if day else store.committed_days(feature_set, version=version)
        if not days:
            raise _fail(f"feature set {feature_set!r} has no committed partition of version {version}")
        shown = days[-1]
        stats = store.statistics(feature_set, shown, shown, version=version)
    except FeatureSetNotFound as exc:
        raise _fail(str(exc)) from exc
    if stats.empty:
        raise _fail(
            f"no statistics of {feature_set!r} v{version} on {shown}: no partition, or one committed "
            "before statistics were recorded"
        )
    typer.echo(f"{feature_set} v{version} {shown} (partition {stats['partition_id'].iloc[0]})")
    _echo_table(
        ["column", "kind", "count", "nulls", "mean", "p50", "p99", "distinct"],
        [
            [
                r.column,
                r.kind,
                int(r.count),
                int(r.null_count),
                r.mean,
                r.p50,
                r.p99,
                _int_or_none(r.distinct_count),
            ]
            for r in stats.itertuples()
        ],
    )


@features_app.command("validations")
def features_validations(feature_set: FeatureSetArg, last: LastOption = 20) -> None:
    """Recorded validations: outcome, counts, failing expectations and where the full document is."""
    from fti.store import FeatureStore

    found = FeatureStore(*_store_location()).validations(feature_set, last)
    if not found:
        raise _fail(f"no validation of {feature_set!r} was recorded")
    rows = []
    for v in found:
        failing = ", ".join(v.failing)
        if v.failed is not None and v.failed > len(v.failing):
            failing += f"{' ' if failing else ''}(+{v.failed - len(v.failing)} more)"
        days = f"{v.start}..{v.end}" if v.end != v.start else str(v.start)
        result = "ok" if v.success else "FAILED"
        rows.append([v.created_at, v.run_id, days, result, v.evaluated, v.failed, failing or "-", v.uri])
    _echo_table(
        ["created_at", "run_id", "days", "result", "evaluated", "failed", "failing", "document"], rows
    )


def _store_location() -> tuple[str, str]:
    """``(store_uri, catalog_url)`` of the settings."""
    from fti.settings import get_settings

    settings = get_settings()
    assert settings.store_uri and settings.catalog_url
    return settings.store_uri, settings.catalog_url


def _fail(message: str) -> typer.Exit:
    """Print ``message`` on stderr; the exit (status 1) to raise."""
    typer.echo(message, err=True)
    return typer.Exit(1)


def _parse_day(text: str) -> date:
    """``text`` as a day, or a usage error naming ``--day``."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a day YYYY-MM-DD", param_hint="--day") from exc


def _int_or_none(value: float | None) -> int | None:
    """``value`` as an int, None for a missing one (None or NaN)."""
    import math

    return None if value is None or math.isnan(value) else int(value)


def _echo_table(headers: list[str], rows: list[list[object]]) -> None:
    """Columns aligned, numbers right-aligned; missing values as ``-``, floats with 3 decimals."""
    import math
    from datetime import datetime

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, datetime):
            return value.isoformat(sep=" ", timespec="seconds")
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(r[i], int | float) and not isinstance(r[i], bool) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    for line in [headers, *cells]:
        padded = [c.rjust(w) if n else c.ljust(w) for c, w, n in zip(line, widths, numeric, strict=True)]
        typer.echo("  ".join(padded).rstrip())


@predictions_app.command("lookup")
def predictions_lookup(
    entity: Annotated[str, typer.Argument(help="Entity id, e.g. 'United Kingdom|85123A'.")],
    target_date: Annotated[str, typer.Argument(help="Date predicted, YYYY-MM-DD.")],
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
) -> None:
    """The live prediction for one entity and date (exit 1: none; exit 2: Redis unreachable)."""
    from fti.cache.client import CacheUnavailable, PredictionClient, PredictionNotFound, connect
    from fti.settings import get_settings

    try:
        day = date.fromisoformat(target_date)
    except ValueError as exc:
        hint = "TARGET_DATE"
        raise typer.BadParameter(f"{target_date!r} is not a day YYYY-MM-DD", param_hint=hint) from exc
    try:
        client = PredictionClient(connect(redis_url), get_settings().cache_prefix)
        value, run = client.lookup(entity, day)
    except CacheUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except PredictionNotFound as exc:
        typer.echo(f"not found: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{entity}\t{target_date}\t{value:.4f}\trun={run}")


@predictions_app.command("live")
def predictions_live(redis_url: RedisUrl = "redis://127.0.0.1:6379/0") -> None:
    """Which run is live now, with its model version, dates and counts (exit 1: none is)."""
    from fti.cache.client import CacheUnavailable, connect, live_run
    from fti.settings import get_settings

    try:
        meta = live_run(connect(redis_url), get_settings().cache_prefix)
    except CacheUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if meta is None:
        typer.echo("nothing is live yet", err=True)
        raise typer.Exit(1)
    for key, value in sorted(meta.items()):
        typer.echo(f"{key:<16} {value}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
) -> None:
    """HTTP lookups of live predictions: GET /predictions/{entity}/{date}, /live, /health.

    Percent-encode the entity: /predictions/United%20Kingdom%7C85123A/2024-03-05.
    """
    import uvicorn

    from fti.serving.http import create_app
    from fti.settings import get_settings

    uvicorn.run(create_app(redis_url, get_settings().cache_prefix), host=host, port=port)


@models_app.command("versions")
def models_versions(env: EnvOption = None) -> None:
    """Every registered version with its aliases, gate verdict, test WAPE and lineage."""
    client, settings = _registry(env)
    found = client.search_model_versions(f"name = '{settings.model_name}'")
    if not found:
        raise _fail(f"model {settings.model_name!r} has no registered version")
    aliases: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(settings.model_name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for mv in sorted(found, key=lambda v: int(v.version)):
        wape = client.get_run(mv.run_id).data.metrics.get("test_wape") if mv.run_id else None
        tags = mv.tags
        rows.append(
            [
                int(mv.version),
                ",".join(sorted(aliases.get(str(mv.version), []))) or "-",
                tags.get("gate", "-"),
                wape,
                f"v{tags.get('feature_set_version', '?')}",
                tags.get("as_of", "-"),
                tags.get("copied_from", "-"),
            ]
        )
    _echo_table(["version", "aliases", "gate", "test_wape", "features", "as_of", "copied_from"], rows)


@models_app.command("rollback")
def models_rollback(
    version: Annotated[str, typer.Argument(help="Version to make champion again.")], env: EnvOption = None
) -> None:
    """Point `champion` back at an earlier version, in one step."""
    from functools import partial

    from fti.registry.mlflow_registry import ModelNotFound
    from fti.registry.promotion import promotion_lock, rollback

    client, settings = _registry(env)
    assert settings.catalog_url
    lock = partial(promotion_lock, settings.catalog_url, settings.model_name)
    try:
        previous, now = rollback(client, settings.model_name, version, lock)
    except ModelNotFound as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{settings.model_name}: champion v{previous.version if previous else '-'} -> v{now.version}")


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="Version of the source environment's model.")],
    source: Annotated[str, typer.Option("--from", help="Source environment.")] = "staging",
    target: Annotated[str, typer.Option("--to", help="Target environment.")] = "production",
    champion: Annotated[bool, typer.Option(help="Make the copy the target's champion.")] = True,
) -> None:
    """Copy a version that passed the gate from one environment's registry to another's."""
    from functools import partial

    from fti.registry.mlflow_registry import ModelNotFound
    from fti.registry.promotion import NotApproved, copy_to_environment, promotion_lock

    client, source_settings = _registry(source)
    _, target_settings = _registry(target)
    assert target_settings.catalog_url
    lock = partial(promotion_lock, target_settings.catalog_url, target_settings.model_name)
    try:
        copied = copy_to_environment(
            client, source_settings.model_name, version, target_settings.model_name, champion, lock
        )
    except (ModelNotFound, NotApproved) as exc:
        raise _fail(str(exc)) from exc
    alias = " (champion)" if champion else ""
    typer.echo(f"{source_settings.model_name} v{version} -> {copied.name} v{copied.version}{alias}")


def _registry(env: str | None) -> tuple[Any, Settings]:
    """Registry client and settings of environment ``env`` (default: the configured one)."""
    from fti.registry.mlflow_registry import configure
    from fti.settings import Environment, get_settings

    settings = get_settings()
    if env is not None:
        try:
            settings = settings.model_copy(update={"env": Environment(env)})
        except ValueError as exc:
            raise typer.BadParameter(f"{env!r} is not one of {[e.value for e in Environment]}") from exc
    assert settings.mlflow_tracking_uri
    return configure(settings.mlflow_tracking_uri), settings


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
        ("full_history_s", f"{figures['full_history_s']:.1f}", "validate raw + features + commit, 2 cores"),
        ("validation_share", f"{figures['validation_share']:.1%}", "raw validation's share of that time"),
        ("full_history_peak_mb", f"{figures['full_history_peak_mb']:.0f}", "peak RSS of that process"),
        ("full_history_days", str(figures["full_history_days"]), "daily partitions committed"),
        ("full_history_rows", str(figures["full_history_rows"]), "feature rows"),
    ]
    typer.echo(record.table(rows))
    typer.echo(f"recorded under 'features' in {results}")


@bench_app.command("pit-read")
def bench_pit_read(
    results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json",
) -> None:
    """Point-in-time read of 30 days from a 10 M-row feature table vs loading everything and filtering."""
    from pathlib import Path

    from fti.bench import pit_read
    from fti.bench import results as record

    figures = pit_read.run()
    record.record(Path(results), "features", figures)
    rows = [
        ("pit_table_rows", str(figures["pit_table_rows"]), "rows in the store (daily partitions)"),
        ("pit_read_s", f"{figures['pit_read_s']:.3f}", "catalog read of the window, as of a past time"),
        ("naive_read_s", f"{figures['naive_read_s']:.3f}", "read every file, filter and dedupe in pandas"),
        ("pit_rows_per_s", f"{figures['pit_rows_per_s']:,.0f}", "window rows / pit_read_s"),
        ("pit_speedup_vs_naive", f"{figures['pit_speedup_vs_naive']:.1f}x", "same rows, same run"),
    ]
    typer.echo(record.table(rows))
    typer.echo(f"recorded under 'features' in {results}")


@bench_app.command("training")
def bench_training(
    results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json",
    window_days: Annotated[int, typer.Option(help="Feature days in the snapshot.")] = 90,
) -> None:
    """Training wall time and peak memory with and without tuning; model WAPE against both baselines."""
    from pathlib import Path

    from fti.bench import results as record
    from fti.bench import training
    from fti.settings import get_settings

    settings = get_settings()
    assert settings.cache_dir
    f = training.run(settings.var_dir, settings.cache_dir, window_days)
    record.record(Path(results), "training", f)
    better = min(f["wape_seasonal_naive"], f["wape_moving_average"])
    gain = 1 - f["wape_model"] / better
    rows = [
        ("train / test rows", f"{f['train_rows']:,} / {f['test_rows']:,}", f"last {window_days} days"),
        ("fit_s", f"{f['fit_s']:.1f}", "final fit, default parameters"),
        ("tune_s", f"{f['tune_s']:.1f}", f"{f['tune_trials']} trials of time-series CV (default budget)"),
        ("peak_mb", f"{f['peak_mb']:,.0f}", "peak RSS of the larger child"),
        ("wape_model", f"{f['wape_model']:.4f}", f"{gain:+.1%} vs the better baseline (target >= +10%)"),
        ("wape_model_tuned", f"{f['wape_model_tuned']:.4f}", "after tuning"),
        ("wape_seasonal_naive", f"{f['wape_seasonal_naive']:.4f}", "same weekday, a week earlier"),
        ("wape_moving_average", f"{f['wape_moving_average']:.4f}", "28-day mean at the feature day"),
    ]
    typer.echo(record.table(rows))
    typer.echo(f"recorded under 'training' in {results}")


@bench_app.command("inference")
def bench_inference(
    results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json",
) -> None:
    """7 M predictions end to end, publication against redis-benchmark and naive writes, lookup latency."""
    from pathlib import Path

    from fti.bench import cache, inference
    from fti.bench import results as record

    e2e = inference.run()
    rates = cache.run()
    figures = {**e2e, **rates}
    record.record(Path(results), "inference", figures)
    f = figures
    rows = [
        (
            "end_to_end_s",
            f"{f['end_to_end_s']:.1f}",
            f"{f['end_to_end_predictions']:,} predictions (target < 180 s)",
        ),
        ("  check_s", f"{f['check_s']:.1f}", "schema + drift against the training statistics"),
        (
            "  predict_and_write_s",
            f"{f['predict_and_write_s']:.1f}",
            f"{f['end_to_end_chunks']} chunks, one process",
        ),
        ("  publish_switch_s", f"{f['publish_switch_s']:.2f}", "count check + atomic pointer switch"),
        ("end_to_end_peak_mb", f"{f['end_to_end_peak_mb']:,.0f}", "peak RSS of the run"),
        ("publish_per_s", f"{f['publish_per_s']:,.0f}", "write_chunk of 7 M predictions + go_live"),
        (
            "redis_benchmark_set_per_s",
            f"{f['redis_benchmark_set_per_s']:,.0f}",
            "redis-benchmark -P 64 -t set",
        ),
        ("publish_vs_redis_benchmark", f"{f['publish_vs_redis_benchmark']:.2f}x", "target >= 0.5x"),
        ("naive_pipeline_per_s", f"{f['naive_pipeline_per_s']:,.0f}", "one SET per prediction, pipelined"),
        ("naive_vs_redis_benchmark", f"{f['naive_vs_redis_benchmark']:.2f}x", "same server, same run"),
        ("bytes_per_prediction", f"{f['bytes_per_prediction']:.2f}", "MEMORY USAGE of the run's keys"),
        (
            "lookup_p50_ms / p99",
            f"{f['lookup_p50_ms']:.3f} / {f['lookup_p99_ms']:.3f}",
            "100,000 lookups (target p99 < 1)",
        ),
        (
            "naive_get_p50_ms / p99",
            f"{f['naive_get_p50_ms']:.3f} / {f['naive_get_p99_ms']:.3f}",
            "plain GET of one key",
        ),
    ]
    typer.echo(record.table(rows))
    typer.echo(f"recorded under 'inference' in {results}")


@bench_app.command("all")
def bench_all(results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json") -> None:
    """Every benchmark in turn."""
    bench_features(results)
    bench_pit_read(results)
    bench_training(results)
    bench_inference(results)


if __name__ == "__main__":
    app()
