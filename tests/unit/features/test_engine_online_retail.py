"""The spec engine reproduces the Online Retail features of the per-day code it replaces, value for value.

The reference (``tests/fixtures/online_retail_features_reference.parquet``) was computed by
``fti.features.demand.build_features`` from the raw slice next to it (France, Germany and EIRE,
2011-07-04 .. 2011-11-30; see ``tests/fixtures/make_online_retail_reference.py``). The engine gets the
same raw lines and ``online_retail.yaml`` only: filters, entity, aggregation and features all come
from the spec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fti.features.aggregate import to_panel
from fti.features.engine import build_features
from fti.specs import DatasetSpec, load_spec

FIXTURES = Path(__file__).parents[2] / "fixtures"
FIRST, LAST = "2011-08-01", "2011-11-30"


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return load_spec(FIXTURES.parents[1] / "specs" / "online_retail.yaml")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_parquet(FIXTURES / "online_retail_raw_slice.parquet")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """Today's feature rows, with ``date`` renamed ``period`` (the only change the design allows)."""
    frame = pd.read_parquet(FIXTURES / "online_retail_features_reference.parquet")
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[us]")
    return frame.rename(columns={"date": "period"})


def assert_same_rows_and_values(reference: pd.DataFrame, computed: pd.DataFrame) -> None:
    """Same rows in the same order; integers and texts equal, floats to 1e-12, dtypes kept."""
    assert len(computed) == len(reference)
    for column in reference.columns:
        expected, got = reference[column], computed[column]
        assert got.dtype == expected.dtype, column
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12, err_msg=column)
        else:
            assert (got.to_numpy() == expected.to_numpy()).all(), column


def test_online_retail_spec_reproduces_the_per_day_features_value_for_value(
    spec: DatasetSpec, raw: pd.DataFrame, reference: pd.DataFrame
) -> None:
    computed = build_features(to_panel(raw, spec), spec, FIRST, LAST)

    assert_same_rows_and_values(reference, computed)
    # The one addition: the spec's past-only covariate (revenue of the counted lines) at the period.
    assert set(computed.columns) - set(reference.columns) == {"revenue"}


def test_nullable_integer_quantities_give_the_same_features(
    spec: DatasetSpec, raw: pd.DataFrame, reference: pd.DataFrame
) -> None:
    typed = raw.astype({"Quantity": "Int64"})

    assert_same_rows_and_values(reference, build_features(to_panel(typed, spec), spec, FIRST, LAST))


def test_a_daily_run_on_just_its_look_back_gives_the_backfill_rows_of_that_day(
    spec: DatasetSpec, raw: pd.DataFrame, reference: pd.DataFrame
) -> None:
    day = pd.Timestamp("2011-10-14")
    history = raw[
        (raw["InvoiceDate"] >= day - pd.Timedelta(days=spec.features.lookback))
        & (raw["InvoiceDate"] < day + pd.Timedelta(days=1))
    ]

    computed = build_features(to_panel(history, spec), spec, day, day)

    expected = reference[reference["period"] == day].reset_index(drop=True)
    assert len(expected) > 100
    assert_same_rows_and_values(expected, computed)
