"""The control room's new pages and sections on real services: the entity forecast read from a run the
real publisher made live in Redis, and the validation and drift report pages of records written by the
real feature store, served by the control room app."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient

from fti.cache.client import PredictionClient
from fti.cache.predictions import begin_run, go_live, plan_run, write_chunk
from fti.ui import sources
from fti.ui.app import create_app
from fti.ui.views import Unavailable
from tests.integration.conftest import system

pytestmark = pytest.mark.integration

DATASET = "online_retail"
RUN = "manual__2026-12-01T23:10:03.385250+00:00"


def publish_with_quantiles(client: redis.Redis, prefix: str, run: str) -> np.ndarray:
    """A live run of 2 entities x 3 days with the point, P10, P50 and P90 of each; day 2 of UK|2 is NaN."""
    plan = plan_run(run, "2011-12-10", 3, 2, values_per_period=4)
    values = np.array(
        [
            [[5.0, 2.0, 4.5, 9.0], [6.0, 3.0, 5.5, 10.0], [7.0, 4.0, 6.5, 11.0]],
            [[1.0, 0.0, 1.0, 2.0], [np.nan] * 4, [0.0, 0.0, 0.0, 0.5]],
        ]
    )
    meta = {"dataset": DATASET, "grain": "day", "model_version": "2", "quantiles": "p10,p50,p90"}
    begin_run(client, prefix, plan, meta, ttl_s=3600)
    count = write_chunk(client, prefix, plan, "00000", ["UK|1", "UK|2"], values, ttl_s=3600)
    go_live(client, prefix, plan, 1, count, {"drift_status": "ok"}, keep_runs=3, ttl_s=3600)
    return values


def test_an_entitys_forecast_is_what_the_http_services_reader_answers_for_each_period(
    tmp_path: Path, redis_client: redis.Redis, redis_url: str
) -> None:
    settings = system(tmp_path).settings
    prefix = settings.cache_prefix(DATASET)
    values = publish_with_quantiles(redis_client, prefix, "20111209-v2-c0ffee00")

    found = sources.entity_forecast(lambda: redis_url, prefix, "UK|2")

    assert not isinstance(found, Unavailable)
    assert (found.run, found.model_version, found.quantile_names) == (
        "20111209-v2-c0ffee00",
        "2",
        ("p10", "p50", "p90"),
    )
    assert [r.period for r in found.rows] == ["2011-12-10", "2011-12-11", "2011-12-12"]
    assert [(r.point, r.quantiles) for r in found.rows] == [
        (1.0, (0.0, 1.0, 2.0)),
        (None, (None, None, None)),  # NaN published: no prediction
        (0.0, (0.0, 0.0, 0.5)),
    ]
    reader = PredictionClient.from_url(redis_url, prefix)
    first = reader.prediction("UK|1", "2011-12-12")
    shown = sources.entity_forecast(lambda: redis_url, prefix, "UK|1")
    assert not isinstance(shown, Unavailable)
    assert (shown.rows[2].point, shown.rows[2].quantiles) == (first.value, tuple(first.quantiles.values()))
    assert shown.rows[2].point == values[0, 2, 0]


def test_an_unknown_entity_or_nothing_live_is_a_sentence(
    tmp_path: Path, redis_client: redis.Redis, redis_url: str
) -> None:
    prefix = system(tmp_path).settings.cache_prefix(DATASET)
    nothing = sources.entity_forecast(lambda: redis_url, prefix, "UK|1")
    assert nothing == Unavailable("nothing is live in Redis yet (batch_inference publishes a run)")

    publish_with_quantiles(redis_client, prefix, "20111209-v2-feedbeef")
    unknown = sources.entity_forecast(lambda: redis_url, prefix, "FR|9")

    assert (
        isinstance(unknown, Unavailable)
        and "'FR|9'" in unknown.reason
        and "not in live run" in unknown.reason
    )


def test_the_app_serves_a_recorded_validation_as_a_table_and_a_runs_drift_report_as_a_page(
    tmp_path: Path, redis_url: str
) -> None:
    resources = system(tmp_path)
    store = resources.store
    document = {
        "spec": {"name": DATASET},
        "results": [
            {
                "success": False,
                "statistics": {"evaluated_expectations": 1, "unsuccessful_expectations": 1},
                "results": [
                    {
                        "success": False,
                        "expectation_config": {
                            "type": "expect_column_values_to_not_be_null",
                            "kwargs": {"column": "price"},
                        },
                        "result": {"element_count": 10, "unexpected_count": 3},
                    }
                ],
            }
        ],
    }
    validation_id = store.record_validation(
        DATASET, RUN, date(2011, 12, 9), date(2011, 12, 9), False, {}, document
    )
    scores = [
        {"feature": "lag_1", "distance": 0.12, "warn": 0.2, "fail": 0.4, "status": "ok"},
        {"feature": "lag_28", "distance": 0.27, "warn": 0.2, "fail": 0.4, "status": "warn"},
    ]
    store.record_drift(DATASET, 1, RUN, date(2011, 12, 9), "fti-online_retail-sandbox/2", scores)
    store.record_drift(
        DATASET, 1, "other-run", date(2011, 12, 8), "m/1", [{**scores[0], "distance": 0.5, "status": "fail"}]
    )
    client = TestClient(create_app(lambda: resources.settings, lambda: redis_url))

    page = client.get(f"/validations/{validation_id}")
    raw = client.get(f"/api/validations/{validation_id}")
    report = client.get(f"/drift/{quote(RUN, safe='')}", params={"dataset": DATASET})
    absent = client.get("/drift/never-ran", params={"dataset": DATASET})

    assert page.status_code == 200 and '<table class="expectations">' in page.text
    assert "expect_column_values_to_not_be_null" in page.text and "3 unexpected of 10" in page.text
    assert raw.json() == document
    assert (
        report.status_code == 200 and "drift warn: 2 features, max lag_28 0.270 &gt; warn 0.2" in report.text
    )
    assert "other-run" not in report.text and report.text.count("<tr>") == 3
    assert absent.status_code == 404 and "no drift scores recorded for run" in absent.text
    assert client.get("/validations/unknown").status_code == 404
