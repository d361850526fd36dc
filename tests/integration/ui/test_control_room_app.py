"""The control room app over a real feature store, a real MLflow registry (SQLite) and a real Redis,
one data set at a time (``?dataset=``)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient

from fti.cache.predictions import begin_run, go_live, plan_run, write_chunk
from fti.registry import mlflow_registry as registry
from fti.settings import PROJECT_ROOT, Settings
from fti.store import FeatureStore
from fti.ui.app import create_app
from tests.harness.services import free_port

pytestmark = pytest.mark.integration

DATASET = FEATURE_SET = "online_retail"  # a data set's feature set has its name
OTHER = "car_parks"
DATASETS = ["car_parks", "online_retail", "store_sales"]  # the checkout's specs
RUN_WITH_HTML = "manual__<b>bold</b>"
ANALYSIS = {
    "metric": "wape",
    "beats_baselines": True,
    "overall": {"wape": 0.41, "mae": 1.2, "rmse": 2.5, "bias": -0.1},
    "baselines": {
        "seasonal_naive": {"wape": 0.63, "mae": 1.7, "rmse": 3.1, "bias": 0.0},
        "moving_average": {"wape": 0.52, "mae": 1.5, "rmse": 2.9, "bias": 0.2},
    },
    "slices": {
        "country": [
            {"slice": "United Kingdom", "rows": 900, "share": 0.85, "wape": 0.39, "mae": 1.1, "bias": 0.0},
            {
                "slice": "Germany",
                "rows": 140,
                "share": 0.15,
                "wape": 0.93,
                "mae": 2.2,
                "bias": 0.4,
                "flagged": True,
                "wape_model": 0.93,
                "wape_seasonal_naive": 0.81,
                "wape_moving_average": 0.99,
            },
        ],
        "volume_band": [
            {"slice": "medium", "rows": 500, "share": 0.4, "wape": 0.47, "mae": 1.3, "bias": 0.1}
        ],
    },
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Every location under ``tmp_path``, nothing created yet; the checkout's specs; no FTI_DATASET."""
    monkeypatch.delenv("FTI_DATASET", raising=False)
    (tmp_path / "mlflow").mkdir()
    return Settings(
        var_dir=tmp_path,
        specs_dir=PROJECT_ROOT / "specs",
        store_uri=str(tmp_path / "store"),
        catalog_url=f"sqlite:///{tmp_path / 'catalog.db'}",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}",
        mlflow_artifact_uri=str(tmp_path / "mlflow" / "artifacts"),
    )


@pytest.fixture
def store(settings: Settings) -> FeatureStore:
    """The store with two validations (one failed) and the drift scores of three inference runs."""
    assert settings.store_uri and settings.catalog_url
    store = FeatureStore(settings.store_uri, settings.catalog_url)
    summary = {"evaluated": 14, "failed": 0, "failing": []}
    store.record_validation(
        FEATURE_SET, "scheduled__2024-03-09", date(2024, 3, 9), date(2024, 3, 9), True, summary, {}
    )
    failed = {"evaluated": 14, "failed": 1, "failing": ["expect_column_values_to_not_be_null"]}
    document = {"success": False, "results": [{"expectation": "expect_column_values_to_not_be_null"}]}
    store.record_validation(
        FEATURE_SET, RUN_WITH_HTML, date(2024, 3, 8), date(2024, 3, 10), False, failed, document
    )
    for i, (lag, mean) in enumerate([(0.05, 0.1), (0.22, 0.12), (0.45, 0.11)]):
        status = "fail" if lag > 0.4 else "warn" if lag > 0.2 else "ok"
        scores = [
            {"feature": "lag_1", "distance": lag, "warn": 0.2, "fail": 0.4, "status": status},
            {"feature": "rolling_mean_7", "distance": mean, "warn": 0.2, "fail": 0.4, "status": "ok"},
        ]
        store.record_drift(
            FEATURE_SET, 1, f"scheduled__2024-03-0{i + 1}", date(2024, 3, i + 1), "m/3", scores
        )
    store.record_validation(
        OTHER, "scheduled__2016-12-19", date(2016, 12, 19), date(2016, 12, 19), True, summary, {}
    )
    return store


def register(
    settings: Settings, analysis: dict | None, alias: str | None = registry.CHAMPION, dataset: str = DATASET
) -> registry.ModelRef:
    """Log a run (with ``analysis`` as its analysis.json), register it as the data set's model and
    point ``alias`` at it."""
    import mlflow

    assert settings.mlflow_tracking_uri and settings.mlflow_artifact_uri
    name = settings.model_name(dataset)
    client = registry.configure(settings.mlflow_tracking_uri)
    experiment = registry.ensure_experiment(client, name, settings.mlflow_artifact_uri)
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_metric("test_wape", 0.41)
        if analysis is not None:
            mlflow.log_dict(analysis, "analysis/analysis.json")
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return registry.ModelRef(name, str(version.version), run.info.run_id)


