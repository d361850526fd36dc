"""The control room's additions of issue 13: the champion's training (duration, split drift, zero
forecasts), one entity's live quantiles, the rendered validation document, a run's drift report page
and the labelled live metadata (pure functions and their HTML)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fti.ui import links
from fti.ui.drift_page import render_run_drift, run_drift, verdict_line
from fti.ui.live_table import label, render_live_fields
from fti.ui.page import render_page
from fti.ui.quantiles_view import EntityForecast, forecast_rows, render_forecast
from fti.ui.training_view import render_training, split_drift_rows, training_view, zero_slices
from fti.ui.validation_page import observed_value, render_validation, suite_results
from fti.ui.views import ChampionRecord, ControlRoom, Unavailable, live_view, to_json

EVIL = '<script>alert("x")</script>'
T0 = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)

# Slice rows as analysis.json stores them: bias = mean(predicted - actual), so bias == -actual_sum/rows
# (and == -mae) when every forecast of the slice is 0.
SLICES = {
    "country": [
        {
            "slice": "UK",
            "rows": 400,
            "actual_sum": 2000.0,
            "wape": 0.5,
            "mae": 2.5,
            "bias": -0.4,
            "share": 0.8,
        },
        {
            "slice": "EIRE",
            "rows": 100,
            "actual_sum": 250.0,
            "wape": 1.0,
            "mae": 2.5,
            "bias": -2.5,
            "share": 0.1,
        },
    ],
    "volume_band": [
        {
            "slice": "none",
            "rows": 300,
            "actual_sum": 0.0,
            "wape": None,
            "mae": 0.0,
            "bias": 0.0,
            "share": 0.0,
        },
        {
            "slice": "low",
            "rows": 200,
            "actual_sum": 50.0,
            "wape": 0.9,
            "mae": 0.3,
            "bias": 0.05,
            "share": 0.02,
        },
    ],
}
SPLIT_DRIFT = [
    {"feature": "lag_1", "pair": "train~validation", "distance": 0.05},
    {"feature": "lag_1", "pair": "train~test", "distance": 0.31},
    {"feature": "lag_1", "pair": "validation~test", "distance": 0.25},
    {"feature": "price", "pair": "train~validation", "distance": 1.0},
    {"feature": "price", "pair": "train~test", "distance": 0.1},
    {"feature": "month", "pair": "train~test", "distance": None},
]


def champion(**changes: Any) -> ChampionRecord:
    fields: dict[str, Any] = {
        "name": "fti-online_retail-sandbox",
        "version": "2",
        "run_id": "abc",
        "run_url": "http://mlflow/run",
        "model_url": "http://mlflow/model",
        "analysis": {"slices": SLICES, "split_drift": SPLIT_DRIFT},
        "run_started": T0,
        "run_ended": T0 + timedelta(seconds=0.6),
        "run_metrics": {"training_s": 612.4, "split_drift_max": 1.0, "split_drift_flagged": 3.0},
    }
    return ChampionRecord(**{**fields, **changes})


def test_split_drift_keeps_each_features_largest_distance_and_counts_its_pairs_above_the_threshold() -> None:
    rows = split_drift_rows(SPLIT_DRIFT, 0.2)

    assert [(r.feature, r.distance, r.pair, r.flagged_pairs) for r in rows] == [
        ("price", 1.0, "train~validation", 1),
        ("lag_1", 0.31, "train~test", 2),
    ]  # month's distance is null (no rows): left out


def test_zero_slices_are_those_whose_mean_forecast_is_zero_with_the_demand_they_had() -> None:
    found = zero_slices(SLICES)

    # EIRE had 2.5 units per row and got 0, the "none" band had no demand and got 0; UK and "low" get more
    assert [(z.dimension, z.slice, z.rows, z.actual_mean) for z in found] == [
        ("country", "EIRE", 100, 2.5),
        ("volume_band", "none", 300, 0.0),
    ]
    assert zero_slices({"country": [{**SLICES["country"][1], "bias": -2.4}]}) == []


def test_training_view_shows_the_logged_training_seconds_next_to_the_runs_logging_time() -> None:
    view = training_view(champion(), threshold=0.2)

    assert not isinstance(view, Unavailable)
    assert view.training_s == 612.4 and view.run_open_s == 0.6
    assert (view.drift_flagged, view.drift_max, view.drift_threshold, view.threshold_logged) == (
        3,
        1.0,
        0.2,
        False,
    )
    html = render_training(view)
    assert 'trained in <b><span class="num">612.4</span> s</b> (10.2 min)' in html
    assert 'open <span class="num">0.6</span> s' in html
    assert "Slices where the champion predicts zero: 2" in html and "EIRE" in html
    assert 'class="split-drift"' in html and "train~validation" in html


def test_training_view_prefers_the_threshold_the_run_logged_and_says_when_no_time_was_logged() -> None:
    view = training_view(champion(run_metrics={"split_drift_threshold": 0.5}), threshold=0.2)

    assert not isinstance(view, Unavailable)
    assert (view.drift_threshold, view.threshold_logged, view.training_s) == (0.5, True, None)
    assert [r.flagged_pairs for r in view.drift] == [1, 0]
    assert "no training time was logged" in render_training(view)
    assert training_view(Unavailable("no champion yet"), 0.2) == Unavailable("no champion yet")


def test_forecast_rows_follow_the_horizon_and_leave_gaps_for_periods_without_a_prediction() -> None:
    found = {"2011-12-10": (3.0, {"p10": 1.0, "p50": 2.5, "p90": 6.0})}
    rows = forecast_rows(["2011-12-10", "2011-12-11"], found, ("p10", "p50", "p90"))

    assert [(r.period, r.point, r.quantiles) for r in rows] == [
        ("2011-12-10", 3.0, (1.0, 2.5, 6.0)),
        ("2011-12-11", None, (None, None, None)),
    ]


def test_the_entity_picker_is_a_form_and_the_table_has_a_column_per_quantile_then_the_point() -> None:
    rows = forecast_rows(
        ["2011-12-10"], {"2011-12-10": (3.0, {"p10": 1.0, "p50": 2.5, "p90": 6.0})}, ["p10", "p50", "p90"]
    )
    html = render_forecast(
        "online_retail", "UK|1", EntityForecast("UK|1", "r1", "2", ("p10", "p50", "p90"), rows)
    )

    assert '<form method="get"' in html and 'name="entity" value="UK|1"' in html
    assert '<input type="hidden" name="dataset" value="online_retail">' in html
    header = re.search(r"<thead>(.*?)</thead>", html)
    assert header and re.findall(r"<th>(.*?)</th>", header.group(1)) == [
        "period",
        "P10",
        "P50",
        "P90",
        "point forecast",
    ]
    assert "type an entity key" in render_forecast("online_retail", "", None)
    missing = render_forecast("online_retail", EVIL, Unavailable(f"entity {EVIL} is not in live run r1"))
    assert EVIL not in missing and "is not in live run r1" in missing


GX_RESULT = {
    "success": False,
    "statistics": {"evaluated_expectations": 3, "unsuccessful_expectations": 1},
    "results": [
        {
            "success": True,
            "expectation_config": {
                "type": "expect_table_columns_to_match_set",
                "kwargs": {
                    "batch_id": "fti-raw store_sales 2022-01-03..2024-12-23",
                    "column_set": ["a", "b"],
                },
            },
            "result": {"observed_value": ["a", "b"]},
        },
        {
            "success": False,
            "expectation_config": {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"batch_id": "x", "column": "units", "min_value": 0, "max_value": None},
            },
            "result": {"element_count": 500, "unexpected_count": 2, "partial_unexpected_list": [-1, -3]},
        },
        {
            "success": True,
            "expectation_config": {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": EVIL}},
            "result": {"observed_value": "int64"},
        },
    ],
}


def test_a_validation_document_becomes_one_row_per_expectation_failed_first() -> None:
    (suite,) = suite_results({"spec": {"name": "store_sales"}, "suites": [{}], "results": [GX_RESULT]})

    assert (suite.name, suite.success, suite.evaluated, suite.failed) == (
        "raw store_sales 2022-01-03..2024-12-23", False, 3, 1,
    )  # fmt: skip
    assert [(r.expectation, r.column, r.success) for r in suite.rows] == [
        ("expect_column_values_to_be_between", "units", False),
        ("expect_table_columns_to_match_set", "a, b", True),
        ("expect_column_values_to_be_of_type", EVIL, True),
    ]
    assert (
        suite.rows[0].observed == "2 unexpected of 500 (e.g. [-1, -3])"
        and suite.rows[0].expected == "min_value=0"
    )
    assert suite_results(GX_RESULT)[0].rows == suite.rows  # a bare GX result reads the same


def test_the_validation_page_is_a_table_with_expectation_column_success_and_observed_value() -> None:
    html = render_validation("v1", {"spec": {"name": "store_sales"}, "results": [GX_RESULT, GX_RESULT]})

    assert html.count('<table class="expectations">') == 2
    assert "<th>expectation</th><th>column</th><th>success</th><th>observed value</th>" in html
    assert '<a href="../api/validations/v1">raw JSON</a>' in html
    assert EVIL not in html and "&lt;script&gt;" in html
    assert observed_value({}) == "–"


def drift_row(run: str, feature: str, distance: float, status: str) -> dict[str, Any]:
    return {"run_id": run, "feature_day": "2011-12-09", "model": "m/2", "feature": feature,
            "distance": distance, "warn": 0.2, "fail": 0.4, "status": status}  # fmt: skip


def test_a_runs_drift_report_has_only_its_own_scores_worst_first_and_its_verdict() -> None:
    rows = [drift_row("r1", "lag_1", 0.1, "ok"), drift_row("r2", "lag_1", 0.5, "fail"),
            drift_row("r1", "lag_28", 0.25, "warn"), drift_row("r1", "price", 0.15, "ok")]  # fmt: skip

    report = run_drift(rows, "r1", "online_retail")

    assert not isinstance(report, Unavailable)
    assert report.verdict == "warn" and [f.feature for f in report.features] == ["lag_28", "price", "lag_1"]
    assert verdict_line(report) == "drift warn: 3 features, max lag_28 0.250 > warn 0.2"
    html = render_run_drift("online_retail", "r1", report)
    assert '<table class="run-drift">' in html and html.count("<tr>") == 4
    assert '<a href="../?dataset=online_retail#drift">' in html


def test_a_run_without_drift_scores_says_why_and_ok_runs_say_below_warn() -> None:
    none = run_drift([drift_row("r1", "lag_1", 0.1, "ok")], EVIL, "online_retail")

    assert isinstance(none, Unavailable) and "no drift scores recorded for run" in none.reason
    assert EVIL not in render_run_drift("online_retail", EVIL, none)
    ok = run_drift([drift_row("r1", "lag_1", 0.1, "ok")], "r1", "online_retail")
    assert (
        not isinstance(ok, Unavailable)
        and verdict_line(ok) == "drift ok: 1 features, max lag_1 0.100 < warn 0.2"
    )


def test_live_metadata_is_labelled_for_people_with_the_field_name_as_tooltip() -> None:
    html = render_live_fields([("model_version", "3"), ("drift_max_distance", "0.13"), ("new_field", EVIL)])

    assert '<span title="model_version">Model version</span>' in html
    assert "Its drift distance (Jensen-Shannon)" in html
    assert '<span title="new_field">New field</span>' in html and EVIL not in html
    assert label("published_at") == "Went live (UTC)"


def test_the_drift_report_button_opens_the_page_of_the_tasks_own_run() -> None:
    url = links.link_url(
        links.DRIFT_REPORT,
        None,
        "http://airflow.example/",
        "store_sales",
        "manual__2026-12-01T23:10:03+00:00",
    )

    assert (
        url
        == "http://airflow.example/fti/drift/manual__2026-12-01T23%3A10%3A03%2B00%3A00?dataset=store_sales"
    )


def test_the_page_has_the_training_and_entity_sections_and_links_each_runs_drift_report() -> None:
    from fti.ui.views import drift_series

    room = ControlRoom(
        dataset="online_retail",
        datasets=["online_retail"],
        model_name="fti-online_retail-sandbox",
        generated_at=T0,
        validations=Unavailable("none"),
        drift=drift_series([{**drift_row("r+1", "lag_1", 0.1, "ok"), "created_at": T0}], "online_retail"),
        champion=Unavailable("no champion yet"),
        live=live_view({"run": "r1", "model_version": "3"}),
        training=training_view(champion(), 0.2),
        entity="UK|1",
        forecast=Unavailable("entity 'UK|1' is not in live run r1"),
    )

    html = render_page(room)

    for section in ("training", "quantiles", "live"):
        assert f'<section id="{section}">' in html
    assert '<a href="drift/r%2B1?dataset=online_retail">r+1</a>' in html
    assert '<span title="model_version">Model version</span>' in html
    data = to_json(room)
    assert data["training"]["data"]["training_s"] == 612.4
    assert data["forecast"] == {"available": False, "reason": "entity 'UK|1' is not in live run r1"}
