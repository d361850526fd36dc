"""Tests of the whole model analysis as training records it: metrics, gate, JSON and charts."""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fti.analysis.baselines import baseline_forecasts, baseline_names
from fti.analysis.metrics import METRICS, regression_metrics
from fti.analysis.report import ModelAnalysis, analyse, interval_metrics
from fti.analysis.slices import slice_keys
from fti.features.model_inputs import attach_labels, expand_horizons
from fti.features.schema import bins
from fti.settings import PROJECT_ROOT
from fti.specs import DatasetSpec, load_dataset

ENTITIES = {"UK|1": 20.0, "UK|2": 8.0, "UK|3": 3.0, "FR|1": 6.0}
TEST_START = pd.Timestamp("2024-01-22")
MLFLOW_METRIC_NAME = re.compile(r"^[A-Za-z0-9_./ -]+$")
SPEC = load_dataset(PROJECT_ROOT / "specs", "online_retail")


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    """Noisy daily demand of four online_retail entities in January 2024, its test rows and windows."""
    rng = np.random.default_rng(5)
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(31)]
    records = [
        (entity, *entity.split("|"), day, float(rng.poisson(mean)), mean, mean * 1.1)
        for entity, mean in ENTITIES.items()
        for day in days
    ]
    columns = ["entity", "country", "stock_code", "period", "demand", "rolling_mean_7", "rolling_mean_28"]
    features = pd.DataFrame(records, columns=columns).astype({"period": "datetime64[us]"})
    actuals = features[["entity", "period", "demand"]]
    rows = attach_labels(expand_horizons(features, SPEC), actuals, SPEC)
    test = rows[rows["period"] >= TEST_START]  # filtered index, as split_by_time gives
    return {
        "actuals": actuals,
        "test": test,
        "train": features[features["period"] < pd.Timestamp("2024-01-15")],
        "validation": features[
            (features["period"] >= pd.Timestamp("2024-01-15")) & (features["period"] < TEST_START)
        ],
    }


def _analyse(data: dict[str, pd.DataFrame], predicted: np.ndarray, spec: DatasetSpec = SPEC) -> ModelAnalysis:
    windows = {name: data[name] for name in ("train", "validation", "test")}
    forecasts = baseline_forecasts(data["test"], data["actuals"], spec)
    return analyse(
        data["test"],
        predicted,
        forecasts,
        slice_keys(data["test"], spec, forecasts["moving_average"]),
        {"lag_7": 0.6, "rolling_mean_28": 0.4},
        windows,
        ["demand", "rolling_mean_7"],
        bins(spec),
        min_slice_rows=1,
    )


def test_metrics_are_flat_mlflow_names_with_the_values_of_their_parts(data: dict[str, pd.DataFrame]) -> None:
    test = data["test"]
    predicted = test["label"].to_numpy() + 1.0

    metrics = _analyse(data, predicted).as_metrics()

    prefixes = ("test", *baseline_names(SPEC))
    assert "zero" in prefixes  # a sale that did not happen is 0 units in Online Retail
    assert set(metrics) == {
        *(f"{prefix}_{kind}" for prefix in prefixes for kind in METRICS),
        "test_rows",
        "wape_ratio_to_best_baseline",
        "slices_flagged",
        "split_drift_max",
        "split_drift_flagged",
        *(
            f"h{h}_wape_{who}"
            for h in sorted(test["horizon"].unique())
            for who in ("model", *baseline_names(SPEC))
        ),
    }
    assert all(MLFLOW_METRIC_NAME.match(name) for name in metrics)
    label = test["label"].to_numpy()
    assert metrics["test_bias"] == pytest.approx(1.0)
    assert metrics["test_wape"] == pytest.approx(regression_metrics(label, predicted)["wape"])
    forecasts = baseline_forecasts(test, data["actuals"], SPEC)
    seasonal = regression_metrics(label, forecasts["seasonal_naive"])
    assert metrics["seasonal_naive_wape"] == pytest.approx(seasonal["wape"])
    moving = regression_metrics(label, forecasts["moving_average"])
    assert metrics["moving_average_rmse"] == pytest.approx(moving["rmse"])
    assert metrics["seasonal_naive_wape"] != metrics["moving_average_wape"]
    assert metrics["test_rows"] == len(test)


def test_the_perfect_model_beats_the_baselines_and_a_far_off_one_does_not(
    data: dict[str, pd.DataFrame],
) -> None:
    label = data["test"]["label"].to_numpy()

    assert _analyse(data, label.copy()).beats_baselines()
    assert not _analyse(data, label + 50.0).beats_baselines()


def test_a_country_three_times_worse_is_flagged(data: dict[str, pd.DataFrame]) -> None:
    test = data["test"]
    label = test["label"].to_numpy()
    off = 0.1 * label + np.where(test["country"] == "FR", 1.5 * label, 0.0)

    analysis = _analyse(data, label + off)

    flagged = analysis.flagged_slices
    assert analysis.slices["country"].set_index("slice").loc["FR", "wape"] > 3 * analysis.overall["wape"]
    assert [("country", "FR")] == [
        (d, s) for d, s in zip(flagged["dimension"], flagged["slice"], strict=True) if d == "country"
    ]
    assert analysis.as_metrics()["slices_flagged"] == len(flagged) >= 1


def test_split_drift_covers_every_pair_and_its_maximum_is_reported(data: dict[str, pd.DataFrame]) -> None:
    analysis = _analyse(data, data["test"]["label"].to_numpy())

    assert len(analysis.split_drift) == 2 * 3
    assert analysis.as_metrics()["split_drift_max"] == analysis.split_drift["distance"].max()


