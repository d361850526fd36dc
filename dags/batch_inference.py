"""
### batch_inference__&lt;data set&gt;

One DAG per data-set spec. Predicts every entity for each forecast period from the newest features
and publishes the batch to Redis (prefix `fti:<env>:<data set>`), where it goes live in one atomic step.

1. **resolve_champion** pins the `champion` version once: the whole run uses it, even if the alias
   moves meanwhile. A scheduled run skips (and every task after it) while there is no champion; a
   manual run fails then, naming what to do.
2. **check_inputs** reads the newest committed partition; its last period is the forecast origin.
   It checks that the known-future covariates of every forecast period have landed, that the model
   inputs are the champion's signature, and the drift of every feature against the champion's
   training snapshot (thresholds `FTI_DRIFT_WARN` / `FTI_DRIFT_FAIL` / `FTI_DRIFT_THRESHOLDS`; every
   score is recorded). A failure stops the run here and the previous batch stays live.
3. **plan_run** stages the origin rows in bucket order and opens the run's namespace in Redis.
4. **predict_chunk** is mapped over the chunks (dynamic task mapping): each reads only its slice;
   under the CeleryExecutor they spread over the workers. A retried chunk rewrites the same values.
5. **publish** switches the live pointer to the run only if Redis counted every prediction, then
   drops runs beyond `FTI_KEEP_RUNS`.

Redis connection: the Airflow Connection `fti_redis`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, dag, task
from fti_airflow.wiring import broken_spec_dag, dataset_specs, default_args, spec_doc


def batch_inference(spec: Any) -> DAG:
    """The batch-inference pipeline of one data set."""

    @dag(
        dag_id=f"batch_inference__{spec.name}",
        schedule=CronTriggerTimetable(spec.crons["inference"], timezone=spec.time.timezone),
        start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["fti", "inference", spec.name],
        default_args=default_args(retries=2, retry_delay=timedelta(minutes=1)),
        doc_md=__doc__ + "\n\n" + spec_doc(spec, "inference"),
    )
    def pipeline() -> None:
        @task
        def resolve_champion(**context: Any) -> dict[str, Any]:
            """Pin the champion version (and the store read time) for the whole run; a scheduled run
            skips while there is no champion."""
            from fti_airflow.wiring import fail_fast, skip_if, task_resources, task_spec

            from fti.pipelines.champion import no_champion
            from fti.pipelines.champion import resolve_champion as resolve

            resources, loaded = task_resources(), fail_fast(task_spec)(spec.name)
            skip_if(fail_fast(no_champion)(resources, loaded, context["dag_run"].run_type))
            return fail_fast(resolve)(resources, loaded).to_xcom()

        @task
        def check_inputs(model: dict[str, Any], **context: Any) -> dict[str, Any]:
            """Known-future, schema and drift against the champion's training data; fails before any write."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import PinnedModel
            from fti.pipelines.inference import check_inputs as check

            pinned = PinnedModel.from_xcom(model)
            loaded = fail_fast(task_spec)(spec.name)
            return fail_fast(check)(task_resources(), loaded, pinned, context["run_id"]).to_xcom()

        @task
        def plan_run(model: dict[str, Any], checked: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
            """Stage the inputs, open the run's namespace in Redis; the chunk list drives the mapped tasks."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import CheckedInputs, PinnedModel
            from fti.pipelines.inference import plan_run as plan

            chunks = fail_fast(plan)(
                task_resources(with_redis=True),
                fail_fast(task_spec)(spec.name),
                PinnedModel.from_xcom(model),
                CheckedInputs.from_xcom(checked),
                context["run_id"],
            )
            return [c.to_xcom() for c in chunks]

        # No pool: as many chunks run at once as the executor has slots (README, "Running on Docker
        # Compose": Celery workers x their concurrency; `make run`: AIRFLOW__CORE__PARALLELISM).
        # A chunk is retried after 15 s, not the DAG's minute: its worker may have died (another one
        # takes it) or Redis blinked; the batch waits on its slowest chunk.
        @task(map_index_template="{{ chunk_label }}", retry_delay=timedelta(seconds=15))
        def predict_chunk(chunk: dict[str, Any], model: dict[str, Any]) -> int:
            """Predict one chunk of entities for every forecast period and write it under the run."""
            from airflow.sdk import get_current_context
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import ChunkPlan, PinnedModel
            from fti.pipelines.inference import predict_chunk as predict

            planned = ChunkPlan.from_xcom(chunk)
            get_current_context()["chunk_label"] = planned.label  # type: ignore[typeddict-unknown-key]
            resources = task_resources(with_redis=True)
            return fail_fast(predict)(
                resources, fail_fast(task_spec)(spec.name), PinnedModel.from_xcom(model), planned
            )

        @task
        def publish(
            model: dict[str, Any],
            checked: dict[str, Any],
            chunks: list[dict[str, Any]],
            written: list[int],
            **context: Any,
        ) -> dict[str, Any]:
            """Make the run live in one atomic step if every chunk was counted."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import CheckedInputs, ChunkPlan, PinnedModel
            from fti.pipelines.inference import publish as go_live

            published = fail_fast(go_live)(
                task_resources(with_redis=True),
                fail_fast(task_spec)(spec.name),
                PinnedModel.from_xcom(model),
                CheckedInputs.from_xcom(checked),
                [ChunkPlan.from_xcom(c) for c in chunks],
                list(written),
                context["run_id"],
            )
            return published.to_xcom()

        model = resolve_champion()
        checked = check_inputs(model)
        planned = plan_run(model, checked)
        written = predict_chunk.partial(model=model).expand(chunk=planned)
        publish(model, checked, planned, written)

    return pipeline()


found = dataset_specs()
for dataset in found.specs:
    batch_inference(dataset)
for spec_path, spec_error in found.broken:
    broken_spec_dag("batch_inference", spec_path, spec_error)
