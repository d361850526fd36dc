"""Tests of the data-set spec: the shipped spec holds the bounds the raw suite always had, and every kind
of broken spec fails with a SpecError that names the file and each field."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from fti.data.online_retail import RAW_COLUMNS, read_raw_file
from fti.data.spec import DatasetSpec, SpecError, default_spec, default_spec_path, load_spec
from fti.settings import Settings
from fti.validation.raw_suite import build_raw_suite
from fti.validation.runner import validate

Edit = Callable[[dict[str, Any]], None]


def shipped() -> dict[str, Any]:
    """The shipped spec as plain YAML data, to spoil one field at a time."""
    document: dict[str, Any] = yaml.safe_load(default_spec_path().read_text())
    return document


def write_spec(tmp_path: Path, edit: Edit) -> Path:
    """The shipped spec with ``edit`` applied, written as ``bad.yaml`` under ``tmp_path``."""
    document = shipped()
    edit(document)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def spec_error(path: Path) -> str:
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert raised.value.path == path
    return str(raised.value)


def test_shipped_spec_holds_the_bounds_the_raw_suite_always_had() -> None:
    spec = load_spec(default_spec_path())
    rules = spec.validation

    assert spec.name == "online_retail_ii"
    assert tuple(c.name for c in spec.columns) == RAW_COLUMNS
    assert {c.name: c.type for c in spec.columns}["Customer ID"] == "Int64"
    assert spec.required_columns == ("Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Country")
    assert rules.invoice_pattern == r"^[CA]?\d{6}$"
    assert rules.max_abs_quantity == 100_000
    assert (rules.min_price, rules.max_price) == (-60_000.0, 100_000.0)
    assert rules.max_stock_code_length == 20 and rules.min_customer_id_share == 0.10
    assert len(rules.countries) == 43 and list(rules.countries) == sorted(rules.countries)
    assert {"United Kingdom", "EIRE", "Unspecified", "West Indies"} <= set(rules.countries)
    assert spec.source_sha256 == hashlib.sha256(default_spec_path().read_bytes()).hexdigest()


def test_settings_point_at_the_shipped_spec_unless_told_otherwise(tmp_path: Path) -> None:
    assert Settings(dataset_spec=None).dataset_spec == default_spec_path()
    assert Settings(dataset_spec=tmp_path / "mine.yaml").dataset_spec == tmp_path / "mine.yaml"
    assert default_spec() is default_spec()  # read once per process


def test_unknown_field_message_names_file_field_and_the_allowed_ones(tmp_path: Path) -> None:
    path = write_spec(tmp_path, lambda d: d["validation"].update(max_quantityy=5))

    assert spec_error(path) == (
        f"{path}: unknown field 'validation.max_quantityy'; did you mean 'max_abs_quantity'? (allowed: "
        "invoice_pattern, max_abs_quantity, min_price, max_price, max_stock_code_length, "
        "min_customer_id_share, countries)"
    )


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(lambda d: d.update(owner="me"), "owner", id="top-level"),
        pytest.param(lambda d: d["validation"].update(max_prices=1.0), "validation.max_prices", id="nested"),
        pytest.param(lambda d: d["columns"][3].update(unit="pcs"), "columns[3].unit", id="in-a-column"),
    ],
)
def test_unknown_field_at_any_level_is_refused_naming_the_dotted_field(
    tmp_path: Path, edit: Edit, field: str
) -> None:
    message = spec_error(write_spec(tmp_path, edit))

    assert f"unknown field '{field}'" in message and str(tmp_path / "bad.yaml") in message


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        pytest.param(
            lambda d: d["validation"].update(max_abs_quantity="lots"),
            "'validation.max_abs_quantity': Input should be a valid integer (got 'lots')",
            id="text-for-a-number",
        ),
        pytest.param(
            lambda d: d["validation"].update(min_price=True),
            "'validation.min_price': Input should be a valid number (got True)",
            id="bool-for-a-number",
        ),
        pytest.param(
            lambda d: d["columns"][5].update(type="float32"),
            "'columns[5].type': Input should be 'str', 'int64', 'float64', 'datetime64' or 'Int64'",
            id="unknown-column-type",
        ),
        pytest.param(
            lambda d: d["validation"].update(countries="France"),
            "'validation.countries': Input should be a valid tuple (got 'France')",
            id="text-for-a-list",
        ),
        pytest.param(
            lambda d: d["validation"].update(min_customer_id_share=1.5),
            "'validation.min_customer_id_share': Input should be less than or equal to 1",
            id="share-above-one",
        ),
    ],
)
def test_value_of_the_wrong_type_is_refused_naming_field_and_value(
    tmp_path: Path, edit: Edit, named: str
) -> None:
    assert named in spec_error(write_spec(tmp_path, edit))


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        pytest.param(
            lambda d: d["validation"].pop("max_price"), "missing field 'validation.max_price'", id="bound"
        ),
        pytest.param(lambda d: d.pop("name"), "missing field 'name'", id="name"),
        pytest.param(
            lambda d: d["columns"][0].pop("type"), "missing field 'columns[0].type'", id="column-type"
        ),
    ],
)
def test_missing_field_is_named(tmp_path: Path, edit: Edit, named: str) -> None:
    assert named in spec_error(write_spec(tmp_path, edit))


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        pytest.param(
            lambda d: d["validation"].update(min_price=10.0, max_price=5.0),
            "'validation': min_price 10.0 is above max_price 5.0",
            id="min-above-max",
        ),
        pytest.param(
            lambda d: d["columns"].reverse(),
            "'columns': must be ['Invoice', 'StockCode',",
            id="columns-reordered",
        ),
        pytest.param(
            lambda d: d["columns"][2].update(name="Product"),
            "reads only the Online Retail II schema; another one needs a loader",
            id="column-renamed",
        ),
        pytest.param(
            lambda d: d.update(required_columns=["Invoice", "Store"]),
            "required_columns ['Store'] are not among the columns",
            id="required-not-a-column",
        ),
        pytest.param(
            lambda d: d["validation"].update(countries=[]),
            "'validation.countries': Tuple should have at least 1 item",
            id="no-countries",
        ),
        pytest.param(
            lambda d: d["validation"]["countries"].append("France"),
            "'validation.countries': listed more than once: ['France']",
            id="country-twice",
        ),
        pytest.param(
            lambda d: d["validation"].update(invoice_pattern="^[CA?\\d{6}$"),
            "'validation.invoice_pattern': not a valid regular expression",
            id="broken-regex",
        ),
    ],
)
def test_inconsistent_spec_is_refused_saying_why(tmp_path: Path, edit: Edit, named: str) -> None:
    assert named in spec_error(write_spec(tmp_path, edit))


def test_every_problem_of_a_spec_is_listed_at_once(tmp_path: Path) -> None:
    def spoil(d: dict[str, Any]) -> None:
        d.update(owner="me")
        d["validation"].pop("max_price")
        d["validation"].update(max_abs_quantity=-1)

    message = spec_error(write_spec(tmp_path, spoil))

    assert message.startswith(f"{tmp_path / 'bad.yaml'}: 3 problems in the data-set spec:\n  - ")
    assert "unknown field 'owner'" in message and "missing field 'validation.max_price'" in message
    assert "'validation.max_abs_quantity': Input should be greater than 0 (got -1)" in message


def test_spec_error_survives_pickling_with_its_problems() -> None:
    error = SpecError(Path("specs/x.yaml"), ["unknown field 'a'", "missing field 'b'"])

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == str(error) and copy.problems == error.problems and copy.path == error.path


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("", "the file is empty; a spec is a mapping of name, description, source,", id="empty"),
        pytest.param("# only a comment\n", "the file is empty", id="comment-only"),
        pytest.param("- name\n- columns\n", "expected a mapping of name, description, ", id="a-list"),
        pytest.param("name: [unclosed\n", "not valid YAML at line 2, column 1", id="syntax-error"),
        pytest.param(
            "name: a\nname: b\n", "not valid YAML at line 2, column 1: key 'name' is repeated", id="dup"
        ),
    ],
)
def test_file_that_is_not_a_yaml_mapping_is_refused(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)

    assert spec_error(path).startswith(f"{path}: {named}")


def test_missing_or_undecodable_file_is_refused_naming_it(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")

    assert spec_error(tmp_path / "nowhere.yaml") == f"{tmp_path / 'nowhere.yaml'}: no such spec file " + (
        "(FTI_DATASET_SPEC names the spec; see specs/)"
    )
    assert spec_error(binary) == f"{binary}: not UTF-8 text (byte 6)"


def test_spec_changed_in_code_no_longer_claims_the_files_digest() -> None:
    spec = load_spec(default_spec_path())

    assert spec.model_copy().source_sha256 == spec.source_sha256
    assert spec.model_copy(update={"name": "other"}).source_sha256 is None


def france_frame(tmp_path: Path) -> pd.DataFrame:
    """Two ordinary lines of 2011-11-10, one from France, typed by the real reader."""
    path = tmp_path / "2011-11-10.csv"
    path.write_text(
        "\n".join(
            [
                ",".join(RAW_COLUMNS),
                "575492,84946,ANTIQUE SILVER T-LIGHT GLASS,24,11/10/2011 8:06,1.25,18236.0,United Kingdom",
                "575540,22726,ALARM CLOCK BAKELIKE GREEN,4,11/10/2011 12:00,3.75,12681.0,France",
            ]
        )
        + "\n"
    )
    return read_raw_file(path)


def test_suite_takes_its_countries_from_the_spec(tmp_path: Path) -> None:
    spec = load_spec(default_spec_path())
    rules = spec.validation.model_copy(
        update={"countries": tuple(c for c in spec.validation.countries if c != "France")}
    )
    without_france = spec.model_copy(update={"validation": rules})
    day, frame = date(2011, 11, 10), france_frame(tmp_path)

    assert validate(frame, build_raw_suite(day, spec=spec), "with France").success
    report = validate(frame, build_raw_suite(day, spec=without_france), "without France")
    assert [(f.expectation, f.column, f.unexpected_values) for f in report.failures] == [
        ("expect_column_values_to_be_in_set", "Country", ["France"])
    ]


def test_suite_meta_names_the_spec_and_the_digest_of_its_file() -> None:
    spec = load_spec(default_spec_path())

    meta = build_raw_suite(date(2011, 11, 10), spec=spec).meta

    assert meta["spec_name"] == "online_retail_ii" and meta["spec_sha256"] == spec.source_sha256
    assert build_raw_suite(date(2011, 11, 10)).meta["spec_sha256"] == spec.source_sha256  # the default


def test_loaded_spec_is_a_frozen_model() -> None:
    spec: DatasetSpec = default_spec()

    with pytest.raises(ValueError, match="frozen"):
        spec.validation.max_abs_quantity = 1  # type: ignore[misc]


def test_importing_the_spec_module_reads_no_file_and_imports_neither_yaml_nor_pandas() -> None:
    code = (
        "import sys, fti.data.spec\n"
        "print(sorted(m for m in ('yaml', 'pandas', 'great_expectations') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"
