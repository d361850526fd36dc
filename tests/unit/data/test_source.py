"""Tests of reading a data set's landed files: where they are, which have landed, the typed frame, and every
way a file can be wrong, each refused naming the file and the problem."""

from __future__ import annotations

import copy
import gzip
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from fti.data.source import (
    RawDataMissing,
    RawSchemaMismatch,
    landed_partitions,
    landing_dir,
    partition_path,
    read_files,
    read_partitions,
)
from fti.specs.loader import load_spec
from fti.specs.model import DatasetSpec

SPECS = Path(__file__).parents[3] / "specs"
SHOP: dict[str, Any] = {
    "spec_version": 2,
    "name": "shop",
    "source": {
        "columns": [
            {"name": "Store Code", "type": "string"},
            {"name": "qty", "type": "int"},
            {"name": "price", "type": "float"},
            {"name": "open", "type": "bool"},
            {"name": "sold_at", "type": "datetime", "format": "%d.%m.%Y %H:%M"},
            {"name": "day", "type": "date"},
            {"name": "stamp", "type": "datetime"},
        ]
    },
    "entity": {"columns": ["Store Code"]},
    "time": {"column": "sold_at", "grain": "day", "timezone": "Europe/London"},
    "target": {"column": "qty", "aggregation": "sum", "absent": "zero"},
    "forecast": {"horizon": 1},
    "model": {"training_window": 60},
}
HEADER = "Store Code,qty,price,open,sold_at,day,stamp"
LINES = [
    "NA,3,2.5,true,01.03.2024 09:05,2024-03-01,2024-03-01T09:05:00+00:00",
    '"B, north",13085.0,0.1,FALSE,01.03.2024 17:59,2024-03-01,2024-03-31T00:30:00Z',
    ",,,,01.03.2024 18:00,,2024-03-31T01:30:00+00:00",
]


def make_spec(tmp_path: Path, **changes: Any) -> DatasetSpec:
    """The ``shop`` spec with top-level sections replaced or (for ``source``) updated."""
    document = copy.deepcopy(SHOP)
    for key, value in changes.items():
        if key == "source":
            document["source"].update(value)
        else:
            document[key] = value
    path = tmp_path / "specs" / f"{document['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_spec(path)


