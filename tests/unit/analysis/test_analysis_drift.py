"""Tests of the Jensen-Shannon distance and of drift between windows of rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from fti.analysis.drift import column_histogram, flag_drift, js_distance, split_drift
from fti.features.schema import bins
from fti.settings import PROJECT_ROOT
from fti.specs import load_dataset
from fti.store.statistics import DEFAULT_EDGES, compute_statistics, unit_edges

ONLINE_RETAIL_BINS = bins(load_dataset(PROJECT_ROOT / "specs", "online_retail"))


def test_identical_distributions_are_at_distance_zero_whatever_the_counts() -> None:
    assert js_distance([1, 2, 3], [1, 2, 3]) == 0.0
    assert js_distance([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-12)


def test_disjoint_distributions_are_at_distance_one() -> None:
    assert js_distance([5, 0, 0], [0, 0, 7]) == pytest.approx(1.0)


def test_distance_is_symmetric_and_matches_scipy_on_frequencies() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        p, q = rng.integers(0, 50, 12), rng.integers(0, 50, 12)
        distance = js_distance(p, q)

        assert distance == pytest.approx(js_distance(q, p))
        assert distance == pytest.approx(float(jensenshannon(p / p.sum(), q / q.sum(), base=2)))
        assert 0.0 <= distance <= 1.0


def test_hand_computed_distance_of_half_overlapping_histograms() -> None:
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4): JS = (KL(p|m) + KL(q|m)) / 2 in bits
    js = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5 * math.log2(2)) / 2

    assert js_distance([4, 0], [3, 3]) == pytest.approx(math.sqrt(js))


def test_empty_histograms_give_zero_together_and_one_against_a_non_empty_one() -> None:
    assert js_distance([0, 0, 0], [0, 0, 0]) == 0.0
    assert js_distance([], []) == 0.0
    assert js_distance([0, 0, 0], [1, 0, 0]) == 1.0
    assert js_distance([0, 3], [0, 0]) == 1.0


def test_distance_is_never_nan() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        p = rng.integers(0, 3, 5) * rng.integers(0, 2)
        q = rng.integers(0, 3, 5) * rng.integers(0, 2)
        assert not math.isnan(js_distance(p, q))


@pytest.mark.parametrize(("p", "q"), [([1, 2], [1, 2, 3]), ([1, -1], [1, 1]), ([1, np.nan], [1, 1])])
def test_histograms_that_cannot_be_compared_are_rejected(p: list[float], q: list[float]) -> None:
    with pytest.raises(ValueError, match="histogram"):
        js_distance(p, q)


def test_column_histogram_counts_on_the_spec_edges_skipping_missing_and_out_of_range() -> None:
    edges = ONLINE_RETAIL_BINS["active_days_28"]
    assert edges == unit_edges(0, 28)

    counts = column_histogram(
        np.array([0.0, 0.4, 28.0, 29.0, np.nan, -1.0]), "active_days_28", ONLINE_RETAIL_BINS
    )

    assert len(counts) == len(edges) - 1 == 29
    assert counts.sum() == 3
    assert (counts[0], counts[-1]) == (2, 1)


def test_a_column_without_edges_of_its_own_is_counted_on_the_default_edges_which_hold_every_number() -> None:
    counts = column_histogram(
        np.array([-1e9, -0.5, 0.0, 0.004, 3.0, 1e12, np.inf, np.nan]), "lag_7", ONLINE_RETAIL_BINS
    )

    assert "lag_7" not in ONLINE_RETAIL_BINS
    assert len(counts) == len(DEFAULT_EDGES) - 1
    assert counts.sum() == 7
    assert (counts[0], counts[-1]) == (1, 2)  # open-ended: below -5e6, and 5e6 up to infinity


def test_column_histogram_matches_the_histogram_the_store_records() -> None:
    frame = pd.DataFrame(
        {
            "lag_7": [0.0, 2.0, 3.0, 3.0, 50.0, np.nan],
            "avg_price_28": [0.5, 1.25, 3.0, 9.99, 100.0, 0.01],
            "active_days_28": [0.0, 1.0, 28.0, 30.0, 7.0, 7.0],
            "day_of_week": [0, 1, 2, 3, 4, 6],
        }
    )
    stored = {s.column: s.histogram for s in compute_statistics(frame, ONLINE_RETAIL_BINS)}

    for column in frame.columns:
        assert tuple(column_histogram(frame[column], column, ONLINE_RETAIL_BINS)) == stored[column]


def _windows(shift_test: float) -> dict[str, pd.DataFrame]:
    """Three windows of the same demand-like column; the test window's ``lag_1`` moved by ``shift_test``."""
    base = pd.DataFrame({"lag_1": [0.0, 1.0, 2.0, 3.0] * 25, "month": [1, 2, 3, 4] * 25})
    return {"train": base, "validation": base.copy(), "test": base.assign(lag_1=base["lag_1"] + shift_test)}


def test_split_drift_compares_every_pair_of_windows_for_every_column() -> None:
    table = split_drift(_windows(shift_test=0.0), ["lag_1", "month"])

    assert list(table.columns) == ["feature", "pair", "distance"]
    assert table["pair"].tolist() == ["train~validation", "train~test", "validation~test"] * 2
    assert table["feature"].tolist() == ["lag_1"] * 3 + ["month"] * 3
    assert (table["distance"] == 0.0).all()


def test_a_shifted_test_window_drifts_from_both_earlier_windows_and_is_flagged() -> None:
    table = split_drift(_windows(shift_test=100.0), ["lag_1", "month"])

    flagged = flag_drift(table, threshold=0.2)

    assert flagged[["feature", "pair"]].values.tolist() == [
        ["lag_1", "train~test"],
        ["lag_1", "validation~test"],
    ]
    assert (flagged["distance"] > 0.9).all()


def test_split_drift_counts_on_the_edges_given() -> None:
    # weekdays 3 and 4 share a default bin ([2, 5)) but have one each on the spec's unit edges
    windows = {
        "train": pd.DataFrame({"day_of_week": [3] * 10}),
        "test": pd.DataFrame({"day_of_week": [4] * 10}),
    }

    on_default = split_drift(windows, ["day_of_week"])
    on_spec = split_drift(windows, ["day_of_week"], ONLINE_RETAIL_BINS)

    assert on_default["distance"].tolist() == [0.0]
    assert on_spec["distance"].tolist() == [1.0]


def test_split_drift_names_a_missing_column() -> None:
    with pytest.raises(KeyError, match="rolling_mean_7"):
        split_drift(_windows(0.0), ["rolling_mean_7"])
