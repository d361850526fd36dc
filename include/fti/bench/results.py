"""The benchmark record and its tables: ``bench/results.json`` holds one flat map of figures per area.

Keys of figures measured per data set start with the data set (``online_retail.full_history_s``).
Each table shows a figure next to the value recorded before this run under the same key (or under
the key it replaces, ``legacy``): what "today's figure" means in the tables.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

AREAS = ("features", "training", "inference", "accuracy", "http", "first_hour")

Value = float | int
Record = dict[str, dict[str, Value]]


def read(path: Path) -> Record:
    """The whole record (empty when the file does not exist yet)."""
    data: Record = json.loads(path.read_text()) if path.exists() else {}
    return data


def record(path: Path, area: str, figures: Mapping[str, Value], drop: Iterable[str] = ()) -> Record:
    """Merge ``figures`` into ``area`` (rounded), delete the superseded keys ``drop``; write atomically.

    Raises:
        ValueError: ``area`` is not one of :data:`AREAS`.
    """
    if area not in AREAS:
        raise ValueError(f"unknown benchmark area {area!r}; expected one of {AREAS}")
    results = read(path)
    section = results.setdefault(area, {})
    for key in drop:
        section.pop(key, None)
    section.update({k: rounded(v) for k, v in figures.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return results


def rounded(value: Value) -> Value:
    """Integers as they are; floats to 4 decimals (NaN and infinities are not JSON: refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"a figure must be an int or a float, got {value!r}")
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise ValueError(f"a figure must be finite, got {value}")
    return round(float(value), 4)


@dataclass(frozen=True)
class Line:
    """One row of a benchmark's table: a figure, how to show it, what it is."""

    key: str
    fmt: str
    note: str
    label: str | None = None
    """Shown instead of ``key`` (e.g. indented sub-steps)."""


def show(value: Value | None, fmt: str) -> str:
    """``value`` in format ``fmt`` (a format spec, or ``x`` for a ratio ``1.23x``); ``-`` when missing."""
    if value is None:
        return "-"
    if fmt == "x":
        return f"{value:.2f}x"
    return format(value, fmt)


def rows(
    figures: Mapping[str, Value],
    lines: Iterable[Line],
    before: Mapping[str, Value],
    legacy: Mapping[str, str] = {},  # noqa: B006 - read only
) -> list[tuple[str, str, str, str]]:
    """Table rows of the ``lines`` whose key was measured: figure, value, value recorded before, note."""
    out = []
    for line in lines:
        if line.key not in figures:
            continue
        previous = before.get(line.key, before.get(legacy.get(line.key, ""), None))
        out.append(
            (line.label or line.key, show(figures[line.key], line.fmt), show(previous, line.fmt), line.note)
        )
    return out


def table(
    body: list[tuple[str, str, str, str]],
    headers: tuple[str, str, str, str] = ("figure", "value", "recorded before", "what it is"),
) -> str:
    """A plain-text table for the terminal."""
    widths = [max(len(r[i]) for r in [headers, *body]) for i in range(4)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(out)
