"""Tests of landing a user's export as the files a spec describes: split by partition, original text kept,
header-only files for empty partitions, atomic and idempotent writes, and bad exports refused whole."""

from __future__ import annotations

import copy
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from fti.data.landing import land
from fti.data.source import RawSchemaMismatch, landing_dir, partition_path, read_files, read_partitions
from fti.specs.loader import load_spec
from fti.specs.model import DatasetSpec

TILLS: dict[str, Any] = {
    "spec_version": 2,
    "name": "tills",
    "source": {
        "columns": [
            {"name": "Till", "type": "string"},
            {"name": "Sold At", "type": "datetime", "format": "%m/%d/%Y %H:%M"},
            {"name": "Qty", "type": "int"},
            {"name": "Note", "type": "string"},
        ]
    },
    "entity": {"columns": ["Till"]},
    "time": {"column": "Sold At", "grain": "day"},
    "target": {"column": "Qty", "aggregation": "sum", "absent": "zero"},
    "forecast": {"horizon": 1},
    "model": {"training_window": 60},
}
HEADER = "Till,Sold At,Qty,Note"
DAY_1 = ["A,3/1/2024 9:05,2,plain", 'B,3/1/2024 17:59,13085.0,"with, comma"']
DAY_2 = ['A,3/2/2024 8:00,1,"say ""hi"""', "A,3/2/2024 23:59,-4,"]
DAY_4 = ['B,3/4/2024 0:00,7,"two\nlines"']


def make_spec(tmp_path: Path, name: str = "tills", **source: Any) -> DatasetSpec:
    document = copy.deepcopy(TILLS)
    document["name"] = name
    document["source"].update(source)
    path = tmp_path / "specs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_spec(path)