def write(path: Path, *lines: str, header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> DatasetSpec:
    return make_spec(tmp_path)


# ----- paths and listing ---------------------------------------------------------------------------
def test_partition_path_names_the_file_by_the_start_date_of_its_partition(tmp_path: Path) -> None:
    weekly = load_spec(SPECS / "store_sales.yaml")
    hourly = load_spec(SPECS / "car_parks.yaml")
    daily = load_spec(SPECS / "online_retail.yaml")

    assert (
        partition_path(weekly, tmp_path, date(2024, 3, 7)) == tmp_path / "store_sales" / "2024-03-04.parquet"
    )
    assert partition_path(hourly, tmp_path, datetime(2016, 10, 4, 16, 30)) == (
        tmp_path / "car_parks" / "2016-10-04.csv"
    )
    assert partition_path(daily, tmp_path, pd.Timestamp("2011-12-09 12:50")) == (
        tmp_path / "online_retail" / "2011-12-09.csv"
    )
    assert partition_path(daily, tmp_path, np.datetime64("2011-12-09T23:59")).name == "2011-12-09.csv"


def test_landing_folder_is_the_spec_name_unless_given_and_may_be_absolute(tmp_path: Path) -> None:
    assert landing_dir(make_spec(tmp_path), tmp_path / "raw") == tmp_path / "raw" / "shop"
    assert landing_dir(make_spec(tmp_path, source={"folder": "exports/shop"}), tmp_path) == (
        tmp_path / "exports" / "shop"
    )
    elsewhere = tmp_path / "elsewhere"
    assert landing_dir(make_spec(tmp_path, source={"folder": str(elsewhere)}), tmp_path / "raw") == elsewhere


def test_landed_partitions_ignores_temp_files_other_names_and_days_that_start_no_partition(
    tmp_path: Path,
) -> None:
    weekly = load_spec(SPECS / "store_sales.yaml")
    folder = landing_dir(weekly, tmp_path)
    folder.mkdir(parents=True)
    for name in ("2024-03-11.parquet", "2024-03-04.parquet", ".2024-03-18.parquet.x1y2", "notes.parquet"):
        (folder / name).write_bytes(b"")
    (folder / "2024-03-13.parquet").write_bytes(b"")  # a Wednesday: no week starts there
    (folder / "2024-03-25.csv").write_bytes(b"")  # another format

    assert landed_partitions(weekly, tmp_path) == [date(2024, 3, 4), date(2024, 3, 11)]
    assert landed_partitions(weekly, tmp_path / "nothing") == []


# ----- typing ----------------------------------------------------------------------------------------
def test_csv_values_are_typed_as_declared(tmp_path: Path, shop: DatasetSpec) -> None:
    frame = read_files(shop, [write(tmp_path / "a.csv", *LINES)])

    assert list(frame.columns) == [c["name"] for c in SHOP["source"]["columns"]]
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "Store Code": "str",
        "qty": "Int64",
        "price": "float64",
        "open": "boolean",
        "sold_at": "datetime64[us]",
        "day": "datetime64[us]",
        "stamp": "datetime64[us]",
    }
    assert frame["Store Code"].tolist()[:2] == ["NA", "B, north"]  # "NA" is text, not missing
    assert frame["qty"].tolist()[:2] == [3, 13085]  # a whole number written as a float is fine
    assert frame["open"].tolist()[:2] == [True, False]
    assert frame["sold_at"].tolist() == [
        pd.Timestamp("2024-03-01 09:05"),
        pd.Timestamp("2024-03-01 17:59"),
        pd.Timestamp("2024-03-01 18:00"),
    ]
    assert frame["day"].iloc[0] == pd.Timestamp("2024-03-01")
    assert frame.iloc[2, :4].isna().all() and pd.isna(frame["day"].iloc[2])  # empty fields are missing


def test_the_frame_can_be_changed_in_place(tmp_path: Path, shop: DatasetSpec) -> None:
    frame = read_files(shop, [write(tmp_path / "a.csv", *LINES)])

    for column in frame.columns:
        frame.loc[0, column] = frame[column].iloc[1]

    assert frame.iloc[0].equals(frame.iloc[1])


def test_times_with_a_utc_offset_become_wall_clock_times_of_the_spec_time_zone(
    tmp_path: Path, shop: DatasetSpec
) -> None:
    frame = read_files(shop, [write(tmp_path / "a.csv", *LINES)])

    # 2024-03-31 01:00 UTC is when London moves to summer time (UTC+1).
    assert frame["stamp"].tolist() == [
        pd.Timestamp("2024-03-01 09:05"),  # GMT
        pd.Timestamp("2024-03-31 00:30"),
        pd.Timestamp("2024-03-31 02:30"),
    ]


def test_a_header_only_file_reads_as_an_empty_frame_of_the_same_dtypes(
    tmp_path: Path, shop: DatasetSpec
) -> None:
    empty = read_files(shop, [write(tmp_path / "empty.csv")])
    full = read_files(shop, [write(tmp_path / "a.csv", *LINES)])

    assert empty.empty and empty.dtypes.equals(full.dtypes)
    assert read_files(shop, []).dtypes.equals(full.dtypes)


