"""
### training_pipeline

Retrains the demand model on a point-in-time snapshot of the feature store and lets it replace
the champion only when it is better.

1. **check_inputs**: the MLflow registry answers, the feature-set version exists and the snapshot
   is large enough and has the model's columns. Nothing is logged or registered when this fails.
2. **train_and_register**: split by time (train / validation / test, a horizon apart), optionally
   tune (time-series cross-validation, bounded by `FTI_TUNE_TRIALS` / `FTI_TUNE_MINUTES`), fit the
   Pipeline, analyse it (overall, per country and volume band, against the seasonal-naive and
   moving-average baselines, train/validation/test drift), log plots and lineage to MLflow and
   register a new version with the alias `challenger`. The task log links to the MLflow run.
3. **promote**: the gate. The challenger becomes `champion` only if it beats both baselines and is
   not worse than the current champion on the same test window (by more than
   `FTI_PROMOTION_TOLERANCE`, for a champion trained on older data). Otherwise the champion stays
   and the log says why.

**Schedule**: `FTI_TRAINING_SCHEDULE` (cron, default Sundays 03:00 UTC); with
`FTI_TRAIN_ON_NEW_FEATURES=true` also whenever the feature set's Asset is updated.
**Manual runs** take `as_of`, `feature_set_version`, `window_days` and `tune`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from fti.assets import RETAIL_DEMAND_FEATURES
from fti.notify import on_task_failure

CRON = os.environ.get("FTI_TRAINING_SCHEDULE", "0 3 * * 0")
ON_NEW_FEATURES = os.environ.get("FTI_TRAIN_ON_NEW_FEATURES", "false").lower() in ("1", "true", "yes")
TIMETABLE = CronTriggerTimetable(CRON, timezone="UTC")


@dag(
    dag_id="training_pipeline",
    schedule=(
        AssetOrTimeSchedule(timetable=TIMETABLE, assets=[Asset(RETAIL_DEMAND_FEATURES)])
        if ON_NEW_FEATURES
        else TIMETABLE
    ),
    start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["fti", "training"],
    default_args={
        "owner": "fti",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": on_task_failure,
    },
    params={
        "as_of": Param(
            None, type=["null", "string"], description="Snapshot time, ISO 8601 (UTC); empty: now."
        ),
        "feature_set_version": Param(
            None, type=["null", "integer"], minimum=1, description="Feature-set version; empty: newest."
        ),
        "window_days": Param(90, type="integer", minimum=21, description="Feature days to train on."),
        "tune": Param(False, type="boolean", description="Run the bounded hyperparameter search first."),
    },
    doc_md=__doc__,
)
def training_pipeline() -> None:
    @task
    def check_inputs(**context: Any) -> dict[str, Any]:
        """Registry reachable, version known, snapshot big enough and usable: fail here, before any write."""
        from fti.pipelines.training import check_inputs as check
        from fti.pipelines.training import parse_request
        from fti.settings import get_settings

        settings = get_settings()
        return check(settings, parse_request(context["params"], settings))

    @task
    def train_and_register(inputs: dict[str, Any]) -> dict[str, Any]:
        """Fit, analyse and register the challenger on the snapshot check_inputs resolved."""
        from fti.pipelines.training import parse_request
        from fti.pipelines.training import train_and_register as train
        from fti.settings import get_settings

        settings = get_settings()
        return train(settings, parse_request(inputs, settings))

    @task
    def promote(model: dict[str, Any]) -> dict[str, Any]:
        """The registry gate: champion only if better; the reason is logged either way."""
        from fti.pipelines.training import promote as gate
        from fti.settings import get_settings

        return gate(get_settings(), model["version"])

    promote(train_and_register(check_inputs()))


training_pipeline()
