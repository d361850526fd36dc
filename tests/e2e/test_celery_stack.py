"""The distributed stack of docker-compose.yaml, without Docker: the three DAGs on the CeleryExecutor.

Real parts only, as native processes on loopback (tests/harness/celery_stack.py): PostgreSQL for
Airflow, the feature catalog and MLflow; a broker Redis; the prediction cache with the project's ACL
users; an S3-compatible object store (moto's server for compose's MinIO) with the feature files and
MLflow's artifacts; ``mlflow server``; Airflow's api-server, scheduler, dag-processor, triggerer and
two Celery workers with host names of their own, all with compose's ``x-airflow-common`` environment. The
generated store_sales set (60 entities) is cut into chunks of 5, so batch inference maps 12 chunks.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import redis
from redis.exceptions import NoPermissionError

from tests.harness.celery_stack import CeleryStack
from tests.harness.dag_runs import run_pipelines

pytestmark = pytest.mark.e2e

DATASET = "store_sales"
ENTITIES, CHUNK_ENTITIES = 60, 5  # 3 stores x 20 products
RUN_TIMEOUT_S = 300  # per DAG run, on 2 cores
HEARTBEAT_TIMEOUT_S = 15
# the bound: heartbeat timeout (15 s here), predict_chunk's 15 s retry_delay, then the retry
RECOVERED_WITHIN_S = 120
PIPELINE = tuple(
    f"{pipeline}__{DATASET}" for pipeline in ("feature_pipeline", "training_pipeline", "batch_inference")
)
INFERENCE = PIPELINE[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryStack]:
    from fti.data.generate import StoreSales, generate
    from fti.settings import PROJECT_ROOT
    from fti.specs import load_dataset

    home = tmp_path_factory.mktemp("celery-stack")
    extra_env = {
        "FTI_INFERENCE_CHUNK_ENTITIES": str(CHUNK_ENTITIES),
        # A dead worker's tasks are failed (then retried elsewhere) 15 s after their last heartbeat.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
    }
    services = CeleryStack(home, workers=2, extra_env=extra_env)
    spec = load_dataset(PROJECT_ROOT / "specs", DATASET)
    generate(spec, home / "var" / "raw", StoreSales(n_stores=3, n_products=20, weeks=120, future_weeks=4))
    with services, pytest.MonkeyPatch.context() as patch:
        for key, value in services.env.items():  # this process reads the store in the bucket too
            if key.startswith("AWS_"):
                patch.setenv(key, value)
        services.wait_for_dags(*PIPELINE)
        yield services


@pytest.fixture(scope="module")
def runs(stack: CeleryStack) -> dict[str, str]:
    """Each DAG unpaused, triggered over REST API v2 and run to success in order; run ids by DAG."""
    return run_pipelines(stack, DATASET, [(dag_id, {}) for dag_id in PIPELINE], timeout=RUN_TIMEOUT_S)


def test_the_three_dags_succeed_on_the_celery_executor(stack: CeleryStack, runs: dict[str, str]) -> None:
    assert stack.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for dag_id, run_id in runs.items():
        run = stack.api.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
        assert (run["run_type"], run["state"]) == ("manual", "success"), dag_id


def test_mapped_chunks_ran_on_both_workers(stack: CeleryStack, runs: dict[str, str]) -> None:
    chunks = [
        t for t in stack.api.task_instances(INFERENCE, runs[INFERENCE]) if t["task_id"] == "predict_chunk"
    ]

    assert len(chunks) == ENTITIES // CHUNK_ENTITIES
    assert {t["state"] for t in chunks} == {"success"}
    by_worker = {name: sum(t["hostname"] == name for t in chunks) for name in stack.workers}
    print(f"predict_chunk tasks by worker: {by_worker}")
    assert all(count > 0 for count in by_worker.values()), by_worker
    assert sum(by_worker.values()) == len(chunks), [t["hostname"] for t in chunks]


def test_the_reader_user_reads_the_live_batch_and_may_not_write(
    stack: CeleryStack, runs: dict[str, str]
) -> None:
    from fti.cache.client import PredictionClient, live_run
    from fti.resources import Resources
    from fti.settings import PROJECT_ROOT
    from fti.specs import load_dataset

    published = stack.api.xcom(INFERENCE, runs[INFERENCE], "publish")
    spec = load_dataset(PROJECT_ROOT / "specs", DATASET)
    prefix = Resources(stack.settings()).cache_prefix(spec)
    reader = redis.Redis.from_url(stack.reader_url())
    assert stack.reader_url().startswith("redis://fti_reader:")

    live = live_run(reader, prefix)
    assert live is not None and live["run"] == published["run"]
    assert int(live["predictions"]) == ENTITIES * spec.forecast.horizon
    value, run = PredictionClient(reader, prefix).lookup(_an_entity(stack), live["first_period"])
    assert run == published["run"] and value == value  # a number, not NaN
    with pytest.raises(NoPermissionError):
        reader.set(f"{prefix}:written-by-reader", "1")


def test_feature_files_and_model_artifacts_are_objects_in_the_object_store(
    stack: CeleryStack, runs: dict[str, str]
) -> None:
    from fti.resources import Resources
    from fti.settings import PROJECT_ROOT
    from fti.specs import load_dataset

    spec = load_dataset(PROJECT_ROOT / "specs", DATASET)
    committed = {p.uri for p in Resources(stack.settings()).store.partitions(spec.feature_set)}
    in_store = _objects(stack.env["FTI_STORE_URI"])
    artifacts = _objects(stack.env["MLFLOW_ARTIFACTS_DESTINATION"])

    print(f"{len(in_store)} objects under {stack.env['FTI_STORE_URI']}, {len(artifacts)} artifacts")
    assert stack.env["FTI_STORE_URI"].startswith("s3://") and committed and committed <= in_store
    assert [key for key in artifacts if key.endswith("/MLmodel")], sorted(artifacts)[:20]
    raw = stack.data_dir / "raw"  # the landing folder stays on the shared volume
    local = [p for p in stack.data_dir.rglob("*") if p.suffix == ".parquet" and not p.is_relative_to(raw)]
    assert not local, local[:5]


def _objects(uri: str) -> set[str]:
    """The keys of every object under the ``s3://`` URI ``uri`` (bucket/key, as pyarrow names them)."""
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(uri)
    found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    return {info.path for info in found if info.type == pafs.FileType.File}


