"""The prediction log on a real store, MLflow registry and Redis: every published prediction is kept in the
store, equal to what Redis served, idempotent per run, readable after Redis pruned the run, and a log
write killed midway commits nothing and switches nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from fti.cache import predictions as cache
from fti.cache.client import PredictionClient, PredictionNotFound
from fti.cli import app
from fti.inference.prediction_log import POINT
from fti.pipelines.champion import resolve_champion
from fti.pipelines.inference import check_inputs, plan_run, predict_chunk, publish
from fti.resources import Resources
from fti.serving.logged import logged_prediction, logged_predictions
from fti.specs import DatasetSpec
from fti.store.prediction_log import PredictionLogCorrupted, PredictionLogNotFound
from fti.training.intervals import level_names
from tests.integration.inference.test_batch_inference import run_batch

pytestmark = pytest.mark.integration


def test_a_logged_run_equals_what_redis_served_value_for_value(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    result = run_batch(resources, sales, "manual__logged")
    store, run = resources.store, result["run"]

    logged = store.logged_run(sales.name, run)
    rows = store.read_prediction_log(logged)

    published = result["published"]
    assert logged.published_at is not None and logged.model_version == published.model_version
    assert (logged.row_count, logged.entities) == (published.predictions, published.entities)
    assert len(rows) == published.predictions and set(rows["run"]) == {run}
    client = PredictionClient(redis_client, resources.cache_prefix(sales))
    names = level_names(sales.model.quantiles)
    assert names, "store_sales forecasts quantiles: the test compares them too"
    for row in rows.itertuples(index=False):
        served = client.prediction(row.entity, sales.calendar.format(row.target_period))
        assert served.run == run
        assert served.value == float(getattr(row, POINT))  # float32 both sides: exactly equal
        assert served.quantiles == {name: float(getattr(row, name)) for name in names}


def test_rerunning_the_same_logical_run_logs_nothing_new(resources: Resources, sales: DatasetSpec) -> None:
    first = run_batch(resources, sales, "scheduled__log-rerun")
    before = resources.store.logged_run(sales.name, first["run"])

    run_batch(resources, sales, "scheduled__log-rerun")

    after = resources.store.logged_run(sales.name, first["run"])
    assert after == before, "same rows: same file, same commit time, same publication time"
    folder = Path(before.uri).parent
    assert [p.name for p in folder.iterdir()] == [Path(before.uri).name]


def test_a_past_run_reads_from_the_log_after_redis_pruned_it(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis
) -> None:
    keep = resources.settings.keep_runs
    runs = [run_batch(resources, sales, f"manual__old-{i}")["run"] for i in range(keep + 1)]
    oldest = runs[0]
    assert not list(redis_client.scan_iter(match=f"{resources.cache_prefix(sales)}:run:{oldest}:*"))
    rows = resources.store.read_prediction_log(resources.store.logged_run(sales.name, oldest))
    entity, target = rows["entity"].iloc[0], sales.calendar.format(rows["target_period"].iloc[0])

    found = logged_prediction(resources.store, sales, oldest, entity, target)
    every = logged_predictions(resources.store, sales, oldest, entity)

    assert (found.run, found.entity, found.period) == (oldest, entity, target)
    assert found.value == float(rows[POINT].iloc[0])
    assert [p.period for p in every] == sorted(p.period for p in every)
    assert len(every) == sales.forecast.horizon and every[0] == found
    with pytest.raises(PredictionNotFound, match="not for"):
        logged_prediction(resources.store, sales, oldest, entity, "2001-01-01")
    with pytest.raises(PredictionLogNotFound, match="no run 'nope'"):
        logged_prediction(resources.store, sales, "nope", entity, target)


def test_the_cli_reads_a_logged_run_and_lists_the_log(
    resources: Resources, sales: DatasetSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_batch(resources, sales, "manual__cli-log")["run"]
    rows = resources.store.read_prediction_log(resources.store.logged_run(sales.name, run))
    entity, target = rows["entity"].iloc[0], sales.calendar.format(rows["target_period"].iloc[0])
    settings = resources.settings
    env = {"FTI_STORE_URI": str(settings.store_uri), "FTI_CATALOG_URL": str(settings.catalog_url)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from fti.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ask = ["predictions", "lookup", entity, target, "-d", sales.name, "--run"]
        lookup = runner.invoke(app, [*ask, run])
        listing = runner.invoke(app, ["predictions", "runs", "-d", sales.name])
        missing = runner.invoke(app, [*ask, "x"])
    finally:
        get_settings.cache_clear()

    assert lookup.exit_code == 0, lookup.output
    assert f"{float(rows[POINT].iloc[0]):.4f}" in lookup.output and f"run={run}" in lookup.output
    assert listing.exit_code == 0 and run in listing.output
    assert missing.exit_code == 1 and "no run 'x'" in missing.output


def test_an_edited_log_file_is_refused_by_name(own: Resources, sales: DatasetSpec) -> None:
    run = run_batch(own, sales, "manual__edited-log")["run"]
    logged = own.store.logged_run(sales.name, run)
    data = bytearray(Path(logged.uri).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(logged.uri).write_bytes(bytes(data))

    with pytest.raises(PredictionLogCorrupted, match=f"{logged.uri} has SHA-256 .* the file was changed"):
        own.store.read_prediction_log(logged)


#: argv: settings json, redis url, data dir, size limit. Runs ``publish`` with a file-size limit and
#: SIGXFSZ at its default action, so the process is killed by the kernel while it writes the log.
PUBLISHER = """
import json, resource, signal, sys
from fti.contracts import CheckedInputs, ChunkPlan, PinnedModel
from fti.pipelines.inference import publish
from fti.resources import Resources
from fti.settings import Settings
from fti.specs import load_dataset
settings_json, url, data, limit = sys.argv[1:5]
work = json.load(open(f"{data}/work.json"))
settings = Settings.model_validate_json(settings_json)
resources = Resources(settings, url)
spec = load_dataset(settings.specs_dir, work["dataset"])
resources.store.logged_runs(spec.name)  # the catalog is open before the limit
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; the kernel's default kills
resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
publish(resources, spec, PinnedModel.model_validate_json(work["pinned"]),
        CheckedInputs.model_validate_json(work["checked"]),
        [ChunkPlan.model_validate_json(c) for c in work["chunks"]], work["written"], work["run_id"])
