"""The benchmark record: ``bench/results.json`` holds one flat map of figures per area."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

AREAS = ("features", "training", "inference")


def record(path: Path, area: str, figures: Mapping[str, float | int]) -> dict[str, dict[str, float | int]]:
    """Merge ``figures`` into ``area`` of the results file (atomically); return the whole record."""
    if area not in AREAS:
        raise ValueError(f"unknown benchmark area {area!r}; expected one of {AREAS}")
    results: dict[str, dict[str, float | int]] = json.loads(path.read_text()) if path.exists() else {}
    results.setdefault(area, {}).update({k: _rounded(v) for k, v in figures.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return results


def table(
    rows: list[tuple[str, str, str]], headers: tuple[str, str, str] = ("figure", "value", "note")
) -> str:
    """A plain-text table for the terminal."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def _rounded(value: float | int) -> float | int:
    return value if isinstance(value, int) else round(float(value), 4)
