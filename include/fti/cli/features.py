"""``fti features``: the feature store's catalog as tables."""

from __future__ import annotations

from typing import Annotated

import typer

from fti.cli.common import LastOption, echo_table, fail, int_or_none, parse_day

app = typer.Typer(help="The feature store's catalog.", no_args_is_help=True)


@app.command("list")
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
    echo_table(["feature set", "version", "partitions", "first", "last", "rows"], [list(r) for r in rows])


FeatureSetArg = Annotated[str, typer.Argument(help="Feature set: a data set's name, or <name>__future.")]


@app.command("versions")
def features_versions(feature_set: FeatureSetArg) -> None:
    """Versions of a feature set: columns of its schema, days and commits, creation time."""
    from fti.store import FeatureStore
    from fti.store.feature_store import FeatureSetNotFound

    try:
        found = FeatureStore(*store_location()).versions(feature_set)
    except FeatureSetNotFound as exc:
        raise fail(str(exc)) from exc
    echo_table(
        ["version", "columns", "days", "commits", "schema", "created_at"],
        [[v.version, v.columns, v.days, v.commits, v.schema_hash[:12], v.created_at] for v in found],
    )


@app.command("partitions")
def features_partitions(feature_set: FeatureSetArg, last: LastOption = 20) -> None:
    """Committed partitions, oldest of the N newest first, with the outcome of their validation."""
    from fti.store import FeatureStore

    found = FeatureStore(*store_location()).partitions(feature_set, last)
    if not found:
        raise fail(f"feature set {feature_set!r} has no committed partition")
    verdict = {True: "ok", False: "FAILED", None: "-"}
    echo_table(
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


@app.command("stats")
def features_stats(
    feature_set: FeatureSetArg,
    day: Annotated[
        str | None, typer.Option(help="Partition (YYYY-MM-DD), default: the latest committed.")
    ] = None,
    version: Annotated[int | None, typer.Option(help="Version, default: the latest.")] = None,
) -> None:
    """Statistics of each column of one day's partition: count, nulls, mean, median, 99th percentile."""
    from fti.store import FeatureStore
    from fti.store.feature_store import FeatureSetNotFound

    store = FeatureStore(*store_location())
    try:
        version = version or store.latest_version(feature_set)
        days = [parse_day(day, "--day")] if day else store.committed_days(feature_set, version=version)
        if not days:
            raise fail(f"feature set {feature_set!r} has no committed partition of version {version}")
        shown = days[-1]
        stats = store.statistics(feature_set, shown, shown, version=version)
    except FeatureSetNotFound as exc:
        raise fail(str(exc)) from exc
    if stats.empty:
        raise fail(
            f"no statistics of {feature_set!r} v{version} on {shown}: no partition, or one committed "
            "before statistics were recorded"
        )
    typer.echo(f"{feature_set} v{version} {shown} (partition {stats['partition_id'].iloc[0]})")
    echo_table(
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
                int_or_none(r.distinct_count),
            ]
            for r in stats.itertuples()
        ],
    )


@app.command("validations")
def features_validations(feature_set: FeatureSetArg, last: LastOption = 20) -> None:
    """Recorded validations: outcome, counts, failing expectations and where the full document is."""
    from fti.store import FeatureStore

    found = FeatureStore(*store_location()).validations(feature_set, last)
    if not found:
        raise fail(f"no validation of {feature_set!r} was recorded")
    rows = []
    for v in found:
        failing = ", ".join(v.failing)
        if v.failed is not None and v.failed > len(v.failing):
            failing += f"{' ' if failing else ''}(+{v.failed - len(v.failing)} more)"
        days = f"{v.start}..{v.end}" if v.end != v.start else str(v.start)
        result = "ok" if v.success else "FAILED"
        rows.append([v.created_at, v.run_id, days, result, v.evaluated, v.failed, failing or "-", v.uri])
    echo_table(["created_at", "run_id", "days", "result", "evaluated", "failed", "failing", "document"], rows)


@app.command("gc")
def features_gc(
    grace_hours: Annotated[
        float, typer.Option(min=0, help="Keep files modified in the last N hours (a writer may be at work).")
    ] = 24,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
) -> None:
    """Remove temporary files and partition files no catalog row names, older than the grace period."""
    from datetime import UTC, datetime, timedelta

    from fti.store import FeatureStore

    now = datetime.now(UTC)
    removed = FeatureStore(*store_location()).collect_garbage(timedelta(hours=grace_hours), dry_run, now)
    if removed:
        echo_table(
            ["file", "kind", "bytes", "age_hours"],
            [[o.path, o.kind, o.size, (now - o.modified).total_seconds() / 3600] for o in removed],
        )
    verb = "would remove" if dry_run else "removed"
    typer.echo(f"{verb} {len(removed)} file(s), {sum(o.size for o in removed)} bytes freed")


@app.command("create-buckets")
def features_create_buckets(
    uris: Annotated[
        list[str] | None,
        typer.Argument(help="s3:// URIs whose buckets to create (default: the store's, FTI_STORE_URI)."),
    ] = None,
) -> None:
    """Create the object-store buckets the store (and e.g. MLflow's artifacts) live in; idempotent.

    The endpoint and keys come from the standard AWS settings (AWS_ENDPOINT_URL_S3, ...). URIs that
    are local paths are passed over: a local store needs no bucket.
    """
    from fti.store.object_store import BucketError, create_buckets

    wanted = uris or [store_location()[0]]
    try:
        buckets = create_buckets(wanted)
    except BucketError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"buckets ready: {', '.join(buckets) or 'none (no s3:// URI given)'}")


def store_location() -> tuple[str, str]:
    """``(store_uri, catalog_url)`` of the settings."""
    from fti.settings import get_settings

    settings = get_settings()
    assert settings.store_uri and settings.catalog_url
    return settings.store_uri, settings.catalog_url
