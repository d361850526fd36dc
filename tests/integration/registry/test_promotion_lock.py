"""The promotion lock across processes: an flock next to a SQLite catalog, and a PostgreSQL advisory
lock on a real server (the compose stack's). Another process holds it at a known point; this one waits."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from fti.registry.promotion import PromotionLockTimeout, promotion_lock
from tests.harness.signals import wait_for_file

pytestmark = pytest.mark.integration

MODEL = "fti-store_sales-sandbox"
HOLD_S = 1.5
"""How long the waiter is watched while the lock is held: several of the lock's 0.2 s polls."""


@pytest.fixture(params=["sqlite", "postgresql"])
def lock_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite catalog under ``tmp_path`` (flock), or a fresh database of the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _hold_lock(lock_url: str, model: str, held: Path, release: Path) -> None:
    """In a child process: take the lock, say so by creating ``held``, keep it until ``release`` exists."""
    with promotion_lock(lock_url, model, timeout_s=30):
        held.touch()
        wait_for_file(release, 120)


@contextmanager
def held_elsewhere(lock_url: str, tmp_path: Path) -> Iterator[Path]:
    """While the block runs, a spawned process holds :data:`MODEL`'s lock; touch the yielded path to
    make it release the lock (leaving the block does too)."""
    held, release = tmp_path / "held", tmp_path / "release"
    holder = multiprocessing.get_context("spawn").Process(
        target=_hold_lock, args=(lock_url, MODEL, held, release)
    )
    holder.start()
    try:
        wait_for_file(held, 60, holder)
        yield release
    finally:
        release.touch()
        holder.join(30)
        if holder.is_alive():
            holder.kill()
            holder.join()
    assert holder.exitcode == 0, f"the holder failed with exit code {holder.exitcode}"


def take_lock(lock_url: str, timeout_s: float = 60.0) -> float:
    """Take and drop :data:`MODEL`'s lock; returns when it was obtained (monotonic clock)."""
    with promotion_lock(lock_url, MODEL, timeout_s=timeout_s):
        return time.monotonic()


def test_a_second_holder_waits_until_the_other_process_releases_the_lock(
    lock_url: str, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool, held_elsewhere(lock_url, tmp_path) as release:
        waiter = pool.submit(take_lock, lock_url)
        time.sleep(HOLD_S)
        assert not waiter.done(), "the lock was obtained while another process held it"
        with promotion_lock(lock_url, "fti-other-sandbox", timeout_s=1):  # one lock per model
            pass
        released_at = time.monotonic()
        release.touch()
        obtained_at = waiter.result(timeout=30)

    assert obtained_at >= released_at


def test_waiting_longer_than_the_timeout_raises_naming_the_model(lock_url: str, tmp_path: Path) -> None:
    with held_elsewhere(lock_url, tmp_path):
        started = time.monotonic()
        with pytest.raises(PromotionLockTimeout, match=MODEL):
            take_lock(lock_url, timeout_s=1.0)
        waited = time.monotonic() - started

    assert 1.0 <= waited < 10.0


def test_the_postgresql_lock_is_an_advisory_lock_in_the_server(postgres_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    count = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    try:
        with held_elsewhere(postgres_url, tmp_path), engine.connect() as conn:
            held = conn.execute(count).scalar()
        with engine.connect() as conn:
            after = conn.execute(count).scalar()
    finally:
        engine.dispose()

    assert (held, after) == (1, 0), "the holder's lock must be a granted advisory lock, gone once released"
