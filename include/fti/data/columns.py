"""The spec's column types on Arrow tables: parse values to their declared types, and back to text.

:func:`typed` turns a table of :func:`fti.data.files.read_file` (text from CSV, values as stored
from Parquet) into the declared types, all rows at once (a timestamp text is parsed once however often
it repeats); a value that does not parse is an error naming the column, a few of the values and the
files they came from. :func:`text_columns` renders typed values as the text the reader parses back to
the same values; :func:`frame` makes the pandas frame the pipelines see.

Declared type -> Arrow type: string -> string, int -> int64, float -> float64, bool -> bool,
datetime and date -> timestamp[us] (naive wall clock in ``time.timezone``; date at midnight).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fti.data.source import RawSchemaMismatch

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs.model import DatasetSpec, SourceColumn

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us"),
    "date": pa.timestamp("us"),
}
TRUE_TEXT = ("true", "t", "yes", "y", "1")
FALSE_TEXT = ("false", "f", "no", "n", "0")
SHOWN = 5
"""Unparseable values quoted in a message."""
SMALL_CHUNK = 65_536
"""Rows per chunk below which a string column's chunks are combined into one."""
_OFFSET = re.compile(r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$")
"""A UTC offset after a time of day: ``...09:05Z``, ``...09:05:00+01:00``, ``...09:05-0500``."""
Origins = Sequence[tuple[str, int]]
"""(file, rows) of each file a table's rows came from, in row order: errors name the files."""


# ----- typing ----------------------------------------------------------------------------------------
def typed(spec: DatasetSpec, table: pa.Table, origins: Origins) -> pa.Table:
    """``table`` (of :func:`~fti.data.files.read_file`, or several concatenated), every column typed.

    Raises:
        RawSchemaMismatch: a value that does not parse, or a Parquet column of an incompatible type,
            naming the column, a few of the values and the files (from ``origins``) they are in.
    """
    arrays = [
        _typed_column(column, table.column(column.name), spec.time.timezone, origins)
        for column in spec.source.columns
    ]
    return pa.Table.from_arrays(arrays, names=[c.name for c in spec.source.columns])


def _typed_column(
    column: SourceColumn, values: pa.ChunkedArray, zone: str, origins: Origins
) -> pa.ChunkedArray:
    kind = values.type
    if pa.types.is_dictionary(kind):
        values, kind = values.cast(kind.value_type), kind.value_type
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.nulls(len(values), ARROW_TYPES[column.type])])
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if column.type == "string":
            if values.num_chunks > 1 and len(values) < SMALL_CHUNK * values.num_chunks:
                # Many small chunks (one per file) slow down every later string operation by 2x.
                return pa.chunked_array([values.combine_chunks().cast(pa.string())])
            return values.cast(pa.string())  # big chunks are kept as they are: no copy
        text = values.combine_chunks().cast(pa.string())  # text is parsed all at once
        return pa.chunked_array([_from_text(column, text, zone, origins)])
    return _from_typed(column, values, zone, origins)  # chunk by chunk: no copy of typed columns


def _from_text(column: SourceColumn, text: pa.Array, zone: str, origins: Origins) -> pa.Array:
    if column.type == "string":
        return text
    if column.type in ("datetime", "date"):
        return _stamps_from_text(column, text, zone, origins)
    if column.type == "bool":
        lower = pc.utf8_lower(pc.utf8_trim_whitespace(text))
        yes, no = pc.is_in(lower, pa.array(TRUE_TEXT)), pc.is_in(lower, pa.array(FALSE_TEXT))
        bad = pc.and_(pc.is_valid(text), pc.invert(pc.or_(yes, no)))
        _refuse(column, text, bad, origins, f"not true/false ({', '.join(TRUE_TEXT + FALSE_TEXT)})")
        return pc.if_else(pc.is_valid(text), yes, pa.scalar(None, pa.bool_()))
    kind = ARROW_TYPES[column.type]
    if column.type == "int" and pc.any(pc.match_substring_regex(text, r"[.eE]")).as_py():
        kind = pa.float64()  # whole numbers written as floats ("13085.0"); a failed cast is slow to try
    try:
        numbers = pc.cast(text, kind)
    except pa.ArrowInvalid:
        _refuse(column, text, _unparseable(text, kind), origins, "not numbers")
        raise
    return _whole(column, numbers, text, origins) if column.type == "int" else numbers


