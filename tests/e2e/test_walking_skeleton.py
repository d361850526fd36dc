"""The three pipelines run in order as real Airflow DAGs and a prediction comes back from Redis.

Real parts only: `airflow dags test` on an Airflow home of its own, a real Parquet store with a
SQLite catalog, a real MLflow tracking store and registry, a throwaway redis-server.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.harness.airflow import AirflowProject

pytestmark = pytest.mark.e2e

# A real slice of Online Retail II: three countries over the autumn of 2011.
SLICE_START, SLICE_END = date(2011, 8, 1), date(2011, 11, 30)
SLICE_COUNTRIES = ["France", "Germany", "EIRE"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, redis_server) -> AirflowProject:
    from fti.data.online_retail import fetch, split_daily
    from fti.settings import Settings

    home = tmp_path_factory.mktemp("e2e")
    project = AirflowProject(home, extra_env={"AIRFLOW_CONN_FTI_REDIS": redis_server.url})
    project.migrate()
    cached = fetch(Settings().cache_dir)  # cached by `make setup`: no download here
    split_daily(cached, home / "var" / "raw", SLICE_START, SLICE_END, countries=SLICE_COUNTRIES)
    return project


def test_three_dags_in_order_publish_predictions_equal_to_the_champions(project: AirflowProject) -> None:
    import redis

    from fti.cache.predictions import live_run, lookup
    from fti.features.model_inputs import MODEL_INPUTS, expand_horizons
    from fti.pipelines.feature import feature_store
    from fti.registry import mlflow_registry as registry
    from fti.settings import Settings

    project.test_dag("feature_pipeline")
    project.test_dag("training_pipeline", conf={"window_days": 60})
    project.test_dag("batch_inference")

    settings = Settings(var_dir=Path(project.env["FTI_VAR_DIR"]))
    client = redis.Redis.from_url(project.env["AIRFLOW_CONN_FTI_REDIS"])
    live = live_run(client, settings.cache_prefix)
    assert live is not None, "batch_inference published nothing"

    # Recompute one prediction outside Airflow: the champion model on the stored features.
    store = feature_store(settings)
    last_day = store.committed_days(settings.feature_set)[-1]
    assert last_day == SLICE_END
    features = store.read(settings.feature_set, last_day, last_day)
    busiest = features.sort_values(["rolling_mean_28", "entity"], ascending=[False, True]).head(1)
    row = expand_horizons(busiest, settings.horizon_days).iloc[[2]]
    assert settings.mlflow_tracking_uri
    client_ml = registry.configure(settings.mlflow_tracking_uri)
    champion = registry.resolve_alias(client_ml, settings.model_name, registry.CHAMPION)
    expected = float(registry.load_model(champion).predict(row[MODEL_INPUTS])[0])

    entity, target = row["entity"].iloc[0], row["target_date"].iloc[0].isoformat()
    value, run = lookup(client, settings.cache_prefix, entity, target)
    assert run == live["run"]
    assert live["model_version"] == champion.version
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-6)  # stored as float32
    assert int(live["predictions"]) == len(features) * settings.horizon_days