@pytest.fixture
def champion(settings: Settings) -> registry.ModelRef:
    return register(settings, ANALYSIS)


@pytest.fixture
def live(settings: Settings, redis_client: redis.Redis) -> str:
    """A run of 3 entities x 7 days published under the data set's cache prefix."""
    prefix, run = settings.cache_prefix(DATASET), "20240310-v3-0badcafe"
    plan = plan_run(run, "2024-03-11", 7, 3)
    start = {
        "dataset": DATASET,
        "model_name": settings.model_name(DATASET),
        "model_version": "3",
        "grain": "day",
    }
    begin_run(redis_client, prefix, plan, start, ttl_s=3600)
    count = write_chunk(
        redis_client, prefix, plan, "00000", ["UK|1", "UK|2", "DE|1"], np.ones((3, 7)), ttl_s=3600
    )
    meta = {"feature_partition": "2024-03-10", "drift_status": "warn", "drift_max_feature": "lag_1"}
    go_live(redis_client, prefix, plan, 1, count, meta, keep_runs=3, ttl_s=3600)
    return run


def client_for(settings: Settings, redis_url: str | None) -> TestClient:
    return TestClient(create_app(settings_factory=lambda: settings, redis_url=lambda: redis_url))


def section(html: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert found, f"no section {anchor} in the page"
    return found.group(1)


def test_page_shows_validations_drift_champion_and_the_live_run(
    settings: Settings, store: FeatureStore, champion: registry.ModelRef, live: str, redis_url: str
) -> None:
    response = client_for(settings, redis_url).get("/", params={"dataset": DATASET})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    validations = section(html, "validations")
    assert "manual__&lt;b&gt;bold&lt;/b&gt;" in validations and "<b>bold</b>" not in validations
    assert "expect_column_values_to_not_be_null" in validations
    assert validations.index("manual__&lt;b&gt;") < validations.index("scheduled__2024-03-09")  # newest first
    assert validations.count('class="failed"') == 1 and validations.count('class="passed"') == 1
    drift = section(html, "drift")
    assert drift.count("<polyline") == 2 and drift.count("<circle") == 6
    assert 'class="threshold threshold-fail"' in drift and '<span class="fail">lag_1</span>' in drift
    chart = section(html, "champion")
    assert f"version <b>{champion.version}</b>" in chart and f"/runs/{champion.run_id}" in chart
    assert "moving_average" in chart and "Germany" in chart and "medium" in chart
    assert "beats the baselines: <b>yes</b>" in chart
    training = section(html, "training")
    assert (
        'class="scores-country"' in training
        and '<span class="fail"><span class="num">0.930</span>' in training
    )
    live_html = section(html, "live")
    assert live in live_html and "drift_status" in live_html and "fti-online_retail-sandbox" in live_html
    assert "first_period" in live_html and "2024-03-11" in live_html
    assert '<b>online_retail</b> <a href="?dataset=store_sales">' in html


def test_another_data_set_shows_only_its_own_validations_model_and_live_run(
    settings: Settings, store: FeatureStore, champion: registry.ModelRef, live: str, redis_url: str
) -> None:
    html = client_for(settings, redis_url).get("/", params={"dataset": OTHER}).text

    assert "scheduled__2016-12-19" in section(html, "validations")
    assert "scheduled__2024-03-09" not in section(html, "validations")
    assert "no drift scores recorded yet for feature set &#x27;car_parks&#x27;" in section(html, "drift")
    assert "model &#x27;fti-car_parks-sandbox&#x27; has no version" in section(html, "champion")
    assert "nothing is live in Redis yet" in section(html, "live")
    assert "<title>FTI control room: car_parks / fti-car_parks-sandbox</title>" in html


def test_without_a_data_set_the_page_shows_fti_dataset_or_else_the_first_spec(
    settings: Settings, store: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(settings, None)

    first = client.get("/api/summary").json()
    monkeypatch.setenv("FTI_DATASET", DATASET)
    chosen = client.get("/api/summary").json()

    assert (first["dataset"], first["datasets"]) == (DATASETS[0], DATASETS)
    assert chosen["dataset"] == DATASET


def test_an_unknown_data_set_is_a_404_naming_the_ones_there(settings: Settings) -> None:
    client = client_for(settings, None)

    for route in ("/", "/api/summary", "/api/drift"):
        response = client.get(route, params={"dataset": "nope"})
        assert response.status_code == 404, route
        assert (
            "no data set 'nope'" in response.json()["detail"] and "online_retail" in response.json()["detail"]
        )


def test_summary_json_carries_the_same_data(
    settings: Settings, store: FeatureStore, champion: registry.ModelRef, live: str, redis_url: str
) -> None:
    data = client_for(settings, redis_url).get("/api/summary", params={"dataset": DATASET}).json()

    assert data["dataset"] == DATASET and data["model_name"] == settings.model_name(DATASET)
    assert [v["run_id"] for v in data["validations"]["data"]] == [RUN_WITH_HTML, "scheduled__2024-03-09"]
    assert data["validations"]["data"][0]["failing"] == ["expect_column_values_to_not_be_null"]
    assert {s["feature"] for s in data["drift"]["data"]} == {"lag_1", "rolling_mean_7"}
    assert data["champion"]["data"]["version"] == champion.version
    assert data["champion"]["data"]["metrics"][1] == {
        "label": "seasonal_naive",
        "is_model": False,
        "wape": 0.63,
        "mae": 1.7,
        "rmse": 3.1,
        "bias": 0.0,
        "mape": None,  # not in this (older) analysis.json
        "bias_pct": None,
        "mase": None,
    }
    assert data["live"]["data"]["run"] == live


def test_drift_api_returns_each_feature_over_the_newest_runs(settings: Settings, store: FeatureStore) -> None:
    data = client_for(settings, None).get("/api/drift", params={"last_runs": 2, "dataset": DATASET}).json()

    assert (data["dataset"], data["last_runs"]) == (DATASET, 2)
    lag = next(s for s in data["drift"]["data"] if s["feature"] == "lag_1")
    assert [p["distance"] for p in lag["points"]] == [0.22, 0.45]
    assert [p["status"] for p in lag["points"]] == ["warn", "fail"]


def test_validation_document_is_served_and_an_unknown_id_is_a_404(
    settings: Settings, store: FeatureStore
) -> None:
    failed = next(v for v in store.validations(FEATURE_SET) if not v.success)
    client = client_for(settings, None)

    assert client.get(f"/api/validations/{failed.id}").json()["results"] == [
        {"expectation": "expect_column_values_to_not_be_null"}
    ]
    page = client.get(f"/validations/{failed.id}")
    assert page.status_code == 200 and f"Validation {failed.id}" in page.text
    for path in ("/api/validations/0123abcd", "/validations/0123abcd"):
        missing = client.get(path)
        assert missing.status_code == 404 and "0123abcd" in missing.json()["detail"]


def test_a_new_installation_says_what_is_missing_and_creates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    html = client_for(settings, None).get("/", params={"dataset": DATASET}).text

    assert "no feature store yet: there is no catalog at" in section(html, "validations")
    assert "no feature store yet" in section(html, "drift")
    assert "no champion yet: there is no MLflow registry at" in section(html, "champion")
    not_configured = "Redis not configured: add the Airflow connection fti_redis_reader or set FTI_REDIS_URL"
    assert not_configured in section(html, "live")
    assert not (tmp_path / "catalog.db").exists() and not (tmp_path / "mlflow" / "mlflow.db").exists()


def test_an_empty_store_and_an_empty_cache_are_named(
    settings: Settings, redis_client: redis.Redis, redis_url: str
) -> None:
    assert settings.store_uri and settings.catalog_url
    assert FeatureStore(settings.store_uri, settings.catalog_url).validations(FEATURE_SET) == []  # creates it

    html = client_for(settings, redis_url).get("/", params={"dataset": DATASET}).text

    assert "no validation recorded yet for feature set &#x27;online_retail&#x27;" in section(
        html, "validations"
    )
    assert "no drift scores recorded yet" in section(html, "drift")
    assert "nothing is live in Redis yet" in section(html, "live")


def test_redis_down_is_reported_as_unreachable(settings: Settings, store: FeatureStore) -> None:
    port = free_port()
    html = client_for(settings, f"redis://127.0.0.1:{port}/0").get("/", params={"dataset": DATASET}).text

    assert f"Redis unreachable: Redis at 127.0.0.1:{port}/0 is not reachable" in section(html, "live")
    assert "scheduled__2024-03-09" in section(html, "validations")  # the other sections still show


def test_a_registry_without_champion_says_so(settings: Settings) -> None:
    register(settings, ANALYSIS, alias=registry.CHALLENGER)

    html = client_for(settings, None).get("/", params={"dataset": DATASET}).text

    assert (
        "no champion yet: model &#x27;fti-online_retail-sandbox&#x27; has no version with the alias"
        in section(html, "champion")
    )


def test_a_champion_without_analysis_shows_its_version_and_why_metrics_are_missing(
    settings: Settings,
) -> None:
    ref = register(settings, None)

    champion = section(client_for(settings, None).get("/", params={"dataset": DATASET}).text, "champion")

    assert f"version <b>{ref.version}</b>" in champion
    assert f"run {ref.run_id} has no readable analysis/analysis.json" in champion


def test_mlflow_server_down_is_reported_as_unreachable(settings: Settings) -> None:
    down = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}"})

    champion = section(client_for(down, None).get("/", params={"dataset": DATASET}).text, "champion")

    assert "MLflow unreachable: MLflow tracking server http://127.0.0.1:" in champion


def test_a_stored_drift_status_with_markup_is_escaped_and_the_page_forbids_scripts(
    settings: Settings, store: FeatureStore
) -> None:
    hostile = '"><script>alert(1)</script>'
    scores = [{"feature": "lag_1", "distance": 0.9, "warn": 0.2, "fail": 0.4, "status": hostile}]
    store.record_drift(FEATURE_SET, 1, "scheduled__2024-03-09", date(2024, 3, 9), "m/3", scores)

    response = client_for(settings, None).get("/", params={"dataset": DATASET})

    assert response.status_code == 200
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_the_control_room_serves_no_docs_pages(settings: Settings) -> None:
    client = client_for(settings, None)

    assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [404, 404, 404]


def record_realized(store: FeatureStore, run: str, version: str, day: date, values: list[float]) -> None:
    """A realized record of ``run`` whose horizons 1 and 2 scored ``values`` (wape), expected 0.4."""
    import json
    from datetime import datetime

    from fti.store.realized import RealizedRecord

    document = {
        "overall": {"wape": sum(values) / 2, "nominal_coverage": 0.8},
        "baselines": {"zero": {"wape": 1.0}},
        "slices": {"horizon": [{"slice": str(h + 1), "rows": 10, "wape": v} for h, v in enumerate(values)]},
    }
    store.record_realized(
        RealizedRecord(
            dataset=DATASET, run=run, model_name=f"fti-{DATASET}-sandbox", model_version=version,
            feature_partition=day, first_period=datetime.combine(day, datetime.min.time()), horizon=7,
            periods=2, row_count=20, last_actual=day.isoformat(), metric="wape", value=sum(values) / 2,
            expected=0.4, best_baseline="zero", best_baseline_value=1.0, coverage=0.65,
            document_json=json.dumps(document), computed_at=datetime(2024, 3, 20),
        )
    )  # fmt: skip


def test_realized_accuracy_shows_realized_against_expected_error_per_horizon_with_the_verdict(
    settings: Settings, store: FeatureStore
) -> None:
    from fti.monitoring.decay import DecayStatus, DecayVerdict

    record_realized(store, "20240308-v2-aaaa", "2", date(2024, 3, 8), [0.38, 0.42])
    record_realized(store, "20240309-v3-<b>", "3", date(2024, 3, 9), [0.5, 0.9])
    reason = "champion v3: realized wape 0.7000 over its last 1 scored runs is 1.75x its held-out 0.4000"
    store.record_verdict(
        DecayVerdict(DATASET, "3", DecayStatus.FAIL, 1.75, 0.7, 0.4, ("20240309-v3-<b>",), reason)
    )

    client = client_for(settings, None)
    realized = section(client.get("/", params={"dataset": DATASET}).text, "realized")
    summary = client.get("/api/summary", params={"dataset": DATASET}).json()["realized"]

    assert realized.count("<svg") == 3, "all horizons, horizon 1, horizon 2"
    assert 'data-feature="wape, horizon 2"' in realized and realized.count("<circle") == 6
    assert 'data-value="0.5"' in realized and 'data-value="0.6"' in realized  # 0.4 x 1.25 and x 1.5
    assert '<span class="fail">fail</span>' in realized and "1.75x its held-out 0.4000" in realized
    assert "20240309-v3-&lt;b&gt; · model v3" in realized and "<b>" not in realized.split("</svg>")[-1]
    assert "v2" in realized and "65.0%" in realized and "80%" in realized
    assert summary["available"] and [r["run"] for r in summary["data"]["rows"]] == [
        "20240309-v3-<b>",
        "20240308-v2-aaaa",
    ]


def test_without_scored_runs_the_realized_section_says_so(settings: Settings, store: FeatureStore) -> None:
    html = client_for(settings, None).get("/", params={"dataset": DATASET}).text

    assert "no published run of &#x27;online_retail&#x27; has landed actuals yet" in section(html, "realized")
