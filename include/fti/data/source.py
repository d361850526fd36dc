"""Where a data set's files land and how they are read: the typed raw frame every pipeline step starts from.

A spec's files land in ``<raw_dir>/<source.folder or name>`` (:func:`landing_dir`), in one of two
layouts:

* ``per_period``: one file per partition (a day for hourly and daily data, a week for weekly data, a
  month for monthly data) at :func:`partition_path`, ``<YYYY-MM-DD>.<csv|parquet>`` named by the date
  the partition starts. A partition without rows has a header-only file: a run that needs a partition
  whose file is missing stops (:class:`RawDataMissing`) instead of reading a gap as "no sales".
* ``pattern``: any files matching ``source.pattern``; rows belong to partitions by their time.

:func:`read_files` reads files into one frame typed per ``source.columns`` (string -> ``str``, int ->
nullable ``Int64``, float -> ``float64``, bool -> ``boolean``, datetime and date -> ``datetime64[us]``,
naive wall clock in ``time.timezone``), in spec order, with the raw column names. Any problem with a
file is a :class:`RawSchemaMismatch` naming it. Nothing heavy is imported until a file is read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.periods import as_dates

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from fti.specs.model import DatasetSpec

log = logging.getLogger(__name__)

LISTED = 10
"""Missing partition files named one by one; above this, the first and the last."""
READ_THREADS = 4
"""Files parsed at once (Arrow's CSV parser releases the GIL)."""


class RawSchemaMismatch(ValueError):
    """A file (or a value in it) does not fit the spec's columns; the message names the file and problem."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __reduce__(self) -> tuple[type[RawSchemaMismatch], tuple[str, Path | None]]:
        return type(self), (str(self), self.path)


class RawDataMissing(FileNotFoundError):
    """Files a run needs have not landed; ``missing`` holds the partitions (start dates) without a file."""

    def __init__(self, message: str, missing: Sequence[date] = (), folder: Path | None = None) -> None:
        super().__init__(message)
        self.missing, self.folder = list(missing), folder

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[RawDataMissing], tuple[str, list[date], Path | None]]:
        return type(self), (str(self), self.missing, self.folder)


# ----- where files land ------------------------------------------------------------------------------
PLANNED = "planned"
"""Sub-folder of the landing folder where planned rows land: the known-future covariates (price,
promotion) of periods still to come, their target empty. Observed rows land in the folder itself."""


def landing_dir(spec: DatasetSpec, raw_dir: Path, planned: bool = False) -> Path:
    """``<raw_dir>/<source.folder or name>`` (an absolute ``folder`` as is), ``/planned`` if ``planned``."""
    folder = Path(raw_dir) / (spec.source.folder or spec.name)
    return folder / PLANNED if planned else folder


def partition_path(
    spec: DatasetSpec, raw_dir: Path, day: date | datetime | Any, planned: bool = False
) -> Path:
    """The file of the partition holding ``day``: ``<landing_dir>/<YYYY-MM-DD>.<format>``, its start date.

    ``day`` may be any date or time inside the partition (a ``datetime``, ``Timestamp`` or
    ``datetime64`` too): a Thursday of weekly data names its Monday's file.
    """
    start = spec.calendar.partition_start(as_dates([day])[0])
    return landing_dir(spec, raw_dir, planned) / f"{start.isoformat()}.{spec.source.format}"


def landed_partitions(spec: DatasetSpec, raw_dir: Path) -> list[date]:
    """Partitions (start dates, in order) that have landed.

    ``per_period``: the partitions with a file; temp files (``.name``), other names and files dated
    on a day that does not start a partition are not partitions (the last are logged, and named when a
    run misses their partition). ``pattern``: every partition from the first to the last one holding
    a row of the matching files, which are read for it.
    """
    if spec.source.layout == "pattern":
        return _pattern_partitions(spec, raw_dir)
    dated, misplaced = _dated_files(spec, raw_dir)
    for path in misplaced:
        log.warning(
            "%s is not named by the start of a partition (%s): not read", path, spec.calendar.describe()
        )
    return sorted(dated)


def _dated_files(spec: DatasetSpec, raw_dir: Path) -> tuple[dict[date, Path], list[Path]]:
    """Files named ``<YYYY-MM-DD>.<format>``: by partition start, and those dated off a partition start."""
    folder = landing_dir(spec, raw_dir)
    dated: dict[date, Path] = {}
    misplaced: list[Path] = []
    if not folder.is_dir():
        return dated, misplaced
    for path in folder.glob(f"*.{spec.source.format}"):
        try:
            day = date.fromisoformat(path.stem)
        except ValueError:
            continue  # a temp file of a write in progress, or not a partition file
        if spec.calendar.partition_start(day) == day:
            dated[day] = path
        else:
            misplaced.append(path)
    return dated, sorted(misplaced)


def pattern_files(spec: DatasetSpec, raw_dir: Path, planned: bool = False) -> list[Path]:
    """Files of the landing folder matching ``source.pattern``, sorted; hidden (temp) files excluded."""
    folder = landing_dir(spec, raw_dir, planned)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(spec.source.pattern) if p.is_file() and not p.name.startswith(".")]
    return sorted(found)


def _pattern_partitions(spec: DatasetSpec, raw_dir: Path) -> list[date]:
    import numpy as np
    import pyarrow.compute as pc

    table = read_typed(spec, pattern_files(spec, raw_dir))
    times = table.column(spec.time.column).drop_null()
    if len(times) == 0:
        return []
    low, high = pc.min_max(times).values()
    first, last = spec.calendar.partition_of(np.array([low.value, high.value], dtype="datetime64[us]"))
    return spec.calendar.partitions(*as_dates([first, last]))


# ----- reading ---------------------------------------------------------------------------------------
def read_files(spec: DatasetSpec, paths: Iterable[Path]) -> pd.DataFrame:
    """Every row of ``paths`` (in the given order), typed per ``source.columns``; see the module doc.

    Raises:
        RawSchemaMismatch: naming the file and the problem: a missing, unexpected or repeated column,
            an empty file without a header, a file cut off or not CSV/Parquet, values that do not
            parse (with a few examples).
    """
    from fti.data.columns import frame

    return frame(read_typed(spec, paths), release=True)


def read_typed(spec: DatasetSpec, paths: Iterable[Path]) -> pa.Table:
    """:func:`read_files` as an Arrow table (string, int64, float64, bool, timestamp[us] columns)."""
    import pyarrow as pa

    from fti.data import columns
    from fti.data.files import read_file

    files = [Path(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, max(1, os.cpu_count() or 1))) as pool:
        tables = list(pool.map(lambda p: read_file(spec, p), files))
    if not tables:
        names = [c.name for c in spec.source.columns]
        return pa.Table.from_arrays(
            [pa.array([], columns.ARROW_TYPES[c.type]) for c in spec.source.columns], names=names
        )
    origins = [(str(p), t.num_rows) for p, t in zip(files, tables, strict=True)]
    if len({t.schema for t in tables}) == 1:  # CSV always (all text): parse every value once
        return columns.typed(spec, pa.concat_tables(tables), origins)
    return pa.concat_tables([columns.typed(spec, t, [o]) for t, o in zip(tables, origins, strict=True)])


def read_partitions(spec: DatasetSpec, raw_dir: Path, first: date, last: date) -> pd.DataFrame:
    """The typed rows of the partitions holding ``first`` to ``last`` (both included).

    ``per_period``: every partition file must have landed; all missing ones are listed before anything
    is read. ``pattern``: all matching files are read, and the rows whose time falls in those
    partitions kept (rows without a time too, so that validation sees them).

    Raises:
        RawDataMissing: naming the missing partition files (all of them, or the count with the first
            and the last when more than :data:`LISTED`) and what to do; for ``pattern``, no file matches.
        RawSchemaMismatch: a file does not fit the spec (see :func:`read_files`).
        ValueError: ``last`` is before ``first``.
    """
    from fti.data.columns import frame

    first, last = as_dates([first, last])
    if last < first:
        raise ValueError(f"last {last} is before first {first}")
    starts = spec.calendar.partitions(first, last)
    if spec.source.layout == "pattern":
        return frame(_pattern_rows(spec, raw_dir, starts), release=True)
    paths = [partition_path(spec, raw_dir, day) for day in starts]
    missing = [day for day, path in zip(starts, paths, strict=True) if not path.exists()]
    if missing:
        raise _missing(spec, raw_dir, missing, len(starts))
    return read_files(spec, paths)


def _pattern_rows(spec: DatasetSpec, raw_dir: Path, starts: list[date]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    files = pattern_files(spec, raw_dir)
    if not files:
        folder = landing_dir(spec, raw_dir)
        raise RawDataMissing(
            f"no file matching {spec.source.pattern!r} has landed in {folder} for data set {spec.name!r}: "
            f"land the export(s) with `fti data land --dataset {spec.name} FILE...`",
            starts,
            folder,
        )
    table = read_typed(spec, files)
    if not starts:
        return table.slice(0, 0)
    low = pa.scalar(datetime.combine(starts[0], datetime.min.time()), pa.timestamp("us"))
    high = pa.scalar(spec.calendar.partition_end(starts[-1]), pa.timestamp("us"))
    times = table.column(spec.time.column)
    inside = pc.and_(pc.greater_equal(times, low), pc.less(times, high))
    return table.filter(pc.or_(pc.fill_null(inside, False), pc.is_null(times)))


def _missing(spec: DatasetSpec, raw_dir: Path, missing: list[date], needed: int) -> RawDataMissing:
    folder = landing_dir(spec, raw_dir)
    names = [f"{day.isoformat()}.{spec.source.format}" for day in missing]
    listed = ", ".join(names) if len(names) <= LISTED else f"{names[0]} ... {names[-1]} (first and last)"
    text = (
        f"{len(missing)} of {needed} partition file(s) of data set {spec.name!r} "
        f"({spec.calendar.partition_calendar.describe()} partitions) have not landed in {folder}: "
        f"{listed}. Land the data with `fti data land --dataset {spec.name} FILE...`; a partition "
        "without rows needs a file too (header only, or a Parquet file without rows)."
    )
    misplaced = _dated_files(spec, raw_dir)[1]
    if misplaced:
        shown = ", ".join(p.name for p in misplaced[:LISTED])
        text += f" Files not named by the start date of a partition, never read: {shown}."
    return RawDataMissing(text, missing, folder)


def read_future(spec: DatasetSpec, raw_dir: Path, first: date, last: date) -> pd.DataFrame:
    """The typed planned rows (``<landing>/planned/``) of whichever partitions from ``first`` to ``last``
    have landed.

    Known-future covariates of the periods to forecast land before those periods start. Unlike
    :func:`read_partitions`, a partition that has not landed is no error here: inference checks
    that the values it needs are there. Empty (typed, no rows) when the spec has no known-future
    covariates or nothing has landed.
    """
    import pyarrow.compute as pc

    from fti.data.columns import frame

    first, last = as_dates([first, last])
    starts = spec.calendar.partitions(first, last) if spec.covariates.known_future and last >= first else []
    if spec.source.layout == "pattern":
        files = pattern_files(spec, raw_dir, planned=True)
        if not starts or not files:
            return read_files(spec, [])
        table = read_typed(spec, files)
        low, high = datetime.combine(starts[0], datetime.min.time()), spec.calendar.partition_end(starts[-1])
        times = table.column(spec.time.column)
        keep = pc.and_(pc.greater_equal(times, low), pc.less(times, high))
        return frame(table.filter(pc.fill_null(keep, False)), release=True)
    paths = [p for p in (partition_path(spec, raw_dir, day, planned=True) for day in starts) if p.exists()]
    return read_files(spec, paths)