def _whole(column: SourceColumn, numbers: Any, text: pa.Array | None, origins: Origins) -> Any:
    """Numbers as int64, refusing fractions and values beyond 2**53 (``13085.0`` is fine).

    ``text``: the values as read, quoted when refused (their rendering when None).
    """
    if pa.types.is_integer(numbers.type):
        return numbers.cast(pa.int64())
    fraction = pc.not_equal(pc.floor(numbers), numbers)
    bad = pc.or_(fraction, pc.greater(pc.abs(numbers), float(2**53)))  # NaN: unequal to itself, so bad
    if pc.any(bad).as_py():
        _refuse(
            column, text if text is not None else numbers.cast(pa.string()), bad, origins, "not whole numbers"
        )
    return pc.cast(numbers, pa.int64())


def _unparseable(text: pa.Array, kind: pa.DataType) -> pa.Array:
    """Mask of the values Arrow cannot cast to ``kind``, each distinct value tried once (error path only)."""
    refused = []
    for value in pc.unique(text.drop_null()).to_pylist():
        try:
            pc.cast(pa.array([value], pa.string()), kind)
        except pa.ArrowInvalid:
            refused.append(value)
    return pc.is_in(text, pa.array(refused, pa.string()))


def _stamps_from_text(column: SourceColumn, text: pa.Array, zone: str, origins: Origins) -> pa.Array:
    """Parse each distinct text once (pandas, exact format or ISO 8601), then spread to every row.

    Texts with a UTC offset are converted to ``zone`` and made naive; a column mixing times with and
    without an offset is refused (a naive time's instant would be a guess).
    """
    encoded = text.dictionary_encode()
    uniques = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    fmt = column.format
    if fmt is not None:
        aware = np.full(len(uniques), "%z" in fmt or "%Z" in fmt, dtype=bool)
    else:
        aware = np.array([bool(_OFFSET.search(u)) for u in uniques], dtype=bool)
    stamps = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[us]")
    stamps[aware] = _parse(uniques[aware], fmt, zone)
    stamps[~aware] = _parse(uniques[~aware], fmt, None)
    parsed = ~np.isnat(stamps)
    if (parsed & aware).any() and (parsed & ~aware).any():
        examples = f"{uniques[parsed & aware][0]!r} and {uniques[parsed & ~aware][0]!r}"
        raise RawSchemaMismatch(
            f"column {column.name!r} mixes times with and without a UTC offset, e.g. {examples} "
            f"({files_of(origins)})",
            first_file(origins),
        )
    bad_uniques = ~parsed
    if column.type == "date":
        bad_uniques |= parsed & (stamps != stamps.astype("datetime64[D]"))
        what = f"not dates ({fmt or 'ISO 8601, YYYY-MM-DD'}, no time of day)"
    else:
        what = f"not times of the format {fmt!r}" if fmt else "not ISO 8601 times (YYYY-MM-DD[ HH:MM[:SS]])"
    if bad_uniques.any():
        bad = pc.is_in(text, pa.array(uniques[bad_uniques].tolist(), pa.string()))
        _refuse(column, text, bad, origins, what)
    return pc.take(pa.array(stamps, pa.timestamp("us")), encoded.indices)


def _parse(texts: np.ndarray, fmt: str | None, zone: str | None) -> np.ndarray:
    """``datetime64[us]`` of ``texts`` (NaT where they do not parse); with ``zone``, offsets converted."""
    import pandas as pd

    if not len(texts):
        return np.array([], dtype="datetime64[us]")
    parsed = pd.to_datetime(
        pd.Index(texts, dtype=object), format=fmt or "ISO8601", errors="coerce", utc=bool(zone)
    )
    if zone:
        parsed = parsed.tz_convert(zone).tz_localize(None)
    stamps: np.ndarray = parsed.as_unit("us").to_numpy()
    return stamps