def test_parquet_values_are_typed_as_declared_and_tz_aware_times_converted(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, source={"format": "parquet"})
    table = pa.table(
        {
            "stamp": pa.array([datetime(2024, 7, 1, 12, 0)], pa.timestamp("ns", tz="UTC")),
            "Store Code": pa.array([17], pa.int32()),  # a number for a text column: its text
            "qty": pa.array([5.0]),
            "price": pa.array([2], pa.int16()),
            "open": pa.array([True]),
            "sold_at": pa.array([datetime(2024, 7, 1, 9)], pa.timestamp("ms")),
            "day": pa.array([date(2024, 7, 1)], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")

    frame = read_files(spec, [tmp_path / "a.parquet"])

    assert frame.iloc[0].to_dict() == {
        "Store Code": "17",
        "qty": 5,
        "price": 2.0,
        "open": True,
        "sold_at": pd.Timestamp("2024-07-01 09:00"),
        "day": pd.Timestamp("2024-07-01"),
        "stamp": pd.Timestamp("2024-07-01 13:00"),  # BST
    }
    assert str(frame["qty"].dtype) == "Int64" and str(frame["stamp"].dtype) == "datetime64[us]"


def test_rows_of_several_files_come_in_the_order_of_the_files(tmp_path: Path, shop: DatasetSpec) -> None:
    first = write(tmp_path / "1.csv", LINES[1])
    second = write(tmp_path / "2.csv", LINES[0])

    assert read_files(shop, [first, second])["qty"].tolist() == [13085, 3]
    assert read_files(shop, [second, first])["qty"].tolist() == [3, 13085]


def test_columns_in_another_order_are_read_by_name(tmp_path: Path, shop: DatasetSpec) -> None:
    path = write(
        tmp_path / "a.csv",
        "01.03.2024 09:05,7,x,1.5,yes,2024-03-01,2024-03-01",
        header=("sold_at,qty,Store Code,price,open,day,stamp"),
    )

    frame = read_files(shop, [path])

    assert list(frame.columns)[:3] == ["Store Code", "qty", "price"]
    assert frame.iloc[0][["Store Code", "qty", "open"]].tolist() == ["x", 7, True]


# ----- refused files ---------------------------------------------------------------------------------
def refused(spec: DatasetSpec, path: Path) -> str:
    with pytest.raises(RawSchemaMismatch) as caught:
        read_files(spec, [path])
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    return str(caught.value)


def test_a_missing_column_is_refused_naming_it_and_the_file(tmp_path: Path, shop: DatasetSpec) -> None:
    path = write(
        tmp_path / "a.csv", "x,1,2.0,true,01.03.2024 09:05,2024-03-01", header=HEADER.rsplit(",", 1)[0]
    )

    assert "missing column(s) ['stamp']" in refused(shop, path)


def test_an_unexpected_column_is_refused_naming_it_with_a_hint(tmp_path: Path, shop: DatasetSpec) -> None:
    path = write(tmp_path / "a.csv", header="store code,qty,price,open,sold_at,day,stamp,extra")

    message = refused(shop, path)

    assert "unexpected column(s) ['store code', 'extra']" in message
    assert (
        "'store code' (did you mean 'Store Code'?)" in message
        and "missing column(s) ['Store Code']" in message
    )


def test_a_repeated_column_is_refused(tmp_path: Path, shop: DatasetSpec) -> None:
    assert "['qty'] more than once" in refused(shop, write(tmp_path / "a.csv", header=HEADER + ",qty"))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"", "is empty: no header", id="empty"),
        pytest.param(b"\n\n", "is empty: no header", id="blank-lines"),
        pytest.param(f"{HEADER}\n{LINES[0]}\nB,3,2.5,tr".encode(), "cut off", id="short-last-row"),
        pytest.param(
            f'{HEADER}\n{LINES[0]}\n"B, nor'.encode(), "a quoted value is never closed", id="open-quote"
        ),
        pytest.param(f"{HEADER}\n{LINES[0]}".encode(), "no line break", id="no-final-line-break"),
        pytest.param(f"{HEADER}\n{LINES[0]}\n".encode("utf-16"), "not CSV text", id="utf-16"),
        pytest.param(
            f"{HEADER}\nM\xfcnchen,1,2,true,01.03.2024 09:05,,\n".encode("latin-1"), "not UTF-8", id="latin-1"
        ),
    ],
)
def test_a_file_that_is_empty_cut_off_or_not_csv_text_is_refused(
    tmp_path: Path, shop: DatasetSpec, content: bytes, problem: str
) -> None:
    path = tmp_path / "2024-03-01.csv"
    path.write_bytes(content)

    assert problem in refused(shop, path)


