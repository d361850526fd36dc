"""Tests of saving the model Pipeline as JSON + XGBoost's own format: exact round trip, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from xgboost import Booster

from fti.features.model_inputs import LABEL, MODEL_INPUTS, NUMERIC_INPUTS
from fti.training.model import fit
from fti.training.serialization import (
    BOOSTER_FILE,
    PIPELINE_FILE,
    UnsupportedModelFormat,
    load_pipeline,
    save_pipeline,
)

FAST = {"n_estimators": 40, "max_depth": 4}
COUNTRIES = ["United Kingdom", "France", "Germany"]


def model_rows(n: int, seed: int, countries: list[str] = COUNTRIES) -> pd.DataFrame:
    """Synthetic model inputs whose label depends on lag_7 and, a little, on the country."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.integers(0, 30, n).astype("float64") for c in NUMERIC_INPUTS})
    frame.insert(0, "country", rng.choice(countries, n))
    frame[LABEL] = 2.0 * frame["lag_7"] + 5.0 * (frame["country"] == "France")
    return frame


@pytest.fixture(scope="module")
def fitted() -> Pipeline:
    return fit(model_rows(800, seed=1), LABEL, params=FAST)


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

    with pytest.raises(UnsupportedModelFormat, match=r"format_version 99; this code reads only version 1"):
        load_pipeline(tmp_path)


def test_saved_files_are_json_and_a_plain_xgboost_booster_without_pickle(
    fitted: Pipeline, tmp_path: Path
) -> None:
    save_pipeline(fitted, tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([BOOSTER_FILE, PIPELINE_FILE])
    document = json.loads((tmp_path / PIPELINE_FILE).read_text())
    assert document["encoder"]["categories"] == {"country": sorted(COUNTRIES)}
    assert document["input_columns"] == MODEL_INPUTS
    assert document["postprocessing"] == {"clip_min": 0.0}
    booster = Booster(model_file=str(tmp_path / BOOSTER_FILE))  # XGBoost alone reads it
    assert booster.num_features() == len(document["feature_names"])
    for path in tmp_path.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
