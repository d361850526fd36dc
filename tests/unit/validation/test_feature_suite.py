"""Tests of the feature suite: rows of the engine pass; leakage, nulls, impossible values and duplicate
keys fail with errors that name them. The rules come from the spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fti.features.aggregate import to_panel
from fti.features.engine import build_features
from fti.features.schema import stored_columns
from fti.settings import PROJECT_ROOT
from fti.specs import DatasetSpec, load_dataset
from fti.validation.feature_suite import FEATURE_SUITE_NAME, build_feature_suite
from fti.validation.runner import ValidationFailed, ValidationReport, validate

SPECS = PROJECT_ROOT / "specs"
ONLINE_RETAIL = load_dataset(SPECS, "online_retail")
CAR_PARKS = load_dataset(SPECS, "car_parks")
DAY = pd.Timestamp("2011-11-10")  # a Thursday
FIXTURES = Path(__file__).parents[2] / "fixtures"


@pytest.fixture
def features() -> pd.DataFrame:
    """online_retail feature rows of DAY - 1 and DAY of three entities, one without a sale for a week."""
    rows = [
        ("United Kingdom", "85123A", {0: 12, 1: 6, 3: 24, 7: 6, 14: 12, 28: 32}, 2.55),
        ("France", "22726", {0: 4, 2: 4, 9: 8, 20: 4}, 3.75),
        ("Germany", "21731", {12: 10, 27: 5}, 1.65),
    ]
    panel = pd.DataFrame(
        [
            {
                "entity": f"{country}|{code}",
                "country": country,
                "stock_code": code,
                "period": DAY - pd.Timedelta(days=offset),
                "demand": float(quantity),
                "revenue": quantity * price,
            }
            for country, code, history, price in rows
            for offset, quantity in history.items()
        ]
    ).astype({"period": "datetime64[us]"})
    # A copy the tests may edit in place: the engine hands over its zero-copy (read-only) columns.
    return build_features(panel, ONLINE_RETAIL, DAY - pd.Timedelta(days=1), DAY).copy()


def check(frame: pd.DataFrame, spec: DatasetSpec = ONLINE_RETAIL) -> ValidationReport:
    return validate(frame, build_feature_suite(spec), "features test")


def failed(report: ValidationReport) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in report.failures}


def message(report: ValidationReport) -> str:
    with pytest.raises(ValidationFailed) as raised:
        report.raise_for_failures()
    return str(raised.value)


def test_features_built_by_the_engine_pass(features: pd.DataFrame) -> None:
    report = check(features)

    assert report.success, [f.describe() for f in report.failures]
    assert report.suite == f"{FEATURE_SUITE_NAME}_online_retail" and report.rows == len(features) == 6
    assert report.statistics["evaluated_expectations"] == len(build_feature_suite(ONLINE_RETAIL).expectations)


def test_the_suite_records_the_data_set_and_the_spec_file_it_was_made_from() -> None:
    suite = build_feature_suite(ONLINE_RETAIL)

    assert suite.meta["dataset"] == "online_retail"
    assert suite.meta["spec_sha256"] == ONLINE_RETAIL.source_sha256 and len(suite.meta["spec_sha256"]) == 64


@pytest.mark.parametrize("column", ["label", "target", "future_demand_7", "demand_next_day"])
def test_a_leakage_column_fails_naming_it(features: pd.DataFrame, column: str) -> None:
    features[column] = features["demand"]

    report = check(features)

    assert ("expect_table_columns_to_match_ordered_list", None) in failed(report)
    assert f"'{column}'" in message(report)


def test_a_missing_feature_column_fails_naming_it(features: pd.DataFrame) -> None:
    report = check(features.drop(columns="lag_28"))

    assert ("expect_table_columns_to_match_ordered_list", None) in failed(report)
    assert ("expect_column_values_to_not_be_null", "lag_28") in failed(report)
    assert "lag_28" in message(report)


def test_columns_in_another_order_fail(features: pd.DataFrame) -> None:
    report = check(features[list(reversed(stored_columns(ONLINE_RETAIL)))])

    assert failed(report) == {("expect_table_columns_to_match_ordered_list", None)}


@pytest.mark.parametrize("column", stored_columns(ONLINE_RETAIL))
def test_with_absent_zero_a_null_anywhere_fails_naming_the_column(
    features: pd.DataFrame, column: str
) -> None:
    features[column] = features[column].where(features.index != 2)  # NaN, NaT or None by dtype

    report = check(features)

    assert ("expect_column_values_to_not_be_null", column) in failed(report)
    assert f"expect_column_values_to_not_be_null on {column}: 1 unexpected (16.67%)" in message(report)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("active_days_28", -1),
        ("active_days_28", 29),  # counted in a 28-period window
        ("day_of_week", 7),
        ("day_of_week", -1),
        ("month", 0),
        ("month", 13),
    ],
)
def test_values_out_of_their_range_fail(features: pd.DataFrame, column: str, value: float) -> None:
    features.loc[1, column] = value

    report = check(features)

    assert failed(report) == {("expect_column_values_to_be_between", column)}
    assert f"e.g. [{value!r}]" in message(report)


def test_duplicate_entity_and_period_fails_naming_the_key(features: pd.DataFrame) -> None:
    duplicated = pd.concat([features, features.iloc[[4]]], ignore_index=True)

    report = check(duplicated)

    assert failed(report) == {("expect_compound_columns_to_be_unique", "entity, period")}
    (failure,) = report.failures
    assert failure.unexpected_count == 2
    assert failure.unexpected_values[0]["entity"] == features.loc[4, "entity"]
    assert "expect_compound_columns_to_be_unique on entity, period: 2 unexpected" in message(report)


# ----- a measured target (absent: missing), hours, holidays --------------------------------------------
@pytest.fixture
def car_park_features() -> pd.DataFrame:
    """Two car parks read at 08:00-10:00 on two days; one misses the second day's 09:00 reading."""
    hours = pd.to_datetime(["2016-12-01 08:00", "2016-12-01 09:00", "2016-12-01 10:00",
                            "2016-12-02 08:00", "2016-12-02 09:00", "2016-12-02 10:00"])  # fmt: skip
    panel = pd.DataFrame(
        {
            "entity": ["A"] * 6 + ["B"] * 5,
            "system_code_number": ["A"] * 6 + ["B"] * 5,
            "period": np.concatenate([hours, hours.delete(4)]).astype("datetime64[us]"),
            "occupancy": np.arange(11, dtype="float64") * 10,
        }
    )
    attributes = pd.DataFrame({"SystemCodeNumber": ["A", "B"], "Capacity": [200, 500]})
    return build_features(panel, CAR_PARKS, "2016-12-02T08:00", "2016-12-02T10:00", attributes).copy()


