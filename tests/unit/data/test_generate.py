"""Tests of the weekly ``store_sales`` generator: deterministic, stable when extended, shaped as documented
(promotions, prices, seasons, slow sellers, store attributes), learnable, and fast at 100,000 entities."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fti.data.generate import StoreSales, generate
from fti.data.source import read_future, read_partitions
from fti.specs.loader import load_spec
from fti.specs.model import DatasetSpec

SPECS = Path(__file__).parents[3] / "specs"
SMALL = StoreSales(n_stores=6, n_products=12, weeks=20, seed=3)


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return load_spec(SPECS / "store_sales.yaml")


def read(spec: DatasetSpec, raw: Path, config: StoreSales) -> pd.DataFrame:
    """The observed weeks, then the planned ones (which land in the ``planned/`` sub-folder)."""
    last = config.start + timedelta(weeks=config.weeks - 1)
    observed = read_partitions(spec, raw, config.start, last)
    if not config.future_weeks:
        return observed
    first_planned = config.start + timedelta(weeks=config.weeks)
    planned = read_future(spec, raw, first_planned, first_planned + timedelta(weeks=config.future_weeks - 1))
    return pd.concat([observed, planned], ignore_index=True)


@pytest.fixture(scope="module")
def three_years(spec: DatasetSpec, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """20 stores x 40 products x 156 weeks, read back through the landing layout."""
    config = StoreSales(n_stores=20, n_products=40, weeks=156, seed=11)
    raw = tmp_path_factory.mktemp("raw")
    generate(spec, raw, config)
    return read(spec, raw, config)


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_data(
    spec: DatasetSpec, tmp_path: Path
) -> None:
    first = generate(spec, tmp_path / "a", SMALL)
    again = generate(spec, tmp_path / "b", SMALL)
    other = generate(spec, tmp_path / "c", StoreSales(n_stores=6, n_products=12, weeks=20, seed=4))

    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert first[5].read_bytes() != other[5].read_bytes()


def test_files_are_one_parquet_per_week_named_by_its_monday(spec: DatasetSpec, tmp_path: Path) -> None:
    paths = generate(spec, tmp_path, SMALL)

    assert (
        len(paths) == 20 and paths[0].name == "2022-01-03.parquet" and paths[-1].name == "2022-05-16.parquet"
    )
    assert all(date.fromisoformat(p.stem).weekday() == 0 for p in paths)


def test_more_weeks_leave_the_earlier_weeks_unchanged_and_planned_weeks_match_what_happens(
    spec: DatasetSpec, tmp_path: Path
) -> None:
    planned = StoreSales(n_stores=6, n_products=12, weeks=20, future_weeks=4, seed=3)
    longer = StoreSales(n_stores=6, n_products=12, weeks=24, seed=3)
    short = generate(spec, tmp_path / "planned", planned)
    long = generate(spec, tmp_path / "longer", longer)

    assert [p.read_bytes() for p in short[:20]] == [p.read_bytes() for p in long[:20]]
    assert all(p.parent.name == "planned" for p in short[20:]) and len(short) == 24
    future, actual = read(spec, tmp_path / "planned", planned), read(spec, tmp_path / "longer", longer)
    ahead = future["week"] >= pd.Timestamp(planned.start + timedelta(weeks=20))
    assert future.loc[ahead, "units"].isna().all() and future.loc[~ahead, "units"].notna().all()
    pd.testing.assert_frame_equal(
        future.loc[ahead].drop(columns="units").reset_index(drop=True),
        actual.loc[ahead].drop(columns="units").reset_index(drop=True),
    )


def test_one_row_per_store_product_and_week_with_constant_store_attributes(three_years: pd.DataFrame) -> None:
    frame = three_years

    assert len(frame) == 20 * 40 * 156 and not frame.duplicated(["store", "product", "week"]).any()
    per_store = frame.groupby("store")[["store_size", "store_type"]].nunique()
    assert (per_store == 1).all().all()
    sizes = frame.groupby("store_type")["store_size"].agg(["min", "max"])
    assert sizes.loc["express", "max"] <= sizes.loc["super", "min"] <= sizes.loc["super", "max"]
    assert sizes.loc["super", "max"] <= sizes.loc["hyper", "min"]


def test_promotions_cut_the_price_and_lift_units(three_years: pd.DataFrame) -> None:
    frame = three_years.assign(
        units_vs_usual=lambda f: f["units"] / f.groupby(["store", "product"])["units"].transform("mean"),
        price_vs_usual=lambda f: f["price"] / f.groupby(["store", "product"])["price"].transform("median"),
    )
    by_promo = frame.groupby("promo")[["units_vs_usual", "price_vs_usual"]].mean()

    assert 0.03 < frame["promo"].mean() < 0.15
    assert by_promo.loc[1, "price_vs_usual"] < 0.9 < by_promo.loc[0, "price_vs_usual"]
    assert by_promo.loc[1, "units_vs_usual"] > 1.5 * by_promo.loc[0, "units_vs_usual"]


def test_a_higher_price_outside_promotions_sells_less(three_years: pd.DataFrame) -> None:
    regular = three_years[three_years["promo"] == 0]
    entity = regular.groupby(["store", "product"])
    busy = entity["units"].transform("mean") > 5
    log_price = np.log(regular["price"] / entity["price"].transform("mean"))[busy]
    log_units = np.log((regular["units"] + 0.5) / entity["units"].transform("mean"))[busy]

    slope = np.polyfit(log_price, log_units, 1)[0]

    assert slope < -0.5  # demand falls with price; the generated elasticities are -2.5 .. -0.8


def test_the_seasonal_pattern_repeats_every_year(three_years: pd.DataFrame) -> None:
    weekly = three_years.groupby("week")["units"].sum().to_numpy()
    first, second = weekly[:52], weekly[52:104]

    assert np.corrcoef(first, second)[0, 1] > 0.6


def test_slow_sellers_sell_nothing_in_most_weeks(three_years: pd.DataFrame) -> None:
    zero_share = three_years.groupby("product")["units"].apply(lambda u: (u == 0).mean())

    assert 0.05 < (three_years["units"] == 0).mean() < 0.4
    assert zero_share.max() > 0.5 and zero_share.min() < 0.05


def wape(actual: pd.Series, forecast: pd.Series) -> float:
    return float(np.abs(actual - forecast).sum() / np.abs(actual).sum())


def test_a_model_with_price_and_promotion_clearly_beats_the_seasonal_naive(three_years: pd.DataFrame) -> None:
    import xgboost as xgb

    frame = three_years.sort_values(["store", "product", "week"]).reset_index(drop=True)
    units = frame.groupby(["store", "product"])["units"]
    frame["lag_1"], frame["lag_2"], frame["lag_52"] = units.shift(1), units.shift(2), units.shift(52)
    frame["mean_4"] = units.transform(lambda u: u.shift(1).rolling(4).mean())
    frame["mean_13"] = units.transform(lambda u: u.shift(1).rolling(13).mean())
    frame["price_vs_product"] = frame["price"] / frame.groupby("product")["price"].transform("mean")
    frame["week_of_year"] = frame["week"].dt.isocalendar().week.astype(int)
    frame["n"] = frame.groupby(["store", "product"]).cumcount()
    history = ["lag_1", "lag_2", "lag_52", "mean_4", "mean_13", "week_of_year", "store_size"]
    train, test = frame[(frame["n"] >= 52) & (frame["n"] < 130)], frame[frame["n"] >= 130]

    def fitted(columns: list[str]) -> float:
        model = xgb.XGBRegressor(
            n_estimators=100, max_depth=6, learning_rate=0.1, objective="reg:absoluteerror"
        )
        model.fit(train[columns].astype(float), train["units"])
        return wape(test["units"], model.predict(test[columns].astype(float)))

    seasonal_naive = wape(test["units"], test["lag_52"])
    with_covariates = fitted([*history, "price", "price_vs_product", "promo"])

    assert with_covariates < 0.75 * seasonal_naive
    assert with_covariates < fitted(history)


def test_a_spec_of_other_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not describe the generated data: columns"):
        generate(load_spec(SPECS / "online_retail.yaml"), tmp_path, SMALL)


def test_a_start_that_is_not_a_monday_is_refused() -> None:
    with pytest.raises(ValueError, match=r"start must be a Monday, got 2024-03-06 \(Wednesday\)"):
        StoreSales(start=date(2024, 3, 6))


def test_one_hundred_thousand_entities_by_three_years_generate_in_well_under_a_minute(
    spec: DatasetSpec, tmp_path: Path
) -> None:
    config = StoreSales(n_stores=200, n_products=500, weeks=156)

    started = time.perf_counter()
    paths = generate(spec, tmp_path, config)
    elapsed = time.perf_counter() - started

    assert len(paths) == 156 and elapsed < 30, f"{elapsed:.1f} s"
    assert len(read_partitions(spec, tmp_path, config.start, config.start)) == 100_000