def _from_typed(
    column: SourceColumn, values: pa.ChunkedArray, zone: str, origins: Origins
) -> pa.ChunkedArray:
    """A Parquet column of a non-text type, as the declared type where that is lossless."""
    kind, want = values.type, column.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    try:
        if kind == ARROW_TYPES[want] and want != "date":
            return values
        if want == "string" and pa.types.is_integer(kind):
            return values.cast(pa.string())
        if want == "int" and numeric:
            return _whole(column, values, None, origins)
        if want == "float" and numeric:
            return values.cast(pa.float64())
        if want in ("datetime", "date") and (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
            return _stamps_from_typed(column, values, zone, origins)
    except pa.ArrowInvalid as exc:
        raise RawSchemaMismatch(
            f"column {column.name!r} ({kind}) cannot be read as {want}: {exc} ({files_of(origins)})",
            first_file(origins),
        ) from None
    raise RawSchemaMismatch(
        f"column {column.name!r} is {kind} in {files_of(origins)}; the spec declares it {want}",
        first_file(origins),
    )


def _stamps_from_typed(
    column: SourceColumn, values: pa.ChunkedArray, zone: str, origins: Origins
) -> pa.ChunkedArray:
    kind = values.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        values = pc.local_timestamp(values.cast(pa.timestamp("us", tz=zone)))
    stamps = values.cast(pa.timestamp("us"), safe=False)
    if column.type == "date" and pa.types.is_timestamp(kind):  # a date32 column is dates already
        bad = pc.not_equal(pc.floor_temporal(stamps, unit="day"), stamps)
        if pc.any(bad).as_py():
            _refuse(column, stamps.cast(pa.string()), bad, origins, "not dates (they have a time of day)")
    return stamps


def _refuse(column: SourceColumn, shown: pa.Array, bad: pa.Array, origins: Origins, what: str) -> None:
    """Raise naming the column, how many values are ``what``, a few of them and their files."""
    if not pc.any(bad).as_py():
        return
    mask = np.asarray(pc.fill_null(bad, False).to_numpy(zero_copy_only=False), dtype=bool)
    count = int(mask.sum())
    if not count:
        return
    examples = list(dict.fromkeys(shown.filter(pa.array(mask)).to_pylist()))[:SHOWN]
    raise RawSchemaMismatch(
        f"column {column.name!r} has {count} value(s) {what}, e.g. {', '.join(map(repr, examples))} "
        f"({files_of(origins, mask)})",
        first_file(origins, mask),
    )


def files_of(origins: Origins, mask: np.ndarray | None = None, limit: int = SHOWN) -> str:
    """``in a.csv, b.csv`` for the files holding the rows of ``mask`` (every file when None)."""
    names = [name for name, _ in origins]
    if mask is not None and origins:
        ends = np.cumsum([rows for _, rows in origins])
        hit = np.unique(np.searchsorted(ends, np.flatnonzero(mask), side="right"))
        names = [names[i] for i in hit]
    more = f" and {len(names) - limit} more file(s)" if len(names) > limit else ""
    return f"in {', '.join(names[:limit])}{more}" if names else "in the frame"


def first_file(origins: Origins, mask: np.ndarray | None = None) -> Path | None:
    """The first file holding a row of ``mask`` (the first file when None)."""
    if not origins:
        return None
    if mask is None or not mask.any():
        return Path(origins[0][0])
    ends = np.cumsum([rows for _, rows in origins])
    return Path(origins[int(np.searchsorted(ends, int(np.argmax(mask)), side="right"))][0])


# ----- rendering -------------------------------------------------------------------------------------
def text_columns(spec: DatasetSpec, table: pa.Table) -> pa.Table:
    """A typed table's values as the text the reader parses back to the same values (missing: null).

    Times use the column's ``format`` when it has one, else ISO (``2024-01-01 08:00:00``, a date
    ``2024-01-01``); booleans ``true``/``false``; numbers their shortest exact text.
    """
    arrays = []
    for column in spec.source.columns:
        values = table.column(column.name).combine_chunks()
        if column.type in ("datetime", "date"):
            fmt = column.format or ("%Y-%m-%d" if column.type == "date" else "%Y-%m-%d %H:%M:%S")
            seconds = pc.floor_temporal(values, unit="second")
            if column.format or pc.all(pc.equal(seconds, values)).as_py() is not False:
                values = seconds.cast(pa.timestamp("s"))  # Arrow's %S would print ".000000" otherwise
            arrays.append(pc.strftime(values, format=fmt))
        elif column.type == "bool":
            arrays.append(pc.if_else(values, "true", "false"))
        else:
            arrays.append(values.cast(pa.string()))
    return pa.Table.from_arrays(arrays, names=[c.name for c in spec.source.columns])


def frame(table: pa.Table, *, release: bool = False) -> pd.DataFrame:
    """A typed table as pandas: ``str``, nullable ``Int64`` and ``boolean``, float64, datetime64[us].

    The columns are writable copies (a zero-copy frame would be read-only, a trap for any caller).
    ``release``: free the table's memory column by column while converting (a lower peak); the table
    must not be used afterwards.
    """
    import pandas as pd

    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    converted: pd.DataFrame = table.to_pandas(types_mapper=mapping.get, self_destruct=release)
    return converted
