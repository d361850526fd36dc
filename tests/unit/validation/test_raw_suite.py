"""Tests of the raw-transactions suite and of the runner: real-looking days pass, each kind of bad input
fails with an error that names the expectation, the column and what was seen."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from fti.data.online_retail import RAW_COLUMNS, fetch, read_raw_file, read_transactions
from fti.data.spec import default_spec
from fti.validation.raw_suite import build_raw_suite, run_interval
from fti.validation.runner import ValidationFailed, ValidationReport, validate

DAY = date(2011, 11, 10)
# 20 lines of 2011-11-10 as the shop exports them: sales, a repeated line, cancellations (C), postage,
# a price-0 stock adjustment without description or customer, carriage, and a bad-debt adjustment (A,
# negative price; the real ones are of other days). Every one is valid raw data: cleaning, not validation.
LINES = (
    "575492,84946,ANTIQUE SILVER T-LIGHT GLASS,24,11/10/2011 8:06,1.25,18236.0,United Kingdom",
    "575492,22217,T-LIGHT HOLDER HANGING LACE,12,11/10/2011 8:06,1.25,18236.0,United Kingdom",
    "575492,23322,LARGE WHITE HEART OF WICKER,6,11/10/2011 8:06,2.95,18236.0,United Kingdom",
    "575492,79321,CHILLI LIGHTS,4,11/10/2011 8:06,5.75,18236.0,United Kingdom",
    "575492,22593,CHRISTMAS GINGHAM STAR,12,11/10/2011 8:06,0.85,18236.0,United Kingdom",
    "575492,23323,WHITE WICKER STAR ,6,11/10/2011 8:06,2.1,18236.0,United Kingdom",
    "575492,23323,WHITE WICKER STAR ,6,11/10/2011 8:06,2.1,18236.0,United Kingdom",
    "575493,23058,CHRISTMAS HANGING SNOWFLAKE,24,11/10/2011 8:39,0.79,18210.0,United Kingdom",
    "575493,23216,LAUREL HEART ANTIQUE GOLD,24,11/10/2011 8:39,1.25,18210.0,United Kingdom",
    "575493,23218,LAUREL STAR ANTIQUE GOLD,24,11/10/2011 8:39,1.25,18210.0,United Kingdom",
    "575493,23222,CHRISTMAS TREE HANGING GOLD,36,11/10/2011 8:39,0.83,18210.0,United Kingdom",
    "575498,POST,POSTAGE,1,11/10/2011 9:52,18.0,12708.0,Germany",
    "575503,35933,,-2,11/10/2011 10:19,0.0,,United Kingdom",
    "575505,POST,,800,11/10/2011 10:29,0.0,,United Kingdom",
    "575506,C2,,150,11/10/2011 10:30,0.0,,United Kingdom",
    "C575511,22382,LUNCH BAG SPACEBOY DESIGN ,-1,11/10/2011 10:33,1.65,14456.0,United Kingdom",
    "C575531,22960,JAM MAKING SET WITH JARS,-4,11/10/2011 11:12,4.25,12544.0,Spain",
    "575540,22726,ALARM CLOCK BAKELIKE GREEN,4,11/10/2011 12:00,3.75,12681.0,France",
    "575541,M,Manual,1,11/10/2011 12:05,38970.0,,United Kingdom",
    "A575542,B,Adjust bad debt,1,11/10/2011 13:36,-53594.36,,United Kingdom",
)


def read_lines(path: Path, *lines: str) -> pd.DataFrame:
    """The typed frame the reader makes of a raw file with these lines."""
    path.write_text("\n".join([",".join(RAW_COLUMNS), *lines]) + "\n")
    return read_raw_file(path)


@pytest.fixture
def day_frame(tmp_path: Path) -> pd.DataFrame:
    """The 20 lines of :data:`LINES`, typed by the real reader."""
    return read_lines(tmp_path / "2011-11-10.csv", *LINES)


def check(frame: pd.DataFrame, first_day: date = DAY, last_day: date | None = None) -> ValidationReport:
    return validate(frame, build_raw_suite(first_day, last_day), "raw test")


def failed(report: ValidationReport) -> set[tuple[str, str | None]]:
    """(expectation, column) of every failure."""
    return {(f.expectation, f.column) for f in report.failures}


def message(report: ValidationReport) -> str:
    with pytest.raises(ValidationFailed) as raised:
        report.raise_for_failures()
    return str(raised.value)


def test_real_looking_day_with_cancellations_fees_and_adjustments_passes(day_frame: pd.DataFrame) -> None:
    report = check(day_frame)

    assert report.success, [f.describe() for f in report.failures]
    assert report.failures == [] and report.rows == 20
    assert report.statistics["evaluated_expectations"] == len(build_raw_suite(DAY).expectations)
    report.raise_for_failures()  # returns quietly


def test_header_only_file_of_a_closed_day_passes(tmp_path: Path) -> None:
    report = check(read_lines(tmp_path / "closed.csv"))

    assert report.success and report.rows == 0, [f.describe() for f in report.failures]


@pytest.mark.parametrize("column", ["Country", "Quantity", "Customer ID"])
def test_missing_column_fails_naming_the_column(day_frame: pd.DataFrame, column: str) -> None:
    report = check(day_frame.drop(columns=column))

    assert not report.success
    assert ("expect_table_columns_to_match_set", None) in failed(report)
    assert f"'missing': ['{column}']" in message(report)


def test_columns_in_another_order_fail(day_frame: pd.DataFrame) -> None:
    report = check(day_frame[["Country", *RAW_COLUMNS[:-1]]])

    assert failed(report) == {("expect_table_columns_to_match_ordered_list", None)}
    assert "observed ['Country', 'Invoice'," in message(report)


@pytest.mark.parametrize(
    ("column", "dtype"),
    [
        pytest.param("Quantity", "str", id="quantity-as-text"),
        pytest.param("Quantity", "float64", id="quantity-as-float"),
        pytest.param("Price", "str", id="price-as-text"),
        pytest.param("InvoiceDate", "str", id="date-unparsed"),
        pytest.param("Customer ID", "float64", id="customer-id-as-float"),
        pytest.param("Customer ID", "int64", id="customer-id-not-nullable"),
        *(
            pytest.param(c, "category", id=f"{c}-categorical")
            for c in ("Invoice", "StockCode", "Description", "Country")
        ),
    ],
)
def test_column_of_the_wrong_type_fails_naming_column_and_type_seen(
    day_frame: pd.DataFrame, column: str, dtype: str
) -> None:
    values = day_frame[column].fillna(0) if dtype == "int64" else day_frame[column]
    day_frame[column] = values.astype(dtype)
    expectation = (
        "expect_column_values_to_be_in_type_list"
        if column == "Customer ID"
        else "expect_column_values_to_be_of_type"
    )

    report = check(day_frame)

    assert (expectation, column) in failed(report)
    assert f"{expectation} on {column}" in message(report)
    assert f"observed '{dtype}'" in message(report)


@pytest.mark.parametrize("column", default_spec().required_columns)
def test_five_percent_nulls_in_a_required_column_fail(day_frame: pd.DataFrame, column: str) -> None:
    frame = day_frame.astype({"Quantity": "Int64"}) if column == "Quantity" else day_frame.copy()
    frame.loc[3, column] = None  # 1 of 20 lines

    report = check(frame)

    (failure,) = [f for f in report.failures if f.expectation == "expect_column_values_to_not_be_null"]
    assert failure.column == column and failure.unexpected_count == 1 and failure.unexpected_percent == 5.0
    assert f"expect_column_values_to_not_be_null on {column}: 1 unexpected (5.00%)" in message(report)


def test_customer_id_may_be_missing_but_not_on_almost_every_line(day_frame: pd.DataFrame) -> None:
    mostly_missing = day_frame.copy()
    mostly_missing.loc[1:, "Customer ID"] = pd.NA  # 1 of 20 (5%) left, below the 10% bound

    assert check(day_frame).success  # 5 of 20 lines without one
    assert failed(check(mostly_missing)) == {("expect_column_values_to_not_be_null", "Customer ID")}


@pytest.mark.parametrize(
    "stamp",
    [
        pytest.param("2011-11-09 23:59", id="day-before"),
        pytest.param("2011-11-11 00:00", id="next-midnight"),
        pytest.param("2011-11-11 09:00", id="day-after"),
        pytest.param("2010-11-10 09:00", id="year-before"),
    ],
)
def test_line_outside_the_runs_interval_fails_naming_its_time(day_frame: pd.DataFrame, stamp: str) -> None:
    day_frame.loc[5, "InvoiceDate"] = pd.Timestamp(stamp)

    report = check(day_frame)

    assert failed(report) == {("expect_column_values_to_be_between", "InvoiceDate")}
    assert pd.Timestamp(stamp).isoformat() in message(report)
    assert "min_value='2011-11-10T00:00:00', max_value='2011-11-11T00:00:00'" in message(report)


def test_run_over_several_days_accepts_lines_of_each_of_them(day_frame: pd.DataFrame) -> None:
    day_frame.loc[5, "InvoiceDate"] = pd.Timestamp("2011-11-09 23:59")

    assert check(day_frame, date(2011, 11, 9), DAY).success
    assert run_interval(date(2011, 11, 9), DAY) == (pd.Timestamp("2011-11-09"), pd.Timestamp("2011-11-11"))
    with pytest.raises(ValueError, match="before"):
        run_interval(DAY, date(2011, 11, 9))


def test_unknown_country_fails_naming_it(day_frame: pd.DataFrame) -> None:
    day_frame.loc[7, "Country"] = "Atlantis"

    report = check(day_frame)

    assert failed(report) == {("expect_column_values_to_be_in_set", "Country")}
    assert "expect_column_values_to_be_in_set on Country: 1 unexpected (5.00%), e.g. ['Atlantis']" in message(
        report
    )


@pytest.mark.parametrize("quantity", [100_001, -100_001, 10**9])
def test_quantity_out_of_range_fails_naming_it(day_frame: pd.DataFrame, quantity: int) -> None:
    day_frame.loc[0, "Quantity"] = quantity

    report = check(day_frame)

    assert failed(report) == {("expect_column_values_to_be_between", "Quantity")}
    assert f"e.g. [{quantity}]" in message(report)


@pytest.mark.parametrize(
    ("column", "value"),
    [("Quantity", 100_000), ("Quantity", -100_000), ("Price", 100_000.0), ("Price", -60_000.0)],
)
def test_values_on_the_bounds_pass(day_frame: pd.DataFrame, column: str, value: float) -> None:
    day_frame.loc[0, column] = value

    assert check(day_frame).success


@pytest.mark.parametrize(
    ("column", "value", "expectation"),
    [
        pytest.param("Invoice", "X575492", "expect_column_values_to_match_regex", id="invoice-prefix"),
        pytest.param("Invoice", "57549", "expect_column_values_to_match_regex", id="invoice-five-digits"),
        pytest.param("Price", -60_000.01, "expect_column_values_to_be_between", id="price-below"),
        pytest.param("Price", 100_000.01, "expect_column_values_to_be_between", id="price-above"),
        pytest.param("StockCode", "", "expect_column_value_lengths_to_be_between", id="empty-stock-code"),
    ],
)
def test_other_impossible_values_fail_naming_them(
    day_frame: pd.DataFrame, column: str, value: object, expectation: str
) -> None:
    day_frame.loc[2, column] = value

    report = check(day_frame)

    assert failed(report) == {(expectation, column)}
    assert f"{expectation} on {column}" in message(report) and repr(value) in message(report)


def test_failure_message_names_each_failure_and_summary_stays_small(day_frame: pd.DataFrame) -> None:
    day_frame.loc[7, "Country"] = "Atlantis"
    day_frame.loc[5, "InvoiceDate"] = pd.Timestamp("2011-11-11 09:00")
    report = check(day_frame.astype({"Customer ID": "float64"}))

    text = message(report)
    summary = report.summary()

    assert text.startswith("raw test: 3 of ") and "'raw_transactions' failed on 20 rows" in text
    for failure in report.failures:
        assert f"{failure.expectation} on {failure.column}" in text
    assert summary["success"] is False and summary["failed"] == 3 and summary["rows"] == 20
    assert sorted(summary["failing"]) == [
        "expect_column_values_to_be_between(InvoiceDate)",
        "expect_column_values_to_be_in_set(Country)",
        "expect_column_values_to_be_in_type_list(Customer ID)",
    ]
    assert len(json.dumps(summary)) < 500
    assert report.result_json["success"] is False and len(report.result_json["results"]) > 20


def test_validate_accepts_a_suite_builder(day_frame: pd.DataFrame) -> None:
    day_frame.loc[7, "Country"] = "Atlantis"

    from_builder = validate(day_frame, partial(build_raw_suite, DAY), "raw test")

    assert from_builder.suite == "raw_transactions"
    assert failed(from_builder) == failed(check(day_frame))


def test_importing_the_validation_modules_imports_neither_great_expectations_nor_pandas() -> None:
    code = (
        "import sys, fti.validation.raw_suite, fti.validation.feature_suite, fti.validation.runner\n"
        "print(sorted(m for m in ('great_expectations', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


@pytest.mark.integration
def test_real_day_of_the_demo_data_passes() -> None:
    """2011-11-10 from the real file (fetched once into the cache): 3,275 lines."""
    frame = read_transactions(fetch(), start=DAY, end=DAY)

    report = check(frame)

    assert len(frame) == 3275
    assert report.success, [f.describe() for f in report.failures]
