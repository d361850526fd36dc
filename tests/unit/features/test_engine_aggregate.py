"""Raw rows -> panel: filters, entity ids, time zones, aggregations and static attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fti.features.aggregate import RawFrameError, static_attributes, to_panel
from fti.features.engine import build_features
from fti.specs import DatasetSpec, load_spec

ONLINE_RETAIL = Path(__file__).parents[3] / "specs" / "online_retail.yaml"
COLUMNS = [
    {"name": "Site Code", "type": "int"},
    {"name": "Reading Time", "type": "datetime"},
    {"name": "Value", "type": "float"},
    {"name": "Capacity", "type": "int"},
    {"name": "Zone", "type": "string"},
]


def reading_spec(aggregation: str = "mean", **sections: Any) -> DatasetSpec:
    document: dict[str, Any] = {
        "spec_version": 2,
        "name": "sites",
        "source": {"columns": COLUMNS},
        "entity": {"columns": ["Site Code"]},
        "time": {"column": "Reading Time", "grain": "day", "timezone": "Europe/London"},
        "target": {"name": "level", "column": "Value", "aggregation": aggregation, "absent": "missing"},
        "covariates": {
            "static": {
                "columns": [
                    {"column": "Capacity", "kind": "numeric"},
                    {"column": "Zone", "kind": "categorical"},
                ]
            }
        },
        "forecast": {"horizon": 1},
        "model": {"training_window": 60},
    }
    return DatasetSpec.model_validate(document | sections)


def invoice_lines(*lines: dict[str, Any]) -> pd.DataFrame:
    """Typed Online Retail lines; each overrides a valid sale of 2 x 85123a at 1.50 in France."""
    sale = {
        "Invoice": "536365",
        "StockCode": "85123a",
        "Description": "a product",
        "Quantity": 2,
        "InvoiceDate": pd.Timestamp("2011-08-01 10:15"),
        "Price": 1.5,
        "Customer ID": 17850,
        "Country": "France",
    }
    frame = pd.DataFrame([{**sale, **line} for line in lines])
    return frame.astype({"Quantity": "Int64", "Customer ID": "Int64", "InvoiceDate": "datetime64[us]"})


def test_online_retail_filters_keep_only_product_sales_for_demand_and_revenue() -> None:
    spec = load_spec(ONLINE_RETAIL)
    lines = invoice_lines(
        {},
        {"Quantity": 3, "Price": 2.0},
        {"Invoice": "C536379", "Quantity": -2},  # cancellation
        {"Quantity": 0},
        {"Price": 0.0},
        {"StockCode": "POST", "Quantity": 1, "Price": 18.0},  # postage: not a product
        {"Quantity": 5, "InvoiceDate": pd.Timestamp("2011-08-02 09:00")},
    )

    panel = to_panel(lines, spec)

    assert panel["entity"].astype(str).tolist() == ["France|85123A", "France|85123A"]
    assert panel["stock_code"].astype(str).tolist() == ["85123A", "85123A"]  # upper-cased as the spec says
    assert panel["period"].tolist() == [pd.Timestamp("2011-08-01"), pd.Timestamp("2011-08-02")]
    assert panel["demand"].tolist() == [5.0, 5.0]
    assert panel["revenue"].tolist() == [2 * 1.5 + 3 * 2.0, 5 * 1.5]


def test_an_entity_period_whose_rows_all_fail_the_filters_has_no_panel_row() -> None:
    spec = load_spec(ONLINE_RETAIL)

    panel = to_panel(invoice_lines({}, {"Invoice": "C1", "InvoiceDate": pd.Timestamp("2011-08-03")}), spec)

    assert panel["period"].dt.day.tolist() == [1]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("sum", 5.0), ("mean", 2.5), ("max", 4.0), ("min", 1.0), ("count", 2.0), ("last", 1.0)],
)
def test_rows_of_a_period_aggregate_as_declared_skipping_missing_values(
    aggregation: str, expected: float
) -> None:
    raw = pd.DataFrame(
        {
            "Site Code": pd.array([7, 7, 7], dtype="Int64"),
            # In row order 09:00, 11:00 (no value), 10:00: ``last`` is the latest present value, 10:00's.
            "Reading Time": pd.to_datetime(["2024-05-01 09:00", "2024-05-01 11:00", "2024-05-01 10:00"]),
            "Value": [4.0, np.nan, 1.0],
        }
    )

    panel = to_panel(raw, reading_spec(aggregation))

    assert panel["level"].tolist() == [expected]
    assert panel["site_code"].astype(str).tolist() == ["7"]  # an int key is its digits, not 7.0


def test_a_product_of_columns_is_multiplied_row_by_row_before_it_aggregates() -> None:
    spec = reading_spec(
        "sum",
        target={"name": "level", "product": ["Value", "Capacity"], "aggregation": "sum", "absent": "zero"},
    )
    raw = pd.DataFrame(
        {
            "Site Code": pd.array([1, 1], dtype="Int64"),
            "Reading Time": pd.to_datetime(["2024-05-01 09:00", "2024-05-01 10:00"]),
            "Value": [2.0, 3.0],
            "Capacity": pd.array([10, 100], dtype="Int64"),
        }
    )

    assert to_panel(raw, spec)["level"].tolist() == [2.0 * 10 + 3.0 * 100]


def test_time_zone_aware_stamps_are_converted_to_the_spec_zone_before_they_fall_into_periods() -> None:
    raw = pd.DataFrame(
        {
            "Site Code": pd.array([1, 1], dtype="Int64"),
            # 23:30 UTC on 30 June is 00:30 on 1 July in London (summer time).
            "Reading Time": pd.to_datetime(["2016-06-30 23:30", "2016-06-30 22:30"]).tz_localize("UTC"),
            "Value": [1.0, 2.0],
        }
    )

    panel = to_panel(raw, reading_spec())

    assert panel["period"].tolist() == [pd.Timestamp("2016-06-30"), pd.Timestamp("2016-07-01")]
    assert panel["level"].tolist() == [2.0, 1.0]


def test_static_attributes_are_the_latest_present_value_per_entity() -> None:
    raw = pd.DataFrame(
        {
            "Site Code": pd.array([1, 1, 1, 2], dtype="Int64"),
            "Reading Time": pd.to_datetime(["2024-05-02", "2024-05-01", "2024-05-03", "2024-05-01"]),
            "Value": [1.0, 1.0, 1.0, 1.0],
            "Capacity": pd.array([120, 100, None, 50], dtype="Int64"),
            "Zone": pd.array(["north", "south", None, None], dtype="str"),
        }
    )

    got = static_attributes(raw, reading_spec())

    assert list(got.columns) == ["entity", "site_code", "capacity", "zone"]
    assert got["entity"].tolist() == ["1", "2"]
    assert got["capacity"].tolist() == [120.0, 50.0]
    assert got["zone"].iloc[0] == "north" and pd.isna(got["zone"].iloc[1])


def test_rows_without_a_key_or_a_timestamp_are_refused_with_their_count() -> None:
    raw = pd.DataFrame(
        {
            "Site Code": pd.array([1, None], dtype="Int64"),
            "Reading Time": pd.to_datetime(["2024-05-01", None]),
            "Value": [1.0, 2.0],
        }
    )

    with pytest.raises(RawFrameError, match="1 row\\(s\\) have no value in key column 'Site Code'"):
        to_panel(raw, reading_spec())
    with pytest.raises(RawFrameError, match="1 row\\(s\\) have no value in time column 'Reading Time'"):
        to_panel(raw.fillna({"Site Code": 2}), reading_spec())


def test_a_raw_frame_without_a_column_the_spec_reads_is_refused_by_name() -> None:
    raw = pd.DataFrame({"Site Code": [1], "Reading Time": pd.to_datetime(["2024-05-01"])})

    with pytest.raises(RawFrameError, match=r"lacks column\(s\) \['Value'\]"):
        to_panel(raw, reading_spec())


def test_attributes_keyed_by_raw_column_names_join_and_unknown_entities_get_nulls() -> None:
    spec = reading_spec(
        features={
            "lags": [1],
            "ratios": [
                {"name": "fill", "numerator": {"column": "level"}, "denominator": {"column": "capacity"}}
            ],
        }
    )
    raw = pd.DataFrame(
        {
            "Site Code": pd.array([1, 2], dtype="Int64"),
            "Reading Time": pd.to_datetime(["2024-05-01 09:00", "2024-05-01 10:00"]),
            "Value": [4.0, 6.0],
        }
    )
    attributes = pd.DataFrame({"Site Code": [1], "Capacity": [10], "Zone": ["north"]})  # site 2: none

    got = build_features(to_panel(raw, spec), spec, "2024-05-01", "2024-05-01", attributes=attributes)

    assert list(got.columns) == [
        "entity",
        "site_code",
        "period",
        "capacity",
        "zone",
        "level",
        "lag_1",
        "fill",
    ]
    assert got["capacity"].iloc[0] == 10.0 and np.isnan(got["capacity"].iloc[1])
    assert got["zone"].iloc[0] == "north" and pd.isna(got["zone"].iloc[1])
    assert got["fill"].tolist() == [0.4, 0.0]
