"""Tests of the feature suite: rows of build_features pass; leakage, nulls, impossible values and
duplicate keys fail with errors that name them."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from fti.data.online_retail import fetch, read_transactions
from fti.features.demand import LOOKBACK_DAYS, build_features, clean_transactions, daily_demand
from fti.validation.feature_suite import (
    FEATURE_SET_COLUMNS,
    FEATURE_SUITE_NAME,
    NON_NEGATIVE_COLUMNS,
    build_feature_suite,
)
from fti.validation.runner import ValidationFailed, ValidationReport, validate

DAY = date(2011, 11, 10)  # a Thursday


@pytest.fixture
def features() -> pd.DataFrame:
    """Feature rows of DAY - 1 and DAY for three entities, one of them without a sale in the last week."""
    rows = [
        ("United Kingdom", "85123A", {0: 12, 1: 6, 3: 24, 7: 6, 14: 12, 28: 32}, 2.55),
        ("France", "22726", {0: 4, 2: 4, 9: 8, 20: 4}, 3.75),
        ("Germany", "21731", {12: 10, 27: 5}, 1.65),
    ]
    demand = pd.DataFrame(
        [
            {
                "country": country,
                "stock_code": code,
                "date": pd.Timestamp(DAY - timedelta(days=offset)),
                "demand": quantity,
                "revenue": quantity * price,
            }
            for country, code, history, price in rows
            for offset, quantity in history.items()
        ]
    )
    return build_features(demand, DAY - timedelta(days=1), DAY)


def check(frame: pd.DataFrame) -> ValidationReport:
    return validate(frame, build_feature_suite, "features test")


def failed(report: ValidationReport) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in report.failures}


def message(report: ValidationReport) -> str:
    with pytest.raises(ValidationFailed) as raised:
        report.raise_for_failures()
    return str(raised.value)


def test_features_built_from_daily_demand_pass(features: pd.DataFrame) -> None:
    report = check(features)

    assert report.success, [f.describe() for f in report.failures]
    assert report.suite == FEATURE_SUITE_NAME and report.rows == len(features) == 6
    assert report.statistics["evaluated_expectations"] == len(build_feature_suite().expectations)


@pytest.mark.parametrize("column", ["label", "target", "future_demand_7", "demand_next_day"])
def test_a_leakage_column_fails_naming_it(features: pd.DataFrame, column: str) -> None:
    features[column] = features["demand"]

    report = check(features)

    assert ("expect_table_columns_to_match_set", None) in failed(report)
    assert f"'unexpected': ['{column}']" in message(report)


def test_a_missing_feature_column_fails_naming_it(features: pd.DataFrame) -> None:
    report = check(features.drop(columns="lag_28"))

    assert "'missing': ['lag_28']" in message(report)
    assert ("expect_column_values_to_not_be_null", "lag_28") in failed(report)


def test_columns_in_another_order_fail(features: pd.DataFrame) -> None:
    report = check(features[list(reversed(FEATURE_SET_COLUMNS))])

    assert failed(report) == {("expect_table_columns_to_match_ordered_list", None)}


@pytest.mark.parametrize("column", FEATURE_SET_COLUMNS)
def test_nulls_fail_naming_the_column(features: pd.DataFrame, column: str) -> None:
    features[column] = features[column].where(features.index != 2)  # NaN, NaT or NA by dtype

    report = check(features)

    assert ("expect_column_values_to_not_be_null", column) in failed(report)
    assert f"expect_column_values_to_not_be_null on {column}: 1 unexpected (16.67%)" in message(report)


def test_negative_demand_fails_naming_the_value(features: pd.DataFrame) -> None:
    features.loc[0, "demand"] = -3.0

    report = check(features)

    assert failed(report) == {("expect_column_values_to_be_between", "demand")}
    assert "on demand (min_value=0.0): 1 unexpected (16.67%), e.g. [-3.0]" in message(report)


@pytest.mark.parametrize("column", NON_NEGATIVE_COLUMNS)
def test_negative_sums_means_and_prices_fail(features: pd.DataFrame, column: str) -> None:
    features.loc[3, column] = -0.01

    report = check(features)

    assert failed(report) == {("expect_column_values_to_be_between", column)}
    assert f"on {column} (min_value=0.0): 1 unexpected (16.67%), e.g. [-0.01]" in message(report)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("active_days_28", 0),
        ("active_days_28", LOOKBACK_DAYS + 1),
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


def test_duplicate_entity_and_date_fails_naming_the_key(features: pd.DataFrame) -> None:
    duplicated = pd.concat([features, features.iloc[[4]]], ignore_index=True)

    report = check(duplicated)

    assert failed(report) == {("expect_compound_columns_to_be_unique", "entity, date")}
    (failure,) = report.failures
    entity = features.loc[4, "entity"]
    assert failure.unexpected_count == 2 and failure.unexpected_values == [
        {"entity": entity, "date": DAY.isoformat()}
    ]
    assert "expect_compound_columns_to_be_unique on entity, date: 2 unexpected" in message(report)


@pytest.mark.integration
def test_features_of_a_real_day_pass() -> None:
    """Features of 2011-11-10 from the real file (fetched once into the cache) and its 28 days before."""
    raw = read_transactions(fetch(), start=DAY - timedelta(days=LOOKBACK_DAYS), end=DAY)
    frame = build_features(daily_demand(clean_transactions(raw)), DAY, DAY)

    report = check(frame)

    assert len(frame) > 1000 and frame["date"].eq(DAY).all()
    assert report.success, [f.describe() for f in report.failures]
