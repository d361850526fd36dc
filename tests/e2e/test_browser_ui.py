"""A user in the browser: log in to `airflow standalone`, unpause and trigger feature_pipeline, see it run,
read the verdict line of its tasks' logs (and no Great Expectations chatter), then read the control room:
its sections, one entity's live quantiles, the run's validation document and a batch run's drift report
page; then a registered champion's metrics next to its baselines and its training (real duration,
split drift, zero-forecast slices).

The walk itself is ``tests/e2e/browser/ui_walkthrough.mjs`` (playwright-core driving Debian's
chromium); this test starts Airflow with the real slice of data landed, runs the script, checks its
screenshots and cross-checks the run it triggered through the REST API. Screenshots stay in
``test-artifacts/browser/`` (git-ignored) for a reader of a failed run.

Training and inference take far longer than this walk, so a batch run's traces are seeded first with
the pipeline's own writers (``fti.cache.predictions`` publishes a live run with quantiles to the
standalone's Redis, ``FeatureStore.record_drift`` records a run's drift scores): the pages read them
exactly as they read a real run's. A real champion is trained and promoted with the training
pipeline's own functions on the small generated store_sales set (seconds, not the minutes Online Retail
takes, and a model that beats the zero forecast), and a batch from it is published with the inference
pipeline's functions, so the control room's champion, training and live sections have something to show.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.harness.airflow import PROJECT_ROOT
from tests.harness.standalone import AirflowStandalone, land_demo_slice

pytestmark = pytest.mark.e2e

SCRIPT = PROJECT_ROOT / "tests" / "e2e" / "browser" / "ui_walkthrough.mjs"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
DAG_ID = "feature_pipeline__online_retail"
RUN_TIMEOUT_S = 600
STEPS = (
    "login", "dag-list", "dag-unpaused", "trigger-dialog", "run-triggered", "run-success",
    "task-log-validate_raw", "task-log-build_and_commit", "fti-plugin", "fti-entity-forecast",
    "fti-validation-document", "fti-drift-report", "fti-champion-vs-baselines", "fti-champion-training",
    "fti-champion-live",
)  # fmt: skip
VERDICTS = {
    "plan_partitions": r"plan: (\d+ partition\(s\), \S+\.\.\S+|nothing to do.*)",
    "validate_raw": r"raw ok: \d+ expectations on \d+ rows \(\S+\.\.\S+\), validation \w+",
    "build_and_commit": r"committed \d+ of \d+ partitions \(\d+ unchanged\), \d+ rows, .*",
    "score_predictions": r"DECAY .*",
}
"""The one line each task of the triggered run logs to say how it went (the browser reads the middle two)."""
NOISE = re.compile(
    r"Registering (expectation|metric)|Registered \d+ core|for expectation_type|Returned value was"
)
"""Great Expectations' registration chatter, and Airflow echoing a task's returned XCom."""
SEEDED_RUN = "manual__2011-12-09T23:00:00+00:00"
"""The batch_inference run whose drift scores are seeded (an Airflow run id, as check_inputs records)."""
ENTITY = "France|22423"
CHAMPION_DATASET = "store_sales"

# Run with the standalone's environment, so the settings (store, catalog, cache prefix) are the plugin's.
_SEED = """
import sys
from datetime import date

import numpy as np

from fti.cache.connect import connect
from fti.cache.predictions import begin_run, go_live, plan_run, write_chunk
from fti.settings import get_settings
from fti.store import FeatureStore

dataset, url, run_id, entity = sys.argv[1:]
settings = get_settings()
prefix = settings.cache_prefix(dataset)
plan = plan_run("20111209-v1-5eeded00", "2011-12-10", 7, 2, values_per_period=4)
values = np.stack([np.arange(7) + 3.0, np.arange(7) + 1.0, np.arange(7) + 2.5, np.arange(7) + 6.0], axis=-1)
client = connect(url, 5.0)
meta = {"dataset": dataset, "grain": "day", "model_name": settings.model_name(dataset), "model_version": "1",
        "feature_set": dataset, "quantiles": "p10,p50,p90", "airflow_run_id": run_id}
