"""A recorded validation as a page: each Great Expectations result as a table row (pure).

The stored document is what ``feature_pipeline``'s ``validate_raw`` records: ``{"spec", "suites",
"results": [<GX result>, ...]}`` (one result for the raw interval, one for the known future); a bare
GX result (``to_json_dict()``) is read too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from fti.ui.html import document, num, status, table

_NOT_EXPECTED = ("batch_id", "column", "column_list", "column_set")


@dataclass(frozen=True)
class ExpectationRow:
    """One expectation's outcome."""

    expectation: str
    column: str
    success: bool
    observed: str
    expected: str


@dataclass(frozen=True)
class SuiteResult:
    """One Great Expectations result (a suite run on one frame) and its rows."""

    name: str
    success: bool
    evaluated: int | None
    failed: int | None
    rows: list[ExpectationRow]


def suite_results(doc: Mapping[str, Any]) -> list[SuiteResult]:
    """The document's GX results, each with a row per expectation, failed ones first."""
    results = doc.get("results") or []
    if results and "expectation_config" in results[0]:  # a bare GX result
        results = [doc]
    return [_suite(r) for r in results]


def _suite(result: Mapping[str, Any]) -> SuiteResult:
    stats = result.get("statistics") or {}
    rows = [_row(r) for r in result.get("results") or []]
    first = (result.get("results") or [{}])[0].get("expectation_config", {}).get("kwargs", {})
    name = str(first.get("batch_id") or result.get("suite_name") or "validation").removeprefix("fti-")
    return SuiteResult(
        name=name,
        success=bool(result.get("success")),
        evaluated=stats.get("evaluated_expectations"),
        failed=stats.get("unsuccessful_expectations"),
        rows=sorted(rows, key=lambda r: r.success),
    )


def _row(result: Mapping[str, Any]) -> ExpectationRow:
    config = result.get("expectation_config") or {}
    kwargs = config.get("kwargs") or {}
    column = kwargs.get("column") or ", ".join(kwargs.get("column_list") or kwargs.get("column_set") or [])
    expected = {k: v for k, v in kwargs.items() if k not in _NOT_EXPECTED and v is not None}
    return ExpectationRow(
        expectation=str(config.get("type", "?")),
        column=str(column) or "(table)",
        success=bool(result.get("success")),
        observed=observed_value(result.get("result") or {}),
        expected=", ".join(f"{k}={_short(v)}" for k, v in expected.items()),
    )


def observed_value(details: Mapping[str, Any]) -> str:
    """What GX saw: its ``observed_value``, else the unexpected count of the values checked."""
    if "observed_value" in details:
        return _short(details["observed_value"])
    if "unexpected_count" in details:
        seen = f"{details['unexpected_count']} unexpected of {details.get('element_count', '?')}"
        sample = details.get("partial_unexpected_list") or []
        return seen + (f" (e.g. {_short(sample[:5])})" if sample else "")
    return "–"


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_validation(validation_id: str, doc: Mapping[str, Any]) -> str:
    """The page of validation ``validation_id``: one table per suite result, a link to the raw JSON."""
    spec = doc.get("spec") or {}
    parts = [
        '<p><a href="../">← control room</a></p>',
        f"<h1>Validation {escape(validation_id)}</h1>",
        f'<p class="meta">spec {escape(str(spec.get("name", "?")))} · '
        f'<a href="../api/validations/{quote(validation_id, safe="")}">raw JSON</a></p>',
    ]
    for suite in suite_results(doc):
        verdict = status("passed" if suite.success else "failed")
        parts.append(
            f"<h2>{escape(suite.name)}: {verdict}</h2>"
            f'<p class="meta">{num(suite.evaluated)} expectations evaluated, {num(suite.failed)} failed</p>'
        )
        rows = [
            [escape(r.expectation), escape(r.column), status("passed" if r.success else "failed"),
             f'<span class="observed">{escape(r.observed)}</span>', escape(r.expected)]
            for r in suite.rows
        ]  # fmt: skip
        parts.append(
            table(["expectation", "column", "success", "observed value", "expected"], rows, "expectations")
        )
    return document(f"Validation {validation_id}", "\n".join(parts))
