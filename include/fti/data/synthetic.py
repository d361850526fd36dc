"""Synthetic raw transactions of any size, in the raw schema of the demo data, for scale tests.

The shape follows the demo data: a catalogue of items, each with a base demand, a pack size and
a price; stores ("countries") of different sizes; a weekly profile with the shop closed on
Saturdays; gamma noise on every store-item-day's rate and Poisson counts of invoice lines;
invoices of several lines sharing a customer and a time; a few cancellations (``C`` invoices,
negative quantities) and some missing Customer IDs. Values are rendered as the shop exports
them (``InvoiceDate`` as ``M/D/YYYY H:MM`` text), so the same ingestion consumes both.

Generation is vectorised per day with numpy and deterministic per :class:`SyntheticSpec`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fti.data.online_retail import RAW_COLUMNS, write_raw_day

if TYPE_CHECKING:
    import pandas as pd

WEEKLY_PROFILE: tuple[float, ...] = (1.0, 1.04, 0.98, 1.07, 0.81, 0.0, 0.74)
"""Relative demand Monday..Sunday, measured on the demo data (which has no Saturday trade)."""
FIRST_INVOICE = 600000
"""First synthetic invoice number, above every invoice number of the demo data."""
CUSTOMERS_PER_STORE = 200
OPENING_MINUTES = (7 * 60, 20 * 60)
"""Invoices fall between 7:00 and 19:59, the hours of nearly all of the demo data's invoices."""
_EMPTY_DTYPES = {"Quantity": "int64", "Price": "float64", "Customer ID": "float64"}
PACK_SIZES = np.array([1, 2, 3, 4, 6, 8, 10, 12, 24])
_COLOURS = ("RED", "PINK", "WHITE", "BLUE", "GREEN", "IVORY", "BLACK", "VINTAGE", "RETRO", "PAISLEY")
_THINGS = (
    "T-LIGHT HOLDER", "HEART DECORATION", "LUNCH BAG", "MUG", "CAKE CASES", "PHOTO FRAME", "DOORMAT",
    "WATER BOTTLE", "JUMBO BAG", "PARTY BUNTING", "TEA SET", "CANDLE", "ALARM CLOCK", "NAPKINS", "TIN",
)  # fmt: skip


