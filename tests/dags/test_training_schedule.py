"""The training DAGs' schedule: the spec's cron or a retraining request; fresh features too, when asked."""

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
out = {}
for dag_id, dag in DagBag(dag_folder=sys.argv[1]).dags.items():
    timetable = dag.timetable
    cron = getattr(timetable, "timetable", timetable)
    condition = getattr(timetable, "asset_condition", None)
    out[dag_id] = {
        "timetable": type(timetable).__name__,
        "cron": cron.expression,
        "assets": [a.uri for a in getattr(condition, "objects", [condition])] if condition else [],
    }
print(json.dumps(out))
"""


def schedules(**env: str) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(DAG_FILE)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    result: dict[str, dict[str, object]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_default_is_each_specs_training_cron_or_a_retraining_request_of_its_own_data_set() -> None:
    found = schedules(FTI_TRAIN_ON_NEW_FEATURES="false")

    assert found["training_pipeline__online_retail"] == {
        "timetable": "AssetOrTimeSchedule",
        "cron": "0 3 * * 0",
        "assets": ["fti://retraining/online_retail"],
    }
    assert found["training_pipeline__store_sales"]["cron"] == "0 3 * * 1"


@pytest.mark.parametrize("value", ["true", "1"])
def test_fresh_features_of_its_own_data_set_also_trigger_it_when_asked(value: str) -> None:
    found = schedules(FTI_TRAIN_ON_NEW_FEATURES=value)

    for dataset in ("online_retail", "car_parks", "store_sales"):
        assert found[f"training_pipeline__{dataset}"]["timetable"] == "AssetOrTimeSchedule"
        assert found[f"training_pipeline__{dataset}"]["assets"] == [
            f"fti://retraining/{dataset}",
            f"fti://feature-store/{dataset}",
        ]