def test_an_excel_workbook_named_csv_is_refused_as_not_csv(tmp_path: Path, shop: DatasetSpec) -> None:
    path = tmp_path / "2024-03-01.csv"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("xl/workbook.xml", "<workbook/>")

    assert "not CSV text: it holds a ZIP archive (an Excel workbook?)" in refused(shop, path)


def test_a_cut_off_parquet_file_is_refused(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, source={"format": "parquet"})
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2, 3]}), buffer)
    path = tmp_path / "2024-03-01.parquet"
    path.write_bytes(buffer.getvalue()[:-20])

    assert "not a readable Parquet file" in refused(spec, path)


def test_a_compressed_export_is_read(tmp_path: Path, shop: DatasetSpec) -> None:
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER, *LINES]) + "\n").encode()))

    assert len(read_files(shop, [path])) == 3


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        pytest.param("qty", "12a", "not numbers, e.g. '12a'", id="int-text"),
        pytest.param("qty", "2.5", "not whole numbers, e.g. '2.5'", id="int-fraction"),
        pytest.param("price", "1,5", "not numbers, e.g. '1,5'", id="decimal-comma"),
        pytest.param("open", "maybe", "not true/false", id="bool"),
        pytest.param("sold_at", "2024-03-01 09:05", "not times of the format '%d.%m.%Y %H:%M'", id="format"),
        pytest.param("sold_at", "30.02.2024 09:05", "not times of the format", id="no-such-day"),
        pytest.param("day", "2024-03-01 12:00", "not dates", id="date-with-time"),
        pytest.param("stamp", "yesterday", "not ISO 8601 times", id="iso"),
    ],
)
def test_an_unparseable_value_is_refused_naming_column_value_and_file(
    tmp_path: Path, shop: DatasetSpec, column: str, value: str, problem: str
) -> None:
    row = dict(zip(HEADER.split(","), LINES[0].split(","), strict=True)) | {column: value}
    bad = write(tmp_path / "2024-03-02.csv", ",".join(f'"{v}"' if "," in v else v for v in row.values()))
    good = write(tmp_path / "2024-03-01.csv", LINES[0])

    with pytest.raises(RawSchemaMismatch) as caught:
        read_files(shop, [good, bad])

    assert f"column {column!r} has 1 value(s) {problem}" in str(caught.value)
    assert f"in {bad}" in str(caught.value) and str(good) not in str(caught.value)
    assert caught.value.path == bad


def test_times_with_and_without_an_offset_in_one_column_are_refused(
    tmp_path: Path, shop: DatasetSpec
) -> None:
    path = write(tmp_path / "a.csv", LINES[0].replace("+00:00", ""), LINES[1])

    with pytest.raises(RawSchemaMismatch, match="mixes times with and without a UTC offset"):
        read_files(shop, [path])


# ----- partitions --------------------------------------------------------------------------------------
def land_days(spec: DatasetSpec, raw_dir: Path, *days: date) -> None:
    for day in days:
        stamp = f"{day:%d.%m.%Y} 10:00"
        write(partition_path(spec, raw_dir, day), f"A,1,1.0,true,{stamp},{day},{day}T10:00")


def test_read_partitions_reads_the_partitions_from_first_to_last(tmp_path: Path, shop: DatasetSpec) -> None:
    land_days(shop, tmp_path, date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3))

    frame = read_partitions(shop, tmp_path, date(2024, 3, 2), date(2024, 3, 3))

    assert frame["sold_at"].dt.day.tolist() == [2, 3]