@dataclass(frozen=True)
class SyntheticSpec:
    """Size, period, seed and shape of a synthetic data set."""

    n_countries: int = 5
    """Number of stores, each a distinct ``Country`` value."""
    n_items: int = 50
    """Number of distinct ``StockCode`` values."""
    start: date = date(2024, 1, 1)
    """First calendar day."""
    n_days: int = 28
    """Number of calendar days; Saturdays have no trade: an empty frame and a header-only file."""
    seed: int = 0
    """Seed of every random draw: the same spec always gives the same data."""
    lines_per_cell: float = 0.1
    """Mean invoice lines per store, item and average open day."""
    lines_per_invoice: float = 12.0
    """Mean lines per invoice."""
    cancel_rate: float = 0.02
    """Share of invoices that are cancellations (``C`` prefix, negative quantities)."""
    missing_customer_rate: float = 0.2
    """Share of invoices without a Customer ID."""

    def __post_init__(self) -> None:
        """Reject sizes and rates out of range, naming the value seen."""
        for name in ("n_countries", "n_items", "lines_per_invoice"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("n_days", "lines_per_cell"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("cancel_rate", "missing_customer_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class _Catalogue:
    """What stays fixed over the days: items and stores."""

    codes: np.ndarray
    descriptions: np.ndarray
    prices: np.ndarray
    packs: np.ndarray
    item_demand: np.ndarray
    countries: np.ndarray
    store_size: np.ndarray


def _catalogue(spec: SyntheticSpec) -> _Catalogue:
    """Draw the items (code, description, price, pack size, base demand) and the stores (name, size)."""
    rng = np.random.default_rng([spec.seed, 0])
    n_items = spec.n_items
    demand = rng.lognormal(0.0, 1.0, n_items)
    size = rng.lognormal(0.0, 0.75, spec.n_countries)
    names = np.char.add(rng.choice(_COLOURS, n_items), " ")
    return _Catalogue(
        codes=np.char.mod("%05d", 10000 + rng.permutation(n_items)),
        descriptions=np.char.add(names, rng.choice(_THINGS, n_items)),
        # Prices in steps of 0.05, so they print as the shop's do (2.95, 0.85, 12.75).
        prices=np.maximum(np.round(np.exp(rng.normal(1.0, 0.6, n_items)) * 20), 1) / 20,
        packs=rng.choice(PACK_SIZES, n_items),
        item_demand=demand / demand.mean(),
        countries=_country_names(spec.n_countries),
        store_size=size / size.mean(),
    )


def write_dataset_spec(spec: SyntheticSpec, path: Path) -> Path:
    """A data-set spec like the default one whose allowed countries include all of ``spec``'s stores.

    For synthetic data sets of more stores than the real data has countries: point
    ``FTI_DATASET_SPEC`` (``Settings.dataset_spec``) at the file this writes.
    """
    import yaml

    from fti.data.spec import default_spec_path

    document = yaml.safe_load(default_spec_path().read_text())
    known = list(document["validation"]["countries"])
    extra = [str(c) for c in _country_names(spec.n_countries) if c not in known]
    document["validation"]["countries"] = known + extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


def _country_names(n: int) -> np.ndarray:
    """The data set's real countries first (so the raw suite's allowed set accepts them), then numbered ones.

    More than the 43 real countries gives names the default spec's raw suite rejects: validate
    such data sets with a spec from :func:`write_dataset_spec`.
    """
    from fti.data.spec import default_spec

    real = list(default_spec().validation.countries[:n])
    return np.array(real + [f"Country {i:03d}" for i in range(len(real) + 1, n + 1)])


def iter_days(spec: SyntheticSpec) -> Iterator[tuple[date, pd.DataFrame]]:
    """Yield ``(day, raw frame)`` for every day (empty on days without trade), one day in memory at a time."""
    cat = _catalogue(spec)
    next_invoice = FIRST_INVOICE
    for index in range(spec.n_days):
        day = spec.start + timedelta(days=index)
        weekly = WEEKLY_PROFILE[day.weekday()]
        rng = np.random.default_rng([spec.seed, 1, index])
        rates = spec.lines_per_cell * weekly * np.outer(cat.store_size, cat.item_demand)
        counts = rng.poisson(rates * rng.gamma(4.0, 0.25, rates.shape))
        frame, n_invoices = _day_frame(spec, cat, day, counts, rng, next_invoice)
        next_invoice += n_invoices
        yield day, frame


def _day_frame(
    spec: SyntheticSpec,
    cat: _Catalogue,
    day: date,
    counts: np.ndarray,
    rng: np.random.Generator,
    first_invoice: int,
) -> tuple[pd.DataFrame, int]:
    """Turn a day's line counts per (store, item) into invoice lines; also return the invoices numbered."""
    import pandas as pd

    cells = np.repeat(np.arange(counts.size), counts.ravel())
    store, item = np.divmod(cells, spec.n_items)
    invoices_per_store = np.ceil(np.bincount(store, minlength=spec.n_countries) / spec.lines_per_invoice)
    offsets = np.concatenate(([0], np.cumsum(invoices_per_store)[:-1])).astype(np.int64)
    invoice = offsets[store] + (rng.random(cells.size) * invoices_per_store[store]).astype(np.int64)
    n_invoices = int(invoices_per_store.sum())

    minute = rng.integers(*OPENING_MINUTES, n_invoices)
    number = np.empty(n_invoices, dtype=np.int64)
    number[np.lexsort((np.arange(n_invoices), minute))] = first_invoice + np.arange(n_invoices)
    cancelled = rng.random(n_invoices) < spec.cancel_rate
    invoice_store = np.repeat(np.arange(spec.n_countries), invoices_per_store.astype(np.int64))
    customer = (10000 + invoice_store * CUSTOMERS_PER_STORE).astype(np.float64)
    customer += rng.integers(0, CUSTOMERS_PER_STORE, n_invoices)
    customer[rng.random(n_invoices) < spec.missing_customer_rate] = np.nan

    order = np.lexsort((item, number[invoice]))
    invoice, item, store = invoice[order], item[order], store[order]
    quantity = cat.packs[item] * rng.geometric(0.5, cells.size)
    start_minute, end_minute = OPENING_MINUTES
    stamps = np.array(
        [f"{day.month}/{day.day}/{day.year} {m // 60}:{m % 60:02d}" for m in range(start_minute, end_minute)]
    )
    invoice_text = np.char.add(np.where(cancelled, "C", ""), number.astype(str))
    frame = pd.DataFrame(
        {
            "Invoice": invoice_text[invoice],
            "StockCode": cat.codes[item],
            "Description": cat.descriptions[item],
            "Quantity": np.where(cancelled[invoice], -quantity, quantity),
            "InvoiceDate": stamps[minute[invoice] - start_minute],
            "Price": cat.prices[item],
            "Customer ID": customer[invoice],
            "Country": cat.countries[store],
        },
        columns=list(RAW_COLUMNS),
    )
    return frame, n_invoices


def generate_transactions(spec: SyntheticSpec | None = None) -> pd.DataFrame:
    """All days of a synthetic data set in one raw frame (columns :data:`RAW_COLUMNS`).

    Invoice, StockCode, Description, InvoiceDate (raw text) and Country are strings, Quantity
    ``int64``, Price and Customer ID ``float64`` (NaN when missing), as the raw files render them.
    """
    import pandas as pd

    frames = [frame for _, frame in iter_days(spec or SyntheticSpec())]
    if not frames:
        return pd.DataFrame(
            {column: pd.Series(dtype=_EMPTY_DTYPES.get(column, "str")) for column in RAW_COLUMNS}
        )
    return pd.concat(frames, ignore_index=True)


def write_daily(raw_dir: Path, spec: SyntheticSpec | None = None) -> list[Path]:
    """Write a synthetic data set as daily raw files at ``raw_path(raw_dir, day)``; return them in date order.

    Every day of the period gets a file, as in :func:`~fti.data.online_retail.split_daily`; days
    without trade (Saturdays) a header-only one. Point ``raw_dir`` at a folder of its own: the
    layout is that of the demo data, so files of the same days would be replaced.
    """
    return [write_raw_day(raw_dir, day, frame) for day, frame in iter_days(spec or SyntheticSpec())]
