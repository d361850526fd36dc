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
from fti.store.catalog import partitions
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
