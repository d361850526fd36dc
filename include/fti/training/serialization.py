"""Save and load the fitted model Pipeline as JSON plus XGBoost's own booster file, never pickle.

A pickle runs code when it is loaded and breaks when a library changes its internals; the two
files written here are data only, readable by any XGBoost and any JSON parser:

- ``pipeline.json``: format version, the encoder's learned categories, input columns, feature
  names, the post-processing (target transform, clip floor) and the XGBoost version that wrote the
  booster;
- ``booster.ubj``: the trees, in XGBoost's universal binary JSON (``XGBRegressor.save_model``).
"""

from __future__ import annotations

import json
import math
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.training.model import ForecastRegressor, FrameEncoder

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

FORMAT_VERSION = 2
PIPELINE_FILE = "pipeline.json"
BOOSTER_FILE = "booster.ubj"
QUANTILE_BOOSTER_FILE = "quantiles.ubj"
#: The target transforms :func:`load_pipeline` knows how to rebuild.
TRANSFORMS = ("none", "log1p")


class UnsupportedModelFormat(ValueError):
    """A saved model directory was written in a format this code cannot rebuild."""


def save_pipeline(pipeline: Pipeline, directory: Path) -> None:
    """Write the fitted ``pipeline`` (encoder, XGBoost, post-processing) as two files into ``directory``."""
    encoder: FrameEncoder = pipeline.named_steps["preprocess"]
    wrapper: ForecastRegressor = pipeline.named_steps["model"]
    directory.mkdir(parents=True, exist_ok=True)
    wrapper.regressor_.save_model(directory / BOOSTER_FILE)
    document = {
        "format_version": FORMAT_VERSION,
        "input_columns": [*encoder.categorical, *encoder.numeric],
        "encoder": encoder.state(),
        "feature_names": [str(name) for name in encoder.get_feature_names_out()],
        "postprocessing": {"transform": wrapper.transform, "clip_min": wrapper.clip_min},
        "booster_file": BOOSTER_FILE,
        "regressor_params": _plain_params(wrapper.regressor_.get_params()),
        "xgboost_version": dist_version("xgboost-cpu"),
        "quantiles": None,
    }
    if wrapper.levels and wrapper.quantile_regressor_ is not None:
        wrapper.quantile_regressor_.save_model(directory / QUANTILE_BOOSTER_FILE)
        document["quantiles"] = {
            "levels": [float(level) for level in wrapper.levels],
            "offsets": [float(offset) for offset in wrapper.offsets_],
            "median_from_point": bool(wrapper.median_from_point),
            "booster_file": QUANTILE_BOOSTER_FILE,
            "regressor_params": _plain_params(wrapper.quantile_regressor_.get_params()),
        }
    (directory / PIPELINE_FILE).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def load_pipeline(directory: Path) -> Pipeline:
    """The fitted Pipeline saved in ``directory`` by :func:`save_pipeline`; predicts bit-identically.

    Raises:
        UnsupportedModelFormat: the directory's format version or post-processing is unknown.
        FileNotFoundError: ``pipeline.json`` or the booster file is missing.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from xgboost import XGBRegressor

    document = read_document(directory)
    booster = XGBRegressor(**document.get("regressor_params", {}))
    booster.load_model(directory / document["booster_file"])
    post = document["postprocessing"]
    quantiles = document.get("quantiles")
    quantile_booster = None
    if quantiles:
        quantile_booster = XGBRegressor(**quantiles.get("regressor_params", {}))
        quantile_booster.load_model(directory / quantiles["booster_file"])
    levels = tuple(quantiles["levels"]) if quantiles else ()
    template = clone(quantile_booster) if quantile_booster is not None else None
    median = bool(quantiles.get("median_from_point", False)) if quantiles else False
    wrapper = ForecastRegressor(clone(booster), post["transform"], post["clip_min"], template, levels, median)
    wrapper.regressor_ = booster
    wrapper.quantile_regressor_ = quantile_booster
    wrapper.offsets_ = np.asarray(quantiles["offsets"] if quantiles else [], dtype="float64")
    encoder = FrameEncoder.from_state(document["encoder"])
    return Pipeline([("preprocess", encoder), ("model", wrapper)])


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """The hyper-parameters JSON holds exactly; the rest (NaN ``missing``, callbacks) keep defaults."""
    return {
        key: value
        for key, value in params.items()
        if isinstance(value, str | int | bool) or (isinstance(value, float) and math.isfinite(value))
    }


def read_document(directory: Path) -> dict[str, Any]:
    """``pipeline.json`` of ``directory``, checked to be in a format this code can rebuild."""
    path = directory / PIPELINE_FILE
    document: dict[str, Any] = json.loads(path.read_text())
    seen = document.get("format_version")
    if seen != FORMAT_VERSION:
        raise UnsupportedModelFormat(
            f"{path} has format_version {seen!r}; this code reads only version {FORMAT_VERSION}: "
            "load it with the fti version that wrote it, or retrain"
        )
    post = document.get("postprocessing")
    if (
        not isinstance(post, dict)
        or post.get("transform") not in TRANSFORMS
        or set(post) != {"transform", "clip_min"}
    ):
        raise UnsupportedModelFormat(
            f"{path} asks for post-processing {post!r}; this code rebuilds a transform of {TRANSFORMS} "
            "and a clip floor (a number or null) only"
        )
    quantiles = document.get("quantiles") or {}
    for name in (document.get("booster_file"), quantiles.get("booster_file") if quantiles else BOOSTER_FILE):
        if name not in (BOOSTER_FILE, QUANTILE_BOOSTER_FILE):
            raise UnsupportedModelFormat(
                f"{path} names booster file {name!r}; a model reads only its own {BOOSTER_FILE} and "
                f"{QUANTILE_BOOSTER_FILE} in its own folder"
            )
    return document
