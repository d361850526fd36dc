"""Benchmark of training on the full Online Retail II features.

Run as ``fti bench training`` (part of ``make bench``). It needs a feature store holding the whole
history: the configured one when it has it (after ``make run`` and the feature pipeline's bootstrap
run), otherwise one built in a scratch folder by the feature pipeline's own steps (about a minute).
Then two child processes, each with its own peak memory, take the same point-in-time snapshot as the
training DAG (the last ``window_days`` feature days) and time:

* ``fit``: labelled rows, time split, fit with the default parameters, and the WAPE of the model and
  of both baselines on the same test window;
* ``tune``: the same, with the bounded search (default budget) before the final fit.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fti.bench.features import peak_rss_mb, run_child

FULL_HISTORY_DAYS = 700
"""A store with fewer committed days than this is not the full history (it has 711)."""


def run(settings_var_dir: Path, cache_dir: Path, window_days: int) -> dict[str, float | int]:
    """Measure training without and with tuning; returns the figures for ``bench/results.json``."""
    from fti.pipelines.feature import feature_store
    from fti.settings import Settings

    settings = Settings(var_dir=settings_var_dir)
    try:
        days = len(feature_store(settings).committed_days(settings.feature_set))
    except LookupError:
        days = 0
    if days >= FULL_HISTORY_DAYS:
        return _measure(settings_var_dir, window_days)
    with tempfile.TemporaryDirectory(prefix="fti-bench-training-") as tmp:
        _build_full_store(Path(tmp), cache_dir)
        return _measure(Path(tmp), window_days)


def _build_full_store(var_dir: Path, cache_dir: Path) -> None:
    from fti.data.online_retail import fetch, split_daily
    from fti.pipelines.feature import ingest, pending_days, validate_raw
    from fti.settings import Settings

    settings = Settings(var_dir=var_dir)
    assert settings.raw_dir
    split_daily(fetch(cache_dir), settings.raw_dir)
    days = pending_days(settings)
    summary = validate_raw(settings, days, run_id="bench")
    ingest(settings, days, run_id="bench", validation_id=summary["validation_id"])


def _measure(var_dir: Path, window_days: int) -> dict[str, float | int]:
    fit = run_child("fti.bench.training", str(var_dir), str(window_days), "fit")
    tuned = run_child("fti.bench.training", str(var_dir), str(window_days), "tune")
    return {
        "fit_s": fit["fit_s"],
        "fit_peak_mb": fit["peak_mb"],
        "tune_s": tuned["tune_s"],
        "tune_trials": tuned["tune_trials"],
        "tuned_fit_s": tuned["fit_s"],
        "peak_mb": max(fit["peak_mb"], tuned["peak_mb"]),
        "train_rows": fit["train_rows"],
        "test_rows": fit["test_rows"],
        "wape_model": fit["wape_model"],
        "wape_model_tuned": tuned["wape_model"],
        "wape_seasonal_naive": fit["wape_seasonal_naive"],
        "wape_moving_average": fit["wape_moving_average"],
    }


def _child(var_dir: Path, window_days: int, mode: str) -> dict[str, float | int]:
    """Inside the child: snapshot, split, (tune,) fit and score, as the training DAG does."""
    from fti.analysis.baselines import moving_average, seasonal_naive
    from fti.analysis.metrics import regression_metrics
    from fti.features.model_inputs import LABEL, MODEL_INPUTS
    from fti.pipelines.feature import feature_store
    from fti.pipelines.training import TrainingRequest, labelled_rows, split_rows, take_snapshot
    from fti.settings import Settings
    from fti.training.model import DEFAULT_PARAMS, fit
    from fti.training.tuning import TuningBudget, tune

    settings = Settings(var_dir=var_dir)
    request = TrainingRequest(as_of=datetime.now(UTC).replace(tzinfo=None), window_days=window_days)
    snapshot = take_snapshot(feature_store(settings), settings.feature_set, request)
    split = split_rows(labelled_rows(snapshot.features, settings.horizon_days), settings.horizon_days)
    params = dict(DEFAULT_PARAMS)
    figures: dict[str, float | int] = {}
    if mode == "tune":
        started = time.perf_counter()
        result = tune(split.train, LABEL, TuningBudget(settings.tune_trials, settings.tune_minutes))
        figures |= {"tune_s": time.perf_counter() - started, "tune_trials": len(result.trials)}
        params |= result.best_params
    started = time.perf_counter()
    pipeline = fit(split.train, LABEL, params)
    figures["fit_s"] = time.perf_counter() - started
    actual = split.test[LABEL].to_numpy()
    demand = snapshot.features[["entity", "date", "demand"]]
    figures |= {
        "wape_model": regression_metrics(actual, pipeline.predict(split.test[MODEL_INPUTS]))["wape"],
        "wape_seasonal_naive": regression_metrics(actual, seasonal_naive(split.test, demand))["wape"],
        "wape_moving_average": regression_metrics(actual, moving_average(split.test))["wape"],
        "train_rows": len(split.train),
        "test_rows": len(split.test),
        "peak_mb": peak_rss_mb(),
    }
    return figures


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
