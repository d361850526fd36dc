"""A committed partition's file is read only while it is the file the catalog committed; a failed
write leaves nothing behind. Real store, both catalog backends."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import fti
from fti.contracts import TrainingRequest
from fti.resources import Resources
from fti.settings import Settings
from fti.store import FeatureStore, catalog
from fti.store.feature_store import PartitionCorrupted
from fti.training.snapshot import take_snapshot
from tests.integration.conftest import spec_of

pytestmark = pytest.mark.integration

FEATURES = "demand_features"
DAY = date(2024, 3, 1)
ROWS = pd.DataFrame({"entity": ["France|22720", "EIRE|85080"], "date": [DAY, DAY], "demand": [2.0, 3.0]})


def committed_file(store: FeatureStore, feature_set: str = FEATURES) -> Path:
    [partition] = store.partitions(feature_set)
    return Path(partition.uri)


def rewrite_same_size(path: Path) -> None:
    """Different bytes of the same length: a character of the footer's pandas metadata changed."""
    data = path.read_bytes()
    assert data.count(b'"pyarrow"') == 1
    path.write_bytes(data.replace(b'"pyarrow"', b'"pyarroW"'))


def test_a_partition_rewritten_in_place_with_the_same_size_is_refused_by_a_digest_read(
    store: FeatureStore,
) -> None:
    store.write(FEATURES, DAY, ROWS)
    path = committed_file(store)
    rewrite_same_size(path)

    assert len(store.read(FEATURES, DAY, DAY)) == 2  # the cheap check cannot see it: same size
    with pytest.raises(PartitionCorrupted, match="SHA-256") as raised:
        store.read(FEATURES, DAY, DAY, verify="digest")

    assert str(path) in str(raised.value)
    assert raised.value.recorded == store.partitions(FEATURES)[0].checksum != raised.value.actual


def test_a_store_set_to_digest_checks_the_digest_on_every_read(store: FeatureStore, tmp_path: Path) -> None:
    store.write(FEATURES, DAY, ROWS)
    rewrite_same_size(committed_file(store))
    settings = Settings(
        var_dir=tmp_path, store_uri=store.store_uri, catalog_url=store.catalog_url, store_verify="digest"
    )
    strict = Resources(settings).store
    try:
        with pytest.raises(PartitionCorrupted, match="SHA-256"):
            strict.read(FEATURES, DAY, DAY)
    finally:
        strict.engine.dispose()


@pytest.mark.parametrize("damage", ["truncate", "append"])
def test_a_partition_truncated_or_extended_is_refused_by_any_read(store: FeatureStore, damage: str) -> None:
    store.write(FEATURES, DAY, ROWS)
    path = committed_file(store)
    data = path.read_bytes()
    path.write_bytes(data[:-10] if damage == "truncate" else data + b"\0" * 10)

    with pytest.raises(PartitionCorrupted, match="size in bytes") as raised:
        store.read(FEATURES, DAY, DAY)

    actual = len(data) - 10 if damage == "truncate" else len(data) + 10
    assert (raised.value.uri, raised.value.recorded, raised.value.actual) == (str(path), len(data), actual)


def test_a_training_snapshot_refuses_a_partition_rewritten_in_place(store: FeatureStore) -> None:
    sales = spec_of("store_sales")
    store.write(sales.feature_set, DAY, ROWS)
    path = committed_file(store, sales.feature_set)
    rewrite_same_size(path)
    request = TrainingRequest(dataset=sales.name, as_of=datetime(2030, 1, 1), window=4)

    with pytest.raises(PartitionCorrupted, match="SHA-256") as raised:
        take_snapshot(store, sales, request)

    assert str(path) in str(raised.value)


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


WRITE_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
from datetime import date
import numpy as np, pandas as pd
from fti.store import FeatureStore

store_uri, catalog_url, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = FeatureStore(store_uri, catalog_url)
rows = pd.DataFrame({"entity": [f"e{i}" for i in range(200_000)], "date": date(2024, 3, 2),
                     "demand": np.random.default_rng(0).random(200_000)})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    store.write("demand_features", date(2024, 3, 2), rows)
except OSError as exc:
    print(exc.errno)
    sys.exit(3)
"""


def test_a_write_that_hits_the_file_size_limit_leaves_no_temporary_file_and_no_commit(
    store: FeatureStore,
) -> None:
    store.write(FEATURES, DAY, ROWS)  # the version exists: the failed write has nothing else to create
    root = Path(store.store_uri)
    before = files_under(root)
    env = {**os.environ, "PYTHONPATH": str(Path(fti.__file__).parents[1])}

    child = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_A_FILE_SIZE_LIMIT, store.store_uri, store.catalog_url, "262144"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip

    assert child.returncode == 3, child.stderr
    assert child.stdout.split() == [str(errno.EFBIG)]
    assert files_under(root) == before  # the partial file is gone
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(catalog.partitions)).scalar() == 1


def test_a_partition_committed_before_sizes_were_recorded_is_checked_by_its_digest(
    store: FeatureStore,
) -> None:
    store.write(FEATURES, DAY, pd.DataFrame({"entity": ["a"], "date": [DAY], "demand": np.array([1.0])}))
    with store.engine.begin() as conn:
        conn.execute(catalog.partitions.update().values(size_bytes=None))
    assert len(store.read(FEATURES, DAY, DAY)) == 1
    rewrite_same_size(committed_file(store))

    with pytest.raises(PartitionCorrupted, match="SHA-256"):
        store.read(FEATURES, DAY, DAY)


def test_the_inference_drift_check_refuses_a_partition_rewritten_in_place(
    store: FeatureStore, tmp_path: Path
) -> None:
    from fti.contracts import Lineage, PinnedModel
    from fti.pipelines.inference import check_inputs

    sales = spec_of("store_sales")
    store.write(sales.feature_set, DAY, ROWS)
    path = committed_file(store, sales.feature_set)
    rewrite_same_size(path)
    settings = Settings(var_dir=tmp_path, store_uri=store.store_uri, catalog_url=store.catalog_url)
    lineage = Lineage.model_construct(feature_set_version=1)  # the read needs only the version
    pinned = PinnedModel(name="m", version="1", run_id="r", read_as_of=datetime(2030, 1, 1), lineage=lineage)
    resources = Resources(settings)
    try:
        with pytest.raises(PartitionCorrupted, match="SHA-256") as raised:
            check_inputs(resources, sales, pinned, "run-1")
    finally:
        resources.store.engine.dispose()

    assert str(path) in str(raised.value)


@pytest.mark.parametrize("damage", ["rewritten", "deleted"])
def test_rewriting_the_same_rows_restores_a_damaged_file_and_commits_nothing_new(
    store: FeatureStore, damage: str
) -> None:
    store.write(FEATURES, DAY, ROWS)
    path = committed_file(store)
    committed = path.read_bytes()
    rewrite_same_size(path) if damage == "rewritten" else path.unlink()

    again = store.write(FEATURES, DAY, ROWS)

    assert not again.committed and len(store.partitions(FEATURES)) == 1
    assert path.read_bytes() == committed
    assert store.read(FEATURES, DAY, DAY, verify="digest")["demand"].tolist() == [2.0, 3.0]
