"""Garbage of the feature store: files no reader will ever open.

Two kinds are left behind by writers that died or lost: temporary files (a process killed while
writing, ``TEMP_PREFIX``) and partition files that no catalog row names (a commit that never
happened, or lost to a concurrent writer). Only files older than a grace period are collected, so
a writer still at work keeps its files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from fti.store import catalog
from fti.store.base import TEMP_PREFIX, StoreBase

if TYPE_CHECKING:
    import pyarrow.fs as pafs

OrphanKind = Literal["temporary", "uncommitted"]


@dataclass(frozen=True)
class Orphan:
    """A file of the store no reader will open."""

    path: str
    kind: OrphanKind
    size: int
    modified: datetime
    """Last modification, aware UTC."""


class CleanupMixin(StoreBase):
    """Finding and removing orphaned files."""

    def collect_garbage(
        self, grace: timedelta, dry_run: bool = False, now: datetime | None = None
    ) -> list[Orphan]:
        """Remove (unless ``dry_run``) temporary and uncommitted files last modified before ``now - grace``.

        A file is checked again just before it is removed: one a writer has just replaced stays.

        Returns:
            The files removed (or, with ``dry_run``, that would be), by path.
        """
        cutoff = (now or datetime.now(UTC)) - grace
        fs, _ = self._fs
        with self.engine.connect() as conn:
            uris = conn.execute(sa.select(catalog.partitions.c.uri)).scalars().all()
        found = orphans(fs, self._root, {partition_key(u) for u in uris}, cutoff)
        if dry_run:
            return found
        return [o for o in found if _remove_if_unchanged(fs, o)]


def partition_key(path: str) -> str:
    """``<feature set>/v<N>/date=<day>/<file>``: a partition file's place, whatever the root is called.

    Matching on it rather than on the whole path means a store reached under another root (a mount
    moved, a symlink) does not make every committed file look unreferenced.
    """
    return "/".join(path.rstrip("/").split("/")[-4:])


def orphans(fs: pafs.FileSystem, root: str, referenced: set[str], cutoff: datetime) -> list[Orphan]:
    """Temporary files under ``root`` and partition files not ``referenced``, older than ``cutoff``."""
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    found = []
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File or info.mtime is None or info.mtime >= cutoff:
            continue
        kind = _orphan_kind(info.path[len(root) :].strip("/"), referenced)
        if kind is not None:
            found.append(Orphan(info.path, kind, int(info.size or 0), info.mtime))
    return sorted(found, key=lambda o: o.path)


def _orphan_kind(relative: str, referenced: set[str]) -> OrphanKind | None:
    """What makes the file at ``relative`` (to the root) an orphan; None when it is not one."""
    parts = relative.split("/")
    if parts[-1].startswith(TEMP_PREFIX):
        return "temporary"
    is_partition_file = (
        len(parts) == 4
        and not parts[0].startswith("_")  # _staging, _validation: not partitions
        and parts[1].startswith("v")
        and parts[2].startswith("date=")
        and parts[3].startswith("part-")
        and parts[3].endswith(".parquet")
    )
    return "uncommitted" if is_partition_file and relative not in referenced else None


def _remove_if_unchanged(fs: pafs.FileSystem, orphan: Orphan) -> bool:
    """Delete ``orphan`` if it is still the file that was listed (same time and size)."""
    info = fs.get_file_info(orphan.path)
    if info.mtime != orphan.modified or info.size != orphan.size:
        return False
    fs.delete_file(orphan.path)
    return True
