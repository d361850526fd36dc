"""JSON documents the store keeps beside the partitions (validation results), and their names."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(run_id: str) -> str:
    """``run_id`` as a file name: every run of characters other than letters, digits, ``._-`` becomes ``_``.

    ``manual__2011-12-09T00:00:00+00:00`` becomes ``manual__2011-12-09T00_00_00_00_00``.
    """
    name = _UNSAFE.sub("_", run_id).strip("._")
    if not name:
        raise ValueError(f"run id {run_id!r} has no character usable in a file name")
    return name


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON types, so that any JSON reader can parse what is written.

    numpy scalars and arrays become numbers and lists, dates ISO strings, tuples and sets lists,
    and NaN and infinities ``None`` (JSON has no such numbers).

    Raises:
        TypeError: a value of another type, named with its path.
    """
    return _plain(value, "document")


def dumps(value: Any, indent: int | None = None) -> str:
    """Strict JSON of :func:`to_plain` ``(value)``, keys sorted: the same value gives the same text."""
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(to_plain(value), sort_keys=True, indent=indent, separators=separators, allow_nan=False)


def _plain(value: Any, path: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(items)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        return _plain(value.tolist(), path)
    raise TypeError(f"{path} is a {type(value).__name__} ({value!r}), which has no JSON form")
