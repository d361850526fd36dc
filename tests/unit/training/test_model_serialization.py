"""Tests of saving the model Pipeline as JSON + XGBoost's own format: exact round trip, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from xgboost import Booster

from fti.features.model_inputs import LABEL
from fti.features.schema import model_inputs
from fti.specs import DatasetSpec
from fti.training.model import fit
from fti.training.serialization import (
    BOOSTER_FILE,
    FORMAT_VERSION,
    PIPELINE_FILE,
    UnsupportedModelFormat,
    load_pipeline,
    save_pipeline,
)
from tests.unit.training import model_rows as rows_of

FAST = {"n_estimators": 40, "max_depth": 4}
COUNTRIES = ["United Kingdom", "France", "Germany"]
SPEC = rows_of.ONLINE_RETAIL.model_copy(
    update={"model": rows_of.ONLINE_RETAIL.model.model_copy(update={"quantiles": ()})}
)
"""Online Retail's spec with point forecasts only (the quantile tests add levels of their own)."""
MODEL_INPUTS = model_inputs(SPEC)


def model_rows(n: int, seed: int, countries: list[str] = COUNTRIES) -> pd.DataFrame:
    """Synthetic model inputs whose label depends on lag_7 and, a little, on the country."""
    frame = rows_of.model_rows(n, seed, SPEC, countries)
    frame[LABEL] += 5.0 * (frame["country"] == "France")
    return frame


def changed(spec: DatasetSpec, section: str, **fields: object) -> DatasetSpec:
    document = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    document[section] |= fields
    return DatasetSpec.model_validate(document)


@pytest.fixture(scope="module")
def fitted() -> Pipeline:
    return fit(SPEC, model_rows(800, seed=1), LABEL, params=FAST)


def test_round_trip_predicts_bit_identically(fitted: Pipeline, tmp_path: Path) -> None:
    inputs = model_rows(500, seed=2)[MODEL_INPUTS]

    save_pipeline(fitted, tmp_path)
    loaded = load_pipeline(tmp_path)

    np.testing.assert_array_equal(loaded.predict(inputs), fitted.predict(inputs))
    assert loaded.named_steps["model"].regressor_.get_params()["max_depth"] == FAST["max_depth"]


def test_an_unseen_country_is_predicted_like_other_countries_not_refused(
    fitted: Pipeline, tmp_path: Path
) -> None:
    save_pipeline(fitted, tmp_path)
    inputs = model_rows(50, seed=3, countries=["Atlantis"])[MODEL_INPUTS]

    predictions = load_pipeline(tmp_path).predict(inputs)

    encoded = fitted[:-1].transform(inputs)
    assert np.isfinite(predictions).all() and (predictions >= 0).all()
    other = list(fitted[:-1].get_feature_names_out()).index("country=__other__")
    assert (encoded[:, other] == 1.0).all() and encoded[:, :other].sum() == 0


def test_unknown_format_version_is_refused_naming_both_versions(fitted: Pipeline, tmp_path: Path) -> None:
    save_pipeline(fitted, tmp_path)
    document = json.loads((tmp_path / PIPELINE_FILE).read_text())
    document["format_version"] = 99
    (tmp_path / PIPELINE_FILE).write_text(json.dumps(document))

    with pytest.raises(
        UnsupportedModelFormat, match=rf"format_version 99; this code reads only version {FORMAT_VERSION}"
    ):
        load_pipeline(tmp_path)


@pytest.mark.parametrize(
    "postprocessing",
    [
        {"clip_min": 0.0},
        {"transform": "sqrt", "clip_min": 0.0},
        {"transform": "none", "clip_min": 0.0, "scale": 2},
    ],
)
def test_unknown_post_processing_is_refused_naming_what_was_asked(
    fitted: Pipeline, tmp_path: Path, postprocessing: dict[str, object]
) -> None:
    save_pipeline(fitted, tmp_path)
    document = json.loads((tmp_path / PIPELINE_FILE).read_text())
    document["postprocessing"] = postprocessing
    (tmp_path / PIPELINE_FILE).write_text(json.dumps(document))

    with pytest.raises(UnsupportedModelFormat, match="post-processing"):
        load_pipeline(tmp_path)


def test_a_log1p_model_without_a_clip_round_trips_bit_identically(tmp_path: Path) -> None:
    spec = changed(changed(SPEC, "features", target_transform="log1p"), "target", non_negative=False)
    model = fit(spec, model_rows(400, seed=4), LABEL, params=FAST)
    inputs = model_rows(200, seed=5)[MODEL_INPUTS]

    save_pipeline(model, tmp_path)
    loaded = load_pipeline(tmp_path)

    assert json.loads((tmp_path / PIPELINE_FILE).read_text())["postprocessing"] == {
        "transform": "log1p",
        "clip_min": None,
    }
    np.testing.assert_array_equal(loaded.predict(inputs), model.predict(inputs))


