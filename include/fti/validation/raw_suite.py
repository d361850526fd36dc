"""The raw-transactions suite: what a typed raw frame must satisfy before it is featurised.

A frame is what :func:`fti.data.online_retail.read_raw_file` (or ``read_transactions``) returns
for the run's days. The suite separates two kinds of odd lines:

* **cleaning rules**: lines that are real business records but not product demand (cancellations,
  stock adjustments, zero or negative prices, fees and postage). They are valid raw data; the
  feature code drops them (:func:`fti.features.demand.clean_transactions`), so the suite allows them.
* **validation failures**: values no correct export of the shop holds (a missing column, another
  type, a missing key value, an unknown country, a line of another day, absurd magnitudes). They
  stop the run, because featurising them would silently write wrong features.

The bounds below are set from the full data set (1,067,371 lines, Dec 2009 - Dec 2011) so that
every one of its days passes; each expectation says why it is a rule of validation and not of
cleaning. A header-only file (shop closed) is an empty frame, which passes; a file with a missing
header or truncated columns never gets here: the reader raises ``RawSchemaMismatch``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fti.data.online_retail import RAW_COLUMNS

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

RAW_SUITE_NAME = "raw_transactions"

COUNTRIES: tuple[str, ...] = (
    "Australia", "Austria", "Bahrain", "Belgium", "Bermuda", "Brazil", "Canada", "Channel Islands",
    "Cyprus", "Czech Republic", "Denmark", "EIRE", "European Community", "Finland", "France", "Germany",
    "Greece", "Hong Kong", "Iceland", "Israel", "Italy", "Japan", "Korea", "Lebanon", "Lithuania", "Malta",
    "Netherlands", "Nigeria", "Norway", "Poland", "Portugal", "RSA", "Saudi Arabia", "Singapore", "Spain",
    "Sweden", "Switzerland", "Thailand", "USA", "United Arab Emirates", "United Kingdom", "Unspecified",
    "West Indies",
)  # fmt: skip
"""The 43 ``Country`` values of the full data set, sorted (``Unspecified`` is one of the shop's own)."""

REQUIRED_COLUMNS: tuple[str, ...] = ("Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Country")
"""Columns the features are computed from: never missing."""

COLUMN_TYPES: dict[str, str] = {
    "Invoice": "str",
    "StockCode": "str",
    "Description": "str",
    "Quantity": "int64",
    "InvoiceDate": "datetime64",  # any resolution: the reader gives [us], or [s] for an empty file
    "Price": "float64",
    "Country": "str",
}
"""pandas dtype of each column as the reader types it (``Customer ID`` apart: nullable ``Int64``)."""

INVOICE_PATTERN = r"^[CA]?\d{6}$"
"""Six digits; ``C`` marks a cancellation, ``A`` a bad-debt adjustment (every invoice of the data matches)."""
MAX_ABS_QUANTITY = 100_000
"""Largest |Quantity| seen is 80,995 (invoice 581483 and its cancellation C581484, 2011-12-09)."""
MIN_PRICE, MAX_PRICE = -60_000.0, 100_000.0
"""Prices seen: -53,594.36 (an ``A`` bad-debt adjustment) to 38,970.00 (a manual line, ``M``)."""
MAX_STOCK_CODE_LENGTH = 20
"""Longest stock code seen has 12 characters (``BANK CHARGES``, ``gift_0001_10``)."""
MIN_CUSTOMER_ID_SHARE = 0.10
"""Least share of lines with a Customer ID; the real per-day share goes down to 12.6% (2011-08-30)."""


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


def build_raw_suite(first_day: date, last_day: date | None = None) -> ExpectationSuite:
    """The raw-transactions suite for a run over the days ``first_day`` to ``last_day`` (inclusive).

    Args:
        first_day: The run's (first) day; lines must be stamped on or after its midnight.
        last_day: The run's last day; lines must be stamped before the midnight after it.
            ``None`` for a one-day run.

    Returns:
        An unsaved ``ExpectationSuite`` named :data:`RAW_SUITE_NAME`, its interval in ``meta``.
    """
    import great_expectations as gx

    start, end = run_interval(first_day, last_day)
    expectations = [*_schema(), *_completeness(), *_values(start, end)]
    return gx.ExpectationSuite(
        name=RAW_SUITE_NAME,
        expectations=expectations,
        meta={"interval_start": start.isoformat(), "interval_end": end.isoformat()},
    )


def _schema() -> list[Any]:
    """Columns, their order and their types: VALIDATION, every reader and writer relies on them."""
    import great_expectations as gx

    e = gx.expectations
    return [
        # Set and order both: the set names a missing or extra column, the order guards positional readers.
        e.ExpectTableColumnsToMatchSet(column_set=list(RAW_COLUMNS), exact_match=True),
        e.ExpectTableColumnsToMatchOrderedList(column_list=list(RAW_COLUMNS)),
        *(e.ExpectColumnValuesToBeOfType(column=c, type_=t) for c, t in COLUMN_TYPES.items()),
        # Nullable Int64, not int64 or float64: a float Customer ID means the export or reader changed.
        e.ExpectColumnValuesToBeInTypeList(column="Customer ID", type_list=["Int64Dtype"]),
        # Row count >= 0: an empty frame (header-only file of a closed day) is valid. No upper bound:
        # multi-day frames are validated too, and the busiest day (5,331 lines) says nothing of tomorrow.
        e.ExpectTableRowCountToBeBetween(min_value=0),
    ]


def _completeness() -> list[Any]:
    """Which values may be missing: the features' inputs never, the descriptive columns sometimes."""
    import great_expectations as gx

    e = gx.expectations
    return [
        # VALIDATION: a line without invoice, code, quantity, time, price or country cannot be
        # attributed to an entity and day; dropping it would understate demand without a trace.
        *(e.ExpectColumnValuesToNotBeNull(column=c) for c in REQUIRED_COLUMNS),
        # VALIDATION with a bound: Customer ID is missing on 23% of all lines (no known customer) and the
        # features never use it, but a day where (almost) no line has one means a broken export.
        # Per day the share with an ID goes down to 12.6% (2011-08-30); 0.6 would fail 68 of 604 real days.
        e.ExpectColumnValuesToNotBeNull(column="Customer ID", mostly=MIN_CUSTOMER_ID_SHARE),
        # ALLOWED: Description is missing on 0.4% of lines, all of them price-0 adjustments that the
        # cleaning drops; the features never use it. No expectation.
        # The reader keeps an empty StockCode as "" (only Description and Customer ID become NA), so
        # "not null" needs a length check too. VALIDATION.
        e.ExpectColumnValueLengthsToBeBetween(
            column="StockCode", min_value=1, max_value=MAX_STOCK_CODE_LENGTH
        ),
    ]


def _values(start: datetime, end: datetime) -> list[Any]:
    """Value rules: formats, ranges, the country list and the run's interval."""
    import great_expectations as gx

    e = gx.expectations
    return [
        # VALIDATION: the invoice format. CLEANING: the "C" (cancellation, ~19k lines) and "A"
        # (bad-debt adjustment) invoices match it and are dropped by clean_transactions.
        e.ExpectColumnValuesToMatchRegex(column="Invoice", regex=INVOICE_PATTERN),
        # VALIDATION: |Quantity| <= 100,000. CLEANING: negative quantities (cancellations, ~3.4k
        # price-0 stock adjustments) are real records and dropped by clean_transactions, so the range
        # is symmetric; the 80,995-unit order is real and kept.
        e.ExpectColumnValuesToBeBetween(
            column="Quantity", min_value=-MAX_ABS_QUANTITY, max_value=MAX_ABS_QUANTITY
        ),
        # VALIDATION: price in [-60,000, 100,000]. CLEANING: the ~6k price-0 lines and the 5 negative
        # "Adjust bad debt" lines (invoice A..., StockCode B, down to -53,594.36) are bookkeeping, dropped
        # by clean_transactions; negatives are allowed so that they do not stop the run.
        e.ExpectColumnValuesToBeBetween(column="Price", min_value=MIN_PRICE, max_value=MAX_PRICE),
        # VALIDATION: a country outside the 43 known is a new store or a typo; the model has never seen
        # it (its one-hot encoder would ignore it silently), so someone must add it here on purpose.
        e.ExpectColumnValuesToBeInSet(column="Country", value_set=list(COUNTRIES)),
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
