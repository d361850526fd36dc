"""Tests of the model inputs: one row per horizon with the target's calendar, labels from stored demand."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from fti.features.model_inputs import LABEL, attach_labels, expand_horizons

JAN_30 = date(2024, 1, 30)  # a Tuesday; horizons 2 and 3 cross into February


def feature_rows() -> pd.DataFrame:
    return pd.DataFrame({"entity": ["UK|10001", "FR|10001"], "date": [JAN_30, JAN_30], "lag_7": [4.0, 9.0]})


def test_expand_horizons_repeats_each_row_once_per_horizon_with_the_target_calendar() -> None:
    expanded = expand_horizons(feature_rows(), horizon_days=3)

    assert len(expanded) == 2 * 3
    assert expanded["entity"].tolist() == ["UK|10001"] * 3 + ["FR|10001"] * 3
    assert expanded["lag_7"].tolist() == [4.0] * 3 + [9.0] * 3
    assert expanded["horizon"].tolist() == [1, 2, 3, 1, 2, 3]
    assert expanded["target_date"].tolist() == [date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 2)] * 2
    assert expanded["target_day_of_week"].tolist() == [2, 3, 4] * 2  # Wednesday, Thursday, Friday


def test_expand_horizons_gives_the_same_rows_whatever_the_index() -> None:
    rows = feature_rows()
    concatenated = pd.concat([rows.iloc[[0]].reset_index(drop=True), rows.iloc[[1]].reset_index(drop=True)])

    pd.testing.assert_frame_equal(expand_horizons(concatenated, 2), expand_horizons(rows, 2))


def test_attach_labels_takes_the_demand_of_the_target_date() -> None:
    expanded = expand_horizons(feature_rows().iloc[[0]], horizon_days=2)
    demand_by_day = pd.DataFrame(
        {
            "entity": ["UK|10001", "UK|10001", "UK|10001"],
            "date": [JAN_30, date(2024, 1, 31), date(2024, 2, 1)],
            "demand": [1.0, 5.0, 8.0],
        }
    )

    labelled = attach_labels(expanded, demand_by_day)

    assert list(zip(labelled["target_date"], labelled[LABEL], strict=True)) == [
        (date(2024, 1, 31), 5.0),
        (date(2024, 2, 1), 8.0),
    ]


def test_attach_labels_gives_zero_to_an_entity_absent_on_a_known_day() -> None:
    expanded = expand_horizons(feature_rows(), horizon_days=1)
    # On Jan 31 only UK|10001 has a stored row: FR|10001 had no sales in its window, so demand 0.
    demand_by_day = pd.DataFrame({"entity": ["UK|10001"], "date": [date(2024, 1, 31)], "demand": [5.0]})

    labelled = attach_labels(expanded, demand_by_day)

    assert dict(zip(labelled["entity"], labelled[LABEL], strict=True)) == {"UK|10001": 5.0, "FR|10001": 0.0}


def test_attach_labels_drops_rows_whose_target_day_is_not_known() -> None:
    expanded = expand_horizons(feature_rows(), horizon_days=3)
    known = [JAN_30 + timedelta(days=1), JAN_30 + timedelta(days=2)]  # Feb 2 is not stored yet
    demand_by_day = pd.DataFrame({"entity": ["UK|10001", "UK|10001"], "date": known, "demand": [5.0, 6.0]})

    labelled = attach_labels(expanded, demand_by_day)

    assert len(labelled) == 4
    assert set(labelled["target_date"]) == set(known)
    assert labelled.groupby("entity")["horizon"].apply(list).to_dict() == {
        "FR|10001": [1, 2],
        "UK|10001": [1, 2],
    }