def _an_entity(stack: CeleryStack) -> str:
    """An entity of the last committed feature day, read from the store the DAGs wrote."""
    from fti.resources import Resources
    from fti.settings import PROJECT_ROOT
    from fti.specs import load_dataset

    spec = load_dataset(PROJECT_ROOT / "specs", DATASET)
    store = Resources(stack.settings()).store
    last = store.committed_days(spec.feature_set)[-1]
    return str(store.read(spec.feature_set, last, last)["entity"].min())


def test_a_batch_survives_a_worker_killed_mid_run_with_identical_predictions(
    stack: CeleryStack, runs: dict[str, str]
) -> None:
    clean = _live_predictions(stack)
    started = time.monotonic()
    run_id = stack.api.trigger(INFERENCE)
    victim = _worker_running_a_chunk(stack, run_id)

    killed = stack.processes.services[victim].kill_tree()
    stack.api.wait_for_run(INFERENCE, run_id, timeout=RECOVERED_WITHIN_S - (time.monotonic() - started))

    took = time.monotonic() - started
    print(f"killed {victim} ({killed} processes); the run succeeded {took:.0f} s after its trigger")
    chunks = [t for t in stack.api.task_instances(INFERENCE, run_id) if t["task_id"] == "predict_chunk"]
    assert any(t["try_number"] > 1 for t in chunks), "no chunk was retried: the kill hit nothing"
    assert {t["hostname"] for t in chunks if t["try_number"] > 1} == set(stack.workers) - {victim}
    after = _live_predictions(stack)
    assert after.pop("run") != clean.pop("run")
    assert after == clean


