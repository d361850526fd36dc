"""The control room's pure parts: view models, the drift SVG, the page's HTML and JSON, the link URLs."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fti.store.history import ValidationRecord
from fti.ui import links
from fti.ui.page import render_page
from fti.ui.svg import Frame, drift_chart, x_positions, y_limit
from fti.ui.views import (
    ChampionRecord,
    ControlRoom,
    DriftSeries,
    Unavailable,
    champion_view,
    drift_series,
    live_view,
    to_json,
    validation_rows,
)

T0 = datetime(2024, 3, 1, 4, 0)
EVIL = '<script>alert("x")</script>'


def validation(run_id: str, hours: int, success: bool, **summary: object) -> ValidationRecord:
    return ValidationRecord(
        id=f"id-{hours}",
        feature_set="online_retail",
        run_id=run_id,
        start=date(2024, 3, 1),
        end=date(2024, 3, 3),
        success=success,
        summary=dict(summary),
        uri=f"/store/_validation/{hours}.json",
        created_at=T0 + timedelta(hours=hours),
    )


def drift_row(
    run_id: str, day: int, feature: str, distance: float, status: str = "ok", **limits: float
) -> dict:
    return {
        "run_id": run_id,
        "feature_day": date(2024, 3, day),
        "model": "fti-online_retail-sandbox/3",
        "version": 1,
        "feature": feature,
        "distance": distance,
        "warn": limits.get("warn", 0.2),
        "fail": limits.get("fail", 0.4),
        "status": status,
        "created_at": T0 + timedelta(days=day),
    }


DRIFT_ROWS = [
    drift_row("run-1", 1, "lag_1", 0.05),
    drift_row("run-1", 1, "rolling_mean_7", 0.10),
    drift_row("run-2", 2, "lag_1", 0.25, "warn"),
    drift_row("run-2", 2, "rolling_mean_7", 0.12),
    drift_row(EVIL, 3, "lag_1", 0.45, "fail", warn=0.3, fail=0.5),
    drift_row(EVIL, 3, "rolling_mean_7", 0.11),
]

ANALYSIS = {
    "beats_baselines": True,
    "overall": {"wape": 0.4, "mae": 1.2, "rmse": 2.5, "bias": -0.1},
    "baselines": {
        "seasonal_naive": {"wape": 0.55, "mae": 1.6, "rmse": 3.0, "bias": 0.0},
        "moving_average": {"wape": 0.5, "mae": 1.5, "rmse": 2.9, "bias": 0.2},
    },
    "slices": {
        "country": [
            {"slice": "United Kingdom", "rows": 900, "share": 0.8, "wape": 0.38, "mae": 1.1, "bias": 0.0},
            {"slice": "Germany", "rows": 150, "share": 0.1, "wape": 0.9, "mae": 2.0, "flagged": True},
            {"slice": "(other)", "rows": 50, "share": 0.1, "wape": None, "mae": None, "bias": None},
        ],
        "volume_band": [{"slice": "low", "rows": 400, "share": 0.2, "wape": 0.6, "flagged": False}],
        "horizon": [{"slice": "1", "rows": 100, "wape": 0.3}],
    },
}


def champion(analysis: dict | Unavailable = ANALYSIS) -> ChampionRecord:
    return ChampionRecord(
        "fti-online_retail-sandbox",
        "3",
        "abc123",
        "http://mlflow/#/runs/abc123",
        "http://mlflow/#/models/3",
        analysis,
    )


def room(**sections: Any) -> ControlRoom:
    defaults: dict[str, Any] = {
        "validations": validation_rows(
            [validation("manual__1", 1, True, evaluated=12, failed=0, failing=[])], "online_retail"
        ),
        "drift": drift_series(DRIFT_ROWS, "online_retail"),
        "champion": champion_view(champion()),
        "live": live_view({"run": "20240310-v3-aa", "model_version": "3", "predictions": "140"}),
    }
    defaults |= {
        "dataset": "online_retail",
        "datasets": ["car_parks", "online_retail", "store_sales"],
        "model_name": "fti-online_retail-sandbox",
        "generated_at": datetime(2024, 3, 10, tzinfo=UTC),
    }
    return ControlRoom(**{**defaults, **sections})


def section(html: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert found, f"no section {anchor}"
    return found.group(1)


# --- view models ---------------------------------------------------------------------------------


def test_validation_rows_are_newest_first_with_result_days_and_failing_names() -> None:
    rows = validation_rows(
        [
            validation("manual__a", 1, True, evaluated=12, failed=0),
            validation(
                "manual__b",
                5,
                False,
                evaluated_expectations=12,
                unsuccessful_expectations=2,
                failing=["expect_column_values_to_be_between"],
            ),
        ],
        "retail_demand",
    )

    assert not isinstance(rows, Unavailable)
    assert [r.run_id for r in rows] == ["manual__b", "manual__a"]
    assert (rows[0].result, rows[0].days, rows[0].evaluated, rows[0].failed) == ("failed", 3, 12, 2)
    assert rows[0].failing == ["expect_column_values_to_be_between"]
    assert rows[1].result == "passed"


def test_no_validation_recorded_is_a_sentence_not_an_empty_table() -> None:
    assert validation_rows([], "retail_demand") == Unavailable(
        "no validation recorded yet for feature set 'retail_demand'"
    )


def test_drift_series_groups_by_feature_in_time_order_with_the_newest_thresholds() -> None:
    series = drift_series(list(reversed(DRIFT_ROWS)), "retail_demand")

    assert not isinstance(series, Unavailable)
    by_feature = {s.feature: s for s in series}
    assert set(by_feature) == {"lag_1", "rolling_mean_7"}
    lag = by_feature["lag_1"]
    assert [p.run_id for p in lag.points] == ["run-1", "run-2", EVIL]
    assert [p.distance for p in lag.points] == [0.05, 0.25, 0.45]
    assert (lag.warn, lag.fail, lag.latest.status) == (0.3, 0.5, "fail")


def test_no_drift_recorded_names_the_pipeline_that_records_it() -> None:
    missing = drift_series([], "online_retail")
    assert isinstance(missing, Unavailable) and "batch_inference" in missing.reason


def test_champion_view_puts_the_model_before_the_baselines_and_keeps_every_slicing_but_the_horizon() -> None:
    view = champion_view(champion())

    assert not isinstance(view, Unavailable) and not isinstance(view.metrics, Unavailable)
    assert [(m.label, m.is_model, m.wape) for m in view.metrics] == [
        ("champion", True, 0.4),
        ("seasonal_naive", False, 0.55),
        ("moving_average", False, 0.5),
    ]
    assert list(view.slices) == ["country", "volume_band"]
    germany = view.slices["country"][1]
    assert germany.flagged and germany.wape_vs_overall == pytest.approx(2.25)
    other = view.slices["country"][2]
    assert (other.wape, other.wape_vs_overall) == (None, None)
    assert view.beats_baselines is True


def test_champion_view_carries_mape_bias_share_and_the_interval_metrics_to_the_page() -> None:
    overall = {**ANALYSIS["overall"], "mape": 0.37, "bias_pct": -0.021, "mase": 0.8125}  # type: ignore[dict-item]
    baselines = {"zero": {"wape": 1.0, "mape": None, "bias": -4.1, "bias_pct": -1.0, "mase": 1.25}}
    intervals = {"coverage_p10_p90": 0.784, "nominal_coverage": 0.8, "pinball_p10": 0.5, "pinball_p90": 0.7,
                 "share_below_p10": 0.007, "share_above_p90": 0.209}  # fmt: skip
    record = champion(
        {**ANALYSIS, "overall": overall, "baselines": baselines, "intervals": intervals,
         "metrics": {"mase_season": 7.0}}
    )  # fmt: skip

    view = champion_view(record)

    assert not isinstance(view, Unavailable) and not isinstance(view.metrics, Unavailable)
    assert [(m.label, m.mape, m.bias_pct, m.mase) for m in view.metrics] == [
        ("champion", 0.37, -0.021, 0.8125),
        ("zero", None, -1.0, 1.25),
    ]
    assert view.intervals == intervals
    html = section(render_page(room(champion=view)), "champion")
    assert "MAPE" in html and "bias % of demand" in html and "-2.1%" in html
    assert "MASE (season 7)" in html and "0.8125" in html and view.mase_season == 7
    assert "interval P10–P90 covers <b>" in html and "78.4%" in html and "(nominal" in html and "80%" in html
    assert "pinball loss P10" in html
    assert 'actuals below P10 <span class="num">0.7%</span>, above P90 <span class="num">20.9%</span>' in html


def test_champion_view_shows_the_slicings_of_any_data_set_or_the_ones_asked_for() -> None:
    tables = {
        "store": [{"slice": "s1", "rows": 10, "wape": 0.2}],
        "store_type": [{"slice": "big", "rows": 10, "wape": 0.3}],
        "volume_band": [{"slice": "top", "rows": 5, "wape": 0.1}],
        "horizon": [{"slice": "1", "rows": 10, "wape": 0.2}],
        "empty": [],
    }
    record = champion({**ANALYSIS, "slices": tables})

    every = champion_view(record)
    asked = champion_view(record, ["horizon", "store"])

    assert not isinstance(every, Unavailable) and not isinstance(asked, Unavailable)
    assert list(every.slices) == ["store", "store_type", "volume_band"]
    assert list(asked.slices) == ["horizon", "store"]


def test_champion_without_analysis_keeps_its_version_and_says_why_metrics_are_missing() -> None:
    view = champion_view(champion(Unavailable("run abc123 has no readable analysis/analysis.json")))

    assert not isinstance(view, Unavailable)
    assert (view.version, view.beats_baselines, view.slices) == ("3", None, {})
    assert view.metrics == Unavailable("run abc123 has no readable analysis/analysis.json")


def test_live_view_lists_the_important_fields_first_and_nothing_live_is_a_sentence() -> None:
    view = live_view(
        {
            "zeta": "z",
            "predictions": "140",
            "run": "r1",
            "model_version": "3",
            "grain": "hour",
            "first_period": "2016-12-20T08:00",
            "horizon": "9",
            "dataset": "car_parks",
        }
    )

    assert not isinstance(view, Unavailable)
    assert view.run == "r1"
    assert view.fields == [
        ("dataset", "car_parks"),
        ("model_version", "3"),
        ("first_period", "2016-12-20T08:00"),
        ("horizon", "9"),
        ("grain", "hour"),
        ("predictions", "140"),
        ("zeta", "z"),
    ]
    assert live_view(None) == Unavailable("nothing is live in Redis yet (batch_inference publishes a run)")


# --- SVG -----------------------------------------------------------------------------------------


def series(distances: list[float], warn: float = 0.2, fail: float = 0.4, run_id: str = "run") -> DriftSeries:
    found = drift_series(
        [
            drift_row(f"{run_id}-{i}", i + 1, "lag_1", d, warn=warn, fail=fail)
            for i, d in enumerate(distances)
        ],
        "fs",
    )
    assert not isinstance(found, Unavailable)
    return found[0]


def test_chart_draws_one_polyline_through_every_run_and_a_dot_per_run() -> None:
    svg = drift_chart(series([0.1, 0.3, 0.2]))

    assert svg.count("<polyline") == 1
    points = re.search(r'<polyline[^>]* points="([^"]+)"', svg)
    assert points and len(points.group(1).split()) == 3
    assert svg.count("<circle") == 3


def test_chart_draws_warn_and_fail_threshold_lines_at_their_height() -> None:
    frame = Frame()
    svg = drift_chart(series([0.1, 0.15], warn=0.2, fail=0.4), frame)
    top = y_limit(series([0.1, 0.15], warn=0.2, fail=0.4))

    lines = dict(re.findall(r'class="threshold threshold-(\w+)"[^>]* y1="([\d.]+)"', svg))
    assert set(lines) == {"warn", "fail"}
    expected_fail = frame.top + frame.plot_height * (1 - 0.4 / top)
    assert float(lines["fail"]) == pytest.approx(expected_fail, abs=0.1)
    assert float(lines["warn"]) > float(lines["fail"])  # lower threshold, lower on the chart (larger y)
    assert 'data-value="0.4"' in svg and "fail 0.4" in svg


def test_y_axis_leaves_room_above_the_fail_line_and_the_largest_distance_but_stops_at_1() -> None:
    assert y_limit(series([0.1], fail=0.4)) == pytest.approx(0.48)
    assert y_limit(series([0.7], fail=0.4)) == pytest.approx(0.77)
    assert y_limit(series([0.99], fail=0.95)) == 1.0


def test_x_positions_follow_the_run_times_to_scale_and_a_single_run_is_centred() -> None:
    frame = Frame()
    xs = x_positions([T0, T0 + timedelta(hours=1), T0 + timedelta(hours=4)], frame)
    assert xs[0] == frame.left and xs[2] == frame.left + frame.plot_width
    assert xs[1] == pytest.approx(frame.left + frame.plot_width / 4)
    assert x_positions([T0], frame) == [frame.left + frame.plot_width / 2]


def test_run_ids_and_feature_names_are_escaped_in_the_svg() -> None:
    svg = drift_chart(series([0.1, 0.2], run_id=EVIL))

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg


# --- page and JSON -------------------------------------------------------------------------------


def test_page_has_the_four_sections_with_their_content() -> None:
    html = render_page(room())

    assert "manual__1" in section(html, "validations") and "passed" in section(html, "validations")
    assert section(html, "drift").count("<polyline") == 2  # one per feature
    champion_html = section(html, "champion")
    assert 'href="http://mlflow/#/runs/abc123"' in champion_html and "seasonal_naive" in champion_html
    assert "United Kingdom" in champion_html and "horizon" not in champion_html
    assert "20240310-v3-aa" in section(html, "live")


def test_the_page_names_its_data_set_and_links_to_the_others() -> None:
    html = render_page(room())

    assert "<title>FTI control room: online_retail / fti-online_retail-sandbox</title>" in html
    picker = re.search(r'<p class="meta datasets">(.*?)</p>', html)
    assert picker and picker.group(1) == (
        'data set: <a href="?dataset=car_parks">car_parks</a> <b>online_retail</b> '
        '<a href="?dataset=store_sales">store_sales</a>'
    )
    assert '<a href="api/summary?dataset=online_retail">JSON</a>' in html


def test_data_set_names_are_escaped_and_quoted_in_the_picker() -> None:
    html = render_page(room(datasets=["online_retail", 'a"b <c>']))

    assert '<a href="?dataset=a%22b%20%3Cc%3E">a&quot;b &lt;c&gt;</a>' in html


def test_each_missing_section_shows_its_reason() -> None:
    html = render_page(
        room(
            validations=Unavailable("no validation recorded yet for feature set 'online_retail'"),
            drift=Unavailable("no drift scores recorded yet"),
            champion=Unavailable("no champion yet"),
            live=Unavailable("Redis unreachable: Connection refused"),
        )
    )

    assert "no validation recorded yet for feature set &#x27;online_retail&#x27;" in section(
        html, "validations"
    )
    assert "no drift scores recorded yet" in section(html, "drift")
    assert "no champion yet" in section(html, "champion")
    assert "Redis unreachable: Connection refused" in section(html, "live")


def test_html_in_run_ids_is_escaped_everywhere_on_the_page() -> None:
    html = render_page(
        room(
            validations=validation_rows([validation(EVIL, 1, False, failing=[EVIL])], "fs"),
            live=live_view({"run": EVIL, "airflow_run_id": EVIL}),
        )
    )

    assert "<script>" not in html
    assert "&lt;script&gt;" in section(html, "validations") and "&lt;script&gt;" in section(html, "live")


def test_summary_json_marks_each_section_available_or_not_and_has_no_nan() -> None:
    analysis = {**ANALYSIS, "overall": {"wape": math.nan, "mae": 1.0}}
    data = to_json(room(champion=champion_view(champion(analysis)), live=Unavailable("Redis unreachable: x")))

    text = json.dumps(data, allow_nan=False)  # raises on NaN
    assert data["validations"]["available"] is True
    assert data["validations"]["data"][0]["result"] == "passed"
    assert data["live"] == {"available": False, "reason": "Redis unreachable: x"}
    assert data["champion"]["data"]["metrics"][0]["wape"] is None
    assert data["drift"]["data"][0]["points"][0]["at"] == (T0 + timedelta(days=1)).isoformat()
    assert "generated_at" in text
    assert (data["dataset"], data["datasets"]) == (
        "online_retail",
        ["car_parks", "online_retail", "store_sales"],
    )
    assert data["model_name"] == "fti-online_retail-sandbox"


# --- task buttons --------------------------------------------------------------------------------

RUN_URL = "http://mlflow/#/experiments/1/runs/abc"
VERSION_URL = "http://mlflow/#/models/m/versions/3"
#: What train_and_register returns (a TrainedModel): the validation id is in its lineage.
TRAINED = {
    "version": "3",
    "links": {"run": RUN_URL, "model_version": VERSION_URL},
    "lineage": {"validation_id": "v123"},
}
CHECKED = {"validation_id": "ab/c"}  # what validate_raw returns (a RawCheck), in part
TRAIN = "training_pipeline__online_retail"
FEATURES = "feature_pipeline__car_parks"
INFERENCE = "batch_inference__store_sales"


@pytest.mark.parametrize(
    ("name", "dag_id", "task_id", "value", "url"),
    [
        (links.MLFLOW_RUN, TRAIN, "train_and_register", TRAINED, RUN_URL),
        (links.MLFLOW_MODEL_VERSION, TRAIN, "train_and_register", TRAINED, VERSION_URL),
        (links.VALIDATION_DOCUMENT, FEATURES, "validate_raw", CHECKED, "/fti/validations/ab%2Fc"),
        (links.VALIDATION_DOCUMENT, TRAIN, "train_and_register", TRAINED, "/fti/validations/v123"),
        (links.VALIDATION_DOCUMENT, TRAIN, "train_and_register", {"lineage": {"validation_id": "none"}},
         "/fti/?dataset=online_retail#validations"),
        (links.VALIDATION_DOCUMENT, FEATURES, "validate_raw", None, "/fti/?dataset=car_parks#validations"),
        (links.DRIFT_REPORT, INFERENCE, "check_inputs", None, "/fti/?dataset=store_sales#drift"),
        (links.DRIFT_REPORT, INFERENCE, "publish", None, "/fti/?dataset=store_sales#drift"),
        (links.MLFLOW_RUN, TRAIN, "train_and_register", None, ""),
    ],
)  # fmt: skip
def test_link_url_of_each_button(name: str, dag_id: str, task_id: str, value: object, url: str) -> None:
    assert links.applies(name, dag_id, task_id)
    assert links.link_url(name, value, "", links.split_dag_id(dag_id)[1]) == url


def test_a_generated_dag_id_splits_into_pipeline_and_data_set() -> None:
    assert links.split_dag_id("training_pipeline__online_retail") == ("training_pipeline", "online_retail")
    assert links.split_dag_id("training_pipeline__car__parks") == ("training_pipeline", "car__parks")
    assert links.split_dag_id("training_pipeline") == ("training_pipeline", "")


def test_buttons_apply_only_to_their_tasks() -> None:
    assert not links.applies(links.MLFLOW_RUN, TRAIN, "promote")
    assert not links.applies(
        links.DRIFT_REPORT, "training_pipeline__online_retail", "check_inputs"
    )  # other DAG
    assert not links.applies(links.VALIDATION_DOCUMENT, INFERENCE, "validate_raw")
    assert not links.applies(links.MLFLOW_RUN, "my_own_dag__online_retail", "train_and_register")
    assert not links.needs_return_value(links.DRIFT_REPORT)


def test_links_into_the_control_room_follow_the_api_base_url_and_quote_the_data_set() -> None:
    assert links.link_url(links.DRIFT_REPORT, None, "https://airflow.example/base/") == (
        "https://airflow.example/base/fti/#drift"
    )
    assert links.link_url(links.DRIFT_REPORT, None, "https://airflow.example/base", "a b") == (
        "https://airflow.example/base/fti/?dataset=a%20b#drift"
    )
