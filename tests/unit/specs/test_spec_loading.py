"""The data-set spec v2: the shipped specs load with the facts the pipelines use, and every kind of broken
spec is refused naming the file, the dotted field and the reason, before anything reads data."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fti.settings import PROJECT_ROOT
from fti.specs import SpecError, load_dataset, load_spec, snake, spec_files

SPECS = PROJECT_ROOT / "specs"
Edit = Callable[[dict[str, Any]], None]


def shipped(name: str = "online_retail") -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((SPECS / f"{name}.yaml").read_text())
    return document


def write(tmp_path: Path, edit: Edit, base: str = "online_retail") -> Path:
    """The shipped spec ``base`` with ``edit`` applied, written under its own name in ``tmp_path``."""
    document = shipped(base)
    edit(document)
    path = tmp_path / f"{document.get('name', base)}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert raised.value.path == path
    assert str(raised.value).startswith(str(path))
    return list(raised.value.problems)


def test_the_three_shipped_specs_load_with_their_grain_entity_and_defaults() -> None:
    assert [p.stem for p in spec_files(SPECS)] == ["car_parks", "online_retail", "store_sales"]
    retail = load_dataset(SPECS, "online_retail")
    assert retail.calendar.grain == "day" and retail.entity.key_fields == ["country", "stock_code"]
    assert retail.features.lookback == 28 and retail.crons["features"] == "0 0 * * *"
    parks = load_dataset(SPECS, "car_parks")
    assert parks.calendar.grain == "hour" and parks.target.absent == "missing"
    assert parks.forecast.steps == list(range(16, 25))
    sales = load_dataset(SPECS, "store_sales")
    assert sales.calendar.describe() == "week (Monday)" and sales.crons["features"] == "0 0 * * 1"
    assert sales.future_feature_set == "store_sales__future"
    assert sales.source_sha256 and len(sales.source_sha256) == 64


def test_store_names_are_snake_case_of_the_raw_names() -> None:
    assert snake("StockCode") == "stock_code"
    assert snake("Customer ID") == "customer_id"
    assert snake("SystemCodeNumber") == "system_code_number"
    assert snake("HTTPStatus") == "http_status"


def test_unknown_field_is_named_by_its_dotted_location_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["features"]["rolling"][0].update(windw=3))
    assert problems(path) == [
        "unknown field 'features.rolling[0].windw'; did you mean 'window'? "
        "(allowed: window, stats, column, names)"
    ]


def test_unsupported_grain_names_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["time"].update(grain="fortnight"))
    (problem,) = problems(path)
    assert problem.startswith("'time.grain': Input should be 'hour', 'day', 'week' or 'month'")


def test_a_lag_longer_than_the_training_window_allows_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["features"].update(lags=[1, 7, 120]))
    (problem,) = problems(path)
    assert "reaches 120 periods back" in problem and "model.training_window (90)" in problem


def test_columns_that_are_not_source_columns_are_named_with_where_they_are_used(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["entity"]["columns"] = ["Country", "Sku"]
        d["covariates"]["past_only"] = [{"column": "Discount", "aggregation": "mean"}]

    found = problems(write(tmp_path, edit))
    assert "'entity.columns[1]': column 'Sku' is not among the source columns" in found[0]
    assert "'covariates.past_only[0]': column 'Discount' is not among the source columns" in found[1]


def test_an_aggregation_that_does_not_fit_the_column_type_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["target"].update(column="Description", aggregation="sum"))
    assert "'target': aggregation 'sum' needs numbers; column 'Description' is string" in problems(path)


def test_horizon_below_one_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["forecast"].update(horizon=0))
    assert problems(path) == ["'forecast.horizon': horizon must be at least 1 period, got 0"]


def test_a_filter_on_an_unknown_column_is_named_by_its_place_in_the_filter_tree(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["target"]["filters"]["all"].append({"column": "Channel", "eq": "web"}))
    (problem,) = problems(path)
    assert problem.startswith("'target.filters.all[4]': filter on unknown column 'Channel'")


def test_a_filter_needs_exactly_one_test_or_combination(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["target"].update(filters={"column": "Quantity", "gt": 0, "lt": 5}))
    (problem,) = problems(path)
    assert "needs exactly one test" in problem and "['gt', 'lt']" in problem


def test_a_comparison_on_text_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["target"].update(filters={"column": "Country", "gt": 3}))
    assert problems(path) == ["'target.filters': comparison 'gt' needs a numeric column; 'Country' is string"]


def test_calendar_features_must_vary_within_the_grain(tmp_path: Path) -> None:
    path = write(
        tmp_path, lambda d: d["features"].update(calendar=["day_of_week", "month"]), base="store_sales"
    )
    (problem,) = problems(path)
    assert "'day_of_week' does not vary between week periods" in problem


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["forecast"]["horizon"] = -1
        d["time"]["timezone"] = "Mars/Olympus"
        d["model"]["categorical"] = ["colour"]

    found = problems(write(tmp_path, edit))
    assert len(found) == 2  # field errors first; cross-field rules run once the fields are valid
    assert any("'time.timezone': unknown time zone 'Mars/Olympus'" in p for p in found)
    assert any("'forecast.horizon'" in p for p in found)


def test_name_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "sales.yaml"
    path.write_text(yaml.safe_dump(shipped()))
    assert problems(path) == ["'name': 'online_retail' must be the file's name ('sales')"]


def test_repeated_keys_empty_files_and_broken_yaml_are_refused(tmp_path: Path) -> None:
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text("spec_version: 2\nname: a\nname: b\n")
    assert problems(repeated) == ["not valid YAML at line 3, column 1: key 'name' is repeated"]
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert problems(empty)[0].startswith("the file is empty; a spec is a mapping of spec_version, name,")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    assert problems(broken)[0].startswith("not valid YAML at line 2")


def test_spec_version_one_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(spec_version=1))
    assert problems(path) == ["'spec_version': Input should be 2 (got 1)"]


def test_an_unknown_holiday_country_fails_the_full_check_but_not_the_dag_parse(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["features"].update(holidays={"country": "XX"}), base="car_parks")
    assert problems(path) == ["'features.holidays.country': 'XX' is not a country the holidays package knows"]
    assert load_spec(path, shallow=True).features.holidays is not None


def test_a_missing_data_set_lists_the_ones_there() -> None:
    with pytest.raises(SpecError) as raised:
        load_dataset(SPECS, "weather")
    assert "data sets there: ['car_parks', 'online_retail', 'store_sales']" in str(raised.value)


def test_spec_errors_survive_pickling_as_airflow_does_with_task_errors(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["forecast"].update(horizon=0))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert copy.problems == raised.value.problems and copy.path == path


@pytest.mark.parametrize(
    ("levels", "why"),
    [
        ([0.9, 0.1], "quantile levels must increase without repeats, got [0.9, 0.1]"),
        ([0.1, 0.1, 0.9], "quantile levels must increase without repeats, got [0.1, 0.1, 0.9]"),
        ([0.5], "give at least two quantile levels (an interval), or none"),
    ],
)
def test_quantile_levels_must_form_an_increasing_interval(
    tmp_path: Path, levels: list[float], why: str
) -> None:
    path = write(tmp_path, lambda d: d.setdefault("model", {}).update(quantiles=levels))

    assert problems(path) == [f"'model.quantiles': {why}"]


def test_a_quantile_level_outside_zero_and_one_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.setdefault("model", {}).update(quantiles=[0.0, 0.9]))

    assert problems(path) == ["'model.quantiles[0]': Input should be greater than 0 (got 0.0)"]


def test_a_planned_ratio_needs_a_known_future_column_over_a_stored_number(tmp_path: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["features"]["planned_ratios"] = [
            {"name": "units_vs_price", "column": "units", "base": "past_price_rolling_mean_13"},
            {"name": "price_vs_plan", "column": "price", "base": "promo"},
        ]

    found = problems(write(tmp_path, edit, base="store_sales"))
    assert len(found) == 2
    assert "'features.planned_ratios[0].column': 'units' is not a known-future covariate" in found[0]
    assert "'features.planned_ratios[1].base': 'promo' is not a stored number of the feature" in found[1]
