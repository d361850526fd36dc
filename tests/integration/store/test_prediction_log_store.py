"""The prediction log's catalog and files on both catalog backends: idempotent commits, replacement, point
in time listing, publication marks and retention counted in data time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from fti.inference.prediction_log import log_rows
from fti.store import FeatureStore
from fti.store.prediction_log import RunInfo


def info(run: str, day: date) -> RunInfo:
    return RunInfo(
        dataset="demo",
        run=run,
        model_name="demo-model",
        model_version="3",
        feature_set_version=1,
        feature_partition=day,
        first_period=datetime.combine(day + timedelta(days=1), datetime.min.time()),
        horizon=2,
        entities=2,
        airflow_run_id=f"manual__{run}",
    )


def rows(day: date, shift: float = 0.0) -> pd.DataFrame:
    periods = pd.to_datetime([day + timedelta(days=1), day + timedelta(days=2)] * 2)
    inputs = pd.DataFrame(
        {
            "entity": ["a", "a", "b", "b"],
            "period": pd.Timestamp(day),
            "horizon": [1, 2, 1, 2],
            "target_period": periods,
        }
    )
    values = np.arange(12, dtype="float32").reshape(2, 2, 3) + shift
    return log_rows(inputs, values, ["p10", "p90"])


def test_the_same_rows_twice_commit_once_and_other_rows_replace_them(store: FeatureStore) -> None:
    day = date(2024, 1, 7)
    first = store.commit_prediction_log(info("r1", day), rows(day))
    again = store.commit_prediction_log(info("r1", day), rows(day))
    changed = store.commit_prediction_log(info("r1", day), rows(day, shift=0.5))

    assert again == first
    assert changed.checksum != first.checksum and len(store.logged_runs("demo")) == 1
    read = store.read_prediction_log(changed)
    assert read["point"].tolist() == [0.5, 3.5, 6.5, 9.5] and read["horizon"].tolist() == [1, 2, 1, 2]
    assert store.read_prediction_log(changed, ["b"])["entity"].tolist() == ["b", "b"]
    assert Path(changed.uri).exists()


def test_a_run_is_published_once_and_listed_point_in_time(store: FeatureStore) -> None:
    day = date(2024, 1, 7)
    logged = store.commit_prediction_log(info("r1", day), rows(day))
    assert store.logged_runs("demo", published_only=True) == []

    store.mark_published("demo", "r1", datetime(2024, 1, 8, 1))
    store.mark_published("demo", "r1", datetime(2024, 1, 9, 1))  # a retried publish keeps the first

    assert store.logged_run("demo", "r1").published_at == datetime(2024, 1, 8, 1)
    assert store.logged_runs("demo", as_of=logged.logged_at - timedelta(seconds=1)) == []
    assert [x.run for x in store.logged_runs("demo", published_only=True)] == ["r1"]


def test_retention_forgets_runs_older_than_the_newest_feature_partition_by_keep_days(
    store: FeatureStore,
) -> None:
    days = [date(2011, 1, 2) + timedelta(days=7 * i) for i in range(5)]
    logged = [store.commit_prediction_log(info(f"r{i}", d), rows(d)) for i, d in enumerate(days)]

    forgotten = store.prune_prediction_log("demo", keep_days=14)

    assert forgotten == ["r0", "r1"], "data time: 2011 runs are not all older than 14 days of wall time"
    assert [x.run for x in store.logged_runs("demo")] == ["r2", "r3", "r4"]
    assert not Path(logged[0].uri).exists() and Path(logged[2].uri).exists()
    assert store.prune_prediction_log("demo", keep_days=14) == []


def test_verdicts_racing_for_a_retraining_request_make_exactly_one(store: FeatureStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def ask(i: int) -> int | None:
        found = store.request_retraining("demo", f"verdict {i}", None, timedelta(0))
        return None if found is None else found.id

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = [x for x in pool.map(ask, range(16)) if x is not None]

    assert len(made) == 1 and [r.id for r in store.retrain_requests("demo", pending_only=True)] == made
    assert [r.id for r in store.consume_retrain_requests("demo", "training-1")] == made
    assert store.consume_retrain_requests("demo", "training-2") == []
    again = store.request_retraining("demo", "later", None, timedelta(0))
    assert again is not None and again.id != made[0], "once answered, a new failing verdict may ask again"
    store.consume_retrain_requests("demo", "training-3")
    assert store.request_retraining("demo", "storm", None, timedelta(hours=1)) is None, "too soon"
    assert store.request_retraining("demo", "later still", None, timedelta(0)) is not None
