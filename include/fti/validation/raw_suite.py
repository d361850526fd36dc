"""The raw-transactions suite: what a typed raw frame must satisfy before it is featurised.

A frame is what :func:`fti.data.online_retail.read_raw_file` (or ``read_transactions``) returns
for the run's days. The suite separates two kinds of odd lines:

* **cleaning rules**: lines that are real business records but not product demand (cancellations,
  stock adjustments, zero or negative prices, fees and postage). They are valid raw data; the
  feature code drops them (:func:`fti.features.demand.clean_transactions`), so the suite allows them.
* **validation failures**: values no correct export of the shop holds (a missing column, another
  type, a missing key value, an unknown country, a line of another day, absurd magnitudes). They
  stop the run, because featurising them would silently write wrong features.

Every bound and allowed value comes from the data-set spec (:mod:`fti.data.spec`, for the demo data
``specs/online_retail.yaml``, where each one says why it has its value); the expectations below say
why each is a rule of validation and not of cleaning. The suite's ``meta`` names the spec and the
SHA-256 of its file, so each stored validation says which spec judged the data. A header-only file
(shop closed) is an empty frame, which passes; a file with a missing header or truncated columns
never gets here: the reader raises ``RawSchemaMismatch``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fti.data.spec import DatasetSpec, ValidationRules, default_spec

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

RAW_SUITE_NAME = "raw_transactions"
_NULLABLE_TYPES = {"Int64": "Int64Dtype"}
"""Spec types checked against a list of extension dtypes (Great Expectations' name of the nullable Int64)."""


def run_interval(first_day: date, last_day: date | None = None) -> tuple[datetime, datetime]:
    """The run's interval ``[first_day 00:00, last_day + 1 day 00:00)``; one day if ``last_day`` is None."""
    if isinstance(first_day, datetime):  # also pandas.Timestamp: the interval is whole days
        first_day = first_day.date()
    last = first_day if last_day is None else last_day
    if isinstance(last, datetime):
        last = last.date()
    if last < first_day:
        raise ValueError(f"last_day {last} is before first_day {first_day}")
    return datetime.combine(first_day, time()), datetime.combine(last + timedelta(days=1), time())


def build_raw_suite(
    first_day: date, last_day: date | None = None, spec: DatasetSpec | None = None
) -> ExpectationSuite:
    """The raw-transactions suite for a run over the days ``first_day`` to ``last_day`` (inclusive).

    Args:
        first_day: The run's (first) day; lines must be stamped on or after its midnight.
        last_day: The run's last day; lines must be stamped before the midnight after it.
            ``None`` for a one-day run.
        spec: The data-set spec giving the columns, bounds and allowed values; ``None`` for the
            shipped default (:func:`fti.data.spec.default_spec`, read once per process).

    Returns:
        An unsaved ``ExpectationSuite`` named :data:`RAW_SUITE_NAME`; its ``meta`` holds the interval,
        the spec's name and the SHA-256 of the spec file (None for a spec built in code).
    """
    import great_expectations as gx

    spec = default_spec() if spec is None else spec
    start, end = run_interval(first_day, last_day)
    expectations = [*_schema(spec), *_completeness(spec), *_values(spec.validation, start, end)]
    return gx.ExpectationSuite(
        name=RAW_SUITE_NAME,
        expectations=expectations,
        meta={
            "interval_start": start.isoformat(),
            "interval_end": end.isoformat(),
            "spec_name": spec.name,
            "spec_sha256": spec.source_sha256,
        },
    )


def _schema(spec: DatasetSpec) -> list[Any]:
    """Columns, their order and their types: VALIDATION, every reader and writer relies on them."""
    import great_expectations as gx

    e = gx.expectations
    names = [c.name for c in spec.columns]  # the spec guarantees these are RAW_COLUMNS, in order
    return [
        # Set and order both: the set names a missing or extra column, the order guards positional readers.
        e.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True),
        e.ExpectTableColumnsToMatchOrderedList(column_list=names),
        # Nullable Int64 (Customer ID) is checked against a list of extension dtypes: a float or plain
        # int64 Customer ID means the export or the reader changed.
        *(
            e.ExpectColumnValuesToBeInTypeList(column=c.name, type_list=[_NULLABLE_TYPES[c.type]])
            if c.type in _NULLABLE_TYPES
            else e.ExpectColumnValuesToBeOfType(column=c.name, type_=c.type)
            for c in spec.columns
        ),
        # Row count >= 0: an empty frame (header-only file of a closed day) is valid. No upper bound:
        # multi-day frames are validated too, and the busiest day (5,331 lines) says nothing of tomorrow.
        e.ExpectTableRowCountToBeBetween(min_value=0),
    ]


