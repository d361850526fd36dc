"""Tests of the statsforecast baselines: each row's forecast is the library's own forecast of the series
up to the row's feature period, never of anything later."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsforecast.models import ADIDA, TSB, AutoETS, CrostonOptimized

from fti.analysis.baselines import baseline_forecasts, baseline_names, classical_names, history
from fti.analysis.classical import MIN_ETS, classical_forecasts, series
from fti.features.model_inputs import expand_horizons
from fti.specs import DatasetSpec

DAYS = pd.date_range("2024-01-01", periods=60, freq="D").as_unit("us")


def make_spec(absent: str = "zero", baselines: list[str] | None = None, horizon: int = 3) -> DatasetSpec:
    model: dict[str, Any] = {"training_window": 200}
    if baselines is not None:
        model["baselines"] = baselines
    document: dict[str, Any] = {
        "spec_version": 2,
        "name": "shop",
        "source": {"columns": [{"name": "shop", "type": "string"}, {"name": "at", "type": "datetime"},
                               {"name": "qty", "type": "float"}]},
        "entity": {"columns": ["shop"]},
        "time": {"column": "at", "grain": "day"},
        "target": {"name": "units", "column": "qty", "aggregation": "sum", "absent": absent},
        "features": {"lags": [1], "rolling": [{"window": 3, "stats": ["mean"]}]},
        "forecast": {"horizon": horizon},
        "model": model,
    }  # fmt: skip
    return DatasetSpec.model_validate(document)


def _actuals(seed: int = 0) -> pd.DataFrame:
    """Two shops with intermittent daily sales (A: about one day in three; B: most days, weekly shape)."""
    rng = np.random.default_rng(seed)
    a = (rng.random(len(DAYS)) < 0.35) * rng.poisson(6, len(DAYS))
    b = 20 + 8 * np.sin(np.arange(len(DAYS)) * 2 * np.pi / 7) + rng.normal(0, 2, len(DAYS))
    frame = pd.concat(
        [
            pd.DataFrame({"entity": "A", "period": DAYS, "units": a.astype(float)}),
            pd.DataFrame({"entity": "B", "period": DAYS, "units": b}),
        ]
    )
    return frame[frame["units"] != 0].reset_index(drop=True)  # absent rows: days without sales


def _rows(spec: DatasetSpec, *feature_days: str) -> pd.DataFrame:
    features = pd.DataFrame(
        [(e, pd.Timestamp(d)) for d in feature_days for e in ("A", "B")], columns=["entity", "period"]
    ).astype({"period": "datetime64[us]"})
    return expand_horizons(features, spec)


def _dense(actuals: pd.DataFrame, entity: str, last_day: str) -> np.ndarray:
    """The entity's daily units from the first day up to ``last_day``, 0 where no row (absent: zero)."""
    mine = actuals[actuals["entity"] == entity].set_index("period")["units"]
    return mine.reindex(DAYS[DAYS <= pd.Timestamp(last_day)], fill_value=0.0).to_numpy("float64")


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("croston_optimized", CrostonOptimized()),
        ("tsb", TSB(alpha_d=0.1, alpha_p=0.1)),
        ("adida", ADIDA()),
    ],
)
def test_an_intermittent_baseline_is_the_library_forecast_from_the_rows_origin(name: str, model: Any) -> None:
    spec = make_spec(baselines=[name])
    actuals = _actuals()
    rows = _rows(spec, "2024-02-10", "2024-02-14")

    got = baseline_forecasts(rows, actuals, spec)[name]

    for i, row in rows.iterrows():
        y = _dense(actuals, row["entity"], str(row["period"].date()))
        step = (row["target_period"] - row["period"]).days
        assert got[i] == pytest.approx(model.forecast(y=y, h=3)["mean"][step - 1])


def test_autoets_fits_at_the_first_origin_and_updates_its_states_at_later_ones() -> None:
    spec = make_spec(absent="missing", baselines=["autoets"])
    actuals = _actuals()
    rows = _rows(spec, "2024-02-10", "2024-02-14")

    got = baseline_forecasts(rows, actuals, spec)["autoets"]

    b = actuals[actuals["entity"] == "B"].set_index("period")["units"]
    fitted = AutoETS(season_length=7).fit(b[: pd.Timestamp("2024-02-10")].to_numpy("float64"))
    later = fitted.forward(y=b[: pd.Timestamp("2024-02-14")].to_numpy("float64"), h=3)["mean"]
    is_b_later = (rows["entity"] == "B") & (rows["period"] == pd.Timestamp("2024-02-14"))
    np.testing.assert_allclose(got[is_b_later.to_numpy()], later)


def test_no_classical_baseline_reads_after_the_feature_period() -> None:
    spec = make_spec(absent="missing", baselines=["autoets", "croston_optimized", "tsb", "adida"])
    actuals = _actuals()
    rows = _rows(spec, "2024-02-10")
    later = actuals["period"] > pd.Timestamp("2024-02-10")
    changed_future = actuals.assign(units=np.where(later, 999.0, actuals["units"]))

    want = baseline_forecasts(rows, actuals, spec)
    got = baseline_forecasts(rows, changed_future, spec)

    for name in ("autoets", "croston_optimized", "tsb", "adida"):
        np.testing.assert_array_equal(got[name], want[name])


def test_a_history_too_short_for_a_method_falls_back_to_the_moving_average() -> None:
    spec = make_spec(absent="missing", baselines=["autoets"])
    actuals = _actuals()
    first_days = pd.Timestamp(DAYS[MIN_ETS - 2])  # fewer than MIN_ETS observed values of B
    rows = _rows(spec, str(first_days.date()))
    rows = rows[rows["entity"] == "B"].reset_index(drop=True)

    forecasts = baseline_forecasts(rows, actuals, spec)

    np.testing.assert_array_equal(forecasts["autoets"], forecasts["moving_average"])


def test_the_default_classical_baselines_follow_what_an_absent_period_means() -> None:
    assert classical_names(make_spec(absent="zero")) == ("croston_optimized", "tsb", "adida")
    assert classical_names(make_spec(absent="missing")) == ("autoets",)
    assert baseline_names(make_spec(baselines=[])) == ["zero", "seasonal_naive", "moving_average"]
    assert baseline_names(make_spec(baselines=["autoets"]))[-1] == "autoets"


def test_series_drops_leading_gaps_and_carries_the_last_value_over_later_ones() -> None:
    np.testing.assert_array_equal(series(np.array([np.nan, np.nan, 3.0, np.nan, 5.0, np.nan])), [3, 3, 5, 5])
    assert len(series(np.array([np.nan, np.nan]))) == 0


def test_unknown_method_and_a_step_below_one_are_refused() -> None:
    spec = make_spec()
    past = history(_actuals(), spec)
    one = np.array([0])

    with pytest.raises(ValueError, match="unknown classical baseline"):
        classical_forecasts(["prophet"], one, one + past.first + 20, one + 1, past, 7)
    with pytest.raises(ValueError, match="at least one period ahead"):
        classical_forecasts(["tsb"], one, one + past.first + 20, one, past, 7)


def test_an_unknown_baseline_in_the_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="baselines"):
        make_spec(baselines=["prophet"])
