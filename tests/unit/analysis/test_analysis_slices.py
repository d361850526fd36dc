"""Tests of per-slice errors and of which slices get flagged."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fti.analysis.metrics import regression_metrics
from fti.analysis.slices import OTHER_SLICE, SLICE_COLUMNS, flag_slices, slice_metrics, volume_band


def test_volume_bands_have_inclusive_upper_bounds() -> None:
    rows = pd.DataFrame({"rolling_mean_28": [0.0, 0.5, 1.0, 1.01, 5.0, 20.0, 20.5, np.nan]})

    bands = volume_band(rows)

    assert bands.iloc[:7].tolist() == ["none", "low", "low", "medium", "medium", "high", "top"]
    assert pd.isna(bands.iloc[7])
    assert list(bands.cat.categories) == ["none", "low", "medium", "high", "top"]
    assert bands.cat.ordered


def test_slice_metrics_equal_hand_computed_values() -> None:
    keys = pd.Series(["A", "A", "B"])

    table = slice_metrics(np.array([1.0, 3.0, 2.0]), np.array([2.0, 3.0, 0.0]), keys, min_rows=1)

    assert list(table.columns) == SLICE_COLUMNS
    a, b = table.set_index("slice").loc["A"], table.set_index("slice").loc["B"]
    assert (a["rows"], a["actual_sum"]) == (2, 4.0)
    assert (a["wape"], a["mae"], a["rmse"], a["bias"]) == pytest.approx((0.25, 0.5, math.sqrt(0.5), 0.5))
    assert (b["rows"], b["actual_sum"], b["wape"], b["mae"], b["rmse"], b["bias"]) == (
        1,
        2.0,
        1.0,
        2.0,
        2.0,
        -2.0,
    )


def test_slice_metrics_agree_with_the_overall_metrics_on_each_slice() -> None:
    rng = np.random.default_rng(3)
    actual, predicted = rng.poisson(3, 500).astype(float), rng.random(500) * 6
    keys = pd.Series(rng.choice(["UK", "FR", "DE"], 500))

    table = slice_metrics(actual, predicted, keys, min_rows=1).set_index("slice")

    for key in ["UK", "FR", "DE"]:
        mask = (keys == key).to_numpy()
        expected = regression_metrics(actual[mask], predicted[mask])
        assert table.loc[key, ["rmse", "mae", "wape", "bias"]].to_dict() == pytest.approx(expected)


def test_small_slices_are_pooled_so_the_table_still_covers_every_row() -> None:
    keys = pd.Series(["UK"] * 5 + ["FR"] * 2 + ["DE"])
    actual = np.array([1.0] * 5 + [2.0, 2.0, 4.0])
    predicted = np.array([1.0] * 5 + [0.0, 0.0, 0.0])

    table = slice_metrics(actual, predicted, keys, min_rows=3)

    assert table["slice"].tolist() == ["UK", OTHER_SLICE]
    other = table.set_index("slice").loc[OTHER_SLICE]
    assert (other["rows"], other["actual_sum"], other["wape"]) == (3, 8.0, 1.0)


def test_unordered_slices_are_listed_by_demand_and_ordered_ones_in_their_order() -> None:
    actual = np.array([1.0, 5.0, 3.0])
    by_demand = slice_metrics(actual, actual, pd.Series(["a", "b", "c"]), min_rows=1)
    in_order = slice_metrics(
        actual,
        actual,
        pd.Series(pd.Categorical(["a", "b", "c"], categories=["c", "a", "b"], ordered=True)),
        1,
    )

    assert by_demand["slice"].tolist() == ["b", "c", "a"]
    assert in_order["slice"].tolist() == ["c", "a", "b"]


def _three_slices() -> tuple[pd.DataFrame, float]:
    """A good big slice (WAPE 0.05), a bad one (0.5, ~4x overall, 17% of demand), a tiny awful one (4.0)."""
    keys = pd.Series(["big"] * 10 + ["bad"] * 2 + ["tiny"])
    actual = np.array([100.0] * 10 + [100.0, 100.0] + [1.0])
    predicted = np.array([95.0] * 10 + [50.0, 50.0] + [5.0])
    overall = regression_metrics(actual, predicted)["wape"]
    return slice_metrics(actual, predicted, keys, min_rows=1), overall


def test_a_slice_several_times_worse_is_flagged_but_a_tiny_one_is_not() -> None:
    table, overall = _three_slices()

    flagged = flag_slices(table, overall).set_index("slice")

    assert overall == pytest.approx(154 / 1201)
    assert flagged.loc["bad", "wape"] > 3 * overall
    assert flagged["flagged"].to_dict() == {"big": False, "bad": True, "tiny": False}
    assert flagged.loc["tiny", "share"] == pytest.approx(1 / 1201)


def test_flagging_respects_the_factor_and_the_minimum_share() -> None:
    table, overall = _three_slices()

    assert not flag_slices(table, overall, factor=5.0)["flagged"].any()
    assert flag_slices(table, overall, min_share=0.0).set_index("slice")["flagged"].to_dict() == {
        "big": False,
        "bad": True,
        "tiny": True,
    }


def test_an_undefined_overall_wape_flags_nothing() -> None:
    table, _ = _three_slices()

    assert not flag_slices(table, math.nan)["flagged"].any()


def test_slice_metrics_reject_keys_that_do_not_pair_up() -> None:
    with pytest.raises(ValueError, match="pair up"):
        slice_metrics(np.ones(3), np.ones(3), pd.Series(["a", "b"]), min_rows=1)