def export(path: Path, *lines: str, header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def body(path: Path) -> str:
    text = path.read_text()
    assert text.startswith(HEADER + "\n")
    return text[len(HEADER) + 1 :]


@pytest.fixture
def tills(tmp_path: Path) -> DatasetSpec:
    return make_spec(tmp_path)


def test_one_export_lands_as_one_file_per_day_in_original_text(tmp_path: Path, tills: DatasetSpec) -> None:
    source = export(tmp_path / "export.csv", DAY_2[1], *DAY_1, DAY_4[0], DAY_2[0])  # not in time order

    paths = land(tills, tmp_path / "raw", [source])

    days = [date(2024, 3, d) for d in (1, 2, 3, 4)]
    assert paths == [partition_path(tills, tmp_path / "raw", d) for d in days]
    assert sorted(os.listdir(landing_dir(tills, tmp_path / "raw"))) == [p.name for p in paths]
    assert body(paths[0]) == "\n".join(DAY_1) + "\n"  # "13085.0" stays as exported
    assert body(paths[1]) == f"{DAY_2[1]}\n{DAY_2[0]}\n"  # rows keep their export order
    assert paths[2].read_text() == HEADER + "\n"  # no rows on 3/3: the header only
    assert body(paths[3]) == DAY_4[0] + "\n"  # a quoted line break stays quoted


def test_landed_files_read_back_as_the_exported_values(tmp_path: Path, tills: DatasetSpec) -> None:
    source = export(tmp_path / "export.csv", *DAY_1, *DAY_2, *DAY_4)

    land(tills, tmp_path / "raw", [source])

    landed = read_partitions(tills, tmp_path / "raw", date(2024, 3, 1), date(2024, 3, 4))
    assert landed.equals(read_files(tills, [source]))
    assert landed["Note"].tolist()[1:3] == ["with, comma", 'say "hi"']


def test_many_files_in_csv_and_parquet_land_as_one_export_would(tmp_path: Path, tills: DatasetSpec) -> None:
    whole = export(tmp_path / "whole.csv", *DAY_1, *DAY_2, *DAY_4)
    first = export(tmp_path / "part-1.csv", *DAY_1, DAY_2[0])
    rest = pa.table(
        {
            "Note": [None, "two\nlines"],
            "Qty": pa.array([-4, 7], pa.int32()),
            "Till": ["A", "B"],
            "Sold At": pa.array([datetime(2024, 3, 2, 23, 59), datetime(2024, 3, 4)], pa.timestamp("ns")),
        }
    )
    pq.write_table(rest, tmp_path / "part-2.parquet")

    one = land(tills, tmp_path / "one", [whole])
    many = land(tills, tmp_path / "many", [first, tmp_path / "part-2.parquet"])

    read_one = read_partitions(tills, tmp_path / "one", date(2024, 3, 1), date(2024, 3, 4))
    read_many = read_partitions(tills, tmp_path / "many", date(2024, 3, 1), date(2024, 3, 4))
    assert [p.name for p in many] == [p.name for p in one]
    assert read_many.equals(read_one)
    assert "3/4/2024 0:00" not in many[3].read_text() and "03/04/2024 00:00" in many[3].read_text()


def test_export_columns_in_another_order_land_in_spec_order(tmp_path: Path, tills: DatasetSpec) -> None:
    source = export(tmp_path / "export.csv", "plain,2,A,3/1/2024 9:05", header="Note,Qty,Till,Sold At")

    (path,) = land(tills, tmp_path / "raw", [source])

    assert path.read_text() == f"{HEADER}\n{DAY_1[0]}\n"


def test_weekly_parquet_landing_holds_typed_values_and_dates_as_dates(tmp_path: Path) -> None:
    spec = load_spec(Path(__file__).parents[3] / "specs" / "store_sales.yaml")
    rows = [
        "S1,P1,2024-03-04,5,1.99,0,1500,super",
        "S1,P1,2024-03-18,,2.49,1,1500,super",  # units not known yet: a planned week
        "S1,P2,2024-03-06,0,0.5,0,1500,super",  # a Wednesday: the week of 2024-03-04
    ]
    source = export(
        tmp_path / "sales.csv", *rows, header="store,product,week,units,price,promo,store_size,store_type"
    )

    paths = land(spec, tmp_path / "raw", [source])

    assert [p.name for p in paths] == ["2024-03-04.parquet", "2024-03-11.parquet", "2024-03-18.parquet"]
    first = pq.read_table(paths[0])
    assert first.schema.field("week").type == pa.date32() and first.schema.field("promo").type == pa.int64()
    assert first.column("units").to_pylist() == [5.0, 0.0] and pq.read_table(paths[1]).num_rows == 0
    frame = read_partitions(spec, tmp_path / "raw", date(2024, 3, 4), date(2024, 3, 18))
    assert frame["week"].tolist() == [
        pd.Timestamp("2024-03-04"),
        pd.Timestamp("2024-03-06"),
        pd.Timestamp("2024-03-18"),
    ]
    assert pd.isna(frame["units"].iloc[2]) and frame["price"].tolist() == [1.99, 0.5, 2.49]


def test_landing_the_same_export_again_changes_nothing_and_a_new_one_only_its_partitions(
    tmp_path: Path, tills: DatasetSpec
) -> None:
    source = export(tmp_path / "export.csv", *DAY_1, *DAY_2, *DAY_4)
    first = land(tills, tmp_path / "raw", [source])
    stamps = [p.stat().st_mtime_ns for p in first]

    again = land(tills, tmp_path / "raw", [source])
    assert again == first and [p.stat().st_mtime_ns for p in again] == stamps

    changed = land(tills, tmp_path / "raw", [export(tmp_path / "fix.csv", DAY_1[0])])
    assert changed == first[:1] and body(first[0]) == DAY_1[0] + "\n"  # the day's file is replaced
    assert [p.stat().st_mtime_ns for p in first[1:]] == stamps[1:]  # the other days are left as they were


def test_landed_files_are_readable_by_others(tmp_path: Path, tills: DatasetSpec) -> None:
    paths = land(tills, tmp_path / "raw", [export(tmp_path / "export.csv", *DAY_1)])

    assert oct(paths[0].stat().st_mode & 0o777) == "0o644"


def test_a_failed_write_leaves_the_previous_file_and_no_temp_file(
    tmp_path: Path, tills: DatasetSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = partition_path(tills, tmp_path / "raw", date(2024, 3, 1))
    path.parent.mkdir(parents=True)
    path.write_text("previous\n")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        land(tills, tmp_path / "raw", [export(tmp_path / "export.csv", *DAY_1)])

    assert path.read_text() == "previous\n"
    assert os.listdir(path.parent) == [path.name]


@pytest.mark.parametrize(
    ("header", "line", "problem"),
    [
        pytest.param(HEADER + ",Shop", DAY_1[0] + ",x", "unexpected column(s) ['Shop']", id="unexpected"),
        pytest.param("Till,Sold At,Note", "A,3/1/2024 9:05,plain", "missing column(s) ['Qty']", id="missing"),
        pytest.param(HEADER, "A,,2,plain", "1 row(s) have no 'Sold At' and cannot be placed", id="no-time"),
        pytest.param(
            HEADER, "A,2024-03-01 9:05,2,plain", "not times of the format '%m/%d/%Y %H:%M'", id="time"
        ),
        pytest.param(
            HEADER, "A,3/1/2024 9:05,two,plain", "column 'Qty' has 1 value(s) not numbers", id="qty"
        ),
    ],
)
def test_a_bad_export_is_refused_naming_the_file_and_nothing_is_written(
    tmp_path: Path, tills: DatasetSpec, header: str, line: str, problem: str
) -> None:
    good = export(tmp_path / "good.csv", *DAY_1)
    bad = export(tmp_path / "bad.csv", line, header=header)

    with pytest.raises(RawSchemaMismatch) as caught:
        land(tills, tmp_path / "raw", [good, bad])

    assert problem in str(caught.value) and str(bad) in str(caught.value)
    assert not landing_dir(tills, tmp_path / "raw").exists()


def test_a_row_without_a_time_is_refused_naming_its_line_and_file(tmp_path: Path, tills: DatasetSpec) -> None:
    first = export(tmp_path / "first.csv", *DAY_1)
    second = export(tmp_path / "second.csv", DAY_2[0], "A,,2,plain")

    with pytest.raises(RawSchemaMismatch, match=f"1 row\\(s\\) have no 'Sold At' .*: line 3 of {second}$"):
        land(tills, tmp_path / "raw", [first, second])


def test_an_empty_export_is_refused(tmp_path: Path, tills: DatasetSpec) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")

    with pytest.raises(RawSchemaMismatch, match="is empty: no header"):
        land(tills, tmp_path / "raw", [tmp_path / "empty.csv"])
    with pytest.raises(ValueError, match="no files to land"):
        land(tills, tmp_path / "raw", [])


def test_an_export_without_rows_lands_nothing(tmp_path: Path, tills: DatasetSpec) -> None:
    assert land(tills, tmp_path / "raw", [export(tmp_path / "header.csv")]) == []


def test_hourly_readings_land_one_file_per_day(tmp_path: Path) -> None:
    spec = load_spec(Path(__file__).parents[3] / "specs" / "car_parks.yaml")
    readings = [
        "P1,100,10,2016-10-04 07:59:42",
        "P1,100,20,2016-10-04 16:30:00",
        "P1,100,30,2016-10-06 08:00:00",
    ]
    source = export(
        tmp_path / "parking.csv", *readings, header="SystemCodeNumber,Capacity,Occupancy,LastUpdated"
    )

    paths = land(spec, tmp_path / "raw", [source])

    assert [p.name for p in paths] == ["2016-10-04.csv", "2016-10-05.csv", "2016-10-06.csv"]
    assert paths[0].read_text().splitlines()[1:] == readings[:2]


def test_pattern_layout_copies_checked_files_under_their_names(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, name="drops", layout="pattern", pattern="sales-*.csv")
    source = export(tmp_path / "sales-2024-03.csv", *DAY_1, *DAY_2)

    (copied,) = land(spec, tmp_path / "raw", [source])

    assert copied == landing_dir(spec, tmp_path / "raw") / "sales-2024-03.csv"
    assert copied.read_bytes() == source.read_bytes()
    assert len(read_partitions(spec, tmp_path / "raw", date(2024, 3, 2), date(2024, 3, 2))) == 2


def test_pattern_layout_refuses_a_name_the_pattern_does_not_match_or_bad_columns(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, name="drops", layout="pattern", pattern="sales-*.csv")

    good = export(tmp_path / "sales-2.csv", *DAY_1)
    with pytest.raises(RawSchemaMismatch, match="does not match the pattern 'sales-\\*.csv'"):
        land(spec, tmp_path / "raw", [good, export(tmp_path / "march.csv", *DAY_1)])
    with pytest.raises(RawSchemaMismatch, match="missing column"):
        land(spec, tmp_path / "raw", [export(tmp_path / "sales-1.csv", "A", header="Till")])
    assert not landing_dir(spec, tmp_path / "raw").exists()
