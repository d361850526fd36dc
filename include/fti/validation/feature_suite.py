"""The feature suite: what the engine's rows must satisfy before they are committed to the store.

Every rule here is VALIDATION, not cleaning: the features are computed by our own code from
validated raw rows, so a violation is a bug (or a leak) in that code, never a property of the data.
The rules follow from the spec: exact columns in order (a label or future value must never slip in),
keys never null, one row per entity and period, counts, shares and calendar values in their ranges,
and, when an absent period means 0, no missing value in anything computed from the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.features.schema import CALENDAR_RANGES, PERIOD, calendar_names, key_columns, stored_columns

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

    from fti.specs import DatasetSpec

FEATURE_SUITE_NAME = "features"


def build_feature_suite(spec: DatasetSpec) -> ExpectationSuite:
    """The feature suite of ``spec``'s main feature set (an unsaved ``ExpectationSuite``)."""
    import great_expectations as gx

    e = gx.expectations
    columns = stored_columns(spec)
    keys = key_columns(spec)
    expectations = [
        e.ExpectTableColumnsToMatchOrderedList(column_list=columns),
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in keys),
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in _never_null(spec)),
        *(
            e.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
            for c, (lo, hi) in _ranges(spec).items()
        ),
        e.ExpectCompoundColumnsToBeUnique(column_list=["entity", PERIOD]),
    ]
    meta = {"dataset": spec.name, "spec_sha256": spec.source_sha256}
    return gx.ExpectationSuite(name=f"{FEATURE_SUITE_NAME}_{spec.name}", expectations=expectations, meta=meta)


def _never_null(spec: DatasetSpec) -> list[str]:
    """Columns that cannot be missing: calendar always; with ``absent: zero`` every target feature too,
    and the past-only covariates an absent period makes 0 (sums and counts, like the target)."""
    names = calendar_names(spec) + [r.name for r in spec.features.ratios]
    if spec.target.absent == "zero":
        names += [spec.target.name, *(f"lag_{k}" for k in spec.features.lags)]
        names += [c.field for c in spec.covariates.past_only if c.aggregation in ("sum", "count")]
        names += [
            n
            for r in spec.features.rolling
            if r.column is None
            for s, n in r.feature_names().items()
            if s != "std" or r.window > 1
        ]
    return [n for n in dict.fromkeys(names) if n in stored_columns(spec)]


def _ranges(spec: DatasetSpec) -> dict[str, tuple[float, float]]:
    ranges: dict[str, tuple[float, float]] = {
        name: (float(lo), float(hi))
        for name, (lo, hi) in CALENDAR_RANGES.items()
        if name in calendar_names(spec)
    }
    for rolling in spec.features.rolling:
        for stat, name in rolling.feature_names().items():
            if stat == "nonzero_count":
                ranges[name] = (0.0, float(rolling.window))
            elif stat == "nonzero_share":
                ranges[name] = (0.0, 1.0)
    return ranges
