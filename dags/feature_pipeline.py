"""
### feature_pipeline

Turns the raw daily files of the landing folder into features in the feature store.

* **Scheduled / backfill runs** process exactly the day of their data interval.
* **Manual runs** process the day given in the `day` param, or, without one, every landed day
  the store has not committed yet (the bootstrap path for a new installation).

Each committed day updates the Asset `fti://feature-store/retail_demand`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

from fti.assets import RETAIL_DEMAND_FEATURES
from fti.notify import on_task_failure

FEATURES = Asset(RETAIL_DEMAND_FEATURES)


@dag(
    dag_id="feature_pipeline",
    # Each run covers one calendar day, [00:00, 24:00) UTC, and starts when it is over.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["fti", "features"],
    default_args={
        "owner": "fti",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": on_task_failure,
    },
    params={"day": Param(None, type=["null", "string"], description="Feature day YYYY-MM-DD (manual runs).")},
    doc_md=__doc__,
)
def feature_pipeline() -> None:
    @task
    def plan_days(**context: Any) -> list[str]:
        """Decide which days this run processes (see the DAG docs)."""
        from datetime import date

        from fti.pipelines.feature import pending_days
        from fti.settings import get_settings

        day = context["params"].get("day")
        if day:
            return [date.fromisoformat(day).isoformat()]
        if context["dag_run"].run_type in ("scheduled", "backfill"):
            return [context["data_interval_start"].date().isoformat()]
        return [d.isoformat() for d in pending_days(get_settings())]

    @task
    def validate_raw(days: list[str], **context: Any) -> dict[str, Any]:
        """Check the raw files with the raw suite (Great Expectations); fail before anything is written."""
        from datetime import date

        from fti.pipelines.feature import validate_raw as run
        from fti.settings import get_settings

        if not days:
            return {"success": True, "validation_id": None, "days": 0}
        return run(get_settings(), [date.fromisoformat(d) for d in days], run_id=context["run_id"])

    @task(outlets=[FEATURES])
    def build_and_commit(days: list[str], validation: dict[str, Any], **context: Any) -> dict[str, object]:
        """Compute the features of the planned days, check them, and commit one partition per day."""
        from datetime import date

        from fti.pipelines.feature import ingest, summarize
        from fti.settings import get_settings

        parsed = [date.fromisoformat(d) for d in days]
        refs = ingest(
            get_settings(), parsed, run_id=context["run_id"], validation_id=validation["validation_id"]
        )
        return summarize(refs)

    days = plan_days()
    build_and_commit(days, validate_raw(days))


feature_pipeline()
