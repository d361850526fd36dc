"""Tests of the raw suite built from a data-set spec: real-looking data passes, each kind of broken frame
fails naming the expectation and the column, future partitions are judged by their own suite; the real
data sets pass every day (``integration``: they are downloaded once into the cache)."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fti.data.generate import StoreSales, generate
from fti.data.source import partition_path, read_files, read_future, read_partitions
from fti.specs.loader import load_spec
from fti.specs.model import DatasetSpec
from fti.validation.raw_suite import build_future_suite, build_raw_suite, run_interval
from fti.validation.runner import ValidationFailed, ValidationReport, validate

SPECS = Path(__file__).parents[3] / "specs"
DAY = date(2011, 11, 10)
HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
# 20 lines of 2011-11-10 as the shop exports them: sales, a repeated line, cancellations (C), postage,
# a price-0 stock adjustment without description or customer, carriage, and a bad-debt adjustment (A,
# negative price). Every one is valid raw data: the target's filters, not validation, drop them.
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


def spec(name: str) -> DatasetSpec:
    return load_spec(SPECS / f"{name}.yaml")


@pytest.fixture(scope="module")
def retail() -> DatasetSpec:
    return spec("online_retail")


@pytest.fixture
def day_frame(tmp_path: Path, retail: DatasetSpec) -> pd.DataFrame:
    """The 20 lines of :data:`LINES`, typed by the real reader."""
    path = tmp_path / "2011-11-10.csv"
    path.write_text("\n".join([HEADER, *LINES]) + "\n")
    return read_files(retail, [path])


def check(
    frame: pd.DataFrame, spec: DatasetSpec, first: date = DAY, last: date | None = None
) -> ValidationReport:
    return validate(frame, build_raw_suite(spec, first, last), "raw test")


def failed(report: ValidationReport) -> set[tuple[str, str | None]]:
    """(expectation, column) of every failure."""
    return {(f.expectation, f.column) for f in report.failures}


def message(report: ValidationReport) -> str:
    with pytest.raises(ValidationFailed) as raised:
        report.raise_for_failures()
    return str(raised.value)


# ----- Online Retail: a day that passes, and each way a day fails ---------------------------------------
def test_real_looking_day_with_cancellations_fees_and_adjustments_passes(
    day_frame: pd.DataFrame, retail: DatasetSpec
) -> None:
    report = check(day_frame, retail)

    assert report.success, [f.describe() for f in report.failures]
    assert report.rows == 20
    assert report.statistics["evaluated_expectations"] == len(build_raw_suite(retail, DAY).expectations)


def test_a_header_only_day_passes(tmp_path: Path, retail: DatasetSpec) -> None:
    (tmp_path / "closed.csv").write_text(HEADER + "\n")

    report = check(read_files(retail, [tmp_path / "closed.csv"]), retail)

    assert report.success and report.rows == 0, [f.describe() for f in report.failures]


@pytest.mark.parametrize("column", ["Country", "Quantity", "Customer ID"])
def test_a_missing_column_fails_naming_it(day_frame: pd.DataFrame, retail: DatasetSpec, column: str) -> None:
    report = check(day_frame.drop(columns=column), retail)

    assert ("expect_table_columns_to_match_set", None) in failed(report)
    assert f"'missing': ['{column}']" in message(report)


def test_columns_in_another_order_fail(day_frame: pd.DataFrame, retail: DatasetSpec) -> None:
    columns = list(day_frame.columns)
    report = check(day_frame[[columns[-1], *columns[:-1]]], retail)

    assert failed(report) == {("expect_table_columns_to_match_ordered_list", None)}


@pytest.mark.parametrize(
    ("column", "dtype", "expectation"),
    [
        pytest.param("Quantity", "float64", "expect_column_values_to_be_in_type_list", id="int-as-float"),
        pytest.param("Quantity", "int64", "expect_column_values_to_be_in_type_list", id="int-not-nullable"),
        pytest.param("Price", "str", "expect_column_values_to_be_in_type_list", id="float-as-text"),
        pytest.param(
            "InvoiceDate", "datetime64[ns]", "expect_column_values_to_be_in_type_list", id="time-ns"
        ),
        pytest.param("InvoiceDate", "str", "expect_column_values_to_be_in_type_list", id="time-unparsed"),
        pytest.param("Country", "category", "expect_column_values_to_be_of_type", id="text-categorical"),
    ],
)
def test_a_column_of_another_dtype_fails_naming_the_dtype_seen(
    day_frame: pd.DataFrame, retail: DatasetSpec, column: str, dtype: str, expectation: str
) -> None:
    values = day_frame[column].fillna(0) if dtype == "int64" else day_frame[column]
    day_frame[column] = values.astype(dtype)

    report = check(day_frame, retail)

    assert (expectation, column) in failed(report)
    assert f"{expectation} on {column}" in message(report) and f"observed '{dtype}'" in message(report)


@pytest.mark.parametrize("column", ["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Country"])
def test_a_missing_value_in_a_not_null_column_fails(
    day_frame: pd.DataFrame, retail: DatasetSpec, column: str
) -> None:
    day_frame.loc[3, column] = None

    report = check(day_frame, retail)

    (failure,) = [f for f in report.failures if f.expectation == "expect_column_values_to_not_be_null"]
    assert failure.column == column and failure.unexpected_count == 1


def test_customer_id_may_be_missing_but_not_on_almost_every_line(
    day_frame: pd.DataFrame, retail: DatasetSpec
) -> None:
    mostly_missing = day_frame.copy()
    mostly_missing.loc[1:, "Customer ID"] = pd.NA  # 1 of 20 (5%) left, below the spec's 10%

    assert check(day_frame, retail).success  # 5 of 20 lines without one
    assert failed(check(mostly_missing, retail)) == {("expect_column_values_to_not_be_null", "Customer ID")}


@pytest.mark.parametrize("stamp", ["2011-11-09 23:59", "2011-11-11 00:00", "2010-11-10 09:00"])
def test_a_line_outside_the_run_interval_fails_naming_its_time(
    day_frame: pd.DataFrame, retail: DatasetSpec, stamp: str
) -> None:
    day_frame.loc[5, "InvoiceDate"] = pd.Timestamp(stamp)

    report = check(day_frame, retail)

    assert failed(report) == {("expect_column_values_to_be_between", "InvoiceDate")}
    assert pd.Timestamp(stamp).isoformat() in message(report)
    assert "min_value='2011-11-10T00:00:00', max_value='2011-11-11T00:00:00'" in message(report)


def test_a_run_over_several_partitions_accepts_rows_of_each(
    day_frame: pd.DataFrame, retail: DatasetSpec
) -> None:
    day_frame.loc[5, "InvoiceDate"] = pd.Timestamp("2011-11-09 23:59")

    assert check(day_frame, retail, date(2011, 11, 9), DAY).success
    assert run_interval(retail, date(2011, 11, 9), DAY) == (datetime(2011, 11, 9), datetime(2011, 11, 11))
    assert run_interval(spec("store_sales"), date(2024, 3, 7)) == (
        datetime(2024, 3, 4),
        datetime(2024, 3, 11),
    )
    assert run_interval(spec("car_parks"), datetime(2016, 10, 4, 9)) == (
        datetime(2016, 10, 4),
        datetime(2016, 10, 5),
    )
    with pytest.raises(ValueError, match="before"):
        run_interval(retail, DAY, date(2011, 11, 9))


@pytest.mark.parametrize(
    ("column", "value", "expectation"),
    [
        pytest.param("Country", "Atlantis", "expect_column_values_to_be_in_set", id="allowed"),
        pytest.param("Invoice", "X575492", "expect_column_values_to_match_regex", id="regex"),
        pytest.param("StockCode", "X" * 21, "expect_column_value_lengths_to_be_between", id="max-length"),
        pytest.param("Quantity", 100_001, "expect_column_values_to_be_between", id="int-max"),
        pytest.param("Quantity", -100_001, "expect_column_values_to_be_between", id="int-min"),
        pytest.param("Price", 100_000.01, "expect_column_values_to_be_between", id="float-max"),
        pytest.param("Price", -60_000.01, "expect_column_values_to_be_between", id="float-min"),
    ],
)
def test_a_value_against_a_rule_fails_naming_rule_column_and_value(
    day_frame: pd.DataFrame, retail: DatasetSpec, column: str, value: object, expectation: str
) -> None:
    day_frame.loc[2, column] = value

    report = check(day_frame, retail)

    assert failed(report) == {(expectation, column)}
    assert f"{expectation} on {column}" in message(report) and "1 unexpected" in message(report)
    assert repr(value) in message(report)


@pytest.mark.parametrize(
    ("column", "value"), [("Quantity", 100_000), ("Quantity", -100_000), ("Price", -60_000.0)]
)
def test_values_on_the_bounds_pass(
    day_frame: pd.DataFrame, retail: DatasetSpec, column: str, value: float
) -> None:
    day_frame.loc[0, column] = value

    assert check(day_frame, retail).success


def test_the_suite_names_the_spec_and_the_digest_of_its_file(retail: DatasetSpec) -> None:
    suite = build_raw_suite(retail, DAY)

    assert suite.name == "raw_online_retail"
    assert suite.meta["spec_name"] == "online_retail"
    assert (
        suite.meta["spec_sha256"] == hashlib.sha256((SPECS / "online_retail.yaml").read_bytes()).hexdigest()
    )
    assert (suite.meta["interval_start"], suite.meta["interval_end"]) == (
        "2011-11-10T00:00:00",
        "2011-11-11T00:00:00",
    )


def test_importing_the_suite_module_imports_neither_great_expectations_nor_pandas() -> None:
    code = (
        "import sys, fti.validation.raw_suite\n"
        "print(sorted(m for m in ('great_expectations', 'pandas', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


# ----- weekly aggregated data: one row per entity and week; planned weeks -------------------------------
def strict_sales(tmp_path: Path) -> DatasetSpec:
    """store_sales whose target must be present and not negative in a week that happened."""
    document = yaml.safe_load((SPECS / "store_sales.yaml").read_text())
    document = copy.deepcopy(document)
    document["validation"]["columns"]["units"] = {"not_null": True, "min": 0}
    path = tmp_path / "specs" / "store_sales.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_spec(path)


@pytest.fixture
def sales(tmp_path: Path) -> tuple[DatasetSpec, pd.DataFrame, pd.DataFrame]:
    """The strict store_sales spec, 4 generated weeks and the 2 planned weeks after them."""
    sales_spec = strict_sales(tmp_path)
    config = StoreSales(n_stores=3, n_products=4, weeks=4, future_weeks=2, start=date(2024, 3, 4))
    generate(sales_spec, tmp_path / "raw", config)
    past = read_partitions(sales_spec, tmp_path / "raw", date(2024, 3, 4), date(2024, 3, 25))
    future = read_future(sales_spec, tmp_path / "raw", date(2024, 4, 1), date(2024, 4, 8))
    return sales_spec, past, future


def test_generated_weeks_pass_the_raw_suite_and_planned_weeks_the_future_suite(
    sales: tuple[DatasetSpec, pd.DataFrame, pd.DataFrame],
) -> None:
    sales_spec, past, future = sales

    assert check(past, sales_spec, date(2024, 3, 4), date(2024, 3, 25)).success
    planned = validate(future, build_future_suite(sales_spec, date(2024, 4, 1), date(2024, 4, 8)), "future")
    assert planned.success, [f.describe() for f in planned.failures]
    assert planned.suite == "future_store_sales"


def test_planned_weeks_fail_the_raw_suite_for_their_empty_target(
    sales: tuple[DatasetSpec, pd.DataFrame, pd.DataFrame],
) -> None:
    sales_spec, _, future = sales

    report = check(future, sales_spec, date(2024, 4, 1), date(2024, 4, 8))

    assert failed(report) == {("expect_column_values_to_not_be_null", "units")}


def test_the_future_suite_holds_the_rules_of_keys_time_and_known_future_columns_only(tmp_path: Path) -> None:
    suite = build_future_suite(strict_sales(tmp_path), date(2024, 4, 1))
    ruled = {
        e.column
        for e in suite.expectations
        if e.expectation_type in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set")
    }

    assert ruled == {"store", "product", "week", "price", "promo"}


@pytest.mark.parametrize(
    ("column", "value", "expectation"),
    [
        pytest.param("price", None, "expect_column_values_to_not_be_null", id="no-price"),
        pytest.param("price", -1.0, "expect_column_values_to_be_between", id="negative-price"),
        pytest.param("promo", 2, "expect_column_values_to_be_in_set", id="promo-not-0-or-1"),
    ],
)
def test_a_bad_planned_value_fails_the_future_suite(
    sales: tuple[DatasetSpec, pd.DataFrame, pd.DataFrame], column: str, value: object, expectation: str
) -> None:
    sales_spec, _, future = sales
    future.loc[0, column] = value

    report = validate(future, build_future_suite(sales_spec, date(2024, 4, 1), date(2024, 4, 8)), "future")

    assert failed(report) == {(expectation, column)}


@pytest.mark.parametrize("suite", [build_raw_suite, build_future_suite])
def test_a_second_row_of_an_entity_and_week_fails_when_the_data_is_aggregated(
    sales: tuple[DatasetSpec, pd.DataFrame, pd.DataFrame], suite: object
) -> None:
    sales_spec, past, future = sales
    frame = past if suite is build_raw_suite else future
    first, last = (
        (date(2024, 3, 4), date(2024, 3, 25))
        if suite is build_raw_suite
        else (date(2024, 4, 1), date(2024, 4, 8))
    )
    doubled = pd.concat([frame, frame.iloc[[7]]], ignore_index=True)

    report = validate(doubled, suite(sales_spec, first, last), "doubled")  # type: ignore[operator]

    assert failed(report) == {("expect_compound_columns_to_be_unique", "store, product, week")}
    assert "2 unexpected" in message(report)


def test_repeated_rows_are_allowed_when_the_data_is_not_aggregated(
    day_frame: pd.DataFrame, retail: DatasetSpec
) -> None:
    kinds = {e.expectation_type for e in build_raw_suite(retail, DAY).expectations}

    assert "expect_compound_columns_to_be_unique" not in kinds
    assert check(pd.concat([day_frame, day_frame], ignore_index=True), retail).success


# ----- the real data sets ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_retail(tmp_path_factory: pytest.TempPathFactory, retail: DatasetSpec) -> Path:
    from fti.data.shipped import online_retail

    raw = tmp_path_factory.mktemp("raw")
    online_retail.land(retail, raw)
    return raw


@pytest.mark.integration
def test_the_full_online_retail_history_passes_in_one_run(real_retail: Path, retail: DatasetSpec) -> None:
    first, last = date(2009, 12, 1), date(2011, 12, 9)
    frame = read_partitions(retail, real_retail, first, last)

    report = check(frame, retail, first, last)

    assert report.success and report.rows == 1_044_848, [f.describe() for f in report.failures]


@pytest.mark.integration
def test_every_day_of_the_online_retail_history_passes_as_a_daily_run_would(
    real_retail: Path, retail: DatasetSpec
) -> None:
    """A daily run judges one day alone: the rule that depends on the run's rows (the least share of
    lines with a Customer ID) holds on every one of the 739 days, and the whole suite passes on a
    spread of days that includes the lowest share (2011-08-30, 12.6%) and days without trade."""
    days = pd.date_range("2009-12-01", "2011-12-09", freq="D").date
    frame = read_partitions(retail, real_retail, days[0], days[-1])
    per_day = frame.groupby(frame["InvoiceDate"].dt.date)["Customer ID"].apply(lambda ids: ids.notna().mean())
    bound = retail.validation.columns["Customer ID"].min_present_share
    assert len(days) == 739 and bound is not None and (per_day >= bound).all(), per_day[per_day < bound]
    lowest = per_day.idxmin()
    sample = sorted({*days[::25], lowest, date(2011, 12, 9), date(2009, 12, 6)})  # a Sunday: no trade
    failing = {}
    for day in sample:
        report = check(read_files(retail, [partition_path(retail, real_retail, day)]), retail, day)
        if not report.success:
            failing[day] = [f.describe() for f in report.failures]

    assert lowest == date(2011, 8, 30) and failing == {}


@pytest.mark.integration
def test_every_car_park_day_passes(tmp_path: Path) -> None:
    from fti.data.shipped import car_parks

    parks = spec("car_parks")
    paths = car_parks.land(parks, tmp_path)
    failing = {}
    for path in paths:
        day = date.fromisoformat(path.stem)
        report = check(read_files(parks, [path]), parks, day)
        if not report.success:
            failing[day] = [f.describe() for f in report.failures]

    assert len(paths) == 77 and failing == {}
