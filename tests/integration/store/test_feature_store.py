"""Tests of the feature store on both catalog backends: round trips, idempotence, versions, time travel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from fti.store import FeatureStore
from fti.store.catalog import partitions
from fti.store.feature_store import FeatureSetNotFound

pytestmark = pytest.mark.integration

FEATURES = "demand_features"
DAY = date(2024, 3, 1)


def features(day: date, demand: tuple[float, ...] = (3.0, 0.5)) -> pd.DataFrame:
    """Feature rows of ``day`` with a string, a date, a float and an integer column."""
    n = len(demand)
    return pd.DataFrame(
        {
            "entity": [f"United Kingdom|8504{i}" for i in range(n)],
            "date": [day] * n,
            "demand": list(demand),
            "active_days_28": pd.Series(range(1, n + 1), dtype="int64"),
        }
    )


def catalog_rows(store: FeatureStore, day: date) -> int:
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(partitions).where(partitions.c.day == day)
        return int(conn.execute(query).scalar_one())


def utcnow() -> datetime:
    """The catalog's clock: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def test_written_rows_read_back_equal_with_their_dtypes(store: FeatureStore) -> None:
    frame = features(DAY)

    store.write(FEATURES, DAY, frame)
    back = store.read(FEATURES, DAY, DAY)

    pd.testing.assert_frame_equal(back, frame)
    assert type(back["date"].iloc[0]) is date


def test_read_of_a_range_concatenates_the_days_in_order(store: FeatureStore) -> None:
    later, earlier = features(DAY + timedelta(days=1), (7.0,)), features(DAY, (1.0, 2.0))
    store.write(FEATURES, DAY + timedelta(days=1), later)
    store.write(FEATURES, DAY, earlier)

    back = store.read(FEATURES, DAY, DAY + timedelta(days=1))

    pd.testing.assert_frame_equal(back, pd.concat([earlier, later], ignore_index=True))


def test_rewrite_of_identical_rows_commits_nothing_and_leaves_the_file_untouched(store: FeatureStore) -> None:
    first = store.write(FEATURES, DAY, features(DAY))
    before = Path(first.uri).read_bytes()

    again = store.write(FEATURES, DAY, features(DAY))

    assert first.committed and not again.committed
    assert (again.uri, again.checksum) == (first.uri, first.checksum)
    assert catalog_rows(store, DAY) == 1
    assert Path(again.uri).read_bytes() == before
    assert list(Path(first.uri).parent.iterdir()) == [Path(first.uri)]


def test_rewrite_with_changed_rows_commits_a_new_partition_and_keeps_the_old_one_readable_as_of_before(
    store: FeatureStore,
) -> None:
    old, new = features(DAY, (3.0, 0.5)), features(DAY, (4.0, 0.5, 1.0))
    before_first_write = utcnow()
    first = store.write(FEATURES, DAY, old)
    between = utcnow()

    second = store.write(FEATURES, DAY, new)

    assert second.committed and second.uri != first.uri and second.row_count == 3
    assert catalog_rows(store, DAY) == 2
    pd.testing.assert_frame_equal(store.read(FEATURES, DAY, DAY), new)
    pd.testing.assert_frame_equal(store.read(FEATURES, DAY, DAY, as_of=between), old)
    assert store.read(FEATURES, DAY, DAY, as_of=before_first_write, version=first.version).empty
    with pytest.raises(FeatureSetNotFound, match="no committed version as of"):
        store.read(FEATURES, DAY, DAY, as_of=before_first_write)


def test_read_as_of_before_a_schema_change_returns_the_version_live_then(store: FeatureStore) -> None:
    v1 = features(DAY)
    store.write(FEATURES, DAY, v1)
    before_change = utcnow()
    store.write(FEATURES, DAY, features(DAY).assign(avg_price_28=[2.5, 1.25]))

    pd.testing.assert_frame_equal(store.read(FEATURES, DAY, DAY, as_of=before_change), v1)
    assert store.committed_days(FEATURES, as_of=before_change) == [DAY]


def test_schema_change_creates_a_new_version_and_the_old_version_stays_readable(store: FeatureStore) -> None:
    v1 = features(DAY)
    v2 = features(DAY).assign(avg_price_28=[2.5, 1.25])
    store.write(FEATURES, DAY, v1)

    ref = store.write(FEATURES, DAY, v2)

    assert (ref.version, ref.committed) == (2, True)
    assert store.latest_version(FEATURES) == 2
    pd.testing.assert_frame_equal(store.read(FEATURES, DAY, DAY), v2)
    pd.testing.assert_frame_equal(store.read(FEATURES, DAY, DAY, version=1), v1)


def test_rows_with_the_first_schema_go_back_to_version_one(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY))
    store.write(FEATURES, DAY, features(DAY).assign(avg_price_28=[2.5, 1.25]))

    ref = store.write(FEATURES, DAY + timedelta(days=1), features(DAY + timedelta(days=1)))

    assert ref.version == 1
    assert store.committed_days(FEATURES, version=1) == [DAY, DAY + timedelta(days=1)]
    assert store.committed_days(FEATURES) == [DAY]


def test_read_of_an_unknown_feature_set_raises_feature_set_not_found_naming_it(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY))

    with pytest.raises(FeatureSetNotFound, match="'no_such_features'"):
        store.read("no_such_features", DAY, DAY)


def test_read_of_an_unknown_version_raises_feature_set_not_found_naming_it(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY))

    with pytest.raises(FeatureSetNotFound, match=f"'{FEATURES}' has no version 7"):
        store.read(FEATURES, DAY, DAY, version=7)


def test_read_of_days_without_partitions_gives_no_rows_with_the_columns(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY))

    empty = store.read(FEATURES, DAY + timedelta(days=5), DAY + timedelta(days=9))

    assert empty.empty
    assert list(empty.columns) == list(features(DAY).columns)


def test_writes_leave_no_temporary_files(store: FeatureStore, tmp_path: Path) -> None:
    store.write(FEATURES, DAY, features(DAY))
    store.write(FEATURES, DAY, features(DAY))
    store.write(FEATURES, DAY, features(DAY, (9.0,)))
    store.write(FEATURES, DAY, features(DAY).assign(extra=[1, 2]))

    written = [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()]

    assert len(written) == 3
    assert not [name for name in written if name.startswith(".tmp-")]


def test_committed_days_are_in_order_without_duplicates(store: FeatureStore) -> None:
    days = [DAY + timedelta(days=2), DAY, DAY + timedelta(days=1)]
    for day in days:
        store.write(FEATURES, day, features(day))
    store.write(FEATURES, DAY, features(DAY, (8.0,)))

    assert store.committed_days(FEATURES) == sorted(days)


def test_committed_days_of_an_unknown_feature_set_raise_feature_set_not_found(store: FeatureStore) -> None:
    with pytest.raises(FeatureSetNotFound, match="'no_such_features'"):
        store.committed_days("no_such_features")


def test_empty_day_keeps_the_version_of_the_days_before_it(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY))
    untyped = pd.DataFrame({c: pd.Series(dtype="object") for c in features(DAY).columns})

    ref = store.write(FEATURES, DAY + timedelta(days=1), untyped)

    assert ref.version == 1 and ref.row_count == 0
    assert store.committed_days(FEATURES) == [DAY, DAY + timedelta(days=1)]
    assert len(store.read(FEATURES, DAY, DAY + timedelta(days=1))) == 2
