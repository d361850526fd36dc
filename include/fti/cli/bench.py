"""``fti bench``: the benchmarks; each prints a table and records its figures in bench/results.json."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks: print a table, record figures in bench/results.json.", no_args_is_help=True)


@app.command("features")
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


@app.command("pit-read")
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


@app.command("training")
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


@app.command("inference")
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


@app.command("all")
def bench_all(results: Annotated[str, typer.Option(help="Results file.")] = "bench/results.json") -> None:
    """Every benchmark in turn."""
    bench_features(results)
    bench_pit_read(results)
    bench_training(results)
    bench_inference(results)