print("published", flush=True)
"""


def test_a_log_write_killed_midway_commits_nothing_and_switches_nothing(
    resources: Resources, sales: DatasetSpec, redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    live = run_batch(resources, sales, "manual__before-kill")["run"]
    size = Path(resources.store.logged_run(sales.name, live).uri).stat().st_size
    before = resources.store.logged_runs(sales.name)
    pinned = resolve_champion(resources, sales)
    checked = check_inputs(resources, sales, pinned, "manual__killed")
    chunks = plan_run(resources, sales, pinned, checked, "manual__killed")
    written = [predict_chunk(resources, sales, pinned, chunk) for chunk in chunks]
    work = {
        "dataset": sales.name,
        "pinned": pinned.model_dump_json(),
        "checked": checked.model_dump_json(),
        "chunks": [c.model_dump_json() for c in chunks],
        "written": written,
        "run_id": "manual__killed",
    }
    (tmp_path / "work.json").write_text(json.dumps(work))
    settings_json = resources.settings.model_dump_json()

    child = subprocess.run(
        [sys.executable, "-c", PUBLISHER, settings_json, redis_url, str(tmp_path), str(size // 2)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert child.returncode == -signal.SIGXFSZ, child.stdout + child.stderr
    assert resources.store.logged_runs(sales.name) == before, "the catalog is unchanged"
    meta = cache.live_run(redis_client, resources.cache_prefix(sales))
    assert meta is not None and meta["run"] == live, "the previous batch stays live"
    assert not list(Path(before[0].uri).parents[1].glob(f"{chunks[0].run}/log-*.parquet"))

    retried = publish(resources, sales, pinned, checked, chunks, written, "manual__killed")

    assert resources.store.logged_run(sales.name, retried.run).published_at is not None
    assert cache.live_run(redis_client, resources.cache_prefix(sales))["run"] == retried.run