def test_saved_files_are_json_and_a_plain_xgboost_booster_without_pickle(
    fitted: Pipeline, tmp_path: Path
) -> None:
    save_pipeline(fitted, tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([BOOSTER_FILE, PIPELINE_FILE])
    document = json.loads((tmp_path / PIPELINE_FILE).read_text())
    assert document["encoder"]["categories"] == {"country": sorted(COUNTRIES)}
    assert document["input_columns"] == MODEL_INPUTS
    assert document["postprocessing"] == {"transform": "none", "clip_min": 0.0}
    booster = Booster(model_file=str(tmp_path / BOOSTER_FILE))  # XGBoost alone reads it
    assert booster.num_features() == len(document["feature_names"])
    for path in tmp_path.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


QUANTILE_SPEC = changed(SPEC, "model", quantiles=[0.1, 0.5, 0.9])


@pytest.fixture(scope="module")
def with_quantiles() -> Pipeline:
    from fti.training.model import calibrate

    rows = model_rows(800, seed=1)
    rows[LABEL] += np.random.default_rng(4).normal(0.0, 3.0, len(rows))
    pipeline = fit(QUANTILE_SPEC, rows, LABEL, params=FAST)
    calibrate(pipeline, model_rows(400, seed=5), LABEL)
    return pipeline


def test_quantiles_never_cross_and_bracket_the_median(with_quantiles: Pipeline) -> None:
    from fti.training.model import predict_quantiles

    quantiles = predict_quantiles(with_quantiles, model_rows(500, seed=2)[MODEL_INPUTS])

    assert quantiles.shape == (500, 3)
    assert (np.diff(quantiles, axis=1) >= 0).all()
    assert (quantiles >= 0).all()  # a count's quantiles are clipped at 0 like its point forecast
    assert (quantiles[:, 2] - quantiles[:, 0]).mean() > 0


def test_quantiles_and_their_offsets_round_trip_bit_identically(
    with_quantiles: Pipeline, tmp_path: Path
) -> None:
    from fti.training.model import predict_quantiles

    inputs = model_rows(500, seed=2)[MODEL_INPUTS]

    save_pipeline(with_quantiles, tmp_path)
    loaded = load_pipeline(tmp_path)

    document = json.loads((tmp_path / PIPELINE_FILE).read_text())
    assert document["quantiles"]["levels"] == [0.1, 0.5, 0.9]
    assert document["quantiles"]["offsets"] == list(with_quantiles.named_steps["model"].offsets_)
    np.testing.assert_array_equal(
        predict_quantiles(loaded, inputs), predict_quantiles(with_quantiles, inputs)
    )
    np.testing.assert_array_equal(loaded.predict(inputs), with_quantiles.predict(inputs))


def test_a_model_without_quantiles_says_so_when_asked_for_them(fitted: Pipeline) -> None:
    from fti.training.model import predict_quantiles

    with pytest.raises(ValueError, match="forecasts no quantiles"):
        predict_quantiles(fitted, model_rows(5, seed=2)[MODEL_INPUTS])


def test_a_quantile_booster_file_outside_the_model_folder_is_refused(
    with_quantiles: Pipeline, tmp_path: Path
) -> None:
    save_pipeline(with_quantiles, tmp_path)
    document = json.loads((tmp_path / PIPELINE_FILE).read_text())
    document["quantiles"]["booster_file"] = "../../etc/model.ubj"
    (tmp_path / PIPELINE_FILE).write_text(json.dumps(document))

    with pytest.raises(UnsupportedModelFormat, match="names booster file '../../etc/model.ubj'"):
        load_pipeline(tmp_path)


def test_the_quantile_fit_reports_its_progress_like_the_point_fit(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="fti.training.progress"):
        fit(QUANTILE_SPEC, model_rows(200, seed=3), LABEL, params=FAST)

    ends = [r.getMessage() for r in caplog.records if " trees in " in r.getMessage()]
    assert [line.split(":")[0] for line in ends] == ["fit", "quantile fit"]
    assert all(line.split(": ")[1].startswith("40 trees in ") for line in ends)


def test_calibration_leaves_the_p50_of_every_row_unchanged() -> None:
    from fti.training.model import calibrate, predict_quantiles

    rows = model_rows(800, seed=1)
    rows[LABEL] += np.random.default_rng(4).normal(0.0, 3.0, len(rows))
    pipeline = fit(QUANTILE_SPEC, rows, LABEL, params=FAST)
    inputs = model_rows(500, seed=2)[MODEL_INPUTS]
    before = predict_quantiles(pipeline, inputs)

    offsets = calibrate(pipeline, model_rows(400, seed=5), LABEL)

    after = predict_quantiles(pipeline, inputs)
    assert offsets[1] == 0.0 and (offsets[[0, 2]] != 0.0).any()
    np.testing.assert_array_equal(after[:, 1], before[:, 1])
    assert (after[:, 1] > 0).any()


def test_an_absolute_error_model_serves_its_point_forecast_as_p50_and_learns_only_the_outer_levels(
    with_quantiles: Pipeline, tmp_path: Path
) -> None:
    from fti.training.model import predict_quantiles

    inputs = model_rows(500, seed=2)[MODEL_INPUTS]
    model = with_quantiles.named_steps["model"]

    assert model.median_from_point
    assert model.quantile_regressor_.get_params()["quantile_alpha"] == [0.1, 0.9]
    point = with_quantiles.predict(inputs)
    np.testing.assert_array_equal(predict_quantiles(with_quantiles, inputs)[:, 1], point)
    save_pipeline(with_quantiles, tmp_path)
    loaded = load_pipeline(tmp_path)
    np.testing.assert_array_equal(predict_quantiles(loaded, inputs)[:, 1], point)


@pytest.mark.parametrize("transform", ["none", "log1p"])
def test_quantiles_are_identical_when_given_the_point_forecast_already_computed(transform: str) -> None:
    from fti.training.model import calibrate, predict_quantiles

    spec = changed(QUANTILE_SPEC, "features", target_transform=transform)
    rows = model_rows(800, seed=1)
    rows[LABEL] += np.random.default_rng(4).normal(0.0, 3.0, len(rows))
    pipeline = fit(spec, rows, LABEL, params=FAST)
    calibrate(pipeline, model_rows(400, seed=5), LABEL)
    inputs = model_rows(500, seed=2)[MODEL_INPUTS]
    point = pipeline.predict(inputs)

    assert pipeline.named_steps["model"].median_from_point
    np.testing.assert_array_equal(
        predict_quantiles(pipeline, inputs, point), predict_quantiles(pipeline, inputs)
    )


def test_forecast_encodes_once_and_equals_the_pipelines_point_and_quantiles(with_quantiles: Pipeline) -> None:
    from fti.training.model import forecast, predict_quantiles

    inputs = model_rows(300, seed=3)[MODEL_INPUTS]

    point, quantiles = forecast(with_quantiles, inputs, quantiles=True)
    only_point, none = forecast(with_quantiles, inputs, quantiles=False)

    np.testing.assert_array_equal(point, with_quantiles.predict(inputs))
    assert point.dtype == np.float64 and quantiles is not None and none is None
    np.testing.assert_array_equal(quantiles, predict_quantiles(with_quantiles, inputs))
    np.testing.assert_array_equal(only_point, point)


def test_a_point_median_given_is_served_as_p50_instead_of_running_the_point_booster_again(
    with_quantiles: Pipeline,
) -> None:
    from fti.training.model import predict_quantiles

    inputs = model_rows(50, seed=2)[MODEL_INPUTS]
    given = with_quantiles.predict(inputs) + 1.0

    np.testing.assert_array_equal(predict_quantiles(with_quantiles, inputs, given)[:, 1], given)


def test_a_point_forecast_of_other_rows_is_refused(with_quantiles: Pipeline) -> None:
    from fti.training.model import predict_quantiles

    inputs = model_rows(50, seed=2)[MODEL_INPUTS]

    with pytest.raises(ValueError, match="point forecast has 49 values, expected one per row: 50"):
        predict_quantiles(with_quantiles, inputs, with_quantiles.predict(inputs)[:49])


def test_a_squared_error_model_learns_its_median_as_a_quantile_not_as_its_mean() -> None:
    from fti.training.model import predict_quantiles

    spec = changed(QUANTILE_SPEC, "model", objective="squared_error")
    pipeline = fit(spec, model_rows(400, seed=1), LABEL, params=FAST)
    model = pipeline.named_steps["model"]

    assert not model.median_from_point
    assert model.quantile_regressor_.get_params()["quantile_alpha"] == [0.1, 0.5, 0.9]
    assert predict_quantiles(pipeline, model_rows(50, seed=2)[MODEL_INPUTS]).shape == (50, 3)


def test_outer_levels_on_the_wrong_side_of_the_point_median_are_moved_onto_it() -> None:
    from fti.training.model import with_median

    others = np.array([[1.0, 4.0], [5.0, 9.0], [0.0, 2.0]])

    out = with_median((0.1, 0.5, 0.9), others, np.array([3.0, 4.0, 6.0]))

    np.testing.assert_array_equal(out, [[1.0, 3.0, 4.0], [4.0, 4.0, 9.0], [0.0, 6.0, 6.0]])
