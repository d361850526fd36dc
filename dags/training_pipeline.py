"""
### training_pipeline__&lt;data set&gt;

One DAG per data-set spec. Retrains the data set's model on a point-in-time snapshot of its feature
store and lets it replace the champion only when it is better.

1. **check_inputs**: the MLflow registry answers, the feature-set version exists, the snapshot is
   large enough and has the spec's columns. Nothing is logged or registered when this fails. A
   scheduled run skips (and every task after it) when there is nothing new to learn: no feature
   partition is committed yet, or the snapshot and the spec are those the champion or the newest
   version was trained on, and no retraining request is pending. Manual and Asset-triggered runs
   always train.
2. **train_and_register**: split by time (train / validation / test, gap + horizon periods apart),
   optionally tune (bounded by `FTI_TUNE_TRIALS` / `FTI_TUNE_MINUTES`), fit the Pipeline, analyse it
   (overall, per slice, against the baselines, train/validation/test drift), log plots and lineage
   to MLflow and register a new version of `fti-<data set>-<env>` with the alias `challenger`.
3. **promote**: the gate. The challenger becomes `champion` only if it beats the baselines and is
   not worse than the champion on the same test window (`FTI_PROMOTION_TOLERANCE` applies only to a
   champion trained on an older, different snapshot); the log and the version's tags say which rule
   decided.

**Schedule**: the spec's `schedule.training` (default per grain), and whenever a failing decay
verdict of `feature_pipeline` updates the data set's retraining Asset; with
`FTI_TRAIN_ON_NEW_FEATURES=true` also whenever the data set's feature Asset is updated. Every run's
`check_inputs` answers the data set's pending retraining requests (the catalog keeps them, so a
request whose Asset event was coalesced with another is still answered, by this run or the next).
**Manual runs** take `as_of`, `feature_set_version`, `window` (feature periods) and `tune`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from fti_airflow.wiring import broken_spec_dag, dataset_specs, default_args, spec_doc

from fti.assets import feature_set_asset_uri, retraining_asset_uri

ON_NEW_FEATURES = os.environ.get("FTI_TRAIN_ON_NEW_FEATURES", "false").lower() in ("1", "true", "yes")


def training_pipeline(spec: Any) -> DAG:
    """The training pipeline of one data set."""
    timetable = CronTriggerTimetable(spec.crons["training"], timezone=spec.time.timezone)
    features = Asset(feature_set_asset_uri(spec.name))
    retraining = Asset(retraining_asset_uri(spec.name))

    @dag(
        dag_id=f"training_pipeline__{spec.name}",
        schedule=AssetOrTimeSchedule(
            timetable=timetable, assets=(retraining | features) if ON_NEW_FEATURES else retraining
        ),
        start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["fti", "training", spec.name],
        default_args=default_args(retries=1, retry_delay=timedelta(minutes=2)),
        params={
            "as_of": Param(
                None, type=["null", "string"], description="Snapshot time, ISO 8601 (UTC); empty: now."
            ),
            "feature_set_version": Param(
                None, type=["null", "integer"], minimum=1, description="Feature-set version; empty: newest."
            ),
            "window": Param(
                spec.model.training_window,
                type="integer",
                minimum=1,
                description="Feature periods to train on.",
            ),
            "tune": Param(False, type="boolean", description="Run the bounded hyperparameter search first."),
        },
        doc_md=__doc__ + "\n\n" + spec_doc(spec, "training"),
    )
    def pipeline() -> None:
        @task
        def check_inputs(**context: Any) -> dict[str, Any]:
            """Registry reachable, version known, snapshot big enough and usable: fail before any write.
            A scheduled run with nothing new to learn skips."""
            from fti_airflow.wiring import fail_fast, skip_if, task_resources, task_spec

            from fti.pipelines.realized import consume_retraining
            from fti.pipelines.training import check_inputs as check
            from fti.pipelines.training_request import nothing_new, parse_request

            resources, loaded = task_resources(), fail_fast(task_spec)(spec.name)
            request = fail_fast(parse_request)(context["params"], loaded)
            skip_if(fail_fast(nothing_new)(resources, loaded, request, context["dag_run"].run_type))
            checked = fail_fast(check)(resources, loaded, request)
            consume_retraining(resources, loaded, context["run_id"])
            return checked

        @task
        def train_and_register(inputs: dict[str, Any]) -> dict[str, Any]:
            """Fit, analyse and register the challenger on the snapshot check_inputs resolved."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import TrainingRequest
            from fti.pipelines.training import train_and_register as train

            fields = {k: inputs[k] for k in TrainingRequest.model_fields}
            request = TrainingRequest.model_validate(fields)
            return fail_fast(train)(task_resources(), fail_fast(task_spec)(spec.name), request).to_xcom()

        @task
        def promote(model: dict[str, Any]) -> dict[str, Any]:
            """The registry gate: champion only if better; the rule that decided is logged either way."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.pipelines.gate import promote as gate

            return fail_fast(gate)(
                task_resources(), fail_fast(task_spec)(spec.name), model["version"]
            ).to_xcom()

        promote(train_and_register(check_inputs()))

    return pipeline()


found = dataset_specs()
for dataset in found.specs:
    training_pipeline(dataset)
for spec_path, spec_error in found.broken:
    broken_spec_dag("training_pipeline", spec_path, spec_error)
