"""Daily demand per entity (country x stock code) and the features computed from it.

One definition serves every pipeline: the feature pipeline stores what :func:`build_features`
returns, training and inference read it back and only add the horizon columns
(:func:`fti.features.model_inputs.expand_horizons`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Days of history a feature row needs besides its own day (longest lag / window).
LOOKBACK_DAYS = 28
#: Stock codes of real products start with five digits; the rest (POST, DOT, M, BANK CHARGES,
#: AMAZONFEE, gift vouchers, ...) are fees and adjustments, not demand.
PRODUCT_CODE_PATTERN = r"^\d{5}"
ENTITY_SEPARATOR = "|"

KEY_COLUMNS = ["entity", "country", "stock_code", "date"]
#: Features that are units sold (a day's demand, its lags and rolling statistics): never negative,
#: heavy-tailed, binned alike.
DEMAND_COLUMNS = (
    "demand",
    "lag_1",
    "lag_7",
    "lag_14",
    "lag_28",
    "rolling_mean_7",
    "rolling_mean_14",
    "rolling_mean_28",
    "rolling_median_7",
)
FEATURE_COLUMNS = [
    *DEMAND_COLUMNS,
    "active_days_28",
    "avg_price_28",
    "day_of_week",
    "month",
]


def clean_transactions(raw: pd.DataFrame) -> pd.DataFrame:
    """Keep the invoice lines that are product sales; cancellations, returns and fees are not demand.

    Args:
        raw: transactions with the raw columns (``Invoice``, ``StockCode``, ``Quantity``,
            ``InvoiceDate`` parsed as datetime, ``Price``, ``Country``).

    Returns:
        Columns ``country``, ``stock_code``, ``date`` (day), ``quantity``, ``revenue``.
    """
    import pandas as pd

    is_sale = (
        ~raw["Invoice"].str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["Price"] > 0)
        & raw["StockCode"].str.match(PRODUCT_CODE_PATTERN)
    )
    sales = raw.loc[is_sale]
    return pd.DataFrame(
        {
            "country": sales["Country"].astype(str).to_numpy(),
            "stock_code": sales["StockCode"].str.upper().to_numpy(),
            "date": sales["InvoiceDate"].dt.normalize().to_numpy(),
            "quantity": sales["Quantity"].astype("int64").to_numpy(),
            "revenue": (sales["Quantity"] * sales["Price"]).to_numpy(),
        }
    )


def daily_demand(sales: pd.DataFrame) -> pd.DataFrame:
    """Sum cleaned sales to one row per entity and day (days without sales are absent)."""
    grouped = sales.groupby(["country", "stock_code", "date"], sort=True, observed=True)
    return grouped.agg(demand=("quantity", "sum"), revenue=("revenue", "sum")).reset_index()


def feature_window(day: date) -> tuple[date, date]:
    """First and last day of history that the features of ``day`` are computed from."""
    return day - timedelta(days=LOOKBACK_DAYS), day


def build_features(demand: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Compute one feature row per entity active in the last 28 days, for each day in [start, end].

    Only demand on or before a row's own day is used, so a row never sees its future.

    Args:
        demand: output of :func:`daily_demand` covering at least ``start - 28 days`` .. ``end``.
        start: first feature day (inclusive).
        end: last feature day (inclusive).

    Returns:
        Columns :data:`KEY_COLUMNS` + :data:`FEATURE_COLUMNS`, sorted by date then entity.
    """
    import pandas as pd

    first = pd.Timestamp(start) - pd.Timedelta(days=LOOKBACK_DAYS)
    days = pd.date_range(first, pd.Timestamp(end), freq="D")
    window = demand[(demand["date"] >= days[0]) & (demand["date"] <= days[-1])]
    qty = window.pivot_table(
        index=["country", "stock_code"], columns="date", values="demand", aggfunc="sum", fill_value=0
    ).reindex(columns=days, fill_value=0)
    rev = window.pivot_table(
        index=["country", "stock_code"], columns="date", values="revenue", aggfunc="sum", fill_value=0.0
    ).reindex(index=qty.index, columns=days, fill_value=0.0)
    keys = qty.index
    q, r = qty.to_numpy(dtype="float64"), rev.to_numpy(dtype="float64")
    frames = [_features_for_day(keys, q, r, days[i], i) for i in range(LOOKBACK_DAYS, len(days))]
    features = pd.concat(frames, ignore_index=True) if frames else _empty_features()
    return features.sort_values(["date", "entity"], ignore_index=True)


def _features_for_day(
    entities: pd.MultiIndex, qty: np.ndarray, rev: np.ndarray, day: pd.Timestamp, i: int
) -> pd.DataFrame:
    """Feature rows of ``day``, column ``i`` of the dense entity x day quantity and revenue matrices."""
    import pandas as pd

    last28 = qty[:, i - 27 : i + 1]
    active = last28.sum(axis=1) > 0
    q, last28 = qty[active], last28[active]
    revenue28 = rev[active, i - 27 : i + 1].sum(axis=1)
    qty28 = last28.sum(axis=1)
    keys = entities[active]
    countries = keys.get_level_values(0).astype(str)
    codes = keys.get_level_values(1).astype(str)
    return pd.DataFrame(
        {
            "entity": countries + ENTITY_SEPARATOR + codes,
            "country": countries,
            "stock_code": codes,
            "date": pd.Series(day, index=range(len(codes))).dt.date,
            "demand": q[:, i],
            "lag_1": q[:, i - 1],
            "lag_7": q[:, i - 7],
            "lag_14": q[:, i - 14],
            "lag_28": q[:, i - 28],
            "rolling_mean_7": last28[:, -7:].mean(axis=1),
            "rolling_mean_14": last28[:, -14:].mean(axis=1),
            "rolling_mean_28": last28.mean(axis=1),
            "rolling_median_7": np.median(last28[:, -7:], axis=1),
            "active_days_28": (last28 > 0).sum(axis=1).astype("int64"),
            "avg_price_28": np.divide(revenue28, qty28, out=np.zeros_like(qty28), where=qty28 > 0),
            "day_of_week": np.full(len(codes), day.dayofweek, dtype="int64"),
            "month": np.full(len(codes), day.month, dtype="int64"),
        }
    )


def _empty_features() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in KEY_COLUMNS + FEATURE_COLUMNS})
