"""Every shipped data set, and a brand-new one that needs no code, runs through its three generated DAGs.

Real parts only: `airflow dags test` on an Airflow home of its own, a real Parquet store with a SQLite
catalog, a real MLflow tracking store and registry, a throwaway redis-server. After the three DAGs of
a data set, a prediction read from Redis must equal what its champion computes from the stored
features (with the known-future covariates the feature pipeline committed).
"""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.harness.airflow import PROJECT_ROOT, AirflowProject

pytestmark = pytest.mark.e2e

SPECS = PROJECT_ROOT / "specs"
RETAIL_FIRST, RETAIL_LAST, RETAIL_COUNTRIES = (
    date(2011, 8, 1),
    date(2011, 11, 30),
    ["France", "Germany", "EIRE"],
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, redis_server: Any) -> AirflowProject:
    """One Airflow home whose landing area holds a real Online Retail slice, the car parks, store_sales."""
    from fti.data.generate import StoreSales, generate
    from fti.data.shipped import land_shipped
    from fti.settings import Settings
    from fti.specs import load_dataset
    from fti.specs.filters import RowFilter

    home = tmp_path_factory.mktemp("e2e")
    project = AirflowProject(home, extra_env={"AIRFLOW_CONN_FTI_REDIS": redis_server.url})
    project.migrate()
    raw, cache = home / "var" / "raw", Settings().cache_dir  # cached by `make setup`: no download here
    where = RowFilter.model_validate({"column": "Country", "in": RETAIL_COUNTRIES})
    land_shipped(
        load_dataset(SPECS, "online_retail"), raw, cache, first=RETAIL_FIRST, last=RETAIL_LAST, where=where
    )
    land_shipped(load_dataset(SPECS, "car_parks"), raw, cache)
    generate(
        load_dataset(SPECS, "store_sales"),
        raw,
        StoreSales(n_stores=3, n_products=20, weeks=120, future_weeks=4),
    )
    return project


def run_the_three_dags(
    project: AirflowProject, dataset: str, training_conf: dict[str, Any] | None = None
) -> None:
    project.test_dag(f"feature_pipeline__{dataset}")
    project.test_dag(f"training_pipeline__{dataset}", conf=training_conf)
    project.test_dag(f"batch_inference__{dataset}")


def check_a_published_prediction(project: AirflowProject, specs_dir: Path, dataset: str) -> dict[str, str]:
    """Recompute one published prediction outside Airflow and compare it with what Redis serves."""
    import redis

    from fti.cache.client import PredictionClient
    from fti.cache.predictions import live_run, lookup
    from fti.contracts import PinnedModel
    from fti.features.schema import model_inputs
    from fti.pipelines.champion import resolve_champion
    from fti.pipelines.inference import forecast_inputs, origin_rows
    from fti.registry import mlflow_registry as registry
    from fti.resources import Resources
    from fti.settings import Settings
    from fti.specs import load_dataset
    from fti.training.intervals import level_names
    from fti.training.model import predict_quantiles

    spec = load_dataset(specs_dir, dataset)
    resources = Resources(Settings(var_dir=Path(project.env["FTI_VAR_DIR"]), specs_dir=specs_dir))
    client = redis.Redis.from_url(project.env["AIRFLOW_CONN_FTI_REDIS"])
    live = live_run(client, resources.cache_prefix(spec))
    assert live is not None, f"batch_inference__{dataset} published nothing"

    last = resources.store.committed_days(spec.feature_set)[-1]
    origin = origin_rows(resources.store.read(spec.feature_set, last, last))
    pinned: PinnedModel = resolve_champion(resources, spec)
    assert live["model_version"] == pinned.version
    inputs = forecast_inputs(resources, spec, pinned, origin.iloc[[0, len(origin) - 1]])
    row = inputs.iloc[[len(inputs) - 1]]  # the last entity's last forecast period
    champion = registry.load_model(registry.ModelRef(pinned.name, pinned.version, pinned.run_id))
    expected = float(champion.predict(row[model_inputs(spec)])[0])

    period = spec.calendar.format(row["target_period"].iloc[0])
    value, run = lookup(client, resources.cache_prefix(spec), str(row["entity"].iloc[0]), period)
    assert run == live["run"]
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-6)  # stored as float32
    if spec.model.quantiles:  # P10 / P50 / P90 ... read back as any client reads them
        levels = PredictionClient(client, resources.cache_prefix(spec)).prediction(
            str(row["entity"].iloc[0]), period
        )
        model_levels = predict_quantiles(champion, row[model_inputs(spec)])[0]
        assert list(levels.quantiles) == level_names(spec.model.quantiles)
        assert list(levels.quantiles.values()) == pytest.approx(list(model_levels), rel=1e-6, abs=1e-6)
        assert list(levels.quantiles.values()) == sorted(levels.quantiles.values())
    assert int(live["predictions"]) == len(origin) * spec.forecast.horizon
    return live


def test_online_retail_daily_by_country_and_product(project: AirflowProject) -> None:
    """On this small slice (three countries, four months) the model does not beat forecasting 0: the
    gate keeps it from champion, and the operator makes it champion on purpose (``--force``)."""
    project.test_dag("feature_pipeline__online_retail")
    project.test_dag("training_pipeline__online_retail", conf={"window": 60})
    version = refused_version(project, "online_retail")
    forced = fti_cli(project, "models", "rollback", version, "-d", "online_retail", "--force")
    assert forced.exit_code == 0, forced.output
    project.test_dag("batch_inference__online_retail")
    live = check_a_published_prediction(project, SPECS, "online_retail")
    assert (live["grain"], live["feature_partition"], live["first_period"]) == (
        "day",
        "2011-11-30",
        "2011-12-01",
    )


