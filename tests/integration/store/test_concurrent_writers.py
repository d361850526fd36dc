"""Two writers of one partition: exactly one commits, on both catalog backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from fti.store import FeatureStore
from fti.store.catalog import partition_statistics, partitions
from fti.store.feature_store import ConcurrentCommit

pytestmark = pytest.mark.integration

FEATURES = "demand_features"
DAY = date(2024, 3, 1)


@pytest.fixture
def stores(catalog_url: str, tmp_path: Path) -> Iterator[tuple[FeatureStore, FeatureStore]]:
    """Two independent writers (own engines, own connections) on one store."""
    a, b = (
        FeatureStore(str(tmp_path / "store"), catalog_url),
        FeatureStore(str(tmp_path / "store"), catalog_url),
    )
    yield a, b
    a.engine.dispose()
    b.engine.dispose()


def rows(*demand: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"entity": [f"e{i}" for i in range(len(demand))], "date": DAY, "demand": list(demand)}
    )


def committed_rows(store: FeatureStore) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(partitions.c.run_id).order_by(partitions.c.id)).scalars())


def pause_after_file_write(store: FeatureStore, written: threading.Event, go: threading.Event) -> None:
    """Make ``store`` stop between writing its file and committing it, until ``go`` is set."""
    original = store._write_file

    def paused(*args: object) -> str:
        uri = original(*args)  # type: ignore[arg-type]
        written.set()
        assert go.wait(30)
        return uri

    store._write_file = paused  # type: ignore[method-assign]


def test_writer_that_loses_the_race_commits_nothing_and_says_who_won(
    stores: tuple[FeatureStore, FeatureStore],
) -> None:
    slow, fast = stores
    slow.write(FEATURES, DAY, rows(1.0), run_id="setup")  # the partition both writers start from
    written, go = threading.Event(), threading.Event()
    pause_after_file_write(slow, written, go)
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            slow.write(FEATURES, DAY, rows(2.0, 2.0), run_id="slow")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(30)
    fast.write(FEATURES, DAY, rows(3.0, 3.0, 3.0), run_id="fast")
    go.set()
    thread.join(30)

    assert len(errors) == 1 and isinstance(errors[0], ConcurrentCommit)
    assert "'fast'" in str(errors[0]) and "committed nothing" in str(errors[0])
    assert committed_rows(fast) == ["setup", "fast"]
    pd.testing.assert_frame_equal(fast.read(FEATURES, DAY, DAY), rows(3.0, 3.0, 3.0))


def test_two_writers_of_identical_rows_racing_leave_one_commit(
    stores: tuple[FeatureStore, FeatureStore],
) -> None:
    slow, fast = stores
    written, go = threading.Event(), threading.Event()
    pause_after_file_write(slow, written, go)
    results = []
    thread = threading.Thread(
        target=lambda: results.append(slow.write(FEATURES, DAY, rows(5.0), run_id="slow"))
    )
    thread.start()
    assert written.wait(30)
    first = fast.write(FEATURES, DAY, rows(5.0), run_id="fast")
    go.set()
    thread.join(30)

    assert first.committed and not results[0].committed
    assert committed_rows(fast) == ["fast"]
    pd.testing.assert_frame_equal(fast.read(FEATURES, DAY, DAY), rows(5.0))


# ----- a batch of partitions commits all or nothing -------------------------------------------------
DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]


def batch(value: float, changed: date | None = None) -> dict[date, pd.DataFrame]:
    """One partition per day of :data:`DAYS`, every value ``value`` (``value + 1`` on ``changed``)."""
    return {
        d: pd.DataFrame({"entity": ["e0", "e1"], "date": d, "demand": [value + (d == changed)] * 2})
        for d in DAYS
    }


def committed(store: FeatureStore) -> list[tuple[date, str]]:
    """``(day, run_id)`` of every partition row of the catalog, in commit order."""
    with store.engine.connect() as conn:
        query = sa.select(partitions.c.day, partitions.c.run_id).order_by(partitions.c.id)
        return [(r.day, r.run_id) for r in conn.execute(query)]


def rival_commits_during_the_file_writes(
    store: FeatureStore, rival: FeatureStore, day: date, frame: pd.DataFrame
) -> None:
    """Make ``rival`` commit ``frame`` as ``day`` once ``store`` has written its first file."""
    original = store._write_file

    def write_then_rival(*args: object) -> str:
        uri = original(*args)  # type: ignore[arg-type]
        if not committed_by(rival, "rival"):
            rival.write(FEATURES, day, frame, run_id="rival")
        return uri

    store._write_file = write_then_rival  # type: ignore[method-assign]


def committed_by(store: FeatureStore, run_id: str) -> bool:
    return any(r == run_id for _, r in committed(store))


def test_a_concurrent_commit_to_one_day_of_a_batch_makes_the_whole_batch_commit_nothing(
    stores: tuple[FeatureStore, FeatureStore],
) -> None:
    writer, rival = stores
    writer.write_partitions(FEATURES, batch(1.0), run_id="setup")
    rival_frame = batch(9.0)[DAYS[1]]
    rival_commits_during_the_file_writes(writer, rival, DAYS[1], rival_frame)

    with pytest.raises(ConcurrentCommit, match=rf"{DAYS[1]} was committed by run 'rival'.*committed nothing"):
        writer.write_partitions(FEATURES, batch(2.0), run_id="batch")

    assert committed(rival) == [*((d, "setup") for d in DAYS), (DAYS[1], "rival")]
    back = rival.read(FEATURES, DAYS[0], DAYS[-1])
    assert back.groupby("date")["demand"].first().tolist() == [1.0, 9.0, 1.0]  # no day of the batch


def test_a_batch_that_was_never_committed_refuses_too_when_a_rival_commits_one_of_its_days(
    stores: tuple[FeatureStore, FeatureStore],
) -> None:
    writer, rival = stores
    rival_commits_during_the_file_writes(writer, rival, DAYS[2], batch(9.0)[DAYS[2]])

    with pytest.raises(ConcurrentCommit, match=str(DAYS[2])):
        writer.write_partitions(FEATURES, batch(2.0), run_id="batch")

    assert committed(rival) == [(DAYS[2], "rival")]


def test_a_rival_committing_the_same_bytes_to_one_day_lets_the_rest_of_the_batch_commit(
    stores: tuple[FeatureStore, FeatureStore],
) -> None:
    writer, rival = stores
    rival_commits_during_the_file_writes(writer, rival, DAYS[0], batch(2.0)[DAYS[0]])

    refs = writer.write_partitions(FEATURES, batch(2.0), run_id="batch")

    assert [r.committed for r in refs] == [False, True, True]
    assert committed(rival) == [(DAYS[0], "rival"), (DAYS[1], "batch"), (DAYS[2], "batch")]


def test_unchanged_partitions_of_a_batch_commit_nothing_new(
    stores: tuple[FeatureStore, FeatureStore],
) -> None:
    writer, _ = stores
    first = writer.write_partitions(FEATURES, batch(1.0), run_id="first")

    again = writer.write_partitions(FEATURES, batch(1.0, changed=DAYS[1]), run_id="again")

    assert [r.committed for r in first] == [True, True, True]
    assert [r.committed for r in again] == [False, True, False]
    assert [r.uri for r in again][::2] == [r.uri for r in first][::2]
    assert committed(writer) == [*((d, "first") for d in DAYS), (DAYS[1], "again")]
    assert [r.day for r in again] == [d.isoformat() for d in DAYS]
    with writer.engine.connect() as conn:
        stats = conn.execute(sa.select(sa.func.count()).select_from(partition_statistics)).scalar_one()
    assert stats == 4 * 2  # entity and demand of each committed partition, none for the unchanged ones
