"""Tests of per-slice errors and of which slices get flagged."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fti.analysis.metrics import regression_metrics
from fti.analysis.slices import (
    MAX_SLICES,
    OTHER_SLICE,
    SLICE_COLUMNS,
    flag_slices,
    slice_keys,
    slice_metrics,
    slice_scores,
    volume_band,
)
from fti.settings import PROJECT_ROOT
from fti.specs import load_dataset

SPECS = PROJECT_ROOT / "specs"


def test_volume_bands_are_relative_to_the_scale_with_inclusive_upper_bounds() -> None:
    average = np.array([0.0, 0.5, 2.0, 2.02, 8.0, 32.0, 32.5, np.nan])

    bands = volume_band(average, scale=8.0)  # bounds 0, 2, 8, 32 units

    assert bands.iloc[:7].tolist() == ["none", "low", "low", "medium", "medium", "high", "top"]
    assert pd.isna(bands.iloc[7])
    assert list(bands.cat.categories) == ["none", "low", "medium", "high", "top"]
    assert bands.cat.ordered
    assert bands.name == "volume_band"


def test_volume_bands_of_a_zero_scale_are_bands_of_the_plain_average() -> None:
    assert volume_band(np.array([0.0, 0.25, 1.0, 4.0, 4.5]), scale=0.0).tolist() == [
        "none",
        "low",
        "medium",
        "high",
        "top",
    ]


def _scored_rows(n_products: int) -> pd.DataFrame:
    """Scored rows of the store_sales spec: 2 stores of 2 types, ``n_products`` products, horizons 2, 1."""
    products = [f"p{i}" for i in range(n_products)]
    records = [
        (s, p, t, 100.0, h) for s, t in (("s1", "big"), ("s2", "small")) for p in products for h in (2, 1)
    ]
    rows = pd.DataFrame(records, columns=["store", "product", "store_type", "store_size", "horizon"])
    rows["entity"] = rows["store"] + "|" + rows["product"]
    rows["label"] = np.arange(len(rows), dtype="float64")
    return rows.set_axis(np.arange(len(rows)) * 3)  # a filtered index, as a time split gives


def test_slices_are_the_few_valued_key_columns_categorical_attributes_volume_band_and_horizon() -> None:
    spec = load_dataset(SPECS, "store_sales")
    rows = _scored_rows(n_products=MAX_SLICES + 1)
    average = rows["label"].to_numpy()

    keys = slice_keys(rows, spec, average)

    # product has more than MAX_SLICES values; store_size is numeric
    assert list(keys) == ["store", "store_type", "volume_band", "horizon"]
    assert all(list(k.index) == list(range(len(rows))) for k in keys.values())
    assert keys["store"].tolist() == rows["store"].tolist()
    assert list(keys["horizon"].cat.categories) == [1, 2] and keys["horizon"].cat.ordered
    scale = rows["label"].mean()
    assert keys["volume_band"].tolist() == volume_band(average, scale).tolist()


def test_a_key_column_of_at_most_max_slices_values_is_a_slice_dimension() -> None:
    keys = slice_keys(
        _scored_rows(n_products=MAX_SLICES), load_dataset(SPECS, "store_sales"), np.zeros(2 * 2 * MAX_SLICES)
    )

    assert list(keys) == ["store", "product", "store_type", "volume_band", "horizon"]


def test_online_retail_is_sliced_by_country_not_by_its_thousands_of_products() -> None:
    spec = load_dataset(SPECS, "online_retail")
    rows = pd.DataFrame(
        {
            "country": ["UK"] * 70 + ["FR"] * 70,
            "stock_code": [f"{i:05d}" for i in range(140)],
            "horizon": [1] * 140,
            "label": 1.0,
        }
    )

    assert list(slice_keys(rows, spec, np.ones(140))) == ["country", "volume_band", "horizon"]


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
        overall = regression_metrics(actual[mask], predicted[mask])
        columns = ["rmse", "mae", "wape", "bias"]
        expected = {name: overall[name] for name in columns}
        assert table.loc[key, columns].to_dict() == pytest.approx(expected)


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


def test_slice_scores_put_every_forecasts_primary_metric_next_to_the_models_per_slice() -> None:
    actual = np.array([10.0, 10.0, 4.0, 0.0, 2.0])
    model = np.array([8.0, 12.0, 4.0, 1.0, 2.0])
    keys = pd.Series(pd.Categorical([1, 1, 2, 2, 3], categories=[1, 2, 3], ordered=True))
    table = slice_metrics(actual, model, keys, min_rows=2)  # horizon 3 (1 row) is pooled

    scored = slice_scores(table, keys, actual, {"model": model, "zero": np.zeros(5)}, "wape")

    assert scored["slice"].tolist() == ["1", "2", OTHER_SLICE]
    # horizon 1: |8-10| + |12-10| = 4 of 20 units; horizon 2: 1 of 4; pooled: 0 of 2
    np.testing.assert_allclose(scored["wape_model"], [0.2, 0.25, 0.0])
    np.testing.assert_allclose(scored["wape_model"], scored["wape"])
    np.testing.assert_allclose(scored["wape_zero"], [1.0, 1.0, 1.0])
    mape = slice_scores(table, keys, actual, {"model": model}, "mape")["mape_model"]
    np.testing.assert_allclose(mape, [0.2, 0.0, 0.0])  # horizon 2's 0 actual is left out of MAPE


def test_slice_scores_reject_a_forecast_that_does_not_pair_up_with_the_rows() -> None:
    keys = pd.Series(["a", "a"])
    table = slice_metrics(np.ones(2), np.ones(2), keys, min_rows=1)

    with pytest.raises(ValueError, match="has 3 rows for 2 actuals"):
        slice_scores(table, keys, np.ones(2), {"zero": np.zeros(3)}, "wape")
