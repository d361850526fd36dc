"""Tests of the time split and the model Pipeline: honest windows, encoding, non-negative predictions."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from fti.features.model_inputs import LABEL, MODEL_INPUTS, NUMERIC_INPUTS
from fti.training.model import OTHER, FrameEncoder, build_pipeline, feature_importance, fit
from fti.training.split import NotEnoughData, split_by_time

FIRST_DAY = date(2024, 1, 1)
FAST = {"n_estimators": 60, "max_depth": 4}


def daily_rows(n_days: int, per_day: int) -> pd.DataFrame:
    days = [FIRST_DAY + timedelta(days=d) for d in range(n_days) for _ in range(per_day)]
    return pd.DataFrame({"date": days, LABEL: np.arange(len(days), dtype="float64")})


def model_rows(n: int, seed: int, label_of_lag_7: float = 2.0, shift: float = 0.0) -> pd.DataFrame:
    """Synthetic model inputs whose label is ``label_of_lag_7 * lag_7 + shift`` and nothing else."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.integers(0, 30, n).astype("float64") for c in NUMERIC_INPUTS})
    frame.insert(0, "country", rng.choice(["United Kingdom", "France", "Germany"], n))
    frame[LABEL] = label_of_lag_7 * frame["lag_7"] + shift
    return frame


def test_split_windows_are_disjoint_ordered_and_cover_the_last_days() -> None:
    rows = daily_rows(n_days=60, per_day=5)

    split = split_by_time(rows, validation_days=7, test_days=7, horizon_days=3, min_train_rows=10)

    last = FIRST_DAY + timedelta(days=59)
    assert sorted(set(split.test["date"])) == [last - timedelta(days=k) for k in range(6, -1, -1)]
    assert split.validation["date"].nunique() == 7
    assert split.train["date"].max() < split.validation["date"].min()
    assert split.validation["date"].max() < split.test["date"].min()
    ids = [set(part[LABEL]) for part in (split.train, split.validation, split.test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_split_windows_are_separated_by_the_horizon_so_no_label_reaches_the_next_window() -> None:
    horizon = 3
    split = split_by_time(daily_rows(60, 5), validation_days=7, test_days=7, horizon_days=horizon)

    last_train_label_day = split.train["date"].max() + timedelta(days=horizon)
    last_validation_label_day = split.validation["date"].max() + timedelta(days=horizon)
    assert last_train_label_day == split.validation["date"].min() - timedelta(days=1)
    assert last_validation_label_day == split.test["date"].min() - timedelta(days=1)


def test_split_of_too_little_data_names_the_row_counts() -> None:
    rows = daily_rows(n_days=20, per_day=1)

    with pytest.raises(NotEnoughData, match=r"train=0, validation=7, test=7 rows; need at least 100"):
        split_by_time(rows, validation_days=7, test_days=7, horizon_days=3)


def test_split_of_no_rows_says_there_are_none() -> None:
    with pytest.raises(NotEnoughData, match="no labelled rows"):
        split_by_time(daily_rows(0, 1), validation_days=7, test_days=7, horizon_days=3)


def test_pipeline_clips_predictions_that_the_regressor_makes_negative() -> None:
    train = model_rows(400, seed=1, label_of_lag_7=1.0, shift=-20.0)  # labels down to -20
    pipeline = build_pipeline(FAST).fit(train[MODEL_INPUTS], train[LABEL])
    inputs = model_rows(200, seed=2)[MODEL_INPUTS]

    unclipped = pipeline.named_steps["model"].regressor_.predict(pipeline[:-1].transform(inputs))
    predictions = pipeline.predict(inputs)

    assert (unclipped < 0).sum() > 50  # the wrapped regressor does go negative here ...
    assert (predictions >= 0).all()  # ... and the Pipeline never does
    np.testing.assert_allclose(predictions, np.clip(unclipped, 0, None))


def test_fit_learns_an_obvious_signal() -> None:
    model = fit(model_rows(600, seed=3), LABEL, params=FAST)
    unseen = model_rows(300, seed=4)

    predictions = model.predict(unseen[MODEL_INPUTS])

    assert np.corrcoef(predictions, unseen[LABEL])[0, 1] > 0.95
    assert np.abs(predictions - unseen[LABEL]).mean() < 3.0  # labels span 0..58


def test_encoder_gives_float32_columns_in_a_fixed_order_whatever_the_frame_order() -> None:
    frame = model_rows(100, seed=5)[MODEL_INPUTS]
    encoder = FrameEncoder(min_frequency=1).fit(frame)

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
    encoder = FrameEncoder(min_frequency=2).fit(train)
    unseen = train.assign(country=["France", "Malta", "Atlantis", "France", "France", "France"])

    encoded = encoder.transform(unseen)

    assert encoder.categories_ == {"country": ["France"]}
    np.testing.assert_array_equal(encoded[:, :2], [[1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [1, 0]])


def test_encoder_state_round_trips_through_json() -> None:
    import json

    encoder = FrameEncoder().fit(model_rows(200, seed=6))

    restored = FrameEncoder.from_state(json.loads(json.dumps(encoder.state())))

    frame = model_rows(50, seed=7)[MODEL_INPUTS]
    np.testing.assert_array_equal(restored.transform(frame), encoder.transform(frame))


def test_feature_importance_names_each_input_once_and_finds_the_signal() -> None:
    model = fit(model_rows(600, seed=3), LABEL, params=FAST)

    importance = feature_importance(model)

    assert list(importance) == MODEL_INPUTS  # the one-hot columns are summed into "country"
    assert sum(importance.values()) == pytest.approx(1.0)
    assert max(importance, key=importance.__getitem__) == "lag_7"


def test_default_model_forecasts_the_typical_day_of_intermittent_demand_not_its_mean() -> None:
    """WAPE rewards the median: on a 70%-zero series, forecasting the mean (3) costs more than 0."""
    rng = np.random.default_rng(8)
    train = model_rows(1000, seed=8)
    train[LABEL] = np.where(rng.random(len(train)) < 0.7, 0.0, 10.0)

    predictions = fit(train, LABEL, params=FAST).predict(train[MODEL_INPUTS])

    assert np.median(predictions) < 1.0
    model_wape = np.abs(predictions - train[LABEL]).sum() / train[LABEL].sum()
    mean_wape = np.abs(train[LABEL].mean() - train[LABEL]).sum() / train[LABEL].sum()
    assert model_wape < mean_wape
