"""Statistics committed with their partitions, and validation results linked to them, on both catalogs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fti.features.schema import bins
from fti.settings import PROJECT_ROOT
from fti.specs import load_dataset
from fti.store import FeatureStore, commits
from fti.store.catalog import partition_statistics, partitions
from fti.store.documents import to_plain
from fti.store.feature_store import ConcurrentCommit, StatisticsNotFound, ValidationNotFound
from fti.store.statistics import DEFAULT_EDGES, FeatureStatistics, compute_statistics, unit_edges

pytestmark = pytest.mark.integration

FEATURES = "online_retail"
BINS = bins(load_dataset(PROJECT_ROOT / "specs", FEATURES))
"""The edges the feature pipeline passes with every commit of online_retail (active_days_28: 0..28)."""
DAY = date(2024, 3, 1)
RUN = "manual__2024-03-02T00:00:00+00:00"
SUMMARY = {"suite": "demand_features", "evaluated": 12, "failed": 2, "failing": ["a(x)", "b(y)"]}
DOCUMENT = {
    "success": False,
    "statistics": {"evaluated_expectations": 12, "unsuccessful_expectations": 2},
    "results": [{"success": False, "result": {"observed_value": np.float64("nan"), "count": np.int64(3)}}],
}


def features(day: date, demand: tuple[float, ...] = (3.0, 0.5, 40.0)) -> pd.DataFrame:
    """Feature rows of ``day``: a string, a period (datetime64), a float and an integer column."""
    n = len(demand)
    return pd.DataFrame(
        {
            "entity": [f"France|2272{i % 2}" for i in range(n)],
            "period": np.array([day] * n, dtype="datetime64[us]"),
            "demand": list(demand),
            "active_days_28": pd.Series([(i % 28) + 1 for i in range(n)], dtype="int64"),
        }
    )


def statistics_rows(store: FeatureStore) -> list[tuple[int, str]]:
    """``(partition_id, column)`` of every statistics row in the catalog."""
    s = partition_statistics
    with store.engine.connect() as conn:
        query = sa.select(s.c.partition_id, s.c.column_name).order_by(s.c.partition_id, s.c.column_name)
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def partition_ids(store: FeatureStore) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(partitions.c.id).order_by(partitions.c.id)).scalars())


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_commit_records_the_statistics_of_each_column_in_schema_order(store: FeatureStore) -> None:
    frame = features(DAY)
    ref = store.write(FEATURES, DAY, frame)

    stats = store.statistics(FEATURES, DAY, DAY)

    assert list(stats["column"]) == ["entity", "demand", "active_days_28"]  # the period column has none
    assert set(stats["day"]) == {DAY} and set(stats["version"]) == {ref.version}
    expected = {s.column: s for s in compute_statistics(frame)}
    demand = stats.set_index("column").loc["demand"]
    assert demand["count"] == 3 and demand["null_count"] == 0
    assert demand["mean"] == pytest.approx(expected["demand"].mean)
    assert demand["p99"] == pytest.approx(np.quantile([3.0, 0.5, 40.0], 0.99))
    assert stats.set_index("column").loc["entity", "distinct_count"] == 2
    assert np.isnan(demand["distinct_count"])


def test_statistics_as_of_before_a_rewrite_are_those_of_the_partition_read_then(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY, (1.0, 1.0)))
    between = utcnow()
    store.write(FEATURES, DAY, features(DAY, (5.0, 7.0, 9.0)))

    then = store.statistics(FEATURES, DAY, DAY, as_of=between).set_index("column")
    now = store.statistics(FEATURES, DAY, DAY).set_index("column")

    assert (then.loc["demand", "count"], then.loc["demand", "mean"]) == (2, 1.0)
    assert (now.loc["demand", "count"], now.loc["demand", "mean"]) == (3, 7.0)


def test_every_partition_of_a_version_is_binned_on_the_same_edges(store: FeatureStore) -> None:
    for i, demand in enumerate([(0.0, 1.0), (500.0, 2000.0, 9e6), (0.25,)]):
        store.write(FEATURES, DAY + timedelta(days=i), features(DAY + timedelta(days=i), demand), bins=BINS)

    s = partition_statistics
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(s.c.column_name, s.c.stats_json).order_by(s.c.partition_id)).all()
        edges = {(c, FeatureStatistics.from_json(t).bin_edges) for c, t in stored if c != "entity"}

    assert edges == {("demand", DEFAULT_EDGES), ("active_days_28", unit_edges(0, 28))}
    assert len(stored) == 3 * 3


def test_histogram_sums_the_bin_counts_of_the_days_in_range(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY, (0.0, 1.0, 1.0)), bins=BINS)
    store.write(FEATURES, DAY + timedelta(days=1), features(DAY + timedelta(days=1), (1.0, 2.0)), bins=BINS)
    store.write(FEATURES, DAY + timedelta(days=2), features(DAY + timedelta(days=2), (900.0,)), bins=BINS)

    two_days = store.histogram(FEATURES, "demand", DAY, DAY + timedelta(days=1))
    one_day = store.histogram(FEATURES, "active_days_28", DAY, DAY)

    assert two_days.edges == DEFAULT_EDGES and two_days.days == (DAY, DAY + timedelta(days=1))
    filled = {DEFAULT_EDGES[i]: n for i, n in enumerate(two_days.counts) if n}
    assert filled == {0.0: 1, 1.0: 3, 2.0: 1} and two_days.total == 5
    assert one_day.edges == unit_edges(0, 28) and one_day.counts[:5] == (0, 1, 1, 1, 0)
    with pytest.raises(StatisticsNotFound, match="'no_such_column'"):
        store.histogram(FEATURES, "no_such_column", DAY, DAY)


def test_rewrite_of_identical_rows_adds_no_statistics(store: FeatureStore) -> None:
    store.write(FEATURES, DAY, features(DAY))
    before = statistics_rows(store)

    again = store.write(FEATURES, DAY, features(DAY))

    assert not again.committed and statistics_rows(store) == before and len(before) == 3


def test_writer_that_loses_a_commit_race_leaves_no_statistics(store: FeatureStore, catalog_url: str) -> None:
    store.write(FEATURES, DAY, features(DAY, (1.0,)), run_id="setup")
    rival = FeatureStore(store.store_uri, catalog_url)
    original = store._write_file

    def rival_commits_meanwhile(*args: object) -> str:
        uri = original(*args)  # type: ignore[arg-type]
        rival.write(FEATURES, DAY, features(DAY, (3.0, 3.0)), run_id="rival")
        return uri

    store._write_file = rival_commits_meanwhile  # type: ignore[method-assign]
    with pytest.raises(ConcurrentCommit):
        store.write(FEATURES, DAY, features(DAY, (2.0, 2.0)), run_id="loser")
    rival.engine.dispose()

    ids = partition_ids(store)
    assert len(ids) == 2
    assert sorted({pid for pid, _ in statistics_rows(store)}) == ids
    assert store.statistics(FEATURES, DAY, DAY).set_index("column").loc["demand", "mean"] == 3.0


def test_failure_while_inserting_statistics_commits_neither_them_nor_the_partition(
    store: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def duplicated(frame: pd.DataFrame, bins: object) -> list[FeatureStatistics]:
        stats = compute_statistics(frame, bins)  # type: ignore[arg-type]
        return [*stats, stats[0]]  # the same column twice violates the primary key

    monkeypatch.setattr(commits, "compute_statistics", duplicated)
    with pytest.raises(sa.exc.IntegrityError):
        store.write(FEATURES, DAY, features(DAY))
    monkeypatch.undo()

    assert partition_ids(store) == [] and statistics_rows(store) == []
    assert store.write(FEATURES, DAY, features(DAY)).committed
    assert len(statistics_rows(store)) == 3


def test_record_validation_writes_the_document_and_its_catalog_row(
    store: FeatureStore, tmp_path: Path
) -> None:
    validation_id = store.record_validation(
        FEATURES, RUN, DAY, DAY + timedelta(days=6), False, SUMMARY, DOCUMENT
    )

    [record] = store.validations(FEATURES)
    path = (
        tmp_path
        / "store"
        / "_validation"
        / FEATURES
        / f"manual__2024-03-02T00_00_00_00_00-{validation_id[:8]}.json"
    )
    assert record.uri == str(path) and path.exists()
    assert json.loads(path.read_text()) == to_plain(DOCUMENT) == store.validation_document(validation_id)
    assert to_plain(DOCUMENT)["results"][0]["result"] == {"observed_value": None, "count": 3}
    assert (record.id, record.run_id, record.start, record.end) == (
        validation_id,
        RUN,
        DAY,
        DAY + timedelta(days=6),
    )
    assert (record.success, record.summary, record.evaluated, record.failed) == (False, SUMMARY, 12, 2)
    assert record.failing == ["a(x)", "b(y)"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_two_validations_of_one_run_keep_two_documents(store: FeatureStore) -> None:
    first = store.record_validation(FEATURES, RUN, DAY, DAY, False, SUMMARY, {"attempt": 1})
    second = store.record_validation(FEATURES, RUN, DAY, DAY, True, {"failed": 0}, {"attempt": 2})

    assert [r.id for r in store.validations(FEATURES)] == [first, second]
    assert [r.id for r in store.validations(FEATURES, last=1)] == [second]
    assert store.validation_document(first) == {"attempt": 1}
    assert store.validation_document(second) == {"attempt": 2}


def test_partitions_link_to_the_validation_of_their_rows(store: FeatureStore) -> None:
    passed = store.record_validation(FEATURES, "run-1", DAY, DAY, True, {"failed": 0}, {})
    failed = store.record_validation(FEATURES, "run-2", DAY, DAY, False, SUMMARY, {})
    store.write(FEATURES, DAY, features(DAY), run_id="run-1", validation_id=passed)
    store.write(FEATURES, DAY + timedelta(days=1), features(DAY + timedelta(days=1)), run_id="run-2")
    store.write(FEATURES, DAY, features(DAY, (8.0,)), run_id="run-2", validation_id=failed)

    listed = store.partitions(FEATURES)

    assert [(p.day, p.run_id, p.validation_id, p.validation_success) for p in listed] == [
        (DAY, "run-1", passed, True),
        (DAY + timedelta(days=1), "run-2", None, None),
        (DAY, "run-2", failed, False),
    ]
    assert [p.run_id for p in store.partitions(FEATURES, last=2)] == ["run-2", "run-2"]


def test_rewrite_of_identical_rows_keeps_the_validation_link_of_the_first_commit(store: FeatureStore) -> None:
    first = store.record_validation(FEATURES, "run-1", DAY, DAY, True, {}, {})
    second = store.record_validation(FEATURES, "run-2", DAY, DAY, True, {}, {})
    store.write(FEATURES, DAY, features(DAY), validation_id=first)

    again = store.write(FEATURES, DAY, features(DAY), validation_id=second)

    assert not again.committed
    assert [p.validation_id for p in store.partitions(FEATURES)] == [first]


def test_write_linked_to_an_unknown_validation_commits_nothing(store: FeatureStore, tmp_path: Path) -> None:
    with pytest.raises(ValidationNotFound, match="'no-such-id'"):
        store.write(FEATURES, DAY, features(DAY), validation_id="no-such-id")

    assert partition_ids(store) == []
    assert not (tmp_path / "store").exists() or not list((tmp_path / "store").rglob("*.parquet"))


def test_validation_of_a_range_that_ends_before_it_starts_is_refused(store: FeatureStore) -> None:
    with pytest.raises(ValueError, match="before start"):
        store.record_validation(FEATURES, RUN, DAY, DAY - timedelta(days=1), True, {}, {})
