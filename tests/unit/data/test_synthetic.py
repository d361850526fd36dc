"""Tests of the synthetic raw-data generator: determinism, raw schema, sizes and shape."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from fti.data.online_retail import (
    RAW_COLUMNS,
    parse_invoice_dates,
    raw_path,
    read_raw_file,
    read_raw_text,
    read_transactions,
)
from fti.data.synthetic import (
    WEEKLY_PROFILE,
    SyntheticSpec,
    generate_transactions,
    iter_days,
    write_daily,
    write_dataset_spec,
)

MONDAY = date(2024, 1, 1)
SPEC = SyntheticSpec(n_countries=4, n_items=30, start=MONDAY, n_days=14, seed=7, lines_per_cell=0.5)


def test_same_spec_gives_identical_data_and_another_seed_differs() -> None:
    first = generate_transactions(SPEC)

    pd.testing.assert_frame_equal(first, generate_transactions(SPEC))
    assert not first.equals(generate_transactions(replace(SPEC, seed=8)))


def test_longer_period_keeps_the_days_already_generated() -> None:
    short = generate_transactions(replace(SPEC, n_days=7))
    longer = generate_transactions(SPEC)

    pd.testing.assert_frame_equal(short, longer.iloc[: len(short)])


def test_frame_has_the_raw_columns_and_invoice_dates_in_the_raw_text_format() -> None:
    frame = generate_transactions(SPEC)

    assert tuple(frame.columns) == RAW_COLUMNS
    stamps = pd.Series(parse_invoice_dates(frame["InvoiceDate"]))
    assert stamps.min() >= pd.Timestamp(MONDAY) and stamps.max() < pd.Timestamp(MONDAY + timedelta(days=14))
    assert frame["InvoiceDate"].str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}").all()
    assert stamps.dt.hour.between(7, 19).all()


def test_sizes_follow_the_spec() -> None:
    frame = generate_transactions(SPEC)

    assert frame["Country"].nunique() == SPEC.n_countries
    assert frame["StockCode"].nunique() == SPEC.n_items
    expected = SPEC.lines_per_cell * SPEC.n_countries * SPEC.n_items * 2 * sum(WEEKLY_PROFILE)
    assert 0.8 * expected < len(frame) < 1.2 * expected


def test_every_calendar_day_is_yielded_and_saturdays_are_empty_with_the_raw_columns() -> None:
    days = dict(iter_days(SPEC))
    saturdays = [day for day in days if day.weekday() == 5]

    assert list(days) == [MONDAY + timedelta(days=index) for index in range(SPEC.n_days)]
    assert saturdays == [date(2024, 1, 6), date(2024, 1, 13)]
    for day in saturdays:
        assert days[day].empty and tuple(days[day].columns) == RAW_COLUMNS
        assert days[day].dtypes.equals(days[MONDAY].dtypes)
    assert all(not frame.empty for day, frame in days.items() if day not in saturdays)
    stamps = pd.Series(parse_invoice_dates(generate_transactions(SPEC)["InvoiceDate"]))
    assert not stamps.dt.weekday.eq(5).any()


def test_cancellations_are_c_invoices_with_negative_quantities() -> None:
    frame = generate_transactions(replace(SPEC, cancel_rate=0.2))
    cancelled = frame["Invoice"].str.startswith("C")

    assert cancelled.any() and (~cancelled).any()
    assert (frame.loc[cancelled, "Quantity"] < 0).all() and (frame.loc[~cancelled, "Quantity"] > 0).all()


def test_some_customer_ids_are_missing_and_an_invoice_has_one_customer_time_and_store() -> None:
    frame = generate_transactions(SPEC)
    per_invoice = frame.groupby("Invoice").agg(
        customers=("Customer ID", lambda ids: ids.nunique(dropna=False)),
        times=("InvoiceDate", "nunique"),
        stores=("Country", "nunique"),
    )

    assert 0.05 < frame["Customer ID"].isna().mean() < 0.4
    assert (per_invoice == 1).all().all()


def test_every_item_has_one_price_and_one_description() -> None:
    per_item = generate_transactions(SPEC).groupby("StockCode")[["Price", "Description"]].nunique()

    assert (per_item == 1).all().all()


def test_written_days_are_read_by_the_raw_readers_and_rewritten_identically(tmp_path: Path) -> None:
    paths = write_daily(tmp_path, SPEC)
    contents = [p.read_bytes() for p in paths]

    assert paths == [raw_path(tmp_path, MONDAY + timedelta(days=index)) for index in range(SPEC.n_days)]
    assert sorted(p.name for p in (tmp_path / "online_retail").iterdir()) == [p.name for p in paths]
    assert write_daily(tmp_path, SPEC) == paths and [p.read_bytes() for p in paths] == contents
    assert tuple(read_raw_text(paths[0]).columns) == RAW_COLUMNS
    typed = read_transactions(paths[0])
    assert typed["InvoiceDate"].dt.date.eq(MONDAY).all() and str(typed["Customer ID"].dtype) == "Int64"


def test_saturdays_are_written_as_header_only_files_that_read_as_no_rows(tmp_path: Path) -> None:
    paths = write_daily(tmp_path, SPEC)
    saturdays = [raw_path(tmp_path, date(2024, 1, 6)), raw_path(tmp_path, date(2024, 1, 13))]

    assert all(path in paths for path in saturdays)
    for path in saturdays:
        assert path.read_text() == ",".join(RAW_COLUMNS) + "\n"
        typed = read_raw_file(path)
        assert typed.empty and tuple(typed.columns) == RAW_COLUMNS
        assert str(typed["Customer ID"].dtype) == "Int64" and typed["Quantity"].dtype == "int64"
    assert all(len(read_raw_file(path)) > 0 for path in paths if path not in saturdays)


def test_written_values_read_back_equal_the_generated_ones(tmp_path: Path) -> None:
    day, frame = next(iter_days(SPEC))
    (path,) = write_daily(tmp_path, replace(SPEC, n_days=1))

    pd.testing.assert_frame_equal(
        pd.read_csv(path, dtype={"Invoice": "str", "StockCode": "str"}), frame, check_dtype=False
    )


def test_empty_period_gives_an_empty_frame_with_the_raw_columns() -> None:
    frame = generate_transactions(SyntheticSpec(n_days=0))

    assert frame.empty and tuple(frame.columns) == RAW_COLUMNS


@pytest.mark.parametrize(
    ("field", "value"), [("n_countries", 0), ("n_items", 0), ("n_days", -1), ("cancel_rate", 1.5)]
)
def test_spec_out_of_range_is_rejected_naming_the_value(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{field} must be .*got {value}"):
        SyntheticSpec(**{field: value})


def test_a_spec_written_for_many_stores_lets_the_raw_suite_accept_all_of_them(tmp_path: Path) -> None:
    from fti.data.spec import default_spec, load_spec
    from fti.validation.raw_suite import build_raw_suite
    from fti.validation.runner import validate

    many = SyntheticSpec(n_countries=50, n_items=3, start=MONDAY, n_days=2, seed=1, lines_per_cell=2.0)
    frame = read_transactions(_as_file(tmp_path, generate_transactions(many)))
    assert frame["Country"].nunique() == 50

    written = load_spec(write_dataset_spec(many, tmp_path / "spec.yaml"))

    assert written.validation.countries[:43] == default_spec().validation.countries
    assert "Country 050" in written.validation.countries
    assert validate(frame, build_raw_suite(MONDAY, MONDAY + timedelta(days=1), spec=written), "many").success
    assert not validate(frame, build_raw_suite(MONDAY, MONDAY + timedelta(days=1)), "default").success


def _as_file(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "raw.csv"
    frame.to_csv(path, columns=list(RAW_COLUMNS), index=False)
    return path