def _analysis(model_wape: float, baseline_wapes: dict[str, float]) -> ModelAnalysis:
    """An analysis that only has the numbers the gate reads."""
    return ModelAnalysis(
        overall={"wape": model_wape},
        baselines={name: {"wape": w} for name, w in baseline_wapes.items()},
        slices={},
        flagged_slices=pd.DataFrame(),
        split_drift=pd.DataFrame({"distance": []}),
        flagged_drift=pd.DataFrame(),
    )


@pytest.mark.parametrize(
    ("margin", "beats"), [(0.0, True), (0.05, True), (0.1, False), (0.2, False)]
)  # fmt: skip
def test_beating_the_baselines_means_beating_the_best_one_by_the_margin(margin: float, beats: bool) -> None:
    analysis = _analysis(0.9, {"seasonal_naive": 1.2, "moving_average": 1.0})

    assert analysis.beats_baselines(margin) is beats


def test_a_model_equal_to_the_best_baseline_does_not_beat_it() -> None:
    assert not _analysis(1.0, {"seasonal_naive": 1.0, "moving_average": 2.0}).beats_baselines()


def test_an_undefined_wape_never_beats_the_baselines() -> None:
    assert not _analysis(math.nan, {"seasonal_naive": 1.0}).beats_baselines()
    assert not _analysis(0.5, {"seasonal_naive": math.nan}).beats_baselines()


def test_to_dict_is_strict_json_with_nan_as_null(data: dict[str, pd.DataFrame]) -> None:
    analysis = _analysis(math.nan, {"seasonal_naive": 1.0})
    full = _analyse(data, data["test"]["label"].to_numpy() + 1.0)

    assert analysis.to_dict()["overall"]["wape"] is None
    document = json.loads(json.dumps(full.to_dict(), allow_nan=False))
    assert set(document["slices"]) == {"country", "stock_code", "volume_band", "horizon"}
    assert document["metrics"]["test_bias"] == pytest.approx(1.0)
    assert document["beats_baselines"] is full.beats_baselines()


def test_write_plots_writes_one_png_per_chart(data: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    analysis = _analyse(data, data["test"]["label"].to_numpy() + 1.0)

    paths = analysis.write_plots(tmp_path / "plots")

    assert [p.name for p in paths] == [
        "predicted_vs_actual.png",
        "error_by_country.png",
        "error_by_stock_code.png",
        "error_by_volume_band.png",
        "error_by_horizon.png",
        "feature_importance.png",
    ]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_predictions_that_do_not_fit_the_rows_are_rejected(data: dict[str, pd.DataFrame]) -> None:
    label = data["test"]["label"].to_numpy()

    with pytest.raises(ValueError, match="predictions for"):
        _analyse(data, label[:-1])
    with pytest.raises(ValueError, match="NaN or infinite"):
        _analyse(data, np.where(np.arange(len(label)) == 0, np.nan, label))
    with pytest.raises(KeyError, match="label"):
        analyse(data["test"].drop(columns="label"), label, {}, {}, {}, {}, [], {})


def test_given_the_naive_scale_the_model_and_every_baseline_get_mase(data: dict[str, pd.DataFrame]) -> None:
    test = data["test"]
    label = test["label"].to_numpy()
    predicted = label + 2.0
    forecasts = baseline_forecasts(test, data["actuals"], SPEC)
    windows = {name: data[name] for name in ("train", "validation", "test")}

    found = analyse(
        test, predicted, forecasts, {}, {}, windows, [], bins(SPEC), naive_scale=4.0, naive_season=7
    )
    metrics = found.as_metrics()

    assert metrics["test_mase"] == pytest.approx(0.5)  # MAE 2 over a naive MAE of 4
    assert metrics["mase_season"] == 7.0 and found.to_dict()["metrics"]["mase_season"] == 7.0
    for name, forecast in forecasts.items():
        assert metrics[f"{name}_mase"] == pytest.approx(np.mean(np.abs(forecast - label)) / 4.0)


def test_each_horizon_scores_the_model_and_every_baseline_on_that_horizons_rows(
    data: dict[str, pd.DataFrame],
) -> None:
    test = data["test"]
    predicted = test["label"].to_numpy() * 0.5
    forecasts = baseline_forecasts(test, data["actuals"], SPEC)

    analysis = _analyse(data, predicted)

    metrics, document = analysis.as_metrics(), analysis.to_dict()
    label, horizon = test["label"].to_numpy(), test["horizon"].to_numpy()
    for h in (1, 3):
        rows = horizon == h
        assert metrics[f"h{h}_wape_model"] == pytest.approx(
            regression_metrics(label[rows], predicted[rows])["wape"]
        )
        for name, forecast in forecasts.items():
            expected = regression_metrics(label[rows], forecast[rows])["wape"]
            assert metrics[f"h{h}_wape_{name}"] == pytest.approx(expected), name
    horizon_rows = {row["slice"]: row for row in document["slices"]["horizon"]}
    assert horizon_rows["1"]["wape_zero"] == pytest.approx(1.0)  # forecasting nothing misses all demand
    assert horizon_rows["1"]["wape_model"] == pytest.approx(0.5)
    assert document["metric"] == "wape"


def test_interval_metrics_report_each_sides_miss_next_to_the_coverage() -> None:
    actual = np.array([0.0, 0.0, 0.0, 1.0, 5.0])
    quantiles = np.array([[0.0, 0.0, 2.0]] * 4 + [[1.0, 2.0, 4.0]])

    found = interval_metrics(actual, quantiles, (0.1, 0.5, 0.9))

    assert found["coverage_p10_p90"] == pytest.approx(0.8)
    assert found["share_below_p10"] == 0.0  # nothing is below a P10 of 0
    assert found["share_above_p90"] == pytest.approx(0.2)  # the 5 above its P90 of 4
    assert found["nominal_coverage"] == pytest.approx(0.8)
