"""Guarantees of the feature pipeline, on real raw files, real Parquet files and a real SQLite catalog.

Idempotent by partition (a rerun writes the same bytes and commits nothing), order-independent (a
backfill equals the days run one by one, in either order), atomic by commit (a writer killed at any
point leaves the catalog and what readers see as they were) and strict about its input (a missing
raw file fails the run before anything is written).

The kill test runs a real writer in a child process: this file run as a script (see ``__main__``).
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from fti.data.online_retail import raw_path
from fti.data.synthetic import SyntheticSpec, write_daily
from fti.pipelines import feature
from fti.pipelines.feature import RawDataMissing, ingest, pending_days
from fti.settings import Settings
from fti.store.catalog import partitions

pytestmark = pytest.mark.integration

SPEC = SyntheticSpec(n_countries=5, n_items=40, n_days=50)
"""22 feature days (the first 28 days are look-back only), about 140 entities a day."""
FEATURE_SET = "retail_demand"
KILL_PHASES = ("writing_temp_file", "file_renamed_not_committed", "catalog_commit_in_flight")
COMMITS_BEFORE_KILL = 3
CHILD_TIMEOUT_S = 60


def make_settings(var_dir: Path, raw_dir: Path) -> Settings:
    """Settings of one isolated system under ``var_dir`` (explicit, so no ``FTI_*`` variable leaks in)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return Settings(
        var_dir=var_dir,
        raw_dir=raw_dir,
        store_uri=str(var_dir / "store"),
        catalog_url=f"sqlite:///{var_dir / 'catalog.db'}",
        feature_set=FEATURE_SET,
    )


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic data set landed as one raw file per day; tests must not change it (copy it)."""
    raw_dir = tmp_path_factory.mktemp("landed")
    write_daily(raw_dir, SPEC)
    return raw_dir


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, landed: Path) -> Settings:
    """A system that ingested every pending day in one clean, uninterrupted run."""
    settings = make_settings(tmp_path_factory.mktemp("reference"), landed)
    ingest(settings, pending_days(settings))
    return settings


@pytest.fixture
def settings(tmp_path: Path, landed: Path) -> Settings:
    """A fresh system (empty store and catalog) reading the shared landing folder."""
    return make_settings(tmp_path / "var", landed)


def catalog(settings: Settings) -> list[tuple[date, str, int]]:
    """``(day, checksum, row_count)`` of every catalog row, by day."""
    p = partitions
    with feature.feature_store(settings).engine.connect() as conn:
        query = sa.select(p.c.day, p.c.checksum, p.c.row_count).order_by(p.c.day, p.c.id)
        return [(r.day, r.checksum, r.row_count) for r in conn.execute(query)]


def catalog_uris(settings: Settings) -> dict[str, str]:
    """Checksum by file path of every catalog row."""
    with feature.feature_store(settings).engine.connect() as conn:
        return {r.uri: r.checksum for r in conn.execute(sa.select(partitions.c.uri, partitions.c.checksum))}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_on_disk(settings: Settings) -> dict[str, str]:
    """SHA-256 of every file under the store root, temp files included, by path relative to the root."""
    root = Path(str(settings.store_uri))
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def read_all(settings: Settings, days: list[date]) -> pd.DataFrame:
    return feature.feature_store(settings).read(FEATURE_SET, min(days), max(days))


def test_rerun_of_same_date_writes_identical_files_and_no_new_catalog_rows(settings: Settings) -> None:
    day = pending_days(settings)[5]
    [first] = ingest(settings, [day], run_id="first")
    files, rows = files_on_disk(settings), catalog(settings)
    mtime = Path(str(first["uri"])).stat().st_mtime_ns
    root, checksum = Path(str(settings.store_uri)), first["checksum"]

    [again] = ingest(settings, [day], run_id="rerun")

    assert first["committed"] is True and again["committed"] is False
    assert (again["uri"], again["checksum"], again["row_count"]) == (
        first["uri"],
        first["checksum"],
        first["row_count"],
    )
    assert files_on_disk(settings) == files == {str(Path(str(first["uri"])).relative_to(root)): checksum}
    assert Path(str(first["uri"])).stat().st_mtime_ns == mtime  # not even rewritten
    assert catalog(settings) == rows == [(day, first["checksum"], first["row_count"])]
    assert day not in pending_days(settings)


@pytest.mark.parametrize("order", ["in_order", "in_reverse_order"])
def test_backfill_of_a_range_equals_running_the_days_one_by_one(
    tmp_path: Path, landed: Path, order: str
) -> None:
    backfill, daily = make_settings(tmp_path / "a", landed), make_settings(tmp_path / "b", landed)
    all_days = pending_days(backfill)
    days = all_days[:7]  # a week: spans a Saturday (no trade: a header-only raw file)
    assert any(d.weekday() == 5 for d in days)

    ingest(backfill, days)
    for day in days if order == "in_order" else days[::-1]:
        ingest(daily, [day])

    assert catalog(daily) == catalog(backfill)
    assert [day for day, _, _ in catalog(backfill)] == days
    assert files_on_disk(daily) == files_on_disk(backfill)
    pd.testing.assert_frame_equal(read_all(daily, days), read_all(backfill, days))
    assert pending_days(daily) == pending_days(backfill) == all_days[len(days) :]


@pytest.mark.parametrize("phase", KILL_PHASES)
def test_writer_killed_mid_write_leaves_catalog_unchanged_and_no_visible_partial_file(
    settings: Settings, reference: Settings, phase: str
) -> None:
    """SIGKILL a real writer after 3 commits, paused at a known point of the 4th partition's write.

    The child stops at ``phase`` deterministically (no timing guess): half of the Parquet bytes in
    the temp file; the complete file renamed to its final name, no catalog row yet; the catalog row
    inserted in an open transaction, not committed.
    """
    days = feature.feature_store(reference).committed_days(FEATURE_SET)
    killed = days[COMMITS_BEFORE_KILL]

    reported, rows_seen_in_transaction = kill_writer_at(phase, settings)

    assert reported == days[:COMMITS_BEFORE_KILL]  # the child committed (and said so) exactly these
    if phase == "catalog_commit_in_flight":
        assert rows_seen_in_transaction == COMMITS_BEFORE_KILL + 1  # the killed day's row was inserted
    assert catalog(settings) == catalog(reference)[:COMMITS_BEFORE_KILL]
    named = catalog_uris(settings)
    assert all(sha256(Path(uri)) == checksum for uri, checksum in named.items())
    back = read_all(settings, days)
    assert sorted(set(back["date"])) == reported
    pd.testing.assert_frame_equal(back, read_all(reference, reported))
    with closing(sqlite3.connect(settings.var_dir / "catalog.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert pending_days(settings) == days[COMMITS_BEFORE_KILL:]

    root = Path(str(settings.store_uri))
    leftovers = [root / f for f in files_on_disk(settings) if str(root / f) not in named]
    assert len(leftovers) == 1, f"on disk besides the catalog's files: {leftovers}"
    [(ref_uri, ref_checksum)] = [
        (u, c) for u, c in catalog_uris(reference).items() if killed.isoformat() in u
    ]
    same_place = Path(ref_uri).relative_to(str(reference.store_uri))
    if phase == "writing_temp_file":  # half of the bytes, under a name readers never open
        assert leftovers[0].parent == root / same_place.parent and leftovers[0].name.startswith(".tmp-")
        assert leftovers[0].stat().st_size == Path(ref_uri).stat().st_size // 2
    else:  # the complete file, at its final name, but named by no catalog row
        assert leftovers[0] == root / same_place and sha256(leftovers[0]) == ref_checksum

    ingest(settings, pending_days(settings), run_id="after-kill")  # the rerun completes the history
    assert catalog(settings) == catalog(reference)
    pd.testing.assert_frame_equal(read_all(settings, days), read_all(reference, days))


def kill_writer_at(phase: str, settings: Settings) -> tuple[list[date], int]:
    """Run the child writer until it pauses at ``phase`` and SIGKILL it.

    Returns:
        The days the child reported committed, and the catalog rows its open transaction saw.
    """
    cmd = [sys.executable, __file__, phase, str(settings.var_dir), str(settings.raw_dir)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in child.stdout or []:
            lines.put(line)
        lines.put("exited")

    threading.Thread(target=pump, daemon=True).start()
    reported: list[date] = []
    try:
        while True:
            try:
                line = lines.get(timeout=CHILD_TIMEOUT_S).split()
            except queue.Empty:
                pytest.fail(f"child writer said nothing for {CHILD_TIMEOUT_S}s (reported {reported})")
            if line[:1] == ["committed"]:
                reported.append(date.fromisoformat(line[1]))
            elif line[:2] == ["paused", phase]:
                break
            else:
                child.kill()
                child.wait(CHILD_TIMEOUT_S)
                pytest.fail(f"child writer: {line}; stderr: {child.stderr.read() if child.stderr else ''}")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(CHILD_TIMEOUT_S)
    assert child.returncode == -signal.SIGKILL
    return reported, int(line[2])


def test_missing_raw_day_fails_before_writing_and_names_the_day(tmp_path: Path, landed: Path) -> None:
    shutil.copytree(landed, tmp_path / "raw")
    settings = make_settings(tmp_path / "var", tmp_path / "raw")
    days = pending_days(settings)
    ingest(settings, days[:2])
    before_rows, before_files = catalog(settings), files_on_disk(settings)
    missing = days[6]
    raw_path(tmp_path / "raw", missing).unlink()

    with pytest.raises(RawDataMissing, match=missing.isoformat()):
        ingest(settings, days[2:10])

    assert catalog(settings) == before_rows
    assert files_on_disk(settings) == before_files


def test_missing_look_back_day_fails_before_writing_and_names_the_day(tmp_path: Path, landed: Path) -> None:
    shutil.copytree(landed, tmp_path / "raw")
    settings = make_settings(tmp_path / "var", tmp_path / "raw")
    day = pending_days(settings)[5]
    missing = day - timedelta(days=3)  # in the 28-day look-back of ``day``, not a feature day itself
    raw_path(tmp_path / "raw", missing).unlink()

    try:
        ingest(settings, [day])
    except RawDataMissing as exc:
        assert missing.isoformat() in str(exc)
    else:
        raise AssertionError(
            f"ingest of {day} without the raw file of {missing} committed {catalog(settings)}"
        )
    assert catalog(settings) == []


# --- the child writer of the kill test ------------------------------------------------------------


class _Pauser:
    """Pauses the writer at one point of the partition after ``COMMITS_BEFORE_KILL`` commits."""

    def __init__(self, phase: str) -> None:
        self.phase, self.commits, self.renamed = phase, 0, False

    @property
    def armed(self) -> bool:
        return self.commits >= COMMITS_BEFORE_KILL

    def pause(self, where: str, rows: int = -1) -> None:
        if self.armed and where == self.phase:
            print("paused", where, rows, flush=True)
            time.sleep(CHILD_TIMEOUT_S)  # the test kills us here; if it does not, fail loudly
            os._exit(3)


class _PausingStream:
    """An output stream that writes half of what it is given, flushes it, then pauses."""

    def __init__(self, stream: Any, pauser: _Pauser) -> None:
        self.stream, self.pauser = stream, pauser

    def __enter__(self) -> _PausingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()

    def write(self, data: bytes) -> int:
        if self.pauser.armed and self.pauser.phase == "writing_temp_file":
            self.stream.write(data[: len(data) // 2])
            self.stream.flush()
            self.pauser.pause("writing_temp_file")
        return int(self.stream.write(data))


class _PausingFilesystem:
    """The store's pyarrow filesystem, with pauses inside the temp-file write and after the rename."""

    def __init__(self, fs: Any, pauser: _Pauser) -> None:
        self.fs, self.pauser = fs, pauser

    def create_dir(self, path: str, recursive: bool = True) -> None:
        self.fs.create_dir(path, recursive=recursive)

    def open_output_stream(self, path: str) -> _PausingStream:
        return _PausingStream(self.fs.open_output_stream(path), self.pauser)

    def move(self, src: str, dest: str) -> None:
        self.fs.move(src, dest)
        self.pauser.renamed = self.pauser.armed
        self.pauser.pause("file_renamed_not_committed")


def _child_writer(phase: str, var_dir: Path, raw_dir: Path) -> None:
    """Ingest every pending day through a store that reports each commit and pauses at ``phase``."""
    settings = make_settings(var_dir, raw_dir)
    store = feature.feature_store(settings)
    pauser = _Pauser(phase)
    fs, root = store._fs
    store.__dict__["_fs"] = (_PausingFilesystem(fs, pauser), root)
    write = store.write

    def reporting_write(*args: Any, **kwargs: Any) -> Any:
        ref = write(*args, **kwargs)
        pauser.commits += 1
        print("committed", ref.day, flush=True)
        return ref

    def before_commit(conn: sa.Connection) -> None:
        if pauser.renamed:  # the transaction that inserts the partition's row, not the version lookup
            rows = conn.execute(sa.select(sa.func.count()).select_from(partitions)).scalar_one()
            pauser.pause("catalog_commit_in_flight", rows)

    store.write = reporting_write  # type: ignore[method-assign]
    sa.event.listen(store.engine, "commit", before_commit)
    feature.feature_store = lambda _settings: store  # type: ignore[assignment]
    ingest(settings, pending_days(settings))
    print("finished without pausing", flush=True)


if __name__ == "__main__":
    _child_writer(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
