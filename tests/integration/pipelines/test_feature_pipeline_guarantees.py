"""Guarantees of the feature pipeline, on real raw files, real Parquet files and a real SQLite catalog.

Idempotent by partition (a rerun writes the same bytes and commits nothing), order-independent (a
backfill equals the partitions run one by one, in either order), atomic by commit (a writer killed at
any point leaves the catalog and what readers see as they were; a batch commits all or nothing) and
strict about its input (every missing raw file of the run and of its look-back is named before
anything is read or written).

The kill test runs a real writer in a child process: this file run as a script (see ``__main__``).
"""

from __future__ import annotations

import os
import queue
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

from fti.data.source import RawDataMissing, partition_path
from fti.resources import Resources
from fti.specs import DatasetSpec
from fti.store.catalog import partitions
from fti.store.feature_store import FeatureSetNotFound
from tests.integration.conftest import spec_of, system
from tests.integration.pipelines.conftest import pending, run_steps, store_state

pytestmark = pytest.mark.integration

KILL_PHASES = ("writing_temp_file", "file_renamed_not_committed", "catalog_commit_in_flight")
COMMITS_BEFORE_KILL = 3
CHILD_TIMEOUT_S = 120


def catalog(resources: Resources) -> list[tuple[date, str, int]]:
    """``(day, checksum, row_count)`` of every catalog row, by day."""
    p = partitions
    with resources.store.engine.connect() as conn:
        query = sa.select(p.c.day, p.c.checksum, p.c.row_count).order_by(p.c.day, p.c.id)
        return [(r.day, r.checksum, r.row_count) for r in conn.execute(query)]


def catalog_uris(resources: Resources) -> dict[str, str]:
    with resources.store.engine.connect() as conn:
        return {r.uri: r.checksum for r in conn.execute(sa.select(partitions.c.uri, partitions.c.checksum))}


def partition_files(resources: Resources, spec: DatasetSpec) -> dict[str, str]:
    """Every file under the store but validation documents (a rerun records its validation anew)."""
    return {k: v for k, v in store_state(resources, spec)["files"].items() if not k.startswith("_validation")}


def read_all(resources: Resources, spec: DatasetSpec, days: list[date]) -> pd.DataFrame:
    return resources.store.read(spec.feature_set, min(days), max(days))


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, retail_landing: Path, retail: DatasetSpec
) -> Resources:
    """A system that committed every pending partition in one clean, uninterrupted run."""
    import shutil

    home = tmp_path_factory.mktemp("reference")
    shutil.copytree(retail_landing, home / "raw")
    resources = system(home)
    run_steps(resources, retail, pending(resources, retail), "reference")
    return resources


def test_rerun_of_the_same_partition_writes_identical_files_and_no_new_catalog_rows(
    resources: Resources, retail: DatasetSpec
) -> None:
    day = pending(resources, retail)[5]
    first = run_steps(resources, retail, [day], "first")
    files, rows = partition_files(resources, retail), catalog(resources)
    [uri] = catalog_uris(resources)
    mtime = Path(uri).stat().st_mtime_ns

    again = run_steps(resources, retail, [day], "rerun")

    assert (first.committed, again.committed, again.unchanged) == (1, 0, 1)
    assert partition_files(resources, retail) == files  # no new file, no leftover staging file
    assert Path(uri).stat().st_mtime_ns == mtime  # not even rewritten
    assert catalog(resources) == rows and len(rows) == 1
    assert day not in pending(resources, retail)


