"""The raw suite of a data set, built from its spec: what the typed raw frame of a run must satisfy.

The frame is what :func:`fti.data.source.read_partitions` returns for the run's partitions. The suite
holds, in this order:

* the schema: exactly the spec's ``source.columns``, in spec order, each of the dtype the reader gives
  its declared type (a frame of another reader, or a changed reader, fails here);
* the time column within the run's interval ``[start of the first partition, end of the last)``: a
  row of another period in these files would be counted twice, or in the wrong period;
* for ``source.aggregated: true``, one row per (entity key columns, time column);
* the rules of ``validation.columns``: ``not_null``, ``min``/``max``, ``allowed``, ``regex``,
  ``max_length``, ``min_present_share``.

Cleaning rules (which rows count) are the target's filters, not validation: rows they drop are valid
raw data. :func:`build_future_suite` checks the rows of partitions landed ahead of their period (the
planned known-future values; the target may be empty there). Each suite's ``meta`` names the spec
and the SHA-256 of its file, so a stored validation says which spec judged the data. Great
Expectations is imported when a suite is built, never on import.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fti.periods import as_dates

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

    from fti.specs.model import ColumnRules, DatasetSpec

TYPE_CHECKS: dict[str, tuple[str, str]] = {
    "string": ("of_type", "str"),
    "int": ("in_type_list", "Int64Dtype"),
    "float": ("in_type_list", "float64"),
    "bool": ("in_type_list", "BooleanDtype"),
    "datetime": ("in_type_list", "datetime64[us]"),
    "date": ("in_type_list", "datetime64[us]"),
}
"""Declared type -> how Great Expectations checks the reader's dtype (``of_type`` ``str`` accepts the
``str`` dtype; a type list pins nullable Int64, boolean and the microsecond unit exactly)."""


def run_interval(
    spec: DatasetSpec, first_day: date, last_day: date | None = None
) -> tuple[datetime, datetime]:
    """``[start of the partition holding first_day, end of the partition holding last_day)``.

    Raises:
        ValueError: ``last_day`` is before ``first_day``.
    """
    first, last = as_dates([first_day, first_day if last_day is None else last_day])
    if last < first:
        raise ValueError(f"last_day {last} is before first_day {first}")
    start = spec.calendar.partition_start(first)
    return datetime(start.year, start.month, start.day), spec.calendar.partition_end(last)


def build_raw_suite(spec: DatasetSpec, first_day: date, last_day: date | None = None) -> ExpectationSuite:
    """The raw suite of ``spec`` for a run over the partitions holding ``first_day`` to ``last_day``.

    Returns:
        An unsaved suite named ``raw_<data set>``; its ``meta`` holds the interval, the spec's name and
        the SHA-256 of the spec file (None for a spec built in code).
    """
    start, end = run_interval(spec, first_day, last_day)
    columns = [c.name for c in spec.source.columns]
    expectations = [
        *_schema(spec),
        _within(spec.time.column, start, end),
        *_unique_rows(spec),
        *_rules(spec, columns),
    ]
    return _suite(f"raw_{spec.name}", expectations, spec, start, end)


def build_future_suite(spec: DatasetSpec, first_day: date, last_day: date | None = None) -> ExpectationSuite:
    """The suite of partitions landed ahead of their period: schema, time, uniqueness and only the rules
    of the entity key columns, the time column and the known-future covariates' columns.

    Returns:
        An unsaved suite named ``future_<data set>`` (the target and past-only columns may be empty).
    """
    start, end = run_interval(spec, first_day, last_day)
    known = [*spec.entity.names, spec.time.column]
    known += [column for covariate in spec.covariates.known_future for column in covariate.columns]
    expectations = [
        *_schema(spec),
        _within(spec.time.column, start, end),
        *_unique_rows(spec),
        *_rules(spec, dict.fromkeys(known)),
    ]
    return _suite(f"future_{spec.name}", expectations, spec, start, end)


def _suite(
    name: str, expectations: list[Any], spec: DatasetSpec, start: datetime, end: datetime
) -> ExpectationSuite:
    import great_expectations as gx

    return gx.ExpectationSuite(
        name=name,
        expectations=expectations,
        meta={
            "interval_start": start.isoformat(),
            "interval_end": end.isoformat(),
            "spec_name": spec.name,
            "spec_sha256": spec.source_sha256,
        },
    )


def _schema(spec: DatasetSpec) -> list[Any]:
    """Columns (set and order) and each column's dtype: every later step relies on them."""
    import great_expectations as gx

    e = gx.expectations
    names = [c.name for c in spec.source.columns]
    checks: list[Any] = [
        # The set names a missing or unexpected column; the order guards positional readers.
        e.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True),
        e.ExpectTableColumnsToMatchOrderedList(column_list=names),
    ]
    for column in spec.source.columns:
        how, dtype = TYPE_CHECKS[column.type]
        checks.append(
            e.ExpectColumnValuesToBeOfType(column=column.name, type_=dtype)
            if how == "of_type"
            else e.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=[dtype])
        )
    # An empty frame (header-only files: a period without rows) is valid.
    checks.append(e.ExpectTableRowCountToBeBetween(min_value=0))
    return checks