def test_hourly_features_with_missing_history_pass(car_park_features: pd.DataFrame) -> None:
    report = check(car_park_features, CAR_PARKS)

    assert car_park_features["lag_168"].isna().all()  # a week ago was not observed
    assert car_park_features["lag_1"].isna().sum() == 3  # nor were 07:00, nor B at 09:00
    assert report.success, [f.describe() for f in report.failures]
    assert len(car_park_features) == 5  # B was not observed at 09:00: no row


@pytest.mark.parametrize(("column", "value"), [("hour", 24), ("is_holiday", 2), ("day_of_week", 7)])
def test_hour_and_holiday_flags_out_of_their_range_fail(
    car_park_features: pd.DataFrame, column: str, value: int
) -> None:
    car_park_features.loc[0, column] = value

    assert failed(check(car_park_features, CAR_PARKS)) == {("expect_column_values_to_be_between", column)}


@pytest.mark.parametrize(("column", "fails"), [("lag_1", False), ("occupancy_rate", True), ("hour", True)])
def test_with_absent_missing_only_calendar_and_ratios_must_be_present(
    car_park_features: pd.DataFrame, column: str, fails: bool
) -> None:
    car_park_features[column] = car_park_features[column].where(car_park_features.index != 0)

    assert (
        ("expect_column_values_to_not_be_null", column) in failed(check(car_park_features, CAR_PARKS))
    ) is fails


def test_a_share_above_one_fails_on_a_weekly_spec() -> None:
    spec = load_dataset(SPECS, "store_sales")
    frame = pd.DataFrame({c: [1.0] for c in stored_columns(spec)})
    frame = frame.assign(entity="s|p", store="s", product="p", store_type="big", week_of_year=10, month=3)
    frame["period"] = np.array(["2024-03-04"], dtype="datetime64[us]")
    frame["rolling_nonzero_share_13"] = 1.5

    assert failed(check(frame, spec)) == {("expect_column_values_to_be_between", "rolling_nonzero_share_13")}


def test_features_of_a_real_day_pass() -> None:
    """Features of 2011-11-10 from real Online Retail lines (France, Germany and EIRE) and the days before."""
    raw = pd.read_parquet(FIXTURES / "online_retail_raw_slice.parquet")
    frame = build_features(to_panel(raw, ONLINE_RETAIL), ONLINE_RETAIL, DAY, DAY)

    report = check(frame)

    assert len(frame) > 100 and frame["period"].eq(DAY).all()
    assert report.success, [f.describe() for f in report.failures]
