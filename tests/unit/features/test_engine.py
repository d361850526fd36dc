"""Behaviour of the feature engine on small panels whose features are computed by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fti.features.aggregate import to_panel
from fti.features.engine import FeatureInputError, build_features, build_future
from fti.features.schema import stored_columns as feature_columns
from fti.specs import DatasetSpec

NaN = float("nan")
COLUMNS = [
    {"name": "store", "type": "string"},
    {"name": "item", "type": "string"},
    {"name": "day", "type": "datetime"},
    {"name": "qty", "type": "float"},
    {"name": "price", "type": "float"},
    {"name": "promo", "type": "int"},
    {"name": "capacity", "type": "float"},
]


def make_spec(**sections: Any) -> DatasetSpec:
    """A daily spec of units sold per store and item; ``sections`` replace whole top-level sections."""
    document: dict[str, Any] = {
        "spec_version": 2,
        "name": "shop",
        "source": {"columns": COLUMNS},
        "entity": {"columns": ["store", "item"]},
        "time": {"column": "day", "grain": "day"},
        "target": {"name": "units", "column": "qty", "aggregation": "sum", "absent": "zero"},
        "features": {"lags": [1]},
        "forecast": {"horizon": 1},
        "model": {"training_window": 60},
    }
    return DatasetSpec.model_validate(document | sections)


def panel(rows: list[tuple[str, str, float]], **covariates: list[float]) -> pd.DataFrame:
    """A panel of entity ``S|i`` rows (store, item, day, units) plus covariate columns."""
    frame = pd.DataFrame(
        {
            "entity": [f"{s}|{i}" for s, i, *_ in rows],
            "store": [s for s, *_ in rows],
            "item": [i for _, i, *_ in rows],
            "period": pd.to_datetime([d for *_, d, _ in rows]).astype("datetime64[us]"),
            "units": [float(u) for *_, u in rows],
        }
    )
    for name, values in covariates.items():
        frame[name] = values
    return frame


def by_day(features: pd.DataFrame, column: str) -> dict[str, Any]:
    return dict(zip(features["period"].dt.strftime("%m-%d"), features[column].tolist(), strict=True))


ROLLING_ALL = {
    "window": 3,
    "stats": ["mean", "sum", "median", "max", "nonzero_count", "nonzero_share", "std"],
}
# One entity sold 5 on Jan 1, 2 on Jan 3 and 7 on Jan 4 (nothing on the other days).
SALES = [("S", "a", "2024-01-01", 5), ("S", "a", "2024-01-03", 2), ("S", "a", "2024-01-04", 7)]


# ----- windows: absent zero vs missing ------------------------------------------------------------
def test_absent_zero_counts_days_without_rows_as_zero_in_lags_and_windows() -> None:
    spec = make_spec(features={"lags": [1, 2], "rolling": [ROLLING_ALL]})

    got = build_features(panel(SALES), spec, "2024-01-01", "2024-01-08")

    days = ["01-01", "01-02", "01-03", "01-04", "01-05", "01-06"]
    dense = {"12-30": 0, "12-31": 0, "01-01": 5, "01-02": 0, "01-03": 2, "01-04": 7, "01-05": 0, "01-06": 0}
    values = list(dense.values())
    windows = [values[i : i + 3] for i in range(len(days))]
    assert by_day(got, "units") == dict(zip(days, [5.0, 0.0, 2.0, 7.0, 0.0, 0.0], strict=True))
    assert by_day(got, "lag_1") == dict(zip(days, [0.0, 5.0, 0.0, 2.0, 7.0, 0.0], strict=True))
    assert by_day(got, "lag_2") == dict(zip(days, [0.0, 0.0, 5.0, 0.0, 2.0, 7.0], strict=True))
    assert by_day(got, "rolling_sum_3") == dict(zip(days, [5.0, 5.0, 7.0, 9.0, 9.0, 7.0], strict=True))
    assert by_day(got, "rolling_mean_3") == dict(zip(days, [sum(w) / 3 for w in windows], strict=True))
    assert by_day(got, "rolling_median_3") == dict(zip(days, [0.0, 0.0, 2.0, 2.0, 2.0, 0.0], strict=True))
    assert by_day(got, "rolling_max_3") == dict(zip(days, [5.0, 5.0, 5.0, 7.0, 7.0, 7.0], strict=True))
    assert by_day(got, "rolling_nonzero_count_3") == dict(zip(days, [1, 1, 2, 2, 2, 1], strict=True))
    assert by_day(got, "rolling_nonzero_share_3") == dict(
        zip(days, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1 / 3], strict=True)
    )
    np.testing.assert_allclose(got["rolling_std_3"], [np.std(w, ddof=1) for w in windows], rtol=1e-12)


def test_absent_missing_skips_periods_without_rows_and_gives_rows_only_where_observed() -> None:
    spec = make_spec(
        target={"name": "units", "column": "qty", "aggregation": "mean", "absent": "missing"},
        features={"lags": [1, 2], "rolling": [ROLLING_ALL]},
    )

    got = build_features(panel(SALES), spec, "2024-01-01", "2024-01-08")

    assert by_day(got, "units") == {"01-01": 5.0, "01-03": 2.0, "01-04": 7.0}
    assert got["lag_1"].isna().tolist() == [True, True, False] and got["lag_1"].iloc[2] == 2.0
    assert got["lag_2"].isna().tolist() == [True, False, True] and got["lag_2"].iloc[1] == 5.0
    assert by_day(got, "rolling_sum_3") == {"01-01": 5.0, "01-03": 7.0, "01-04": 9.0}
    assert by_day(got, "rolling_mean_3") == {"01-01": 5.0, "01-03": 3.5, "01-04": 4.5}
    assert by_day(got, "rolling_median_3") == {"01-01": 5.0, "01-03": 3.5, "01-04": 4.5}
    assert by_day(got, "rolling_nonzero_count_3") == {"01-01": 1, "01-03": 2, "01-04": 2}
    assert by_day(got, "rolling_nonzero_share_3") == {"01-01": 1.0, "01-03": 1.0, "01-04": 1.0}
    assert np.isnan(got["rolling_std_3"].iloc[0])  # one value: no sample standard deviation
    np.testing.assert_allclose(
        got["rolling_std_3"].iloc[1:], [np.std([5, 2], ddof=1), np.std([2, 7], ddof=1)]
    )


def test_windows_of_a_past_only_covariate_skip_its_missing_values_even_with_absent_zero() -> None:
    spec = make_spec(
        covariates={"past_only": [{"column": "price", "aggregation": "mean"}]},
        features={"rolling": [{"window": 3, "column": "price", "stats": ["mean", "nonzero_count"]}]},
    )
    rows = panel(SALES, price=[2.0, NaN, 4.0])

    got = build_features(rows, spec, "2024-01-01", "2024-01-05")

    # A mean price of a day without sales is not 0: it stays missing, and windows skip it.
    assert got["price"].isna().tolist() == [False, True, True, False, True]
    assert by_day(got, "price_rolling_mean_3") == {
        "01-01": 2.0, "01-02": 2.0, "01-03": 2.0, "01-04": 4.0, "01-05": 4.0,
    }  # fmt: skip
    assert by_day(got, "price_rolling_nonzero_count_3") == {
        "01-01": 1, "01-02": 1, "01-03": 1, "01-04": 1, "01-05": 1,
    }  # fmt: skip


def test_a_window_with_no_present_value_gives_null_statistics_and_a_zero_count() -> None:
    spec = make_spec(
        target={"name": "units", "column": "qty", "aggregation": "mean", "absent": "missing"},
        covariates={"past_only": [{"column": "price", "aggregation": "mean"}]},
        features={"rolling": [{"window": 2, "column": "price", "stats": ["mean", "max", "nonzero_count"]}]},
    )

    got = build_features(panel(SALES[:1], price=[NaN]), spec, "2024-01-01", "2024-01-01")

    assert np.isnan(got["price_rolling_mean_2"].iloc[0]) and np.isnan(got["price_rolling_max_2"].iloc[0])
    assert got["price_rolling_nonzero_count_2"].tolist() == [0]


# ----- activity -------------------------------------------------------------------------------------
def test_absent_zero_entity_has_rows_from_its_first_sale_until_the_activity_window_after_its_last() -> None:
    spec = make_spec(features={"lags": [1], "rolling": [{"window": 3, "stats": ["mean"]}]})
    assert spec.features.activity_window == 3

    got = build_features(panel(SALES), spec, "2023-12-28", "2024-01-10")

    assert list(by_day(got, "units")) == ["01-01", "01-02", "01-03", "01-04", "01-05", "01-06"]


def test_an_entity_that_pauses_longer_than_the_activity_window_has_no_rows_in_the_pause() -> None:
    spec = make_spec(features={"lags": [1], "rolling": [{"window": 3, "stats": ["sum"]}]})
    rows = panel([("S", "a", "2024-01-01", 1), ("S", "a", "2024-01-06", 2)])

    got = build_features(rows, spec, "2024-01-01", "2024-01-10")

    assert by_day(got, "rolling_sum_3") == {
        "01-01": 1.0, "01-02": 1.0, "01-03": 1.0, "01-06": 2.0, "01-07": 2.0, "01-08": 2.0,
    }  # fmt: skip


def test_entities_are_numbered_apart_so_one_entity_never_keeps_another_active() -> None:
    spec = make_spec(features={"lags": [1], "rolling": [{"window": 3, "stats": ["sum"]}]})
    rows = panel([("S", "a", "2024-01-05", 1), ("S", "b", "2024-01-06", 2)])

    got = build_features(rows, spec, "2024-01-01", "2024-01-10")

    assert got.groupby("entity")["period"].min().dt.strftime("%m-%d").to_dict() == {
        "S|a": "01-05",
        "S|b": "01-06",
    }
    assert got.loc[got["entity"] == "S|b", "rolling_sum_3"].tolist() == [2.0, 2.0, 2.0]


# ----- grains ---------------------------------------------------------------------------------------
def test_weekly_grain_with_weeks_starting_sunday_sums_days_into_weeks_and_lags_by_weeks() -> None:
    spec = make_spec(
        time={"column": "day", "grain": "week", "week_start": "sunday"},
        features={"lags": [1, 2]},
        model={"training_window": 30},
    )
    raw = pd.DataFrame(
        {
            "store": ["S"] * 4,
            "item": ["a"] * 4,
            "day": pd.to_datetime(["2024-03-02", "2024-03-03", "2024-03-09", "2024-03-10"]),
            "qty": [1.0, 2.0, 3.0, 4.0],
        }
    )

    got = build_features(to_panel(raw, spec), spec, "2024-02-25", "2024-03-17")

    assert by_day(got, "units") == {"02-25": 1.0, "03-03": 5.0, "03-10": 4.0, "03-17": 0.0}
    assert by_day(got, "lag_1") == {"02-25": 0.0, "03-03": 1.0, "03-10": 5.0, "03-17": 4.0}
    assert by_day(got, "lag_2") == {"02-25": 0.0, "03-03": 0.0, "03-10": 1.0, "03-17": 5.0}
    assert (got["period"].dt.dayofweek == 6).all()


def test_hourly_readings_with_night_gaps_average_per_hour_and_lag_across_the_gap() -> None:
    spec = make_spec(
        entity={"columns": ["store"]},
        time={"column": "day", "grain": "hour"},
        target={"name": "occupancy", "column": "qty", "aggregation": "mean", "absent": "missing"},
        features={"lags": [1, 24], "rolling": [{"window": 24, "stats": ["mean"]}]},
        model={"training_window": 200},
    )
    readings = ["2024-01-01 08:10", "2024-01-01 08:40", "2024-01-01 09:10", "2024-01-02 08:05"]
    raw = pd.DataFrame({"store": ["P"] * 4, "day": pd.to_datetime(readings), "qty": [10.0, 20.0, 30.0, 40.0]})

    got = build_features(to_panel(raw, spec), spec, "2024-01-01 00:00", "2024-01-02 23:00")

    hours = got["period"].dt.strftime("%d %H").tolist()
    assert hours == ["01 08", "01 09", "02 08"]
    assert got["occupancy"].tolist() == [15.0, 30.0, 40.0]
    assert got["lag_1"].isna().tolist() == [True, False, True] and got["lag_1"].iloc[1] == 15.0
    assert got["lag_24"].isna().tolist() == [True, True, False] and got["lag_24"].iloc[2] == 15.0
    # 02 08:00 looks back 24 hours to 01 09:00 (the 01 08:00 hour is just outside).
    assert got["rolling_mean_24"].tolist() == [15.0, 22.5, 35.0]


# ----- ratios and cross features --------------------------------------------------------------------
def test_ratio_to_a_static_attribute_is_zero_where_the_attribute_is_zero_or_unknown() -> None:
    spec = make_spec(
        entity={"columns": ["store"]},
        target={"name": "occupancy", "column": "qty", "aggregation": "mean", "absent": "missing"},
        covariates={"static": {"columns": [{"column": "capacity", "kind": "numeric"}]}},
        features={
            "lags": [1],
            "ratios": [
                {"name": "rate", "numerator": {"column": "occupancy"}, "denominator": {"column": "capacity"}}
            ],
        },
    )
    rows = pd.DataFrame(
        {
            "entity": ["A", "B", "C"],
            "store": ["A", "B", "C"],
            "period": pd.to_datetime(["2024-01-01"] * 3).astype("datetime64[us]"),
            "occupancy": [50.0, 10.0, 10.0],
        }
    )
    attributes = pd.DataFrame({"store": ["A", "B"], "capacity": [100.0, 0.0]})  # C has none

    got = build_features(rows, spec, "2024-01-01", "2024-01-01", attributes=attributes)

    assert got["rate"].tolist() == [0.5, 0.0, 0.0]
    assert got["capacity"].iloc[:2].tolist() == [100.0, 0.0] and np.isnan(got["capacity"].iloc[2])


def test_ratio_of_window_sums_is_zero_when_the_window_holds_no_units() -> None:
    spec = make_spec(
        covariates={"past_only": [{"name": "revenue", "product": ["qty", "price"], "aggregation": "sum"}]},
        features={
            "lags": [1],
            "rolling": [{"window": 2, "stats": ["sum"]}],
            "ratios": [
                {
                    "name": "avg_price_2",
                    "numerator": {"column": "revenue", "window": 2, "stat": "sum"},
                    "denominator": {"column": "units", "window": 2, "stat": "sum"},
                }
            ],
        },
    )
    rows = panel([("S", "a", "2024-01-01", 2), ("S", "a", "2024-01-02", 0)], revenue=[3.0, 0.0])

    got = build_features(rows, spec, "2024-01-01", "2024-01-03")

    assert by_day(got, "avg_price_2") == {"01-01": 1.5, "01-02": 1.5, "01-03": 0.0}


def test_cross_features_sum_by_key_and_relate_to_the_mean_of_all_entities_at_the_period() -> None:
    spec = make_spec(
        features={
            "lags": [1],
            "rolling": [{"window": 2, "stats": ["mean"]}],
            "cross": [
                {"column": "units", "by": ["store"], "stat": "sum", "name": "store_units"},
                {"column": "units", "by": [], "stat": "mean", "relative": True, "name": "units_vs_mean"},
            ],
        }
    )
    rows = panel([("S1", "a", "2024-01-01", 2), ("S1", "b", "2024-01-01", 4), ("S2", "a", "2024-01-01", 6),
                  ("S1", "a", "2024-01-02", 1)])  # fmt: skip

    got = build_features(rows, spec, "2024-01-01", "2024-01-03").set_index(["period", "entity"])

    day1, day2, day3 = (pd.Timestamp(f"2024-01-0{d}") for d in (1, 2, 3))
    assert got.loc[day1, "store_units"].to_dict() == {"S1|a": 6.0, "S1|b": 6.0, "S2|a": 6.0}
    assert got.loc[day2, "store_units"].to_dict() == {"S1|a": 1.0, "S1|b": 1.0, "S2|a": 0.0}
    assert got.loc[day1, "units_vs_mean"].to_dict() == {"S1|a": 0.5, "S1|b": 1.0, "S2|a": 1.5}
    assert got.loc[day2, "units_vs_mean"].to_dict() == {"S1|a": 3.0, "S1|b": 0.0, "S2|a": 0.0}
    assert got.loc[day3, "units_vs_mean"].to_dict() == {"S1|a": 0.0}  # a mean of 0: 0, not a division by 0


# ----- known-future covariates and filters ----------------------------------------------------------
FUTURE_SPEC = {
    "target": {
        "name": "units", "column": "qty", "aggregation": "sum", "absent": "zero",
        "filters": {"column": "qty", "gt": 0},
    },
    "covariates": {
        "known_future": [
            {"column": "price", "aggregation": "mean"},
            {"column": "promo", "aggregation": "max"},
        ]
    },
    "features": {
        "lags": [1],
        "rolling": [{"window": 2, "stats": ["sum"]}],
        "cross": [
            {"column": "price", "by": ["item"], "stat": "mean", "relative": True, "name": "price_vs_item"}
        ],
    },
}  # fmt: skip
PLANNED = pd.DataFrame(
    {
        "store": ["S1", "S1", "S2"],
        "item": ["a", "a", "a"],
        "day": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-02 11:00"]),
        "qty": [3.0, 0.0, 4.0],
        "price": [2.0, 2.5, 1.0],
        "promo": pd.array([0, 1, 0], dtype="Int64"),
    }
)


def test_known_future_rows_keep_every_source_row_even_those_the_target_filters_drop() -> None:
    spec = make_spec(**FUTURE_SPEC)

    future = build_future(to_panel(PLANNED, spec), spec, "2024-01-01", "2024-01-02")

    assert list(future.columns) == ["entity", "store", "item", "period", "price", "promo", "price_vs_item"]
    assert future["entity"].tolist() == ["S1|a", "S1|a", "S2|a"]
    assert future["period"].dt.day.tolist() == [1, 2, 2]
    assert future["price"].tolist() == [2.0, 2.5, 1.0] and future["promo"].tolist() == [0.0, 1.0, 0.0]
    assert future["price_vs_item"].tolist() == [1.0, 2.5 / 1.75, 1.0 / 1.75]


def test_a_filtered_out_row_does_not_count_as_an_observation_of_the_target() -> None:
    spec = make_spec(**FUTURE_SPEC)
    built = to_panel(PLANNED, spec)

    features = build_features(built, spec, "2024-01-01", "2024-01-03")

    assert np.isnan(built.loc[(built["entity"] == "S1|a") & (built["period"].dt.day == 2), "units"]).all()
    s1 = features[features["entity"] == "S1|a"]
    assert s1["units"].tolist() == [3.0, 0.0]  # active on the 2nd through its sale on the 1st, not after
    assert "price" not in features.columns  # known-future values live in the future rows


def test_build_future_refuses_a_spec_without_known_future_covariates() -> None:
    with pytest.raises(FeatureInputError, match="no known-future covariates"):
        build_future(panel(SALES), make_spec(), "2024-01-01", "2024-01-02")


# ----- no look-ahead, no dependence on the computed range -------------------------------------------
def random_panel(seed: int, days: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for store in ("S1", "S2"):
        for item in ("a", "b", "c"):
            sold = rng.random(days) < 0.4
            for day in np.flatnonzero(sold):
                rows.append((store, item, str(np.datetime64("2024-01-01") + day), int(rng.integers(1, 9))))
    frame = panel(rows)
    frame["revenue"] = frame["units"] * rng.uniform(0.5, 3.0, len(frame))
    return frame


RICH_FEATURES = {
    "lags": [1, 7],
    "rolling": [{"window": 7, "stats": ["mean", "median", "std", "nonzero_share"]}],
    "calendar": ["day_of_week", "month"],
    "ratios": [
        {"name": "avg_price_7", "numerator": {"column": "revenue", "window": 7},
         "denominator": {"column": "units", "window": 7}}
    ],
    "cross": [{"column": "units", "by": ["store"], "stat": "sum", "name": "store_units"}],
}  # fmt: skip
RICH_SPEC = {
    "covariates": {"past_only": [{"name": "revenue", "product": ["qty", "price"], "aggregation": "sum"}]},
    "features": RICH_FEATURES,
}


def test_no_feature_row_changes_when_data_after_its_period_changes() -> None:
    spec = make_spec(**RICH_SPEC)
    before = random_panel(1)
    after = before.copy()
    later = after["period"] > "2024-01-20"
    after.loc[later, "units"] *= 3
    after = pd.concat([after, panel([("S3", "z", "2024-01-25", 5)], revenue=[5.0])], ignore_index=True)
    after = after.drop(index=after.index[later.reindex(after.index, fill_value=False)][::2])

    old = build_features(before, spec, "2024-01-10", "2024-02-05")
    new = build_features(after, spec, "2024-01-10", "2024-02-05")

    upto = pd.Timestamp("2024-01-20")
    pd.testing.assert_frame_equal(
        old[old["period"] <= upto].reset_index(drop=True), new[new["period"] <= upto].reset_index(drop=True)
    )
    assert (
        not old[old["period"] > upto]
        .reset_index(drop=True)
        .equals(new[new["period"] > upto].reset_index(drop=True))
    )


def test_a_row_is_the_same_whatever_range_it_is_computed_in() -> None:
    spec = make_spec(**RICH_SPEC)
    rows = random_panel(2)

    wide = build_features(rows, spec, "2024-01-08", "2024-02-09")
    narrow = build_features(rows, spec, "2024-01-20", "2024-01-22")

    inside = wide[wide["period"].between("2024-01-20", "2024-01-22")].reset_index(drop=True)
    pd.testing.assert_frame_equal(narrow, inside)  # exact: every window is summed afresh


# ----- columns, dtypes and refusals -----------------------------------------------------------------
def test_feature_rows_have_the_designed_columns_in_order_with_their_dtypes() -> None:
    spec = make_spec(**RICH_SPEC)

    got = build_features(random_panel(3), spec, "2024-01-08", "2024-01-31")

    assert list(got.columns) == feature_columns(spec)
    assert list(got.columns[:4]) == ["entity", "store", "item", "period"]
    assert got["period"].dtype == "datetime64[us]"
    assert {str(got[c].dtype) for c in ("entity", "store", "item")} == {"str"}
    assert {str(got[c].dtype) for c in ("day_of_week", "month")} == {"int64"}
    assert got.select_dtypes("float64").columns.tolist() == [
        "units", "revenue", "lag_1", "lag_7", "rolling_mean_7", "rolling_median_7", "rolling_std_7",
        "rolling_nonzero_share_7", "avg_price_7", "store_units",
    ]  # fmt: skip
    assert got.sort_values(["period", "entity"]).index.tolist() == list(range(len(got)))


def test_an_empty_range_of_activity_gives_no_rows_but_every_column() -> None:
    spec = make_spec(**RICH_SPEC)

    got = build_features(random_panel(4), spec, "2025-06-01", "2025-06-30")

    assert got.empty and list(got.columns) == feature_columns(spec)


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2024-01-01 12:00", "2024-01-02", "not the start of a day period"),
        ("2024-01-03", "2024-01-02", "is after last_period"),
        ("yesterday", "2024-01-02", "not a timestamp"),
    ],
)
def test_a_period_range_that_is_not_period_starts_in_order_is_refused(
    first: str, last: str, message: str
) -> None:
    with pytest.raises(FeatureInputError, match=message):
        build_features(panel(SALES), make_spec(), first, last)


def test_repeated_entity_period_rows_are_refused() -> None:
    with pytest.raises(FeatureInputError, match="1 repeated"):
        build_features(panel(SALES + SALES[:1]), make_spec(), "2024-01-01", "2024-01-05")
    with pytest.raises(FeatureInputError, match="1 repeated"):
        rows = panel(SALES + SALES[:1], price=[1.0] * 4, promo=[0.0] * 4)
        build_future(rows, make_spec(**FUTURE_SPEC), "2024-01-01", "2024-01-05")


def test_a_panel_without_the_target_column_is_refused_by_name() -> None:
    with pytest.raises(FeatureInputError, match=r"lacks column\(s\) \['units'\]"):
        build_features(panel(SALES).drop(columns="units"), make_spec(), "2024-01-01", "2024-01-05")


def test_static_attributes_the_spec_declares_must_be_given_once_per_entity() -> None:
    spec = make_spec(covariates={"static": {"columns": [{"column": "capacity", "kind": "numeric"}]}})

    with pytest.raises(FeatureInputError, match="declares static attributes"):
        build_features(panel(SALES), spec, "2024-01-01", "2024-01-05")
    twice = pd.DataFrame({"store": ["S", "S"], "item": ["a", "a"], "capacity": [1.0, 2.0]})
    with pytest.raises(FeatureInputError, match="1 repeated row"):
        build_features(panel(SALES), spec, "2024-01-01", "2024-01-05", attributes=twice)
