"""The feature suite: what a frame of :func:`fti.features.demand.build_features` must satisfy before
it is committed to the feature store.

Every rule here is VALIDATION: the features are computed by our own code from cleaned sales, so a
violation is a bug (or a leak) in that code, never a property of the shop's data to clean away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.features.demand import DEMAND_COLUMNS, FEATURE_COLUMNS, KEY_COLUMNS, LOOKBACK_DAYS

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

FEATURE_SUITE_NAME = "demand_features"

FEATURE_SET_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, *FEATURE_COLUMNS)
"""The stored columns, in order: keys then features, nothing else."""
NON_NEGATIVE_COLUMNS: tuple[str, ...] = (*DEMAND_COLUMNS, "avg_price_28")
"""Sums and means of cleaned sales (positive quantities, positive prices): never below 0."""
RANGES: dict[str, tuple[int, int]] = {
    # A row exists only for an entity with a sale in its last 28 days, its own day included.
    "active_days_28": (1, LOOKBACK_DAYS),
    "day_of_week": (0, 6),  # Monday = 0
    "month": (1, 12),
}
"""Closed ranges of the count and calendar features."""


def build_feature_suite() -> ExpectationSuite:
    """The feature suite: exact columns, no nulls, value ranges and one row per (entity, date).

    Returns:
        An unsaved ``ExpectationSuite`` named :data:`FEATURE_SUITE_NAME`.
    """
    import great_expectations as gx

    e = gx.expectations
    expectations = [
        # Exact columns: any other column (label, target, future_*) would leak what the feature row
        # must not know into the store, where training reads it; a missing one breaks the schema.
        e.ExpectTableColumnsToMatchSet(column_set=list(FEATURE_SET_COLUMNS), exact_match=True),
        e.ExpectTableColumnsToMatchOrderedList(column_list=list(FEATURE_SET_COLUMNS)),
        # No nulls anywhere: the model gets no imputation step, and a null key cannot be looked up.
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in FEATURE_SET_COLUMNS),
        *(e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in NON_NEGATIVE_COLUMNS),
        *(
            e.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
            for c, (lo, hi) in RANGES.items()
        ),
        # One row per entity and day: a duplicate would be counted twice by training and by the
        # label join, and the store's point-in-time read could return either.
        e.ExpectCompoundColumnsToBeUnique(column_list=["entity", "date"]),
    ]
    return gx.ExpectationSuite(name=FEATURE_SUITE_NAME, expectations=expectations)
