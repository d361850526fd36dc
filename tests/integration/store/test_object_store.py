"""The feature store with its Parquet files in an S3 bucket (a real S3-compatible server: moto's).

What compose runs on MinIO (README, "Running on Docker Compose"): the files are objects in a
bucket that every worker reaches; the catalog still commits them. The same store code as on a
local folder, through pyarrow's S3 filesystem; nothing is written to the local disk.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.fs as pafs
import pytest
import sqlalchemy as sa

from fti.store import FeatureStore
from fti.store.catalog import partitions
from fti.store.integrity import PartitionCorrupted
from fti.store.object_store import ATTEMPTS, BucketError, bucket_of, create_buckets
from tests.harness.services import S3Server

pytestmark = pytest.mark.integration

FEATURES = "demand_features"
DAY = date(2024, 3, 1)


def features(demand: tuple[float, ...] = (3.0, 0.5)) -> pd.DataFrame:
    n = len(demand)
    return pd.DataFrame(
        {
            "entity": [f"France|2272{i}" for i in range(n)],
            "date": [DAY] * n,
            "demand": list(demand),
            "active_days_28": pd.Series(range(1, n + 1), dtype="int64"),
        }
    )


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's AWS settings pointed at the session's S3 server."""
    for key, value in s3_server.client_env().items():
        monkeypatch.setenv(key, value)
    return s3_server.client_env()


@pytest.fixture
def bucket(s3_env: dict[str, str]) -> str:
    """A new, empty bucket."""
    name = f"fti-test-{uuid.uuid4().hex[:12]}"
    assert create_buckets([f"s3://{name}/store"]) == [name]
    return name


@pytest.fixture
def store(bucket: str, tmp_path: Path) -> Iterator[FeatureStore]:
    feature_store = FeatureStore(f"s3://{bucket}/store", f"sqlite:///{tmp_path / 'catalog.db'}")
    yield feature_store
    feature_store.engine.dispose()


def objects(bucket: str) -> dict[str, int]:
    """Every object in ``bucket``: its key and size."""
    fs, _ = pafs.FileSystem.from_uri(f"s3://{bucket}")
    found = fs.get_file_info(pafs.FileSelector(bucket, recursive=True))
    return {info.path: info.size for info in found if info.type == pafs.FileType.File}


def overwrite(uri: str, payload: bytes) -> None:
    fs, _ = pafs.FileSystem.from_uri("s3://" + uri)
    with fs.open_output_stream(uri) as out:
        out.write(payload)


def test_committed_rows_are_objects_in_the_bucket_and_read_back_equal_with_nothing_on_local_disk(
    store: FeatureStore, bucket: str, tmp_path: Path
) -> None:
    frame = features()

    ref = store.write(FEATURES, DAY, frame)
    back = store.read(FEATURES, DAY, DAY, verify="digest")

    pd.testing.assert_frame_equal(back, frame)
    assert ref.committed and ref.uri.startswith(f"{bucket}/store/{FEATURES}/v1/date={DAY}/part-")
    assert list(objects(bucket)) == [ref.uri] and objects(bucket)[ref.uri] > 0
    assert {p.name.split("-")[0] for p in tmp_path.iterdir()} == {"catalog.db"}  # and its WAL


def test_a_rewrite_of_changed_rows_is_a_new_object_and_the_old_one_stays_readable_as_of_before(
    store: FeatureStore,
) -> None:
    first = store.write(FEATURES, DAY, features((1.0,)))
    between = datetime.now(UTC).replace(tzinfo=None)
    again = store.write(FEATURES, DAY, features((1.0,)))
    second = store.write(FEATURES, DAY, features((9.0,)))

    assert not again.committed and second.committed and second.uri != first.uri
    assert store.read(FEATURES, DAY, DAY, as_of=between)["demand"].tolist() == [1.0]
    assert store.read(FEATURES, DAY, DAY)["demand"].tolist() == [9.0]


def test_an_object_rewritten_in_place_with_the_same_size_is_refused_by_a_digest_read(
    store: FeatureStore, bucket: str
) -> None:
    ref = store.write(FEATURES, DAY, features())
    other = FeatureStore(store.store_uri + "-other", store.catalog_url)
    rival = other.write(FEATURES + "_rival", DAY, features((4.0, 0.25)))
    fs, _ = pafs.FileSystem.from_uri("s3://" + rival.uri)
    forged = fs.open_input_file(rival.uri).read()
    assert len(forged) == objects(bucket)[ref.uri]

    overwrite(ref.uri, forged)

    assert store.read(FEATURES, DAY, DAY)["demand"].tolist() == [4.0, 0.25]  # a size check passes
    with pytest.raises(PartitionCorrupted, match=ref.uri):
        store.read(FEATURES, DAY, DAY, verify="digest")


def test_gc_removes_orphan_and_temporary_objects_and_keeps_the_committed_one(
    store: FeatureStore, bucket: str
) -> None:
    ref = store.write(FEATURES, DAY, features())
    folder = ref.uri.rsplit("/", 1)[0]
    orphan, temp = f"{folder}/part-00000000deadbeef.parquet", f"{folder}/.tmp-0123456789abcdef.parquet"
    overwrite(orphan, b"x" * 1000)
    overwrite(temp, b"y" * 300)

    removed = store.collect_garbage(timedelta(0), now=datetime.now(UTC) + timedelta(minutes=1))

    assert sorted(o.path for o in removed) == sorted([orphan, temp])
    assert list(objects(bucket)) == [ref.uri]
    assert store.read(FEATURES, DAY, DAY, verify="digest")["demand"].tolist() == [3.0, 0.5]


def test_a_store_whose_bucket_does_not_exist_fails_naming_it_and_commits_nothing(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    missing = f"fti-missing-{uuid.uuid4().hex[:8]}"
    store = FeatureStore(f"s3://{missing}/store", f"sqlite:///{tmp_path / 'catalog.db'}")

    with pytest.raises(OSError, match=missing):
        store.write(FEATURES, DAY, features())

    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(partitions)).scalar_one() == 0


def test_a_hung_object_store_fails_a_write_within_its_timeout_and_commits_nothing(
    s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    store = FeatureStore(f"s3://{bucket}/store", f"sqlite:///{tmp_path / 'catalog.db'}", timeout_s=1.0)
    store.write(FEATURES, DAY, features((1.0,)))
    s3_server.pause()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        started = time.monotonic()
        with pytest.raises(OSError, match=bucket):
            store.write(FEATURES, DAY, features((2.0,)))
        took = time.monotonic() - started
    finally:
        s3_server.resume()

    print(f"the write failed after {took:.1f} s (timeout 1 s, {ATTEMPTS} attempts)")
    assert took < 30  # the SDK's defaults take about 100 s
    assert len(store.partitions(FEATURES)) == 1
    assert store.read(FEATURES, DAY, DAY)["demand"].tolist() == [1.0]


def test_create_buckets_is_idempotent_and_passes_over_local_paths(s3_env: dict[str, str]) -> None:
    name = f"fti-test-{uuid.uuid4().hex[:12]}"
    uris = [f"s3://{name}/store", f"s3://{name}/other", "/tmp/a-local-store"]

    assert create_buckets(uris) == [name]
    assert create_buckets(uris) == [name]
    assert bucket_of("/tmp/a-local-store") is None and bucket_of(f"s3://{name}/x") == name


def test_an_unreachable_object_store_is_a_bucket_error_naming_the_bucket(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # discard: nothing listens

    with pytest.raises(BucketError, match="'fti-unreachable'"):
        create_buckets(["s3://fti-unreachable/store"])