def _completeness(spec: DatasetSpec) -> list[Any]:
    """Which values may be missing: the features' inputs never, the descriptive columns sometimes."""
    import great_expectations as gx

    e = gx.expectations
    return [
        # VALIDATION: a line without invoice, code, quantity, time, price or country cannot be
        # attributed to an entity and day; dropping it would understate demand without a trace.
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in spec.required_columns),
        # VALIDATION with a bound: Customer ID is missing on 23% of all lines (no known customer) and the
        # features never use it, but a day where (almost) no line has one means a broken export.
        e.ExpectColumnValuesToNotBeNull(column="Customer ID", mostly=spec.validation.min_customer_id_share),
        # ALLOWED: Description is missing on 0.4% of lines, all of them price-0 adjustments that the
        # cleaning drops; the features never use it. No expectation.
        # The reader keeps an empty StockCode as "" (only Description and Customer ID become NA), so
        # "not null" needs a length check too. VALIDATION.
        e.ExpectColumnValueLengthsToBeBetween(
            column="StockCode", min_value=1, max_value=spec.validation.max_stock_code_length
        ),
    ]


def _values(rules: ValidationRules, start: datetime, end: datetime) -> list[Any]:
    """Value rules: formats, ranges, the country list and the run's interval."""
    import great_expectations as gx

    e = gx.expectations
    return [
        # VALIDATION: the invoice format. CLEANING: the "C" (cancellation, ~19k lines) and "A"
        # (bad-debt adjustment) invoices match it and are dropped by clean_transactions.
        e.ExpectColumnValuesToMatchRegex(column="Invoice", regex=rules.invoice_pattern),
        # VALIDATION: |Quantity| within the bound. CLEANING: negative quantities (cancellations, ~3.4k
        # price-0 stock adjustments) are real records and dropped by clean_transactions, so the range
        # is symmetric; the 80,995-unit order is real and kept.
        e.ExpectColumnValuesToBeBetween(
            column="Quantity", min_value=-rules.max_abs_quantity, max_value=rules.max_abs_quantity
        ),
        # VALIDATION: price within the range. CLEANING: the ~6k price-0 lines and the 5 negative
        # "Adjust bad debt" lines (invoice A..., StockCode B, down to -53,594.36) are bookkeeping, dropped
        # by clean_transactions; negatives are allowed so that they do not stop the run.
        e.ExpectColumnValuesToBeBetween(column="Price", min_value=rules.min_price, max_value=rules.max_price),
        # VALIDATION: a country outside the spec's list is a new store or a typo; the model has never seen
        # it (its one-hot encoder would ignore it silently), so someone must add it to the spec on purpose.
        e.ExpectColumnValuesToBeInSet(column="Country", value_set=list(rules.countries)),
        # VALIDATION: every line belongs to the run's interval [start, end): a line of another day in
        # this file would be counted twice or on the wrong day.
        e.ExpectColumnValuesToBeBetween(
            column="InvoiceDate", min_value=start, max_value=end, strict_min=False, strict_max=True
        ),
        # NOT ASSERTED: uniqueness. Even (Invoice, StockCode, Description, Quantity, InvoiceDate, Price,
        # Customer ID) repeats on ~11.8k lines: the same item twice on one invoice in the same minute,
        # both lines demand. No column or key of the raw lines is unique.
        # CLEANING, no expectation: non-product stock codes (POST, DOT, M, BANK CHARGES, AMAZONFEE, C2, D,
        # S, ADJUST, gift_0001_*, TEST001, ...) are fees and vouchers; clean_transactions keeps only codes
        # that start with five digits.
    ]
