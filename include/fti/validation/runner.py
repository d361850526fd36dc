"""Run a suite over a DataFrame and report what failed, small enough for XCom and clear enough to act on.

Each call creates one ephemeral (in-memory) Great Expectations context: a few milliseconds, no files,
no progress bars. Great Expectations itself is imported on the first call (seconds), never at import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite
    from great_expectations.data_context import AbstractDataContext

log = logging.getLogger(__name__)

SHOWN_VALUES = 5
"""Distinct unexpected values kept per failure."""
SUMMARY_NAMES = 6
"""Failing expectations named in :meth:`ValidationReport.summary`; the rest are only counted."""
_TYPE_EXPECTATIONS = {"expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"}
_EXPECTED_KEYS = ("type_", "type_list", "min_value", "max_value", "regex", "mostly")
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}


@dataclass(frozen=True)
class Failure:
    """One failed expectation: what was expected of which column, and what was found."""

    expectation: str
    """Expectation type, e.g. ``expect_column_values_to_be_in_set``."""
    column: str | None
    """Column checked; columns joined by ``, `` for compound ones; None for table-level ones."""
    observed: Any = None
    """Observed value (a dtype, the columns found, ...), or the error when the check could not run."""
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_values: list[Any] = field(default_factory=list)
    """Up to :data:`SHOWN_VALUES` distinct unexpected values, JSON-safe."""
    expected: dict[str, Any] = field(default_factory=dict)
    """The expectation's bounds, pattern or types (not its long lists)."""

    @property
    def label(self) -> str:
        """``expectation(column)``, the name used in summaries."""
        return f"{self.expectation}({self.column or 'table'})"

    def describe(self) -> str:
        """One line: the expectation, its column, what was expected and what was observed."""
        expected = ", ".join(f"{k}={v!r}" for k, v in self.expected.items())
        text = f"{self.expectation} on {self.column or 'the table'}" + (f" ({expected})" if expected else "")
        if self.unexpected_count is not None:
            percent = f" ({self.unexpected_percent:.2f}%)" if self.unexpected_percent is not None else ""
            text += f": {self.unexpected_count} unexpected{percent}, e.g. {self.unexpected_values!r}"
        if self.observed is not None:
            text += f": observed {self.observed!r}"
        return text


class ValidationFailed(ValueError):
    """A frame failed expectations of its suite; the message names each failure, ``report`` has them all."""

    def __init__(self, report: ValidationReport) -> None:
        lines = "\n".join(f"  - {failure.describe()}" for failure in report.failures)
        super().__init__(
            f"{report.name}: {len(report.failures)} of {report.statistics.get('evaluated_expectations')} "
            f"expectations of suite {report.suite!r} failed on {report.rows} rows:\n{lines}"
        )
        self.report = report


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of :func:`validate`."""

    success: bool
    suite: str
    name: str
    """What was validated, e.g. ``raw 2011-11-10``."""
    rows: int
    failures: list[Failure]
    statistics: dict[str, Any]
    """Great Expectations' counts: evaluated, successful and unsuccessful expectations, success percent."""
    result_json: dict[str, Any] = field(repr=False)
    """The full Great Expectations result, ``to_json_dict()``."""

    def summary(self) -> dict[str, Any]:
        """A few hundred bytes for XCom: outcome, counts and the names of the failing expectations."""
        summary: dict[str, Any] = {
            "suite": self.suite,
            "name": self.name,
            "success": self.success,
            "rows": self.rows,
            "evaluated": self.statistics.get("evaluated_expectations"),
            "failed": len(self.failures),
            "failing": [failure.label for failure in self.failures[:SUMMARY_NAMES]],
        }
        return summary

    def raise_for_failures(self) -> None:
        """Raise :class:`ValidationFailed` naming each failed expectation; return if all passed."""
        if not self.success:
            raise ValidationFailed(self)


def validate(
    frame: pd.DataFrame, suite: ExpectationSuite | Callable[[], ExpectationSuite], name: str
) -> ValidationReport:
    """Validate ``frame`` against ``suite`` in a fresh in-memory Great Expectations context.

    Args:
        frame: The data, e.g. a raw day or a day's feature rows.
        suite: An ``ExpectationSuite``, or a function without arguments that builds one
            (``functools.partial(build_raw_suite, day)``, ``build_feature_suite``).
        name: What is validated, for messages and summaries (e.g. ``raw 2011-11-10``).

    Returns:
        The report; it does not raise on failures (call :meth:`ValidationReport.raise_for_failures`).
    """
    from great_expectations import ExpectationSuite

    if not isinstance(suite, ExpectationSuite):
        suite = suite()
    context = _ephemeral_context()
    batch = (
        context.data_sources.add_pandas("fti")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(suite, result_format=_RESULT_FORMAT).to_json_dict()
    failures = [_failure(r, frame) for r in result["results"] if not r["success"]]
    report = ValidationReport(
        success=bool(result["success"]),
        suite=suite.name,
        name=name,
        rows=len(frame),
        failures=sorted(failures, key=lambda f: (f.column or "", f.expectation)),
        statistics=dict(result["statistics"]),
        result_json=result,
    )
    log.debug("Validated %s: %s", name, report.summary())  # the task logs its own verdict line
    return report


def _ephemeral_context() -> AbstractDataContext:
    """An in-memory context without progress bars, analytics or temporary docs sites."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _failure(result: dict[str, Any], frame: pd.DataFrame) -> Failure:
    """A :class:`Failure` from one failed result of ``to_json_dict()``."""
    config = result["expectation_config"]
    kind, kwargs, details = config["type"], config["kwargs"], result.get("result") or {}
    column = kwargs.get("column")
    if column is None and not kind.startswith("expect_table") and kwargs.get("column_list"):
        column = ", ".join(kwargs["column_list"])
    observed = details.get("observed_value")
    if kind in _TYPE_EXPECTATIONS and column in frame.columns:
        observed = str(frame[column].dtype)  # GX reports Int64 and int64 both as "int64"
    mismatched = (details.get("details") or {}).get("mismatched")
    if isinstance(mismatched, dict):  # the column-set expectation names the missing and unexpected columns
        observed = mismatched
    if error := _error_message(result.get("exception_info") or {}):
        absent = [c for c in kwargs.get("column_list") or [column] if c is not None and c not in frame]
        observed = f"error: no column {', '.join(map(repr, absent))}" if absent else f"error: {error}"
    return Failure(
        expectation=kind,
        column=column,
        observed=observed,
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        unexpected_values=_distinct(details.get("partial_unexpected_list") or []),
        expected={k: kwargs[k] for k in _EXPECTED_KEYS if kwargs.get(k) is not None},
    )


def _error_message(info: dict[str, Any]) -> str | None:
    """The message of an exception raised while checking, flat or keyed by metric (GX uses both)."""
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [str(e.get("exception_message")) for e in entries if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(m.removeprefix("Error: ") for m in messages)) or None


def _distinct(values: list[Any]) -> list[Any]:
    """The first :data:`SHOWN_VALUES` distinct values, in order (values may be dicts: compared by repr)."""
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(repr(value), value)
        if len(seen) == SHOWN_VALUES:
            break
    return list(seen.values())
