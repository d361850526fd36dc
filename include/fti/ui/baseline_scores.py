"""The control room's model-versus-baselines tables: the data set's primary metric of the champion and of
every baseline, per horizon and per slice, on the same test rows (pure).

Built from ``analysis.json``: its ``metric`` and the ``<metric>_<who>`` columns of each slice table
(:func:`fti.analysis.slices.slice_scores`); an older analysis without them shows nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from fti.ui.html import num, table
from fti.ui.views import _number  # one reading of analysis.json's numbers (NaN was written as null)


@dataclass(frozen=True)
class ScoreRow:
    """One slice: its label, test rows, and the metric of the model then of each baseline."""

    slice: str
    rows: int | None
    scores: tuple[float | None, ...]


@dataclass(frozen=True)
class ScoreTable:
    """One slicing (``horizon`` first): who is scored (``model`` first) and a row per slice."""

    dimension: str
    metric: str
    who: tuple[str, ...]
    rows: tuple[ScoreRow, ...]


def score_tables(analysis: Mapping[str, Any]) -> list[ScoreTable]:
    """A table per slice dimension that carries the model's and the baselines' primary metric."""
    metric = analysis.get("metric")
    slices = analysis.get("slices") or {}
    if not isinstance(metric, str) or not isinstance(slices, Mapping):
        return []
    who = ("model", *(analysis.get("baselines") or {}))
    dimensions = sorted(slices, key=lambda d: d != "horizon")  # horizon first, the others as logged
    found = [_score_table(d, slices[d] or [], metric, who) for d in dimensions]
    return [t for t in found if t.rows]


def _score_table(
    dimension: str, records: Sequence[Mapping[str, Any]], metric: str, who: tuple[str, ...]
) -> ScoreTable:
    present = tuple(w for w in who if any(f"{metric}_{w}" in r for r in records))
    rows = tuple(
        ScoreRow(
            str(r.get("slice")),
            _count(r.get("rows")),
            tuple(_number(r.get(f"{metric}_{w}")) for w in present),
        )
        for r in records
    )
    return ScoreTable(dimension, metric, present, rows if "model" in present else ())


def render_scores(tables: Sequence[ScoreTable]) -> str:
    """The tables' HTML; the model's cell is green where it beats every baseline, red where one beats it."""
    if not tables:
        return ""
    head = f"<h3>Model vs baselines per horizon and slice ({escape(tables[0].metric.upper())})</h3>"
    return head + "".join(_render_table(t) for t in tables)


def _render_table(scores: ScoreTable) -> str:
    header = [scores.dimension.replace("_", " "), "test rows", *(w.replace("_", " ") for w in scores.who)]
    rows = [[escape(r.slice), num(r.rows), *_cells(r.scores)] for r in scores.rows]
    return table(header, rows, f"scores-{scores.dimension}")


def _cells(scores: tuple[float | None, ...]) -> list[str]:
    model, baselines = scores[0], [s for s in scores[1:] if s is not None]
    verdict = "" if model is None or not baselines else ("ok" if model < min(baselines) else "fail")
    first = f'<span class="{verdict}">{num(model, ".3f")}</span>' if verdict else num(model, ".3f")
    return [first, *(num(s, ".3f") for s in scores[1:])]


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