def test_missing_partition_files_are_all_named_before_any_file_is_read(
    tmp_path: Path, shop: DatasetSpec
) -> None:
    land_days(shop, tmp_path, date(2024, 3, 1), date(2024, 3, 4))
    partition_path(shop, tmp_path, date(2024, 3, 4)).write_text("not, the header\n")  # would be refused

    with pytest.raises(RawDataMissing) as caught:
        read_partitions(shop, tmp_path, date(2024, 3, 1), date(2024, 3, 4))

    assert caught.value.missing == [date(2024, 3, 2), date(2024, 3, 3)]
    message = str(caught.value)
    assert "2 of 4 partition file(s) of data set 'shop' (day partitions) have not landed" in message
    assert "2024-03-02.csv, 2024-03-03.csv." in message
    assert "fti data land --dataset shop" in message and "header only" in message


def test_more_than_ten_missing_partitions_are_counted_and_the_first_and_last_named(tmp_path: Path) -> None:
    weekly = load_spec(SPECS / "store_sales.yaml")
    folder = landing_dir(weekly, tmp_path)
    folder.mkdir(parents=True)
    (folder / "2024-03-06.parquet").write_bytes(b"")  # a Wednesday: named wrongly, never read

    with pytest.raises(RawDataMissing) as caught:
        read_partitions(weekly, tmp_path, date(2024, 1, 1), date(2024, 12, 30))

    message = str(caught.value)
    assert len(caught.value.missing) == 53
    assert "53 of 53 partition file(s)" in message and "week (Monday) partitions" in message
    assert "2024-01-01.parquet ... 2024-12-30.parquet (first and last)" in message
    assert "not named by the start date of a partition, never read: 2024-03-06.parquet" in message


def test_pattern_layout_keeps_the_rows_of_the_run_partitions_and_rows_without_a_time(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, source={"layout": "pattern", "pattern": "export-*.csv"})
    folder = landing_dir(spec, tmp_path)
    write(folder / "export-1.csv", *(f"A,{d},1.0,true,{d:02d}.03.2024 10:00,,2024-03-01" for d in (1, 2, 3)))
    write(folder / "export-2.csv", "A,9,1.0,true,04.03.2024 00:00,,2024-03-01")
    write(folder / ".export-3.csv.tmp", "A,99,1.0,true,02.03.2024 10:00,,2024-03-01")  # a temp file
    write(folder / "other.csv", "A,99,1.0,true,02.03.2024 10:00,,2024-03-01")  # not matched

    frame = read_partitions(spec, tmp_path, date(2024, 3, 2), date(2024, 3, 3))

    assert frame["qty"].tolist() == [2, 3]
    assert landed_partitions(spec, tmp_path) == [date(2024, 3, d) for d in (1, 2, 3, 4)]


def test_hourly_data_is_missing_by_the_day(tmp_path: Path) -> None:
    hourly = load_spec(SPECS / "car_parks.yaml")

    with pytest.raises(
        RawDataMissing, match="1 of 1 partition file.* \\(day partitions\\).*: 2016-10-04.csv"
    ):
        read_partitions(hourly, tmp_path, datetime(2016, 10, 4, 8), datetime(2016, 10, 4, 16))


def test_a_range_that_ends_before_it_starts_is_refused(tmp_path: Path, shop: DatasetSpec) -> None:
    with pytest.raises(ValueError, match="last 2024-03-01 is before first 2024-03-02"):
        read_partitions(shop, tmp_path, date(2024, 3, 2), date(2024, 3, 1))


def test_pattern_layout_without_any_matching_file_is_missing_data(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, source={"layout": "pattern", "pattern": "*.csv"})

    with pytest.raises(RawDataMissing, match=r"no file matching '\*\.csv' has landed"):
        read_partitions(spec, tmp_path, date(2024, 3, 2), date(2024, 3, 3))
