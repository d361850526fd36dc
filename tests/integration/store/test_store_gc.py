"""``fti features gc`` removes old temporary and uncommitted files, and nothing a reader needs.
Real store, both catalog backends."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fti.cli import app
from fti.settings import get_settings
from fti.store import FeatureStore

pytestmark = pytest.mark.integration

FEATURES = "demand_features"
DAY = date(2024, 3, 1)
ROWS = pd.DataFrame({"entity": ["France|22720"], "date": [DAY], "demand": [2.0]})
TWO_DAYS = 48 * 3600


@dataclass(frozen=True)
class Files:
    committed: Path
    old_orphan: Path
    old_temp: Path
    young_orphan: Path
    old_staging: Path
    old_validation: Path

    def present(self) -> dict[str, bool]:
        return {name: path.exists() for name, path in self.__dict__.items()}


def aged(path: Path, payload: bytes, seconds: float) -> Path:
    """``path`` written with ``payload``, last modified ``seconds`` ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


@pytest.fixture
def files(store: FeatureStore) -> Files:
    """A committed partition and validation, staging rows, and three files no catalog row names."""
    validation = store.record_validation(FEATURES, "run-1", DAY, DAY, True, {"failed": 0}, {})
    store.write(FEATURES, DAY, ROWS, validation_id=validation)
    committed = Path(store.partitions(FEATURES)[0].uri)
    folder = committed.parent
    os.utime(committed, (time.time() - TWO_DAYS,) * 2)
    staged = Path(store.write_staging("demand", "run-1", "origin", ROWS))
    return Files(
        committed=committed,
        old_orphan=aged(folder / "part-00000000deadbeef.parquet", b"x" * 1000, TWO_DAYS),
        old_temp=aged(folder / ".tmp-0123456789abcdef.parquet", b"y" * 300, TWO_DAYS),
        young_orphan=aged(folder.parent / "date=2024-03-02" / "part-0000000000000001.parquet", b"z", 60),
        old_staging=aged(staged, staged.read_bytes(), TWO_DAYS),
        old_validation=aged(Path(store.validations(FEATURES)[0].uri), b"{}", TWO_DAYS),
    )


def test_gc_removes_old_orphans_and_temporary_files_and_keeps_everything_else(
    store: FeatureStore, files: Files
) -> None:
    planned = store.collect_garbage(timedelta(hours=24), dry_run=True)
    assert files.present() == dict.fromkeys(files.present(), True)  # a dry run removes nothing

    removed = store.collect_garbage(timedelta(hours=24))

    assert [(o.path, o.kind, o.size) for o in removed] == [
        (str(files.old_temp), "temporary", 300),
        (str(files.old_orphan), "uncommitted", 1000),
    ]
    assert removed == planned
    assert files.present() == {
        "committed": True,
        "old_orphan": False,
        "old_temp": False,
        "young_orphan": True,
        "old_staging": True,
        "old_validation": True,
    }
    assert store.read(FEATURES, DAY, DAY)["demand"].tolist() == [2.0]


def test_a_store_reached_under_another_root_keeps_its_committed_files(
    store: FeatureStore, files: Files, tmp_path: Path
) -> None:
    (tmp_path / "moved").symlink_to(Path(store.store_uri), target_is_directory=True)
    elsewhere = FeatureStore(str(tmp_path / "moved"), store.catalog_url)
    try:
        removed = elsewhere.collect_garbage(timedelta(hours=24))
    finally:
        elsewhere.engine.dispose()

    assert sorted(Path(o.path).name for o in removed) == sorted([files.old_orphan.name, files.old_temp.name])
    assert files.committed.exists()


@pytest.fixture
def settings_at(store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The settings (so the ``fti`` commands) point at ``store``."""
    monkeypatch.setenv("FTI_CATALOG_URL", store.catalog_url)
    monkeypatch.setenv("FTI_STORE_URI", store.store_uri)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_fti_features_gc_prints_each_file_and_the_bytes_freed_and_a_dry_run_keeps_them(
    files: Files, settings_at: None
) -> None:
    dry = CliRunner().invoke(app, ["features", "gc", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines()[-1] == "would remove 2 file(s), 1300 bytes freed"
    assert files.old_orphan.exists() and files.old_temp.exists()

    done = CliRunner().invoke(app, ["features", "gc", "--grace-hours", "24"])

    assert done.exit_code == 0, done.output
    listed = {line.split()[0]: line.split()[1:3] for line in done.stdout.splitlines()[1:-1]}
    assert listed == {
        str(files.old_orphan): ["uncommitted", "1000"],
        str(files.old_temp): ["temporary", "300"],
    }
    assert done.stdout.splitlines()[-1] == "removed 2 file(s), 1300 bytes freed"
    assert not files.old_orphan.exists() and files.young_orphan.exists() and files.committed.exists()


def test_a_grace_period_longer_than_the_orphans_age_removes_nothing(files: Files, settings_at: None) -> None:
    result = CliRunner().invoke(app, ["features", "gc", "--grace-hours", "72"])

    assert result.stdout.splitlines() == ["removed 0 file(s), 0 bytes freed"]
    assert files.present() == dict.fromkeys(files.present(), True)
