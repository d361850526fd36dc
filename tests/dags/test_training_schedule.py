"""The training DAG's schedule: a weekly cron by default; cron or fresh features when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "training_pipeline.py"
_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
timetable = DagBag(dag_folder=sys.argv[1]).dags["training_pipeline"].timetable
cron = getattr(timetable, "timetable", timetable)
condition = getattr(timetable, "asset_condition", None)
print(json.dumps({
    "timetable": type(timetable).__name__,
    "cron": cron.expression,
    "assets": [asset.uri for asset in condition.objects] if condition is not None else [],
}))
"""


def schedule(**env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(DAG_FILE)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_default_is_the_weekly_cron() -> None:
    found = schedule(FTI_TRAIN_ON_NEW_FEATURES="false")

    assert found == {"timetable": "CronTriggerTimetable", "cron": "0 3 * * 0", "assets": []}


@pytest.mark.parametrize("value", ["true", "1"])
def test_fresh_features_also_trigger_it_when_asked(value: str) -> None:
    found = schedule(FTI_TRAIN_ON_NEW_FEATURES=value, FTI_TRAINING_SCHEDULE="0 5 * * 1")

    assert found == {
        "timetable": "AssetOrTimeSchedule",
        "cron": "0 5 * * 1",
        "assets": ["fti://feature-store/retail_demand"],
    }
