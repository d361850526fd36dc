"""
### batch_inference

Nightly: predicts every entity for each horizon day from the latest features and publishes the
batch to Redis, where it goes live in one atomic step.

1. **resolve_champion** pins the `champion` version once: the whole run uses it, even if the
   alias moves meanwhile.
2. **check_inputs** checks tonight's features against the champion: schema (its MLflow signature,
   its feature-set version) and drift (Jensen-Shannon distance per feature against its training
   snapshot, thresholds `FTI_DRIFT_WARN` / `FTI_DRIFT_FAIL` / `FTI_DRIFT_THRESHOLDS`). Every score
   is recorded (`fti features drift`); a failure stops the run here and the previous batch stays live.
3. **plan_run** opens the run's namespace in Redis and cuts the entities into chunks.
4. **predict_chunk** is mapped over the chunks (dynamic task mapping): under the CeleryExecutor
   they spread over the workers. A retried chunk rewrites the same values.
5. **publish** switches the live pointer to the run only if Redis counted every prediction, then
   drops runs beyond `FTI_KEEP_RUNS`.

Redis connection: the Airflow Connection `fti_redis`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

from fti.notify import on_task_failure

REDIS_CONN_ID = "fti_redis"


def _redis() -> Any:
    """A Redis client from the ``fti_redis`` Airflow Connection (never from code)."""
    from airflow.sdk import Connection

    from fti.cache.client import connect, redis_url

    conn = Connection.get(REDIS_CONN_ID)
    db = conn.extra_dejson.get("db", 0)
    return connect(redis_url(conn.host, conn.port, db, conn.login, conn.password))


@dag(
    dag_id="batch_inference",
    schedule="0 4 * * *",
    start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["fti", "inference"],
    default_args={
        "owner": "fti",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": on_task_failure,
    },
    doc_md=__doc__,
)
def batch_inference() -> None:
    @task
    def resolve_champion() -> dict[str, str]:
        """Pin the champion version (and the store read time) for the whole run."""
        from fti.pipelines.inference import resolve_champion as resolve
        from fti.settings import get_settings

        return resolve(get_settings())

    @task
    def check_inputs(model: dict[str, str], **context: Any) -> dict[str, Any]:
        """Schema and drift against the champion's training data; fails before any write."""
        from fti.pipelines.inference import check_inputs as check
        from fti.pipelines.inference import pinned_as_of
        from fti.settings import get_settings

        return check(get_settings(), model, context["run_id"], pinned_as_of(model["read_as_of"]))

    @task
    def plan_run(model: dict[str, str], checked: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
        """Open the run's namespace in Redis; the chunk list drives the mapped predict tasks."""
        from fti.pipelines.inference import plan_run as plan
        from fti.settings import get_settings

        return plan(_redis(), get_settings(), model, checked, context["run_id"])

    @task(pool="fti_inference", map_index_template="{{ chunk_label }}")
    def predict_chunk(chunk: dict[str, Any], model: dict[str, str], checked: dict[str, Any]) -> int:
        """Predict one chunk of entities for every horizon day and write it under the run."""
        from airflow.sdk import get_current_context

        from fti.pipelines.inference import pinned_as_of
        from fti.pipelines.inference import predict_chunk as predict
        from fti.settings import get_settings

        get_current_context()["chunk_label"] = f"chunk {chunk['chunk_id']}"  # type: ignore[typeddict-unknown-key]
        as_of = pinned_as_of(model["read_as_of"])
        return predict(_redis(), get_settings(), model, checked, chunk, as_of)

    @task
    def publish(
        model: dict[str, str], checked: dict[str, Any], chunks: list[dict[str, Any]], written: list[int]
    ) -> dict[str, Any]:
        """Make the run live in one atomic step if every chunk was counted."""
        from fti.pipelines.inference import publish as go_live
        from fti.settings import get_settings

        return go_live(_redis(), get_settings(), model, checked, chunks, list(written))

    model = resolve_champion()
    checked = check_inputs(model)
    planned = plan_run(model, checked)
    written = predict_chunk.partial(model=model, checked=checked).expand(chunk=planned)
    publish(model, checked, planned, written)


batch_inference()
