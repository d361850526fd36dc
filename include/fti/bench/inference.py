"""Benchmark of nightly batch inference at scale: 1,000,000 entities x 7 days = 7,000,000 predictions.

Run as ``fti bench inference`` (part of ``make bench``). In a scratch folder and a throwaway
redis-server:

1. a champion is trained and promoted by the training pipeline's own steps on a small synthetic
   data set (100 stores x 20 items, 110 days) through the real feature pipeline;
2. tonight's feature day for 1,000,000 entities (100 stores x 10,000 items) is committed to the
   same feature set: rows drawn from the training snapshot's rows with new entity ids, so their
   distribution is the training one (the drift check has real work and passes). Building 28 days
   of raw data for a million entities would only time the generator, which is not measured here;
3. the batch DAG's steps run in order in one process, each timed: resolve the champion, check
   schema and drift, plan, predict and write every chunk (the DAG maps these over workers; here
   they run one after the other on 2 cores), publish (the atomic switch).

The issue's "100 stores x 1,000 items x 7 days" is 700,000 predictions; 7,000,000 needs 1,000,000
entities, which is what this builds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fti.bench.features import peak_rss_mb, run_child

if TYPE_CHECKING:
    import pandas as pd

    from fti.settings import Settings

N_STORES = 100
ITEMS_PER_STORE = 10_000
TRAIN_ITEMS = 20


def run() -> dict[str, float | int]:
    """Scratch store, throwaway Redis, the end-to-end run in a child; returns the figures."""
    from fti.bench.redis_server import redis_server

    with tempfile.TemporaryDirectory(prefix="fti-bench-inference-") as tmp, redis_server() as server:
        return run_child("fti.bench.inference", tmp, server.url)


def _prepare(var_dir: Path) -> tuple[Settings, date]:
    """Train and promote a champion, then commit tonight's 1 M-entity feature day. Untimed."""
    from fti.data.synthetic import SyntheticSpec, write_daily, write_dataset_spec
    from fti.pipelines.feature import feature_store, ingest, pending_days, validate_raw
    from fti.pipelines.training import TrainingRequest, promote, take_snapshot, train_and_register
    from fti.settings import Settings

    spec = SyntheticSpec(n_countries=N_STORES, n_items=TRAIN_ITEMS, n_days=110, lines_per_cell=1.0)
    dataset_spec = write_dataset_spec(spec, var_dir / "dataset-spec.yaml")  # 100 stores: 57 more countries
    settings = Settings(var_dir=var_dir, dataset_spec=dataset_spec, inference_chunk_entities=250_000)
    write_daily(var_dir / "raw", spec)
    days = pending_days(settings)
    ingest(
        settings, days, run_id="bench", validation_id=validate_raw(settings, days, "bench")["validation_id"]
    )
    request = TrainingRequest(as_of=datetime(2100, 1, 1), window_days=80)
    trained = train_and_register(settings, request)
    if not promote(settings, trained["version"])["promoted"]:
        raise RuntimeError(f"the benchmark's model was not promoted: {trained['metrics']}")
    store = feature_store(settings)
    snapshot = take_snapshot(store, settings.feature_set, request).features
    tonight = spec.start + timedelta(days=spec.n_days)
    store.write(settings.feature_set, tonight, _tonight(snapshot, tonight))
    return settings, tonight


def _tonight(snapshot: pd.DataFrame, day: date) -> pd.DataFrame:
    """1 M feature rows for ``day``: snapshot rows drawn with replacement, new entities, same stores."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = N_STORES * ITEMS_PER_STORE
    rows = snapshot.iloc[rng.integers(0, len(snapshot), n)].reset_index(drop=True)
    countries = np.sort(snapshot["country"].unique())
    store_of = np.repeat(np.arange(N_STORES), ITEMS_PER_STORE) % len(countries)
    codes = np.char.add("B", np.char.zfill(np.tile(np.arange(ITEMS_PER_STORE), N_STORES).astype(str), 6))
    rows["country"] = countries[store_of]
    rows["stock_code"] = codes
    rows["entity"] = np.char.add(np.char.add(rows["country"].to_numpy(dtype=str), "|"), codes)
    rows["date"] = day
    rows["day_of_week"] = day.weekday()
    rows["month"] = day.month
    return rows


def _child(var_dir: Path, redis_url: str) -> dict[str, float | int]:
    """Inside the child: prepare (untimed), then the DAG's steps in order, each timed."""
    from fti.cache.client import connect
    from fti.pipelines.inference import check_inputs, pinned_as_of, plan_run, predict_chunk, publish
    from fti.pipelines.inference import resolve_champion as resolve

    settings, tonight = _prepare(var_dir)
    client = connect(redis_url)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    model = resolve(settings)
    timings["resolve_s"] = time.perf_counter() - start
    as_of = pinned_as_of(model["read_as_of"])
    step = time.perf_counter()
    checked = check_inputs(settings, model, "bench", as_of)
    timings["check_s"] = time.perf_counter() - step
    step = time.perf_counter()
    chunks = plan_run(client, settings, model, checked, "bench")
    written = [predict_chunk(client, settings, model, checked, c, as_of) for c in chunks]
    timings["predict_and_write_s"] = time.perf_counter() - step
    step = time.perf_counter()
    published = publish(client, settings, model, checked, chunks, written)
    timings["publish_switch_s"] = time.perf_counter() - step
    total = time.perf_counter() - start
    predictions = int(published["predictions"])
    return {
        **timings,
        "end_to_end_s": total,
        "end_to_end_predictions": predictions,
        "end_to_end_per_s": predictions / total,
        "end_to_end_chunks": len(chunks),
        "end_to_end_peak_mb": peak_rss_mb(),
        "drift_max_distance": float(checked["drift"]["max_distance"]),
        "feature_day": int(tonight.strftime("%Y%m%d")),
    }


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]), sys.argv[2])))