begin_run(client, prefix, plan, meta, ttl_s=3600)
count = write_chunk(client, prefix, plan, "00000", [entity, "EIRE|1"], np.stack([values, values]), ttl_s=3600)
go_live(client, prefix, plan, 1, count, {"drift_status": "warn", "entities": "2"}, keep_runs=3, ttl_s=3600)
scores = [
    {"feature": "lag_1", "distance": 0.12, "warn": 0.2, "fail": 0.4, "status": "ok"},
    {"feature": "lag_28", "distance": 0.27, "warn": 0.2, "fail": 0.4, "status": "warn"},
]
store = FeatureStore(settings.store_uri, settings.catalog_url)
store.record_drift(dataset, 1, run_id, date(2011, 12, 9), settings.model_name(dataset) + "/1", scores)
"""

# A champion with the training pipeline's functions: store_sales landed and committed as a manual
# feature_pipeline run does, trained with few small trees, promoted through the gate, a batch published
# from it to the standalone's Redis. Prints what the registry and the cache recorded, for the test to
# compare with what the browser read.
_CHAMPION = """
import json
import sys
from datetime import datetime

from fti.contracts import TrainingRequest
from fti.data.generate import StoreSales, generate
from fti.pipelines import champion, feature, gate, inference, training
from fti.resources import Resources
from fti.settings import PROJECT_ROOT, get_settings
from fti.specs import load_dataset

spec = load_dataset(PROJECT_ROOT / "specs", "store_sales")
resources = Resources(get_settings(), sys.argv[1])
shop = StoreSales(weeks=120, n_stores=3, n_products=20, future_weeks=4, seed=7)
generate(spec, resources.settings.raw_dir, shop)
partitions = feature.plan_partitions(resources, spec, None, "manual", None)
feature.build_and_commit(resources, spec, feature.validate_raw(resources, spec, partitions, "seed"), "seed")
request = TrainingRequest(dataset=spec.name, as_of=datetime.utcnow(), window=spec.model.training_window)
trained = training.train_and_register(resources, spec, request, params={"n_estimators": 30, "max_depth": 4})
verdict = gate.promote(resources, spec, trained.version)
assert verdict.promoted, verdict.summary
run = resources.registry.get_run(trained.run_id).data.metrics
baselines = {
    k.removesuffix("_wape"): v for k, v in run.items()
    if k.endswith("_wape") and not k.startswith(("test_", "slice_", "tune_"))
}
wape = {"champion": run["test_wape"], **baselines}
pinned = champion.resolve_champion(resources, spec)
checked = inference.check_inputs(resources, spec, pinned, "manual__champion")
chunks = inference.plan_run(resources, spec, pinned, checked, "manual__champion")
written = [inference.predict_chunk(resources, spec, pinned, chunk) for chunk in chunks]
live = inference.publish(resources, spec, pinned, checked, chunks, written, "manual__champion")
print(json.dumps({"version": trained.version, "training_s": run["training_s"], "wape": wape,
                  "live_run": live.run, "live_version": live.model_version}))