def refused_version(project: AirflowProject, dataset: str) -> str:
    """The newest version of ``dataset``'s model, which the gate must have refused for not beating the
    zero forecast (its tags say so)."""
    from fti.resources import Resources
    from fti.settings import Settings
    from fti.specs import load_dataset

    resources = Resources(Settings(var_dir=Path(project.env["FTI_VAR_DIR"]), specs_dir=SPECS))
    name = resources.model_name(load_dataset(SPECS, dataset))
    newest = max(resources.registry.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version))
    assert (newest.tags["gate"], newest.tags["gate_rule"]) == ("failed", "baseline"), newest.tags
    assert "does not beat the best baseline zero" in newest.tags["gate_reason"]
    return str(newest.version)


def fti_cli(project: AirflowProject, *args: str) -> Any:
    """The ``fti`` command in this project's environment."""
    from typer.testing import CliRunner

    from fti.cli import app
    from fti.settings import get_settings

    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=dict(project.env))
    finally:
        get_settings.cache_clear()


def test_car_parks_hourly_occupancy_for_the_next_days_opening_hours(project: AirflowProject) -> None:
    run_the_three_dags(project, "car_parks")
    live = check_a_published_prediction(project, SPECS, "car_parks")
    assert (live["grain"], live["origin"], live["first_period"]) == (
        "hour",
        "2016-12-19T16:00",
        "2016-12-20T08:00",
    )


def test_store_sales_weekly_with_planned_prices_and_promotions(project: AirflowProject) -> None:
    run_the_three_dags(project, "store_sales")
    live = check_a_published_prediction(project, SPECS, "store_sales")
    assert live["grain"] == "week" and int(live["horizon"]) == 4


# ----- a brand-new data set: a spec and files, no code ---------------------------------------------
NEW_SPEC = {
    "spec_version": 2,
    "name": "depot_orders",
    "description": "Cases ordered per depot and article, weekly (weeks end on Saturday).",
    "source": {
        "layout": "per_period",
        "format": "csv",
        "aggregated": True,
        "columns": [
            {"name": "DepotCode", "type": "string"},
            {"name": "ArticleNo", "type": "int"},
            {"name": "WeekStarting", "type": "date", "format": "%d.%m.%Y"},
            {"name": "CasesOrdered", "type": "float"},
            {"name": "ListPrice", "type": "float"},
            {"name": "FlyerFeature", "type": "int"},
        ],
    },
    "entity": {"columns": ["DepotCode", "ArticleNo"], "separator": "/"},
    "time": {"column": "WeekStarting", "grain": "week", "week_start": "sunday", "timezone": "Europe/Berlin"},
    "target": {"name": "cases", "column": "CasesOrdered", "aggregation": "sum", "absent": "zero"},
    "covariates": {"known_future": [{"column": "FlyerFeature", "aggregation": "max"}]},
    "features": {
        "lags": [1, 2, 4],
        "rolling": [{"window": 4, "stats": ["mean", "max"]}],
        "calendar": ["month"],
    },
    "forecast": {"horizon": 2},
    "validation": {"columns": {"DepotCode": {"not_null": True}, "FlyerFeature": {"allowed": [0, 1]}}},
    "model": {
        "training_window": 40,
        "validation_periods": 3,
        "test_periods": 3,
        "quantiles": [0.1, 0.5, 0.9],
    },
}


def depot_orders(weeks: int, planned: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A depot x article export and the planner's file of the next weeks (flyer planned, cases empty)."""
    rng = np.random.default_rng(3)
    first = date(2023, 1, 1)  # a Sunday
    rows = []
    for w in range(weeks + planned):
        for depot in ("HAM", "MUC"):
            for article in (1001, 1002, 1003, 2001):
                flyer = int(rng.random() < 0.2)
                level = 20 + (article % 7) * 3 + (5 if depot == "HAM" else 0)
                cases = rng.poisson(level * (1.6 if flyer else 1.0)) if w < weeks else None
                rows.append(
                    (depot, article, (first + timedelta(weeks=w)).strftime("%d.%m.%Y"), cases, 9.99, flyer)
                )
    frame = pd.DataFrame(rows, columns=[c["name"] for c in NEW_SPEC["source"]["columns"]])  # type: ignore[index]
    return frame.iloc[: weeks * 8], frame.iloc[weeks * 8 :]


def test_a_brand_new_data_set_needs_only_a_spec_and_its_files(tmp_path: Path, redis_server: Any) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "depot_orders.yaml").write_text(yaml.safe_dump(NEW_SPEC, sort_keys=False))
    project = AirflowProject(
        tmp_path / "home", extra_env={"AIRFLOW_CONN_FTI_REDIS": redis_server.url, "FTI_SPECS_DIR": str(specs)}
    )
    project.migrate()
    history, plans = depot_orders(weeks=70, planned=2)
    history.to_csv(tmp_path / "export.csv", index=False)
    plans.to_csv(tmp_path / "plans.csv", index=False)
    env = project.env
    for args in (
        ["spec", "check", str(specs / "depot_orders.yaml")],
        ["data", "land", "--dataset", "depot_orders", str(tmp_path / "export.csv")],
        ["data", "land", "--dataset", "depot_orders", "--planned", str(tmp_path / "plans.csv")],
    ):
        done = subprocess.run(["fti", *args], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT)
        assert done.returncode == 0, done.stdout + done.stderr

    run_the_three_dags(project, "depot_orders")

    live = check_a_published_prediction(project, specs, "depot_orders")
    assert live["grain"] == "week" and live["week_start"] == "6" and live["first_period"] == "2024-05-05"
