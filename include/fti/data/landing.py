"""Land a user's export(s) as the files a data set's spec describes: what ``fti data land`` does.

For layout ``per_period`` the rows of all given files (one big export or many, CSV or Parquet, in any
mix; columns exactly as ``source.columns`` says, in any order) are split by the partition their time
falls in and written as one file per partition at :func:`fti.data.source.partition_path`, in the
spec's format, columns in spec order, rows in their export order. Partitions between the first and
the last one landed that have no rows get a header-only file, as a shop's system drops one every
period. A CSV keeps every value in its original text (so that the reader does all the parsing); a
Parquet file holds the typed values.

Every value is parsed before anything is written, so an export with an unexpected or missing column,
a value of the wrong type or a row without a time is refused whole, naming the file and the problem.
Each file is written atomically (temp file + rename, mode 0644) and left untouched when its bytes
would not change, so landing the same export twice changes nothing. A partition's file is replaced
by the rows of the new export: an export must hold the whole of every partition it touches.

For layout ``pattern`` the files are checked the same way and copied into the landing folder as
they are.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fti.data import columns
from fti.data.files import read_file
from fti.data.source import RawSchemaMismatch, landing_dir, partition_path
from fti.periods import as_dates

if TYPE_CHECKING:
    from fti.specs.model import DatasetSpec

PARQUET_COMPRESSION = "zstd"


def land(spec: DatasetSpec, raw_dir: Path, files: Sequence[Path | str], planned: bool = False) -> list[Path]:
    """Land ``files`` (a user's export) into the data set's landing folder; see the module doc.

    With ``planned`` the rows are plans of periods to come (known-future covariates, target empty):
    they land in the ``planned/`` sub-folder, which the feature pipeline reads for those covariates only.

    Returns:
        ``per_period``: every partition file from the first to the last partition with rows, in date
        order (written, or left as they were when unchanged); ``pattern``: the copied files.

    Raises:
        RawSchemaMismatch: a file is unreadable or empty, its columns are not the spec's (naming the
            missing and unexpected ones), a value does not parse, or a row has no time; nothing is
            written then.
        ValueError: no files were given.
    """
    paths = [Path(f) for f in files]
    if not paths:
        raise ValueError(f"no files to land for data set {spec.name!r}")
    tables = [read_file(spec, path, strict_end=False) for path in paths]
    origins = [(str(p), t.num_rows) for p, t in zip(paths, tables, strict=True)]
    if spec.source.layout == "pattern":
        for path, table, origin in zip(paths, tables, origins, strict=True):
            _check_name(spec, path)
            columns.typed(spec, table, [origin])  # refuse values that do not parse before copying any
        return [write_if_changed(landing_dir(spec, raw_dir, planned) / p.name, p.read_bytes()) for p in paths]
    if len({t.schema for t in tables}) > 1:  # CSV and Parquet mixed: bring them to the declared types
        tables = [columns.typed(spec, t, [o]) for t, o in zip(tables, origins, strict=True)]
    return land_table(spec, raw_dir, pa.concat_tables(tables), origins, planned=planned)


def land_table(
    spec: DatasetSpec,
    raw_dir: Path,
    table: pa.Table,
    origins: columns.Origins | None = None,
    typed: pa.Table | None = None,
    planned: bool = False,
) -> list[Path]:
    """Land the rows of ``table`` (the spec's columns, as :func:`fti.data.files.read_file` gives them).

    Args:
        spec: The data set's spec (layout ``per_period``).
        raw_dir: Root of the landing area.
        table: Text columns (from CSV) are written to CSV as they are; typed columns are rendered.
        origins: (file, rows) of the files the rows came from, for messages.
        typed: ``table`` already typed by :func:`fti.data.columns.typed`, when the caller has it.

    Returns:
        The partition files from the first to the last partition with rows, in date order.
    """
    if spec.source.layout != "per_period":
        raise ValueError(
            f"data set {spec.name!r} has layout {spec.source.layout!r}: land its files with land()"
        )
    origins = origins if origins is not None else [("the export", table.num_rows)]
    typed = typed if typed is not None else columns.typed(spec, table, origins)
    partition = _partitions(spec, typed, origins)
    if not len(partition):
        return []
    order = np.argsort(partition, kind="stable")
    starts, first_rows = np.unique(partition[order], return_index=True)
    ends = [*first_rows[1:], len(order)]
    bounds = {day: (int(a), int(b)) for day, a, b in zip(as_dates(starts), first_rows, ends, strict=True)}
    files = _csv_files if spec.source.format == "csv" else _parquet_files
    written = []
    for day, data in files(spec, table, typed, pa.array(order), bounds):
        written.append(write_if_changed(partition_path(spec, raw_dir, day, planned), data))
    return written


def _partitions(spec: DatasetSpec, typed: pa.Table, origins: columns.Origins) -> np.ndarray:
    """The partition (start date, ``datetime64[D]``) of each row; a row without a time is refused."""
    times = typed.column(spec.time.column).combine_chunks()
    if times.null_count:
        missing = pc.is_null(times).to_numpy(zero_copy_only=False)
        raise RawSchemaMismatch(
            f"{times.null_count} row(s) have no {spec.time.column!r} and cannot be placed in a partition: "
            f"{', '.join(_lines(origins, np.flatnonzero(missing)[:5]))}",
            columns.first_file(origins, missing),
        )
    partition: np.ndarray = spec.calendar.partition_of(times.to_numpy())
    return partition


def _lines(origins: columns.Origins, rows: np.ndarray) -> list[str]:
    """``line 7 of a.csv`` for row positions of the concatenated files (line 1 is the header)."""
    ends = np.cumsum([n for _, n in origins])
    found = []
    for row in rows:
        index = int(np.searchsorted(ends, row, side="right"))
        before = int(ends[index - 1]) if index else 0
        found.append(f"line {int(row) - before + 2} of {origins[index][0]}")
    return found


Bounds = dict[date, tuple[int, int]]
"""Partition -> the [first, end) positions of its rows in partition order."""


def _span(spec: DatasetSpec, bounds: Bounds) -> list[date]:
    """Every partition from the first to the last with rows: a partition between without rows is empty."""
    days = sorted(bounds)
    return spec.calendar.partitions(days[0], days[-1])


def _csv_files(
    spec: DatasetSpec, table: pa.Table, typed: pa.Table, order: pa.Array, bounds: Bounds
) -> Iterator[tuple[date, bytes]]:
    """(partition, CSV bytes): the original text where the input was text, else the rendered values."""
    as_text = all(pa.types.is_string(t) for t in table.schema.types)
    lines = _csv_lines(table if as_text else columns.text_columns(spec, typed)).take(order)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    body = lines.buffers()[2]
    header = _csv_line([c.name for c in spec.source.columns]).encode()
    for day in _span(spec, bounds):
        a, b = bounds.get(day, (0, 0))
        yield day, header + (body[int(offsets[a]) : int(offsets[b])].to_pybytes() if b > a else b"")


def _parquet_files(
    spec: DatasetSpec, table: pa.Table, typed: pa.Table, order: pa.Array, bounds: Bounds
) -> Iterator[tuple[date, bytes]]:
    """(partition, Parquet bytes) of the typed rows; date columns stored as dates."""
    stored = _stored(spec, typed).take(order)
    for day in _span(spec, bounds):
        a, b = bounds.get(day, (0, 0))
        yield day, parquet_bytes(stored.slice(a, b - a))


def _stored(spec: DatasetSpec, typed: pa.Table) -> pa.Table:
    """The typed table as written to Parquet: ``date`` columns as date32, the rest as typed."""
    arrays = [
        typed.column(c.name).cast(pa.date32()) if c.type == "date" else typed.column(c.name)
        for c in spec.source.columns
    ]
    return pa.Table.from_arrays(arrays, names=[c.name for c in spec.source.columns])


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as the bytes of one Parquet file (zstd; the same table always gives the same bytes)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=PARQUET_COMPRESSION)
    return bytes(sink.getvalue().to_pybytes())


# ----- CSV text, minimal quoting ---------------------------------------------------------------------
_SPECIAL = '[",\r\n]'


def _csv_lines(text_table: pa.Table) -> pa.Array:
    """One ``a,b,c\\n`` line per row; a value is quoted only when it holds a comma, quote or line break."""

    def text(value: str) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())  # large: more than 2 GiB of text is fine

    fields = []
    for column in text_table.columns:
        values = pc.fill_null(column.combine_chunks().cast(pa.large_string()), text(""))
        special = pc.match_substring_regex(values, _SPECIAL)
        if pc.any(special).as_py():  # most columns never need quotes: skip building them
            escaped = pc.replace_substring(values, '"', '""')
            quoted = pc.binary_join_element_wise(text('"'), escaped, text('"'), text(""))
            values = pc.if_else(special, quoted, values)
        fields.append(values)
    joined = pc.binary_join_element_wise(*fields, text(",")) if len(fields) > 1 else fields[0]
    return pc.binary_join_element_wise(joined, text(""), text("\n"))


def _csv_line(values: list[str]) -> str:
    """One line of text values, quoted as :func:`_csv_lines` quotes them."""
    quoted = ['"' + v.replace('"', '""') + '"' if re.search(_SPECIAL, v) else v for v in values]
    return ",".join(quoted) + "\n"


# ----- files -----------------------------------------------------------------------------------------
def _check_name(spec: DatasetSpec, path: Path) -> None:
    """A file copied for layout ``pattern`` keeps its name, which must match the pattern."""
    if path.name.startswith(".") or not fnmatch.fnmatch(path.name, spec.source.pattern):
        raise RawSchemaMismatch(
            f"{path}: the name {path.name!r} does not match the pattern {spec.source.pattern!r} of data set "
            f"{spec.name!r} (or is hidden): it would never be read; rename it",
            path,
        )


def write_if_changed(path: Path, data: bytes) -> Path:
    """Replace ``path`` by ``data`` atomically (temp file + rename, mode 0644) unless it holds just that."""
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        try:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.chmod(tmp.name, 0o644)  # mkstemp makes 0600; readers may be other users (Airflow workers)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)
    return path
