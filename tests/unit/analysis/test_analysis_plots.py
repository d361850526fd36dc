"""Tests that the analysis charts are written as real PNG files and leave no figure open."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from fti.analysis.plots import error_by_slice, feature_importance, predicted_vs_actual

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 1000


def test_predicted_vs_actual_samples_a_large_input_into_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    actual = rng.poisson(3, 250_000).astype(float)

    path = predicted_vs_actual(actual, actual + rng.normal(0, 1, actual.size), tmp_path / "pva.png")

    assert path == tmp_path / "pva.png"
    _assert_png(path)
    assert plt.get_fignums() == []


def test_error_by_slice_draws_a_table_with_flags_into_a_new_folder(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"slice": ["UK", "FR"], "actual_sum": [100.0, 10.0], "wape": [0.2, np.nan], "flagged": [False, True]}
    )

    path = error_by_slice(table, tmp_path / "charts" / "by_country.png", "WAPE by country")

    _assert_png(path)
    assert plt.get_fignums() == []


def test_feature_importance_draws_at_most_the_top_twenty(tmp_path: Path) -> None:
    importances = {f"feature_{i}": float(i) for i in range(30)}

    _assert_png(feature_importance(importances, tmp_path / "importance.png"))
    assert plt.get_fignums() == []


@pytest.mark.parametrize("draw", ["predicted_vs_actual", "feature_importance"])
def test_charts_of_nothing_are_still_pngs(tmp_path: Path, draw: str) -> None:
    path = tmp_path / f"{draw}.png"
    if draw == "predicted_vs_actual":
        predicted_vs_actual(np.array([]), np.array([]), path)
    else:
        feature_importance({}, path)

    _assert_png(path)