def test_the_dead_workers_unacknowledged_messages_redelivered_run_nothing_again(
    stack: CeleryStack, runs: dict[str, str]
) -> None:
    """What the visibility timeout does 6 h after a worker died, done now: the copies are refused."""
    broker = redis.Redis.from_url(stack.broker.url)
    stale = _stale_messages(broker)
    print(f"unacknowledged message(s) of the dead worker: {sorted(stale.values())}")
    before, tries = _live_predictions(stack), _task_tries(stack, {run for _, run, _, _ in stale.values()})
    # Each is of a task now done: a chunk retried on the other worker, or a task that finished just
    # before the kill but whose acknowledgement the kill lost.
    assert stale and all(tries[(run, task, index)][0] == "success" for task, run, index, _ in stale.values())

    for tag in stale:  # what kombu's restore does once the visibility timeout has passed
        payload, _exchange, queue = json.loads(broker.hget("unacked", tag) or b"null")
        broker.lpush(queue, json.dumps(payload))
        broker.hdel("unacked", tag)
        broker.zrem("unacked_index", tag)
    _wait_until_taken(broker, queue, set(stale))

    assert _task_tries(stack, {run for _, run, _, _ in stale.values()}) == tries
    assert _live_predictions(stack) == before


def _stale_messages(
    broker: redis.Redis, settle: float = 5, timeout: float = 60
) -> dict[bytes, tuple[str, str, int, int]]:
    """The unacknowledged messages once none has come or gone for ``settle`` seconds (the live worker
    acknowledged its last task): ``(task id, run id, map index, try number)`` by delivery tag."""
    deadline = time.monotonic() + timeout
    seen: set[bytes] | None = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        tags = set(broker.hkeys("unacked"))
        if tags != seen:
            seen, since = tags, time.monotonic()
        elif time.monotonic() - since >= settle:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the broker's unacknowledged messages kept changing for {timeout} s")
    found = {tag: _task_instance(json.loads(raw)[0]) for tag, raw in broker.hgetall("unacked").items()}
    return {
        tag: (str(ti["task_id"]), str(ti["run_id"]), int(ti["map_index"]), int(ti["try_number"]))
        for tag, ti in found.items()
    }


def _task_instance(payload: dict[str, Any]) -> dict[str, Any]:
    """The task instance a Celery message of Airflow's executor runs (its workload's ``ti``)."""
    body = json.loads(base64.b64decode(payload["body"]))
    return dict(json.loads(body[0][0])["ti"])


def _task_tries(stack: CeleryStack, run_ids: set[str]) -> dict[tuple[str, str, int], tuple[str, int]]:
    """``(state, try number)`` of every task instance of the inference runs ``run_ids``."""
    return {
        (run_id, t["task_id"], t["map_index"]): (t["state"], t["try_number"])
        for run_id in run_ids
        for t in stack.api.task_instances(INFERENCE, run_id)
    }


def _wait_until_taken(broker: redis.Redis, queue: str, tags: set[bytes], timeout: float = 60) -> None:
    """Wait until ``queue`` is empty and no message of ``tags`` is unacknowledged any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not broker.llen(queue) and not tags & set(broker.hkeys("unacked")):
            return
        time.sleep(0.5)
    raise AssertionError(f"the redelivered messages were not taken from {queue!r} within {timeout} s")


def _worker_running_a_chunk(stack: CeleryStack, run_id: str, timeout: float = 60) -> str:
    """The worker of the first predict_chunk seen running in ``run_id``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in stack.api.task_instances(INFERENCE, run_id):
            if task["task_id"] == "predict_chunk" and task["state"] == "running" and task["hostname"]:
                return str(task["hostname"])
        time.sleep(0.5)
    raise AssertionError(f"no predict_chunk of {run_id} ran within {timeout} s")


def _live_predictions(stack: CeleryStack) -> dict[str, Any]:
    """Every prediction of the live run (value and quantiles by entity and period), read as fti_reader."""
    from fti.cache.client import LiveRun, PredictionClient
    from fti.resources import Resources
    from fti.settings import PROJECT_ROOT
    from fti.specs import load_dataset

    spec = load_dataset(PROJECT_ROOT / "specs", DATASET)
    store = Resources(stack.settings()).store
    last = store.committed_days(spec.feature_set)[-1]
    client = PredictionClient.from_url(stack.reader_url(), Resources(stack.settings()).cache_prefix(spec))
    live = client.live()
    assert live is not None
    run = LiveRun.from_meta(live["run"], live)
    cal = run.calendar
    first = cal.index(cal.parse(run.first_period))
    periods = [cal.format(cal.start(first + step)) for step in range(run.horizon)]
    found: dict[str, Any] = {"run": run.run}
    for entity in sorted(store.read(spec.feature_set, last, last)["entity"]):
        for period in periods:
            prediction = client.prediction(entity, period)
            found[f"{entity}@{period}"] = (prediction.value, dict(prediction.quantiles))
    return found
