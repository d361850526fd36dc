"""Tests of the per-column statistics a commit records: values, fixed bins, JSON form, summing days."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from fti.features.schema import bins, calendar_names
from fti.settings import PROJECT_ROOT
from fti.specs import load_dataset
from fti.store.statistics import (
    DEFAULT_EDGES,
    QUANTILES,
    SHARE_EDGES,
    BinEdgesMismatch,
    FeatureStatistics,
    bin_edges,
    compute_statistics,
    sum_histograms,
    unit_edges,
)

DEMAND = [0.0, 1.0, 2.0, 3.0, 3.0, 5.0, 8.0, 13.0, 40.0, 1000.0, np.nan]
SPECS = PROJECT_ROOT / "specs"
SHIPPED = ("online_retail", "car_parks", "store_sales")
FIXED_BINS = bins(load_dataset(SPECS, "online_retail"))
"""The edges the online_retail spec gives its columns (day_of_week, month, active_days_28, ...)."""


def known_frame() -> pd.DataFrame:
    """One column of each kind: float with a null, int, nullable int, bool, string, date, unknown float."""
    return pd.DataFrame(
        {
            "entity": ["a", "b", "b", None, "c", "a", "a", "d", "e", "e", "e"],
            "date": [date(2024, 3, 1)] * 11,
            "demand": DEMAND,
            "day_of_week": pd.Series([0, 1, 2, 3, 4, 5, 6, 6, 6, 0, 1], dtype="int64"),
            "active_days_28": pd.array([1, 2, None, 28, 28, 5, 5, 5, 7, 7, 0], dtype="Int64"),
            "promoted": [True, False, False, True, False, False, False, False, False, False, True],
            "score": [-2.5, -0.001, 0.0, 0.3, 7.0, 12.0, np.inf, 5e6, 2e7, -np.inf, np.nan],
        }
    )


def by_column(stats: list[FeatureStatistics]) -> dict[str, FeatureStatistics]:
    return {s.column: s for s in stats}


def test_numeric_statistics_equal_numpy_on_the_non_null_values() -> None:
    stats = by_column(compute_statistics(known_frame(), FIXED_BINS))["demand"]
    values = np.array([v for v in DEMAND if not math.isnan(v)])

    assert (stats.kind, stats.count, stats.null_count, stats.infinite_count) == ("numeric", 10, 1, 0)
    assert stats.mean == pytest.approx(np.mean(values), rel=1e-12)
    assert stats.std == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert (stats.min, stats.max) == (0.0, 1000.0)
    expected = np.quantile(values, [p for _, p in QUANTILES])
    assert list(stats.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    assert list(stats.quantiles.values()) == pytest.approx(expected.tolist(), rel=1e-12)
    assert stats.bin_edges == DEFAULT_EDGES
    assert stats.histogram == tuple(np.histogram(values, bins=DEFAULT_EDGES)[0])
    filled = {DEFAULT_EDGES[i]: n for i, n in enumerate(stats.histogram) if n}
    assert filled == {0.0: 1, 1.0: 1, 2.0: 3, 5.0: 2, 10.0: 1, 20.0: 1, 1000.0: 1}  # 1-2-5 steps
    assert sum(stats.histogram) == stats.count and stats.out_of_range == 0


def test_integer_columns_fall_one_value_per_unit_bin() -> None:
    stats = by_column(compute_statistics(known_frame(), FIXED_BINS))

    assert stats["day_of_week"].bin_edges == (-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5)
    assert stats["day_of_week"].histogram == (2, 2, 1, 1, 1, 1, 3)
    active = stats["active_days_28"]
    assert (active.count, active.null_count, len(active.histogram)) == (10, 1, 29)
    assert active.histogram[0] == 1 and active.histogram[28] == 2 and active.histogram[5] == 3
    assert active.mean == pytest.approx(np.mean([1, 2, 28, 28, 5, 5, 5, 7, 7, 0]))


def test_booleans_are_numeric_with_their_share_as_mean() -> None:
    promoted = by_column(compute_statistics(known_frame(), FIXED_BINS))["promoted"]

    assert promoted.kind == "numeric"
    assert promoted.mean == pytest.approx(3 / 11)


def test_string_columns_get_counts_and_distinct_values_and_dates_get_nothing() -> None:
    stats = by_column(compute_statistics(known_frame(), FIXED_BINS))

    entity = stats["entity"]
    assert (entity.kind, entity.count, entity.null_count, entity.distinct_count) == ("string", 10, 1, 5)
    assert entity.mean is None and entity.histogram == ()
    assert "date" not in stats
    assert list(stats) == ["entity", "demand", "day_of_week", "active_days_28", "promoted", "score"]


def test_infinities_are_counted_apart_from_the_moments_and_binned_on_open_default_edges() -> None:
    score = by_column(compute_statistics(known_frame(), FIXED_BINS))["score"]
    finite = np.array([-2.5, -0.001, 0.0, 0.3, 7.0, 12.0, 5e6, 2e7])

    assert (score.count, score.null_count, score.infinite_count) == (10, 1, 2)
    assert score.mean == pytest.approx(finite.mean()) and score.max == 2e7
    assert score.bin_edges == DEFAULT_EDGES
    with_infinities = np.array([*finite, np.inf, -np.inf])
    assert score.histogram == tuple(np.histogram(with_infinities, bins=DEFAULT_EDGES)[0])
    assert sum(score.histogram) == 10


def test_values_outside_the_edges_are_counted_as_out_of_range_not_binned() -> None:
    stats = compute_statistics(pd.DataFrame({"month": [0, 1, 12, 13]}), FIXED_BINS)[0]

    assert stats.out_of_range == 2
    assert stats.histogram == (1,) + (0,) * 10 + (1,) and stats.min == 0.0


def test_partitions_with_different_ranges_get_the_same_edges() -> None:
    small = compute_statistics(pd.DataFrame({"active_days_28": [0.0, 1.0], "x": [0.1, 0.2]}), FIXED_BINS)
    large = compute_statistics(pd.DataFrame({"active_days_28": [5e4, 9e5], "x": [-8e5, 3e9]}), FIXED_BINS)

    assert [s.bin_edges for s in small] == [s.bin_edges for s in large] == [unit_edges(0, 28), DEFAULT_EDGES]


def test_empty_and_single_value_frames_have_no_undefined_numbers() -> None:
    empty = compute_statistics(pd.DataFrame({"demand": pd.Series([], dtype="float64")}), FIXED_BINS)[0]
    one = compute_statistics(pd.DataFrame({"demand": [4.0]}), FIXED_BINS)[0]

    assert (empty.count, empty.mean, empty.quantiles, sum(empty.histogram)) == (0, None, {}, 0)
    assert (one.mean, one.std, one.quantiles["p99"]) == (4.0, None, 4.0)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_binned_column_of_a_shipped_spec_has_edges_that_increase_strictly(name: str) -> None:
    spec_bins = bins(load_dataset(SPECS, name))

    for column in spec_bins:
        edges = bin_edges(column, spec_bins)
        assert all(b > a for a, b in zip(edges, edges[1:], strict=False)), column
    assert bin_edges("never_declared", spec_bins) == DEFAULT_EDGES


def test_counts_shares_calendar_features_and_the_horizon_get_unit_or_share_edges_from_the_spec() -> None:
    online_retail, car_parks, store_sales = (bins(load_dataset(SPECS, n)) for n in SHIPPED)

    assert online_retail["active_days_28"] == unit_edges(0, 28)  # a renamed nonzero_count
    assert online_retail["month"] == online_retail["target_month"] == unit_edges(1, 12)
    assert online_retail["horizon"] == unit_edges(0, 7)
    assert car_parks["hour"] == car_parks["target_hour"] == unit_edges(0, 23)
    assert car_parks["is_holiday"] == unit_edges(0, 1)
    assert car_parks["horizon"] == unit_edges(0, 24)  # gap 15 + horizon 9
    assert store_sales["rolling_nonzero_share_13"] == SHARE_EDGES
    assert store_sales["week_of_year"] == unit_edges(1, 53)
    assert set(calendar_names(load_dataset(SPECS, "car_parks"))) <= set(car_parks)
    assert "demand" not in online_retail and "units" not in store_sales  # amounts: the default edges


def test_share_edges_give_a_full_share_a_bin_of_its_own() -> None:
    stats = compute_statistics(pd.DataFrame({"share": [0.0, 0.04, 0.95, 0.99, 1.0]}), {"share": SHARE_EDGES})[
        0
    ]

    assert stats.histogram[0] == 2 and stats.histogram[-2] == 2 and stats.histogram[-1] == 1
    assert stats.out_of_range == 0


def test_edges_that_do_not_increase_are_refused_naming_the_column() -> None:
    with pytest.raises(ValueError, match="'demand'"):
        compute_statistics(pd.DataFrame({"demand": [1.0]}), {"demand": [0.0, 2.0, 1.0]})


def test_statistics_round_trip_through_strict_json() -> None:
    for stats in compute_statistics(known_frame(), FIXED_BINS):
        text = stats.to_json()

        json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
        assert FeatureStatistics.from_json(text) == stats


def test_histograms_of_several_days_add_up_bin_by_bin() -> None:
    day1 = compute_statistics(pd.DataFrame({"active_days_28": [0.0, 1.0, 1.0]}), FIXED_BINS)[0]
    day2 = compute_statistics(pd.DataFrame({"active_days_28": [1.0, 2.0, -1.0]}), FIXED_BINS)[0]

    total = sum_histograms("active_days_28", [(date(2024, 3, 1), day1), (date(2024, 3, 2), day2)])

    assert total.counts == tuple(a + b for a, b in zip(day1.histogram, day2.histogram, strict=True))
    assert total.counts[:4] == (1, 3, 1, 0) and total.out_of_range == 1 and total.total == 5
    assert total.days == (date(2024, 3, 1), date(2024, 3, 2))
    assert sum(total.frequencies()) == pytest.approx(1.0)


def test_histograms_on_different_edges_are_not_added_up() -> None:
    demand = compute_statistics(pd.DataFrame({"demand": [1.0]}), FIXED_BINS)[0]
    other = compute_statistics(pd.DataFrame({"demand": [1.0]}), {"demand": [0.0, 10.0]})[0]

    with pytest.raises(BinEdgesMismatch, match="2024-03-02"):
        sum_histograms("demand", [(date(2024, 3, 1), demand), (date(2024, 3, 2), other)])
    with pytest.raises(ValueError, match="no statistics of 'demand'"):
        sum_histograms("demand", [])


def test_an_empty_frame_keeps_string_columns_and_still_skips_date_columns() -> None:
    frame = pd.DataFrame(
        {
            "entity": pd.Series([], dtype="str"),
            "date": pd.Series([], dtype="object"),
            "country": pd.Series(["FR", "DE"], dtype="category").iloc[:0],
            "demand": pd.Series([], dtype="float64"),
        }
    )

    stats = by_column(compute_statistics(frame, FIXED_BINS))

    assert {c: s.kind for c, s in stats.items()} == {
        "entity": "string",
        "country": "string",
        "demand": "numeric",
    }
    assert (stats["entity"].count, stats["entity"].distinct_count) == (0, 0)
