"""``fti bench``: the benchmarks; each prints a table and records its figures in bench/results.json.

Each benchmark works in scratch folders and throwaway servers of its own (nothing of the configured
store, registry or cache is touched) and measures in child processes, so peak memory is the
measured work's. Other jobs may share the cores: compare figures of one run, not across runs.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from fti.bench.child import Figures

app = typer.Typer(
    help="Benchmarks: print a table, record figures in bench/results.json.", no_args_is_help=True
)
ResultsOption = Annotated[Path, typer.Option(help="Results file.")]
RESULTS = Path("bench/results.json")


def _report(module: ModuleType, figures: Figures, results: Path, title: str) -> None:
    """Record ``figures`` under the module's area (dropping the keys they replace) and print the table."""
    from fti.bench import results as record

    before = record.read(results).get(module.AREA, {})
    record.record(results, module.AREA, figures, drop=module.DROP)
    typer.echo(f"\n{title}")
    typer.echo(record.table(record.rows(figures, module.lines(figures), before, module.LEGACY)))
    typer.echo(f"recorded under {module.AREA!r} in {results}")


@app.command("features")
def bench_features(results: ResultsOption = RESULTS) -> None:
    """Feature DAG's work per data set (Online Retail and car parks: full history; store_sales:
    100,000 entities x 156 weeks): whole run, compute-and-write part, step shares, peak memory."""
    from fti.bench import features

    _report(features, features.run(), results, "features: validate_raw + build_and_commit, per data set")


@app.command("pit-read")
def bench_pit_read(results: ResultsOption = RESULTS) -> None:
    """Point-in-time read of 30 days from a 10 M-row feature table against a naive read that prunes
    the date= folders; both timed alike (median of 3 warm runs, interleaved), same rows."""
    from fti.bench import pit_read

    _report(pit_read, pit_read.run(), results, "pit-read: catalog read vs pruned naive read")


@app.command("training")
def bench_training(results: ResultsOption = RESULTS) -> None:
    """The training task per data set (snapshot .. registration) and the fit alone, peak memory, and
    the model's test WAPE next to each baseline's."""
    from fti.bench import training

    _report(training, training.run(), results, "training: train_and_register per data set")


@app.command("inference")
def bench_inference(results: ResultsOption = RESULTS) -> None:
    """7 M predictions end to end at the default chunk size with 1 and 2 workers, publication against
    redis-benchmark (per prediction and per field write), memory, lookups vs GETs quiet and under load."""
    from fti.bench import inference

    _report(inference, inference.run(), results, "inference: 1,000,000 entities x 7 periods, throwaway Redis")


@app.command("accuracy")
def bench_accuracy(
    results: ResultsOption = RESULTS,
    dataset: Annotated[list[str] | None, typer.Option(help="Only these data sets (repeatable).")] = None,
    objective: Annotated[
        str | None,
        typer.Option(help="Train with this objective instead of each spec's (printed, not recorded)."),
    ] = None,
) -> None:
    """Rolling-origin backtest (4 origins, point-in-time snapshots at each origin's commit time) of
    every shipped data set: the model and every baseline on WAPE, MAPE, MASE and bias, and coverage."""
    from fti.bench import accuracy
    from fti.bench import results as record
    from fti.training.model import OBJECTIVES

    chosen = tuple(dataset or accuracy.DATASETS)
    unknown = sorted(set(chosen) - set(accuracy.DATASETS))
    if unknown:
        raise typer.BadParameter(f"{unknown}: the backtest knows {list(accuracy.DATASETS)}")
    if objective is not None and objective not in OBJECTIVES:
        raise typer.BadParameter(f"objective {objective!r}: one of {sorted(OBJECTIVES)}")
    figures = accuracy.run(chosen, objective)
    title = "accuracy: rolling-origin backtest, mean over 4 origins"
    if objective is None:
        _report(accuracy, figures, results, title)
        return
    # An experiment, not the shipped specs: bench/results.json keeps the specs' own figures.
    typer.echo(f"\n{title}, objective {objective} instead of the specs' (not recorded)")
    typer.echo(record.table(record.rows(figures, accuracy.lines(figures), {}, accuracy.LEGACY)))


@app.command("http")
def bench_http(results: ResultsOption = RESULTS) -> None:
    """fti serve under load on loopback (wrk, 1,000,000 entities x 7 days live): requests/s and
    p50/p99/p99.9 at 1, 8, 32 and 128 connections, and the old one-process sync server beside it."""
    from fti.bench import http

    _report(http, http.run(), results, "http: fti serve under wrk, 1,000,000 entities x 7 days live")


@app.command("first-hour")
def bench_first_hour(
    results: ResultsOption = RESULTS,
    dataset: Annotated[str, typer.Option(help="The data set whose three DAGs are run.")] = "online_retail",
    keep: Annotated[bool, typer.Option(help="Keep the scratch clone and its log.")] = False,
) -> None:
    """Time to first prediction: a fresh clone of this checkout's HEAD through `make setup`, `make run`,
    the data set's three DAGs over REST API v2 and a lookup over HTTP, each step timed (not in `all`)."""
    from fti.bench import first_hour
    from fti.settings import PROJECT_ROOT

    figures = first_hour.run(PROJECT_ROOT, dataset, keep)
    _report(first_hour, figures, results, f"first-hour: fresh clone to first prediction ({dataset})")


@app.command("all")
def bench_all(results: ResultsOption = RESULTS) -> None:
    """Every benchmark in turn (14-17 minutes on 2 shared cores)."""
    bench_features(results)
    bench_pit_read(results)
    bench_training(results)
    bench_inference(results)
    bench_http(results)
