"""
### feature_pipeline__&lt;data set&gt;

One DAG per data-set spec in the specs folder (`FTI_SPECS_DIR`). It turns the raw files of the data
set's landing folder into features in the feature store.

1. **plan_partitions**: a scheduled or backfill run processes the partition (a day, a week or a
   month: the grain's) of its data interval; a manual run the `partition` param, or, without one,
   every landed partition with a full look-back that the store has not committed yet. A scheduled
   run whose partition's raw files have not landed ends here as skipped (the log says which files,
   the newest landed partition and what to do); every task after it is skipped, nothing is written.
2. **validate_raw**: checks that every file the run reads (its partitions and their look-back) has
   landed, naming all that have not; reads them once, validates them with the spec's raw suite
   (Great Expectations) and records the result; stages the validated rows. Nothing is committed if
   anything fails.
3. **build_and_commit**: computes the features from exactly the staged rows, checks them with the
   feature suite, commits one partition per period (and the known-future rows), and updates the
   data set's Asset.
4. **score_predictions**: every published prediction run with a target period in the committed
   partitions is scored again on the actuals known now (realized accuracy, in the catalog); then the
   champion's realized error is compared with its held-out error (decay: ok / warn / fail); warn and
   fail are posted to the `fti_alerts` webhook; a failing verdict records a retraining request (at most
   one pending, at most one per `FTI_RETRAIN_MIN_INTERVAL_HOURS`).
5. **request_retraining**: updates the data set's retraining Asset, which triggers
   `training_pipeline__<data set>`, when step 4 made a new request; skipped otherwise.

Errors no retry can fix (a bad spec or file, failed validation) fail the task at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, dag, task
from fti_airflow.wiring import broken_spec_dag, dataset_specs, default_args, spec_doc

from fti.assets import feature_set_asset_uri, retraining_asset_uri


def feature_pipeline(spec: Any) -> DAG:
    """The feature pipeline of one data set."""
    features = Asset(feature_set_asset_uri(spec.name))
    retraining = Asset(retraining_asset_uri(spec.name))

    @dag(
        dag_id=f"feature_pipeline__{spec.name}",
        # Each run covers one partition and starts when it is over.
        schedule=CronDataIntervalTimetable(spec.crons["features"], timezone=spec.time.timezone),
        start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["fti", "features", spec.name],
        default_args=default_args(retries=2, retry_delay=timedelta(minutes=1)),
        params={
            "partition": Param(
                None,
                type=["null", "string"],
                description="A day inside the partition to (re)build, YYYY-MM-DD.",
            )
        },
        doc_md=__doc__ + "\n\n" + spec_doc(spec, "features"),
    )
    def pipeline() -> None:
        @task
        def plan_partitions(**context: Any) -> list[str]:
            """Decide which partitions this run processes (see the DAG docs); a scheduled run whose
            partition has not landed skips."""
            from fti_airflow.wiring import fail_fast, skip_if, task_resources, task_spec

            from fti.pipelines.feature import plan_partitions as plan
            from fti.pipelines.feature import waiting_for_data

            resources, loaded = task_resources(), fail_fast(task_spec)(spec.name)
            requested, run_type = context["params"].get("partition"), context["dag_run"].run_type
            interval = context.get("data_interval_start")
            start = interval.date() if interval is not None else None
            days = fail_fast(plan)(resources, loaded, requested, run_type, start)
            skip_if(fail_fast(waiting_for_data)(resources, loaded, run_type, requested, days))
            return [d.isoformat() for d in days]

        @task
        def validate_raw(partitions: list[str], **context: Any) -> dict[str, Any]:
            """Validate every raw row the run reads; stage them; fail before anything is committed."""
            from datetime import date

            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.pipelines.feature import validate_raw as run

            parsed = [date.fromisoformat(d) for d in partitions]
            check = fail_fast(run)(
                task_resources(), fail_fast(task_spec)(spec.name), parsed, context["run_id"]
            )
            return check.to_xcom()

        @task(outlets=[features])
        def build_and_commit(check: dict[str, Any], **context: Any) -> dict[str, Any]:
            """Compute the features of the staged rows, check them, commit one partition per period."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import RawCheck
            from fti.pipelines.feature import build_and_commit as run

            checked = RawCheck.from_xcom(check)
            summary = fail_fast(run)(
                task_resources(), fail_fast(task_spec)(spec.name), checked, context["run_id"]
            )
            return summary.to_xcom()

        @task
        def score_predictions(summary: dict[str, Any]) -> dict[str, Any]:
            """Score the published runs whose actuals this run committed; judge the champion's decay."""
            from fti_airflow.wiring import fail_fast, task_resources, task_spec

            from fti.contracts import CommitSummary
            from fti.pipelines.realized import close_the_loop

            committed = CommitSummary.from_xcom(summary)
            return close_the_loop(task_resources(), fail_fast(task_spec)(spec.name), committed).to_xcom()

        @task(outlets=[retraining])
        def request_retraining(check: dict[str, Any]) -> int:
            """Update the retraining Asset when the decay verdict made a new request; skipped otherwise."""
            from airflow.sdk.exceptions import AirflowSkipException

            from fti.contracts import LoopCheck

            loop = LoopCheck.from_xcom(check)
            if loop.request_id is None:
                raise AirflowSkipException(f"no new retraining request (decay: {loop.decay or 'not judged'})")
            return loop.request_id

        request_retraining(score_predictions(build_and_commit(validate_raw(plan_partitions()))))

    return pipeline()


found = dataset_specs()
for dataset in found.specs:
    feature_pipeline(dataset)
for spec_path, spec_error in found.broken:
    broken_spec_dag("feature_pipeline", spec_path, spec_error)