@pytest.mark.parametrize("order", ["in_order", "in_reverse_order"])
def test_backfill_of_a_range_equals_running_the_partitions_one_by_one(
    tmp_path: Path, retail_landing: Path, retail: DatasetSpec, order: str
) -> None:
    import shutil

    shutil.copytree(retail_landing, tmp_path / "a" / "raw")
    shutil.copytree(retail_landing, tmp_path / "b" / "raw")
    backfill, daily = system(tmp_path / "a"), system(tmp_path / "b")
    every = pending(backfill, retail)
    days = every[:7]  # a week: spans a Saturday (no trade: a header-only raw file)
    assert any(d.weekday() == 5 for d in days)

    run_steps(backfill, retail, days, "backfill")
    for day in days if order == "in_order" else days[::-1]:
        run_steps(daily, retail, [day], f"daily-{day}")

    assert catalog(daily) == catalog(backfill)
    assert [day for day, _, _ in catalog(backfill)] == days
    assert {Path(u).name for u in catalog_uris(daily)} == {Path(u).name for u in catalog_uris(backfill)}
    pd.testing.assert_frame_equal(read_all(daily, retail, days), read_all(backfill, retail, days))
    assert pending(daily, retail) == pending(backfill, retail) == every[len(days) :]


def test_every_missing_file_of_the_run_and_its_look_back_is_named_before_anything_is_written(
    resources: Resources, retail: DatasetSpec
) -> None:
    days = pending(resources, retail)
    run_steps(resources, retail, days[:2], "before")
    before = store_state(resources, retail)
    raw_dir = resources.settings.raw_dir
    gone = [days[6], days[9], days[9] - timedelta(days=27)]  # two of the run, one only in its look-back
    for day in gone:
        partition_path(retail, raw_dir, day).unlink()

    with pytest.raises(RawDataMissing) as failed:
        run_steps(resources, retail, days[2:12], "missing")

    message = str(failed.value)
    assert f"3 of {10 + 28} partition file(s)" in message
    for day in gone:
        assert f"{day.isoformat()}.csv" in message
    assert "fti data land --dataset online_retail" in message
    assert sorted(failed.value.missing) == sorted(gone)
    assert store_state(resources, retail) == before


