"""Tests of the demand features: cleaning raw lines, daily sums and the feature rows built from them."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from fti.features.demand import (
    FEATURE_COLUMNS,
    KEY_COLUMNS,
    LOOKBACK_DAYS,
    build_features,
    clean_transactions,
    daily_demand,
)

DAY = date(2024, 3, 1)  # a Friday


def raw_lines(*lines: dict[str, object]) -> pd.DataFrame:
    """Typed raw transactions (as read_raw_file returns them); each line overrides a valid sale."""
    sale = {
        "Invoice": "489434",
        "StockCode": "85048",
        "Description": "a product",
        "Quantity": 2,
        "InvoiceDate": pd.Timestamp("2024-03-01 10:15"),
        "Price": 1.5,
        "Customer ID": 13085,
        "Country": "United Kingdom",
    }
    return pd.DataFrame([{**sale, **line} for line in lines])


def demand_rows(rows: list[tuple[str, str, date, int, float]]) -> pd.DataFrame:
    """A daily_demand-shaped frame from (country, stock_code, day, demand, price) tuples."""
    return pd.DataFrame(
        {
            "country": [r[0] for r in rows],
            "stock_code": [r[1] for r in rows],
            "date": pd.to_datetime([r[2] for r in rows]),
            "demand": [r[3] for r in rows],
            "revenue": [r[3] * r[4] for r in rows],
        }
    )


@pytest.mark.parametrize(
    "bad_line",
    [
        pytest.param({"Invoice": "C489449", "Quantity": 2}, id="cancellation-invoice"),
        pytest.param({"Quantity": 0}, id="zero-quantity"),
        pytest.param({"Quantity": -3}, id="negative-quantity"),
        pytest.param({"Price": 0.0}, id="zero-price"),
        pytest.param({"Price": -11062.06}, id="negative-price"),
        pytest.param({"StockCode": "POST"}, id="postage"),
        pytest.param({"StockCode": "DOT"}, id="dotcom-postage"),
        pytest.param({"StockCode": "M"}, id="manual"),
        pytest.param({"StockCode": "BANK CHARGES"}, id="bank-charges"),
        pytest.param({"StockCode": "AMAZONFEE"}, id="amazon-fee"),
        pytest.param({"StockCode": "C2"}, id="carriage"),
        pytest.param({"StockCode": "gift_0001_20"}, id="gift-voucher"),
    ],
)
def test_clean_transactions_drops_lines_that_are_not_product_sales(bad_line: dict[str, object]) -> None:
    raw = raw_lines({"Invoice": "1", "StockCode": "85123A"}, bad_line)

    cleaned = clean_transactions(raw)

    assert cleaned["stock_code"].tolist() == ["85123A"]


def test_clean_transactions_keeps_product_lines_as_daily_quantity_and_revenue() -> None:
    raw = raw_lines(
        {
            "StockCode": "85123A",
            "Quantity": 6,
            "Price": 2.55,
            "InvoiceDate": pd.Timestamp("2024-03-01 07:45"),
        },
        {"StockCode": "21232", "Quantity": 12, "Price": 1.25, "Country": "France"},
        {"StockCode": "85123a", "Quantity": 1, "Price": 3.0, "InvoiceDate": pd.Timestamp("2024-03-02 19:59")},
    )

    cleaned = clean_transactions(raw)

    assert list(cleaned.columns) == ["country", "stock_code", "date", "quantity", "revenue"]
    assert cleaned["country"].tolist() == ["United Kingdom", "France", "United Kingdom"]
    assert cleaned["stock_code"].tolist() == ["85123A", "21232", "85123A"]  # case folded to one product
    assert cleaned["date"].tolist() == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2024-03-02"),
    ]
    assert cleaned["quantity"].tolist() == [6, 12, 1]
    assert cleaned["revenue"].tolist() == pytest.approx([15.3, 15.0, 3.0])


def test_daily_demand_sums_lines_per_entity_and_day_and_omits_days_without_sales() -> None:
    sales = pd.DataFrame(
        {
            "country": ["UK", "UK", "UK", "France"],
            "stock_code": ["85048", "85048", "85048", "85048"],
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-03", "2024-03-01"]),
            "quantity": [2, 5, 1, 4],
            "revenue": [3.0, 7.5, 1.5, 6.0],
        }
    )

    daily = daily_demand(sales)

    expected = pd.DataFrame(
        {
            "country": ["France", "UK", "UK"],
            "stock_code": ["85048", "85048", "85048"],
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-03"]),
            "demand": [4, 7, 1],
            "revenue": [6.0, 10.5, 1.5],
        }
    )
    pd.testing.assert_frame_equal(daily, expected, check_dtype=False)


def test_build_features_lags_and_windows_equal_hand_computed_values() -> None:
    # Demand of one entity on DAY - offset; revenue is demand x 2.0 except on DAY-14 (price 3.0)
    # and DAY-28 (price 10.0, just outside the 28-day window that ends on DAY).
    history = {0: 5, 1: 3, 2: 2, 3: 1, 4: 4, 7: 2, 14: 4, 28: 6}
    price = {14: 3.0, 28: 10.0}
    demand = demand_rows(
        [("UK", "85048", DAY - timedelta(days=k), q, price.get(k, 2.0)) for k, q in history.items()]
    )

    row = build_features(demand, DAY, DAY).iloc[0]

    assert (row["entity"], row["country"], row["stock_code"], row["date"]) == ("UK|85048", "UK", "85048", DAY)
    assert (row["demand"], row["lag_1"], row["lag_7"], row["lag_14"], row["lag_28"]) == (5, 3, 2, 4, 6)
    assert row["rolling_mean_7"] == pytest.approx((5 + 3 + 2 + 1 + 4) / 7)
    assert row["rolling_mean_14"] == pytest.approx((5 + 3 + 2 + 1 + 4 + 2) / 14)
    assert row["rolling_mean_28"] == pytest.approx((5 + 3 + 2 + 1 + 4 + 2 + 4) / 28)
    assert row["rolling_median_7"] == 2  # median of 0, 0, 4, 1, 2, 3, 5
    assert row["active_days_28"] == 7
    assert row["avg_price_28"] == pytest.approx((17 * 2.0 + 4 * 3.0) / 21)
    assert (row["day_of_week"], row["month"]) == (4, 3)


def test_build_features_gives_no_row_to_an_entity_without_sales_in_the_last_28_days() -> None:
    window_start = DAY - timedelta(days=LOOKBACK_DAYS - 1)
    demand = demand_rows(
        [
            ("UK", "10001", DAY, 1, 1.0),  # first sale on DAY: no row the day before
            ("UK", "20002", window_start - timedelta(days=1), 3, 1.0),  # in DAY-1's window, not DAY's
        ]
    )

    features = build_features(demand, DAY - timedelta(days=1), DAY)

    rows = set(zip(features["date"], features["entity"], strict=True))
    assert rows == {(DAY - timedelta(days=1), "UK|20002"), (DAY, "UK|10001")}


def test_build_features_never_uses_demand_after_the_row_day() -> None:
    start = DAY - timedelta(days=5)
    past = [("UK", "10001", start - timedelta(days=k), k % 4, 2.0) for k in range(0, 40)]
    later = [("UK", "10001", DAY - timedelta(days=k), 7, 2.0) for k in range(0, 5)]
    changed_later = [("UK", "10001", DAY - timedelta(days=k), 70, 9.0) for k in range(0, 5)]
    newcomer = [("France", "30003", DAY - timedelta(days=2), 4, 1.0)]

    original = build_features(demand_rows(past + later), start, DAY)
    changed = build_features(demand_rows(past + changed_later + newcomer), start, DAY)

    pd.testing.assert_frame_equal(original[original["date"] == start], changed[changed["date"] == start])
    assert not original[original["date"] > start].equals(changed[changed["date"] > start])


def test_build_features_returns_key_then_feature_columns_sorted_by_date_and_entity() -> None:
    demand = demand_rows(
        [
            ("UK", "10001", DAY - timedelta(days=3), 1, 1.0),
            ("France", "10001", DAY - timedelta(days=2), 2, 1.0),
        ]
    )

    features = build_features(demand, DAY - timedelta(days=1), DAY)

    assert list(features.columns) == KEY_COLUMNS + FEATURE_COLUMNS
    assert list(zip(features["date"], features["entity"], strict=True)) == [
        (DAY - timedelta(days=1), "France|10001"),
        (DAY - timedelta(days=1), "UK|10001"),
        (DAY, "France|10001"),
        (DAY, "UK|10001"),
    ]
    assert all(type(d) is date for d in features["date"])
