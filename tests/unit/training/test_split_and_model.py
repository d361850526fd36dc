"""Tests of the time split and the model Pipeline: honest windows, encoding, non-negative predictions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fti.features.model_inputs import LABEL
from fti.features.schema import categorical_inputs, model_inputs, numeric_inputs
from fti.periods import Calendar, Grain
from fti.settings import PROJECT_ROOT
from fti.specs import DatasetSpec, load_dataset
from fti.training.model import (
    OTHER,
    FrameEncoder,
    build_pipeline,
    calibrate,
    feature_importance,
    fit,
    predict_quantiles,
    refit,
    sample_weights,
)
from fti.training.split import NotEnoughData, split_by_time
from tests.unit.training.model_rows import ONLINE_RETAIL, model_rows

DAYS = Calendar(Grain.DAY)
FAST = {"n_estimators": 60, "max_depth": 4}
MODEL_INPUTS = model_inputs(ONLINE_RETAIL)
NUMERIC_INPUTS = numeric_inputs(ONLINE_RETAIL)


def period_rows(
    n_periods: int, per_period: int, first: str = "2024-01-01", hours: bool = False
) -> pd.DataFrame:
    """``per_period`` labelled rows at each of ``n_periods`` consecutive days (or hours) from ``first``."""
    step = np.timedelta64(1, "h") if hours else np.timedelta64(1, "D")
    starts = np.datetime64(first, "us") + np.arange(n_periods) * step
    periods = np.repeat(starts, per_period).astype("datetime64[us]")
    return pd.DataFrame({"period": periods, LABEL: np.arange(len(periods), dtype="float64")})


def with_model(spec: DatasetSpec, **model: Any) -> DatasetSpec:
    """``spec`` with its model section (or target) changed, revalidated."""
    document = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    for section, changes in model.items():
        document[section] |= changes
    return DatasetSpec.model_validate(document)


# ----- split ----------------------------------------------------------------------------------------
def test_split_windows_are_disjoint_ordered_and_cover_the_last_periods() -> None:
    rows = period_rows(n_periods=60, per_period=5)

    split = split_by_time(rows, DAYS, validation_periods=7, test_periods=7, reach=3, min_train_rows=10)

    last = np.datetime64("2024-01-01") + 59
    assert sorted(set(split.test["period"])) == [pd.Timestamp(last - k) for k in range(6, -1, -1)]
    assert split.validation["period"].nunique() == 7
    assert split.train["period"].max() < split.validation["period"].min()
    assert split.validation["period"].max() < split.test["period"].min()
    ids = [set(part[LABEL]) for part in (split.train, split.validation, split.test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_split_windows_are_separated_by_the_reach_so_no_label_reaches_the_next_window() -> None:
    reach = 3
    split = split_by_time(period_rows(60, 5), DAYS, validation_periods=7, test_periods=7, reach=reach)

    day = pd.Timedelta(days=1)
    assert split.train["period"].max() + reach * day == split.validation["period"].min() - day
    assert split.validation["period"].max() + reach * day == split.test["period"].min() - day


def test_hourly_windows_are_counted_in_hours_and_separated_by_gap_and_horizon() -> None:
    reach = 24  # car_parks: gap 15 + horizon 9
    rows = period_rows(n_periods=24 * 8, per_period=3, first="2016-12-01T00:00", hours=True)

    split = split_by_time(rows, Calendar(Grain.HOUR), validation_periods=48, test_periods=48, reach=reach)

    hour = pd.Timedelta(hours=1)
    assert split.test["period"].nunique() == split.validation["period"].nunique() == 48
    assert split.test["period"].min() == pd.Timestamp("2016-12-07T00:00")
    assert split.validation["period"].max() + reach * hour == split.test["period"].min() - hour
    assert split.train["period"].max() + reach * hour == split.validation["period"].min() - hour


def test_split_of_too_little_data_names_the_row_counts_and_the_periods() -> None:
    rows = period_rows(n_periods=20, per_period=1)

    with pytest.raises(
        NotEnoughData, match=r"2024-01-01\.\.2024-01-20 gives train=0, validation=7, test=7 rows"
    ):
        split_by_time(rows, DAYS, validation_periods=7, test_periods=7, reach=3)


def test_split_of_no_rows_says_there_are_none() -> None:
    with pytest.raises(NotEnoughData, match="no labelled rows"):
        split_by_time(period_rows(0, 1), DAYS, validation_periods=7, test_periods=7, reach=3)


# ----- the Pipeline ---------------------------------------------------------------------------------
def test_pipeline_clips_predictions_that_the_regressor_makes_negative() -> None:
    train = model_rows(400, seed=1, slope=1.0, shift=-20.0)  # labels down to -20
    pipeline = build_pipeline(ONLINE_RETAIL, FAST).fit(train[MODEL_INPUTS], train[LABEL])
    inputs = model_rows(200, seed=2)[MODEL_INPUTS]

    unclipped = pipeline.named_steps["model"].regressor_.predict(pipeline[:-1].transform(inputs))
    predictions = pipeline.predict(inputs)

    assert (unclipped < 0).sum() > 50  # the wrapped regressor does go negative here ...
    assert (predictions >= 0).all()  # ... and the Pipeline never does
    np.testing.assert_allclose(predictions, np.clip(unclipped, 0, None))


def test_a_target_that_may_be_negative_is_not_clipped() -> None:
    spec = with_model(ONLINE_RETAIL, target={"non_negative": False})
    train = model_rows(400, seed=1, slope=1.0, shift=-20.0)

    predictions = fit(spec, train, LABEL, params=FAST).predict(model_rows(200, seed=2)[MODEL_INPUTS])

    assert (predictions < 0).sum() > 50


def test_the_objective_comes_from_the_spec_and_tuned_params_override_the_defaults() -> None:
    squared = with_model(ONLINE_RETAIL, model={"objective": "squared_error"})

    default = build_pipeline(ONLINE_RETAIL).named_steps["model"].regressor.get_params()
    tuned = build_pipeline(squared, {"max_depth": 3}).named_steps["model"].regressor.get_params()

    assert (default["objective"], default["max_depth"]) == ("reg:absoluteerror", 6)
    assert (tuned["objective"], tuned["max_depth"]) == ("reg:squarederror", 3)


def test_a_log1p_target_is_learned_on_log1p_and_predicted_back_in_units() -> None:
    spec = with_model(ONLINE_RETAIL, features={"target_transform": "log1p"})
    train = model_rows(600, seed=3)

    pipeline = fit(spec, train, LABEL, params=FAST)

    learned = pipeline.named_steps["model"].regressor_.predict(pipeline[:-1].transform(train[MODEL_INPUTS]))
    assert learned.max() < np.log1p(train[LABEL].max()) + 0.5  # the booster sees log units ...
    predictions = pipeline.predict(train[MODEL_INPUTS])
    np.testing.assert_allclose(predictions, np.clip(np.expm1(learned), 0, None), rtol=1e-6)
    assert np.abs(predictions - train[LABEL]).mean() < 3.0  # ... the Pipeline answers in units


def test_fit_learns_an_obvious_signal() -> None:
    model = fit(ONLINE_RETAIL, model_rows(600, seed=3), LABEL, params=FAST)
    unseen = model_rows(300, seed=4)

    predictions = model.predict(unseen[MODEL_INPUTS])

    assert np.corrcoef(predictions, unseen[LABEL])[0, 1] > 0.95
    assert np.abs(predictions - unseen[LABEL]).mean() < 3.0  # labels span 0..58


def test_refit_learns_the_new_rows_in_its_point_model_and_keeps_the_calibrated_quantiles() -> None:
    held_out = fit(ONLINE_RETAIL, model_rows(600, seed=3), LABEL, params=FAST)
    offsets = calibrate(held_out, model_rows(300, seed=5), LABEL).copy()
    newer = model_rows(600, seed=6, slope=3.0)  # the newest rows follow a steeper signal
    unseen = model_rows(300, seed=4, slope=3.0)
    before = held_out.predict(unseen[MODEL_INPUTS])

    refitted = refit(ONLINE_RETAIL, held_out, newer, LABEL)

    error = np.abs(refitted.predict(unseen[MODEL_INPUTS]) - unseen[LABEL]).mean()
    assert error < 4.0 < np.abs(before - unseen[LABEL]).mean()  # labels span 0..87
    np.testing.assert_array_equal(held_out.predict(unseen[MODEL_INPUTS]), before)  # a copy was refit
    np.testing.assert_array_equal(refitted.named_steps["model"].offsets_, offsets)
    quantiles = predict_quantiles(refitted, unseen[MODEL_INPUTS])
    model, before_refit = refitted.named_steps["model"], held_out.named_steps["model"]
    assert model.quantile_regressor_ is before_refit.quantile_regressor_  # P10, P90: the held-out fit's
    assert (np.diff(quantiles, axis=1) >= 0).all()
    np.testing.assert_array_equal(quantiles[:, 1], refitted.predict(unseen[MODEL_INPUTS]))  # P50: the point


# ----- the encoder ----------------------------------------------------------------------------------
def encoder_of(spec: DatasetSpec, min_frequency: int = 20) -> FrameEncoder:
    return FrameEncoder(tuple(categorical_inputs(spec)), tuple(numeric_inputs(spec)), min_frequency)


def test_encoder_gives_float32_columns_in_a_fixed_order_whatever_the_frame_order() -> None:
    frame = model_rows(100, seed=5)[MODEL_INPUTS]
    encoder = encoder_of(ONLINE_RETAIL, min_frequency=1).fit(frame)

    encoded = encoder.transform(frame)
    reordered = encoder.transform(frame[list(reversed(MODEL_INPUTS))])

    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, reordered)
    names = list(encoder.get_feature_names_out())
    assert names[:4] == ["country=France", "country=Germany", "country=United Kingdom", f"country={OTHER}"]
    assert names[4:] == NUMERIC_INPUTS
    np.testing.assert_array_equal(encoded[:, 4:], frame[NUMERIC_INPUTS].to_numpy(dtype="float32"))


def test_encoder_sends_rare_and_unseen_categories_to_the_other_column() -> None:
    train = pd.DataFrame({"country": ["France"] * 5 + ["Malta"], **{c: [0.0] * 6 for c in NUMERIC_INPUTS}})
    encoder = encoder_of(ONLINE_RETAIL, min_frequency=2).fit(train)
    unseen = train.assign(country=["France", "Malta", "Atlantis", "France", "France", "France"])

    encoded = encoder.transform(unseen)

    assert encoder.categories_ == {"country": ["France"]}
    np.testing.assert_array_equal(encoded[:, :2], [[1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [1, 0]])


def test_encoder_state_round_trips_through_json() -> None:
    encoder = encoder_of(ONLINE_RETAIL).fit(model_rows(200, seed=6))

    restored = FrameEncoder.from_state(json.loads(json.dumps(encoder.state())))

    frame = model_rows(50, seed=7)[MODEL_INPUTS]
    np.testing.assert_array_equal(restored.transform(frame), encoder.transform(frame))


def test_the_spec_decides_the_inputs_a_categorical_attribute_is_one_hot_and_a_numeric_one_passes() -> None:
    spec = load_dataset(PROJECT_ROOT / "specs", "store_sales")
    frame = model_rows(60, seed=8, spec=spec, categories=("big", "small"))

    encoder = encoder_of(spec, min_frequency=1).fit(frame)

    names = list(encoder.get_feature_names_out())
    assert names[:3] == ["store_type=big", "store_type=small", f"store_type={OTHER}"]
    assert names[3:] == numeric_inputs(spec)
    assert {"store_size", "price", "promo", "horizon", "target_week_of_year"} <= set(names)


def test_feature_importance_names_each_input_once_and_finds_the_signal() -> None:
    model = fit(ONLINE_RETAIL, model_rows(600, seed=3), LABEL, params=FAST)

    importance = feature_importance(model)

    assert list(importance) == MODEL_INPUTS  # the one-hot columns are summed into "country"
    assert sum(importance.values()) == pytest.approx(1.0)
    assert max(importance, key=importance.__getitem__) == "lag_7"


def test_default_model_forecasts_the_typical_day_of_intermittent_demand_not_its_mean() -> None:
    """WAPE rewards the median: on a 70%-zero series, forecasting the mean (3) costs more than 0."""
    rng = np.random.default_rng(8)
    train = model_rows(1000, seed=8)
    train[LABEL] = np.where(rng.random(len(train)) < 0.7, 0.0, 10.0)

    predictions = fit(ONLINE_RETAIL, train, LABEL, params=FAST).predict(train[MODEL_INPUTS])

    assert np.median(predictions) < 1.0
    model_wape = np.abs(predictions - train[LABEL]).sum() / train[LABEL].sum()
    mean_wape = np.abs(train[LABEL].mean() - train[LABEL]).sum() / train[LABEL].sum()
    assert model_wape < mean_wape


def test_inverse_actual_weights_pull_the_median_towards_the_small_actuals_as_mape_asks() -> None:
    """Half the rows sell 2, half 20, inputs alike: the median is anywhere in 2..20; weighted by
    1/actual, the 2s weigh ten times more and the forecast goes to 2 (MAPE 0.45 instead of up to 4.5)."""
    rng = np.random.default_rng(9)
    train = model_rows(1000, seed=9)
    train[LABEL] = np.where(rng.random(len(train)) < 0.5, 2.0, 20.0)
    weighted = with_model(ONLINE_RETAIL, model={"sample_weight": "inverse_actual"})

    plain = fit(ONLINE_RETAIL, train, LABEL, params=FAST).predict(train[MODEL_INPUTS])
    shaped = fit(weighted, train, LABEL, params=FAST).predict(train[MODEL_INPUTS])

    assert np.median(shaped) == pytest.approx(2.0, abs=0.5)
    assert np.median(plain) > np.median(shaped) + 2.0
    np.testing.assert_allclose(sample_weights(weighted, np.array([0.0, 1.0, 4.0])), [1.0, 1.0, 0.25])
    assert sample_weights(ONLINE_RETAIL, np.array([4.0])) is None
