"""
### training_pipeline

Trains the demand model on a point-in-time snapshot of the feature store, evaluates it on the
last days of the snapshot, registers it in MLflow with its lineage and makes it `champion`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="training_pipeline",
    schedule="0 3 * * 0",
    start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["fti", "training"],
    default_args={"owner": "fti", "retries": 1, "retry_delay": timedelta(minutes=2)},
    params={
        "as_of": Param(None, type=["null", "string"], description="Snapshot time (ISO); default: now."),
        "window_days": Param(90, type="integer", minimum=21, description="Feature days to train on."),
    },
    doc_md=__doc__,
)
def training_pipeline() -> None:
    @task
    def train_and_register(**context: Any) -> dict[str, Any]:
        """Snapshot, split by time, fit, evaluate and register; returns the model version and metrics."""
        from datetime import datetime

        from fti.pipelines.training import train_and_register as run
        from fti.settings import get_settings

        params = context["params"]
        as_of = datetime.fromisoformat(params["as_of"]) if params.get("as_of") else None
        return run(get_settings(), as_of=as_of, window_days=int(params["window_days"]))

    train_and_register()


training_pipeline()