"""


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowStandalone, dict[str, Any]]]:
    """The standalone with a batch run seeded and a champion registered (and what the registry says of it)."""
    standalone = AirflowStandalone(tmp_path_factory.mktemp("standalone-ui"))
    land_demo_slice(standalone.raw_dir)
    with standalone:
        # Training runs while the DAGs are parsed and the batch run is seeded: the two cores are shared.
        training_log = standalone.home / "champion-training.log"
        with training_log.open("w") as err:
            command = [sys.executable, "-c", _CHAMPION, standalone.redis.url]
            champion = subprocess.Popen(
                command, env=standalone.env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        try:
            standalone.wait_for_dags(DAG_ID)
            seed = [
                sys.executable,
                "-c",
                _SEED,
                DAG_ID.split("__")[1],
                standalone.redis.url,
                SEEDED_RUN,
                ENTITY,
            ]
            done = subprocess.run(seed, env=standalone.env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"seeding the batch run failed:\n{done.stderr[-3000:]}"
            out, _ = champion.communicate(timeout=600)
        finally:
            champion.kill()  # only if something above failed: it has ended otherwise
        assert champion.returncode == 0, f"training the champion failed:\n{training_log.read_text()[-3000:]}"
        yield standalone, json.loads(out.strip().splitlines()[-1])


def _browser_tools() -> tuple[str, Path]:
    """node and chromium, or a failure saying which install step is missing (never a skip)."""
    node = shutil.which("node")
    problems = []
    if node is None:
        problems.append("node is not on PATH (scripts/install-system-deps.sh installs nodejs)")
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        problems.append("node_modules/playwright-core is missing (`make node` installs it)")
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing (scripts/install-system-deps.sh installs chromium)")
    if problems:
        pytest.fail("cannot run the browser test: " + "; ".join(problems), pytrace=False)
    assert node is not None
    return node, CHROMIUM


def _walk_through_the_ui(airflow: AirflowStandalone) -> tuple[subprocess.CompletedProcess[str], float]:
    node, chromium = _browser_tools()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "BASE_URL": airflow.base_url,
        "USERNAME": "admin",
        "PASSWORD": airflow.password,
        "ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM": str(chromium),
        "DAG_ID": DAG_ID,
        "RUN_TIMEOUT_S": str(RUN_TIMEOUT_S),
        "ENTITY": ENTITY,
        "DRIFT_RUN": SEEDED_RUN,
        "CHAMPION_DATASET": CHAMPION_DATASET,
    }
    started = time.monotonic()
    walk = subprocess.run(
        [node, str(SCRIPT)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S + 300,
    )
    return walk, time.monotonic() - started


def test_a_user_unpauses_and_triggers_feature_pipeline_in_the_ui_and_finds_its_run_on_the_fti_page(
    airflow: tuple[AirflowStandalone, dict[str, Any]],
) -> None:
    standalone, champion = airflow
    walk, seconds = _walk_through_the_ui(standalone)
    output = f"{walk.stdout}\n{walk.stderr}"
    print(f"ui walkthrough: exit {walk.returncode} after {seconds:.0f} s\n{output}")

    triggered = re.search(r"^run_id: (\S+)$", walk.stdout, re.MULTILINE)
    assert triggered, f"the walkthrough triggered no run:\n{output}"
    run_id = triggered.group(1)
    # Cross-check through the REST API: the UI showed what Airflow recorded.
    run = standalone.api.get(f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")
    assert (run["run_type"], run["state"]) == ("manual", "success"), standalone.api.describe_run(
        DAG_ID, run_id
    )
    assert standalone.api.get(f"/dags/{DAG_ID}")["is_paused"] is False

    assert walk.returncode == 0, f"the ui walkthrough failed:\n{output}"
    shots = re.findall(r"^screenshot: (.+\.png)$", walk.stdout, re.MULTILINE)
    missing = [s for s in shots if not Path(s).is_file() or Path(s).stat().st_size == 0]
    assert not missing, f"screenshots announced but not written: {missing}"
    steps = [re.sub(r"^\d+-", "", Path(s).stem) for s in shots]
    assert [s for s in STEPS if s not in steps] == [], f"steps without a screenshot; taken: {steps}"
    _check_task_logs(
        standalone, run_id, dict(re.findall(r"^verdict: (\w+): (.+)$", walk.stdout, re.MULTILINE))
    )
    shown = re.search(r"^champion: (.+)$", walk.stdout, re.MULTILINE)
    assert shown, f"the walkthrough read no champion:\n{output}"
    _check_champion(champion, json.loads(shown.group(1)))


def _check_champion(registered: dict[str, Any], shown: dict[str, Any]) -> None:
    """The browser showed the registered champion: its version, its and its baselines' test WAPE (as the
    page rounds them), the training's own duration (longer than the MLflow run was open), split drift,
    and the batch published from it as the live run."""
    assert shown["version"] == registered["version"] == registered["live_version"], (shown, registered)
    assert (shown["live_run"], shown["live_version"]) == (registered["live_run"], registered["version"])
    expected = {name: float(f"{wape:.4g}") for name, wape in registered["wape"].items()}
    assert shown["wape"] == expected, (shown["wape"], expected)
    assert shown["training_s"] == round(registered["training_s"], 1), (shown, registered)
    assert shown["run_open_s"] < shown["training_s"], shown
    assert shown["split_drift_features"] > 0 and shown["zero_slices"] >= 0, shown


def _check_task_logs(airflow: AirflowStandalone, run_id: str, in_browser: dict[str, str]) -> None:
    """Through the REST API: each task's log has exactly one verdict line and no noise; the browser showed
    the same verdict line."""
    tasks = {t["task_id"]: t for t in airflow.api.task_instances(DAG_ID, run_id)}
    for task_id, pattern in VERDICTS.items():
        log = airflow.api.task_log(DAG_ID, run_id, tasks[task_id])
        verdicts = [m.group(0) for line in log if (m := re.search(pattern, line))]
        story = "\n".join(log)
        assert len(verdicts) == 1, f"{task_id} logged {len(verdicts)} verdict lines, not 1:\n{story}"
        assert [line for line in log if NOISE.search(line)] == [], f"{task_id}'s log is noisy:\n{story}"
        if task_id in ("validate_raw", "build_and_commit"):
            assert verdicts[0] in in_browser.get(task_id, ""), (task_id, verdicts[0], in_browser)
