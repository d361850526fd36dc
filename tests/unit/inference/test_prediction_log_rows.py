"""The log's rows: one per entity and step, entity-major, values in float32 as Redis holds them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fti.inference.prediction_log import log_rows
from fti.store.prediction_log import LOG_KEYS


def inputs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity": ["a", "a", "b", "b"],
            "period": pd.Timestamp("2024-01-07"),
            "horizon": [1, 2, 1, 2],
            "target_period": pd.to_datetime(["2024-01-08", "2024-01-09"] * 2),
            "price": [1.0, 2.0, 3.0, 4.0],
        }
    )


def test_each_input_row_gets_its_point_then_its_quantiles() -> None:
    values = np.arange(12, dtype="float64").reshape(2, 2, 3) + 0.1

    out = log_rows(inputs(), values, ["p10", "p90"])

    assert list(out.columns) == [*LOG_KEYS, "point", "p10", "p90"]
    assert out["feature_period"].eq(pd.Timestamp("2024-01-07")).all()
    assert out[["point", "p10", "p90"]].dtypes.eq("float32").all()
    assert out["point"].tolist() == pytest.approx([0.1, 3.1, 6.1, 9.1], rel=1e-6)
    assert out.loc[3, ["p10", "p90"]].tolist() == pytest.approx([10.1, 11.1], rel=1e-6)


def test_a_point_forecast_has_no_quantile_columns() -> None:
    out = log_rows(inputs(), np.ones((2, 2)), [])

    assert list(out.columns) == [*LOG_KEYS, "point"]


def test_values_that_do_not_fit_the_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="2 values per row for the point and 2 quantiles"):
        log_rows(inputs(), np.ones((2, 2, 2)), ["p10", "p90"])