def _within(column: str, start: datetime, end: datetime) -> Any:
    """Every row's time in ``[start, end)``."""
    return _between(column, "datetime", start, end, strict_max=True)


def _between(column: str, kind: str, low: Any, high: Any, *, strict_max: bool = False) -> Any:
    """Values in ``[low, high]`` (``[low, high)`` with ``strict_max``); a None bound is open.

    Great Expectations compares ``Int64`` and ``datetime64[us]`` columns value by value in Python
    (4.5 s for the 1.04 M times of Online Retail), so for those types a pandas ``row_condition``
    first selects the rows outside the bounds (vectorised) and the expectation fails on each of them:
    the same verdict and unexpected count and values, in 0.1 s; its ``unexpected_percent`` is then
    of the rows outside (100 %), not of the frame.
    """
    import great_expectations as gx

    options: dict[str, Any] = {}
    if kind in ("int", "datetime", "date"):
        name = "`" + column.replace("`", "``") + "`"
        outside = [f"{name} < {_literal(low)}"] if low is not None else []
        outside += [f"{name} {'>=' if strict_max else '>'} {_literal(high)}"] if high is not None else []
        options = {"row_condition": " or ".join(outside), "condition_parser": "pandas"}
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high, strict_max=strict_max, **options
    )


def _literal(value: Any) -> str:
    """A bound as a pandas query literal: a quoted ISO time, or a number."""
    return f'"{value.isoformat()}"' if isinstance(value, datetime) else repr(value)


def _unique_rows(spec: DatasetSpec) -> list[Any]:
    """Already aggregated data: a second row of an entity and time would be summed (or averaged) in."""
    import great_expectations as gx

    if not spec.source.aggregated:
        return []
    key = [*spec.entity.names, spec.time.column]
    return [gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=key)]


def _rules(spec: DatasetSpec, columns: Iterable[str]) -> list[Any]:
    """The ``validation.columns`` rules of ``columns`` (raw names), in spec order."""
    wanted = set(columns)
    kinds = {c.name: c.type for c in spec.source.columns}
    return [
        check
        for name, rules in spec.validation.columns.items()
        if name in wanted
        for check in _column_rules(name, kinds[name], rules)
    ]


def _column_rules(column: str, kind: str, rules: ColumnRules) -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    checks: list[Any] = []
    if rules.not_null:
        checks.append(e.ExpectColumnValuesToNotBeNull(column=column))
    elif rules.min_present_share is not None:
        checks.append(e.ExpectColumnValuesToNotBeNull(column=column, mostly=rules.min_present_share))
    if rules.min is not None or rules.max is not None:
        checks.append(_between(column, kind, rules.min, rules.max))
    if rules.allowed is not None:
        checks.append(e.ExpectColumnValuesToBeInSet(column=column, value_set=list(rules.allowed)))
    if rules.regex is not None:
        checks.append(e.ExpectColumnValuesToMatchRegex(column=column, regex=rules.regex))
    if rules.max_length is not None:
        checks.append(e.ExpectColumnValueLengthsToBeBetween(column=column, max_value=rules.max_length))
    return checks