@pytest.mark.parametrize("phase", KILL_PHASES)
def test_writer_killed_mid_write_leaves_catalog_unchanged_and_no_visible_partial_file(
    resources: Resources, reference: Resources, retail: DatasetSpec, phase: str
) -> None:
    """SIGKILL a real writer after 3 daily runs, paused at a known point of the 4th run's commit.

    The child stops at ``phase`` deterministically (no timing guess): half of the Parquet bytes in
    the temp file; the complete file renamed to its final name, no catalog row yet; the catalog row
    inserted in an open transaction, not committed.
    """
    days = reference.store.committed_days(retail.feature_set)

    reported, rows_in_transaction = kill_writer_at(phase, resources, days[: COMMITS_BEFORE_KILL + 1])

    assert reported == days[:COMMITS_BEFORE_KILL]
    if phase == "catalog_commit_in_flight":
        assert rows_in_transaction == COMMITS_BEFORE_KILL + 1  # the killed day's row was inserted
    assert catalog(resources) == catalog(reference)[:COMMITS_BEFORE_KILL]
    named = catalog_uris(resources)
    back = read_all(resources, retail, days)
    assert sorted({d.date() for d in back["period"]}) == reported
    pd.testing.assert_frame_equal(back, read_all(reference, retail, reported))
    with closing(sqlite3.connect(resources.settings.var_dir / "catalog.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert pending(resources, retail)[0] == days[COMMITS_BEFORE_KILL]

    root = Path(str(resources.settings.store_uri))
    on_disk = [p for p in root.rglob("*.parquet") if "_staging" not in p.parts]
    leftovers = [p for p in on_disk if str(p) not in named]  # a temp file matches *.parquet too
    assert len(leftovers) == 1, f"on disk besides the catalog's files: {leftovers}"
    if phase == "writing_temp_file":  # half of the bytes, under a name readers never open
        assert leftovers[0].name.startswith(".tmp-")
    else:  # the complete file at its final name, but named by no catalog row
        assert f"date={days[COMMITS_BEFORE_KILL].isoformat()}" in str(leftovers[0])

    run_steps(resources, retail, pending(resources, retail), "after-kill")  # the rerun completes it
    assert catalog(resources) == catalog(reference)
    pd.testing.assert_frame_equal(read_all(resources, retail, days), read_all(reference, retail, days))


def test_a_batch_killed_in_its_commit_makes_none_of_its_partitions_visible(
    resources: Resources, reference: Resources, retail: DatasetSpec
) -> None:
    days = reference.store.committed_days(retail.feature_set)

    reported, rows_in_transaction = kill_writer_at(
        "catalog_commit_in_flight", resources, days[:10], batch=True
    )

    assert reported == [] and rows_in_transaction == 10  # ten rows inserted in one open transaction
    assert catalog(resources) == []
    with pytest.raises(FeatureSetNotFound):  # readers see nothing of the batch
        resources.store.read(retail.feature_set, days[0], days[9])
    run_steps(resources, retail, days[:10], "after-kill")
    assert catalog(resources) == catalog(reference)[:10]


def kill_writer_at(
    phase: str, resources: Resources, days: list[date], batch: bool = False
) -> tuple[list[date], int]:
    """Run the child writer until it pauses at ``phase`` and SIGKILL it.

    Returns:
        The days the child reported committed, and the catalog rows its open transaction saw.
    """
    var_dir = resources.settings.var_dir
    args = [phase, str(var_dir), ",".join(d.isoformat() for d in days), "batch" if batch else "daily"]
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
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


# --- the child writer of the kill tests -----------------------------------------------------------


class _Pauser:
    """Pauses the writer at one point of the commit after ``armed_after`` commits."""

    def __init__(self, phase: str, armed_after: int) -> None:
        self.phase, self.commits, self.armed_after, self.renamed = phase, 0, armed_after, False

    @property
    def armed(self) -> bool:
        return self.commits >= self.armed_after

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
        if self.pauser.armed and self.pauser.phase == "writing_temp_file" and b"PAR1" in data[:4]:
            self.stream.write(data[: len(data) // 2])
            self.stream.flush()
            self.pauser.pause("writing_temp_file")
        return int(self.stream.write(data))


class _PausingFilesystem:
    """The store's pyarrow filesystem, with pauses inside a partition file's write and after its rename."""

    def __init__(self, fs: Any, pauser: _Pauser) -> None:
        self.fs, self.pauser = fs, pauser

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fs, name)

    def open_output_stream(self, path: str) -> Any:
        stream = self.fs.open_output_stream(path)
        return stream if "_staging" in path or "_validation" in path else _PausingStream(stream, self.pauser)

    def move(self, src: str, dest: str) -> None:
        self.fs.move(src, dest)
        if "_staging" not in dest and "_validation" not in dest:
            self.pauser.renamed = self.pauser.armed
            self.pauser.pause("file_renamed_not_committed")


def _child_writer(phase: str, var_dir: Path, days: list[date], mode: str) -> None:
    """Commit ``days`` (one run per day, or one batch) through a store that pauses at ``phase``."""
    from fti.pipelines import feature

    resources = system(var_dir)
    spec = spec_of("online_retail")
    store = resources.store
    pauser = _Pauser(phase, armed_after=0 if mode == "batch" else len(days) - 1)
    fs, root = store._fs
    store.__dict__["_fs"] = (_PausingFilesystem(fs, pauser), root)

    def before_commit(conn: sa.Connection) -> None:
        if pauser.renamed:  # the transaction that inserts the partitions' rows
            rows = conn.execute(sa.select(sa.func.count()).select_from(partitions)).scalar_one()
            pauser.pause("catalog_commit_in_flight", rows)

    sa.event.listen(store.engine, "commit", before_commit)
    runs = [days] if mode == "batch" else [[d] for d in days]
    for run in runs:
        check = feature.validate_raw(resources, spec, run, f"run-{run[0]}")
        feature.build_and_commit(resources, spec, check, f"run-{run[0]}")
        pauser.commits += len(run)
        for day in run:
            print("committed", day.isoformat(), flush=True)
    print("finished without pausing", flush=True)


if __name__ == "__main__":
    _child_writer(
        sys.argv[1], Path(sys.argv[2]), [date.fromisoformat(d) for d in sys.argv[3].split(",")], sys.argv[4]
    )
