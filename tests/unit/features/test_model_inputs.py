"""Stored rows become model inputs the same way for training and inference: one row per forecast step,
the target period's calendar, the known-future covariates at the target period, labels only where known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fti.features.model_inputs import (
    LABEL,
    KnownFutureMissing,
    add_planned_ratios,
    attach_future,
    attach_labels,
    check_future_complete,
    expand_horizons,
)
from fti.features.schema import model_inputs
from fti.specs import load_dataset

SPECS = Path(__file__).parents[3] / "specs"


def rows(spec_name: str, periods: list[str], entities: tuple[str, ...] = ("a",)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity": [e for p in periods for e in entities],
            "period": np.array([p for p in periods for _ in entities], dtype="datetime64[us]"),
            "value": np.arange(len(periods) * len(entities), dtype="float64"),
        }
    )


def test_daily_rows_repeat_once_per_horizon_with_the_target_weekday() -> None:
    spec = load_dataset(SPECS, "online_retail")
    expanded = expand_horizons(rows("online_retail", ["2011-12-09"]), spec)  # a Friday
    assert expanded["horizon"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert [str(p)[:10] for p in expanded["target_period"]] == [f"2011-12-{d}" for d in range(10, 17)]
    assert expanded["target_day_of_week"].tolist() == [5, 6, 0, 1, 2, 3, 4]
    assert expanded["target_month"].tolist() == [12] * 7


def test_hourly_steps_skip_the_gap_to_the_next_days_opening_hours() -> None:
    spec = load_dataset(SPECS, "car_parks")
    expanded = expand_horizons(rows("car_parks", ["2016-12-16T16:00"]), spec)  # Friday 16:00
    assert expanded["horizon"].tolist() == list(range(16, 25))
    assert str(expanded["target_period"].iloc[0]) == "2016-12-17 08:00:00"
    assert expanded["target_hour"].tolist() == list(range(8, 17))
    assert set(expanded["target_day_of_week"]) == {5}


def test_known_future_values_are_joined_at_the_target_period_and_missing_ones_are_named() -> None:
    spec = load_dataset(SPECS, "store_sales")
    expanded = expand_horizons(rows("store_sales", ["2024-03-04"], ("s1|p1", "s1|p2")), spec)
    future = pd.DataFrame(
        {
            "entity": ["s1|p1"] * 4 + ["s1|p2"] * 3,
            "period": np.array(
                [
                    "2024-03-11",
                    "2024-03-18",
                    "2024-03-25",
                    "2024-04-01",
                    "2024-03-11",
                    "2024-03-18",
                    "2024-03-25",
                ],
                dtype="datetime64[us]",
            ),
            "price": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "promo": [0, 1, 0, 0, 1, 1, 1],
            "price_vs_product_mean": [1.0] * 7,
        }
    )
    expanded = expanded.assign(past_price_rolling_mean_13=2.0, past_price_rolling_max_13=4.0)
    expanded = expanded.assign(past_price_rolling_mean_4=0.0)
    joined = add_planned_ratios(attach_future(expanded, future, spec), spec)
    assert joined.loc[joined["entity"] == "s1|p1", "price"].tolist() == [1.0, 2.0, 3.0, 4.0]
    # the planned price of each target week over the recent price at the feature week
    assert joined.loc[joined["entity"] == "s1|p1", "price_vs_recent_13"].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert joined.loc[joined["entity"] == "s1|p1", "price_vs_max_13"].tolist() == [0.25, 0.5, 0.75, 1.0]
    with pytest.raises(KnownFutureMissing) as raised:
        check_future_complete(joined, spec)
    assert "'price': 1 entity-periods, periods 2024-04-01" in str(raised.value)
    assert "fti data land --dataset store_sales" in str(raised.value)
    check_future_complete(joined[joined["entity"] == "s1|p1"], spec)


def test_an_absent_period_is_a_zero_label_for_transactions_but_dropped_for_measurements() -> None:
    retail = load_dataset(SPECS, "online_retail")
    actuals = pd.DataFrame(
        {
            "entity": ["a", "a", "b"],
            "period": np.array(["2011-12-01", "2011-12-02", "2011-12-03"], dtype="datetime64[us]"),
            "demand": [5.0, 7.0, 1.0],
        }
    )
    expanded = expand_horizons(rows("online_retail", ["2011-12-01"]), retail)
    labelled = attach_labels(expanded, actuals, retail)
    assert labelled[LABEL].tolist() == [
        7.0,
        0.0,
    ]  # Dec 2 known; Dec 3 known for the data set (0); after: unknown

    parks = load_dataset(SPECS, "car_parks")
    hours = pd.DataFrame(
        {
            "entity": ["a"],
            "period": np.array(["2016-12-17T09:00"], dtype="datetime64[us]"),
            "occupancy": [120.0],
        }
    )
    expanded = expand_horizons(rows("car_parks", ["2016-12-16T16:00"]), parks)
    labelled = attach_labels(expanded, hours, parks)
    assert labelled["horizon"].tolist() == [17] and labelled[LABEL].tolist() == [120.0]


def test_model_inputs_follow_the_spec() -> None:
    retail = load_dataset(SPECS, "online_retail")
    inputs = model_inputs(retail)
    assert inputs[0] == "country" and "horizon" in inputs and "target_day_of_week" in inputs
    assert "entity" not in inputs and "period" not in inputs and "stock_code" not in inputs
    sales = load_dataset(SPECS, "store_sales")
    assert {"store_type", "store_size", "price", "promo", "price_vs_product_mean"} <= set(model_inputs(sales))
    assert model_inputs(sales)[-3:] == ["price_vs_recent_13", "price_vs_max_13", "price_vs_recent_4"]


def test_a_planned_ratio_is_zero_without_a_base_and_missing_without_a_plan() -> None:
    spec = load_dataset(SPECS, "store_sales")
    frame = pd.DataFrame(
        {
            "price": [3.0, 3.0, 3.0, np.nan],
            "past_price_rolling_mean_13": [2.0, 0.0, np.nan, 2.0],
            "past_price_rolling_max_13": [4.0] * 4,
            "past_price_rolling_mean_4": [3.0] * 4,
        }
    )
    out = add_planned_ratios(frame, spec)
    assert out["price_vs_recent_13"].tolist()[:3] == [1.5, 0.0, 0.0]
    assert np.isnan(out["price_vs_recent_13"].iloc[3])
    assert out["price_vs_recent_4"].tolist()[:3] == [1.0, 1.0, 1.0]
    assert "price_vs_recent_13" not in frame  # the input is not changed
