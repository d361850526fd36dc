"""
### batch_inference

Nightly: resolves the `champion` model once, predicts every entity for each horizon day from
the latest features and publishes the batch to Redis, where it goes live in one step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

REDIS_CONN_ID = "fti_redis"


@dag(
    dag_id="batch_inference",
    schedule="0 4 * * *",
    start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["fti", "inference"],
    default_args={"owner": "fti", "retries": 2, "retry_delay": timedelta(minutes=1)},
    doc_md=__doc__,
)
def batch_inference() -> None:
    @task
    def resolve_champion() -> dict[str, str]:
        """Pin the champion version for the whole run."""
        from fti.pipelines.inference import resolve_champion as resolve
        from fti.settings import get_settings

        return resolve(get_settings())

    @task
    def predict_and_publish(model: dict[str, str], **context: Any) -> dict[str, Any]:
        """Predict every entity x horizon day and make the batch live in Redis."""
        from airflow.sdk import Connection

        from fti.cache.client import connect, redis_url
        from fti.pipelines.inference import batch_id, predict_day, publish
        from fti.settings import get_settings

        settings = get_settings()
        conn = Connection.get(REDIS_CONN_ID)
        db = conn.extra_dejson.get("db", 0)
        client = connect(redis_url(conn.host, conn.port, db, conn.login, conn.password))
        feature_day, predictions = predict_day(settings, model)
        run = batch_id(feature_day.isoformat(), model["version"], context["run_id"])
        return publish(client, settings, predictions, model, run)

    predict_and_publish(resolve_champion())


batch_inference()
