"""Read one landed or exported file into an Arrow table of the spec's columns, checked by name.

A CSV (plain, or ``.gz``, ``.bz2``, ``.zst``, ``.xz`` compressed) keeps every value as text, an empty
field missing; a Parquet file (recognised by its content) keeps its values as stored. The columns must
be exactly the spec's (in any order; the table has them in spec order). Anything else is a
:class:`~fti.data.source.RawSchemaMismatch` naming the file and the problem: an empty file without a
header, a file that is not CSV text or not Parquet, one cut off (an unclosed quote, a short row, no
final line break), a missing, unexpected or repeated column. Parsing values is :mod:`fti.data.columns`.
"""

from __future__ import annotations

import difflib
import lzma
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from fti.data.source import RawSchemaMismatch

if TYPE_CHECKING:
    from fti.specs.model import DatasetSpec

BIG_FILE = 16 << 20
"""Bytes above which a CSV is parsed by several threads (smaller files are read several at once)."""


def read_file(spec: DatasetSpec, path: Path, *, strict_end: bool = True) -> pa.Table:
    """One file's columns, checked by name and put in spec order; CSV values as text.

    Args:
        spec: The data set's spec.
        path: A CSV (``.gz``, ``.bz2``, ``.zst`` and ``.xz`` decompressed) or Parquet file; Parquet
            is recognised by its content, not its name.
        strict_end: Refuse a CSV whose last line has no line break (a landed file is cut off, not
            written so); exports are read with ``False``.

    Raises:
        RawSchemaMismatch: naming the file and the problem: empty without a header, not CSV text or
            not Parquet, cut off (an unclosed quote, a short row), a missing, unexpected or repeated
            column.
    """
    path = Path(path)
    data = _file_bytes(path)
    if data.startswith(b"PAR1"):
        table = _read_parquet(path, data)
    else:
        table = _read_csv(spec, path, data, strict_end)
    return _checked(spec, table, path)


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed by suffix (``.xz`` by lzma; ``.gz``, ``.bz2``, ``.zst`` by Arrow)."""
    try:
        if path.suffix == ".xz":
            return lzma.decompress(path.read_bytes())
        if path.suffix in (".gz", ".bz2", ".zst", ".lz4"):
            with pa.input_stream(str(path), compression="detect") as stream:
                return bytes(stream.read())
        return path.read_bytes()
    except FileNotFoundError:
        raise RawSchemaMismatch(f"{path}: no such file", path) from None
    except (lzma.LZMAError, OSError, pa.ArrowException) as exc:
        raise RawSchemaMismatch(f"{path}: cannot read the file: {exc}", path) from None


def _read_csv(spec: DatasetSpec, path: Path, data: bytes, strict_end: bool) -> pa.Table:
    expected = [c.name for c in spec.source.columns]
    if not data or data.isspace():
        raise RawSchemaMismatch(f"{path} is empty: no header, expected columns {expected}", path)
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        kind = "a ZIP archive (an Excel workbook?)" if data.startswith(b"PK") else "binary data"
        raise RawSchemaMismatch(f"{path} is not CSV text: it holds {kind}; expected columns {expected}", path)
    if data.count(b'"') % 2:
        raise RawSchemaMismatch(
            f"{path} is cut off or corrupt: a quoted value is never closed (or a value holds a stray "
            '" without being quoted; a quoted value doubles its quotes: "7"" FRAME")',
            path,
        )
    if strict_end and not data.endswith((b"\n", b"\r")):
        raise RawSchemaMismatch(
            f"{path} is cut off: its last line has no line break (every landed file ends with one)", path
        )
    try:
        return pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(use_threads=len(data) > BIG_FILE),  # small ones: a thread each
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(expected, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "Expected" in text and "columns, got" in text:
            raise RawSchemaMismatch(
                f"{path} is cut off or corrupt: a row has another number of values than the header "
                f"({text.removeprefix('CSV parse error: ')[:200]})",
                path,
            ) from None
        if "UTF8" in text:
            raise RawSchemaMismatch(f"{path} is not UTF-8 text: {text[:200]}", path) from None
        raise RawSchemaMismatch(f"{path} is not a readable CSV file: {text[:200]}", path) from None


def _read_parquet(path: Path, data: bytes) -> pa.Table:
    try:
        return pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise RawSchemaMismatch(f"{path} is not a readable Parquet file (cut off?): {exc}", path) from None


def _checked(spec: DatasetSpec, table: pa.Table, path: Path) -> pa.Table:
    """The spec's columns in spec order; a missing, unexpected or repeated column is an error."""
    expected = [c.name for c in spec.source.columns]
    found = table.column_names
    repeated = sorted({n for n in found if found.count(n) > 1})
    missing = [c for c in expected if c not in found]
    unexpected = [c for c in found if c not in expected]
    if repeated or missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing column(s) {missing}")
        if unexpected:
            hints = [f"{u!r} (did you mean {m[0]!r}?)" for u in unexpected if (m := _close(u, missing))]
            problems.append(f"unexpected column(s) {unexpected}" + (f": {', '.join(hints)}" if hints else ""))
        if repeated:
            problems.append(f"column(s) {repeated} more than once")
        raise RawSchemaMismatch(
            f"{path}: {'; '.join(problems)}. The spec of {spec.name!r} expects the columns {expected}", path
        )
    return table.select(expected)


def _close(name: str, candidates: list[str]) -> list[str]:
    folded = {c.strip().lower(): c for c in candidates}
    if name.strip().lower() in folded:
        return [folded[name.strip().lower()]]
    return difflib.get_close_matches(name, candidates, n=1)
