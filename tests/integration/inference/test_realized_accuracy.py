"""Realized accuracy on a real store, registry and Redis: a published run is scored when its actuals land,
with the figures a hand computation gives on the same rows, idempotently."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from fti.features.schema import bins
from fti.pipelines.realized import expected_error, score_realized
from fti.resources import Resources
from fti.specs import DatasetSpec
from tests.integration.inference.test_batch_inference import newest, run_batch

pytestmark = pytest.mark.integration


def land_actuals(own: Resources, spec: DatasetSpec, weeks: range, scale: float = 1.0) -> pd.DataFrame:
    """Commit weeks after the newest as copies of it (units times ``scale``); the actuals they hold."""
    day, rows = newest(own, spec)
    landed = []
    for k in weeks:
        later = rows.assign(period=rows["period"] + pd.Timedelta(weeks=k), units=rows["units"] * scale)
        own.store.write(spec.feature_set, day + timedelta(weeks=k), later, bins=bins(spec))
        landed.append(later[["entity", "period", "units"]])
    return pd.concat(landed, ignore_index=True)


def by_hand(own: Resources, spec: DatasetSpec, run: str, actuals: pd.DataFrame) -> pd.DataFrame:
    logged = own.store.read_prediction_log(own.store.logged_run(spec.name, run))
    truth = actuals.rename(columns={"period": "target_period", "units": "actual"})
    return logged.merge(
        truth.astype({"target_period": logged["target_period"].dtype}), on=["entity", "target_period"]
    )


def test_realized_metrics_of_a_run_equal_metrics_computed_by_hand(own: Resources, sales: DatasetSpec) -> None:
    run = run_batch(own, sales, "manual__realized")["run"]
    day, _ = newest(own, sales)
    actuals = land_actuals(own, sales, range(1, 3))  # two of the four forecast weeks land

    (record,) = score_realized(own, sales, day + timedelta(weeks=1), day + timedelta(weeks=2))

    rows = by_hand(own, sales, run, actuals)
    error = rows["point"].astype("float64") - rows["actual"]
    assert (record.run, record.periods, record.horizon, record.row_count) == (run, 2, 4, len(rows))
    assert record.metric == sales.model.metric == "wape"
    assert record.value == pytest.approx(error.abs().sum() / rows["actual"].abs().sum(), rel=1e-9)
    inside = (rows["p10"] <= rows["actual"]) & (rows["actual"] <= rows["p90"])
    assert record.coverage == pytest.approx(inside.mean(), rel=1e-9)
    document = json.loads(record.document_json)
    assert document["overall"]["bias"] == pytest.approx(error.mean(), rel=1e-9)
    first = rows[rows["horizon"] == 1]
    h1 = next(s for s in document["slices"]["horizon"] if s["slice"] == "1")
    assert h1["wape"] == pytest.approx((first["point"] - first["actual"]).abs().sum() / first["actual"].sum())
    zero = document["baselines"]["zero"]["wape"]
    assert zero == pytest.approx(1.0) and record.best_baseline in document["baselines"]
    assert record.expected == expected_error(own, own.store.logged_run(sales.name, run), "wape")
    assert record.expected is not None and record.last_actual == (day + timedelta(weeks=2)).isoformat()


def test_rescoring_the_same_period_recomputes_the_same_figures(own: Resources, sales: DatasetSpec) -> None:
    run_batch(own, sales, "manual__realized-again")
    day, _ = newest(own, sales)
    land_actuals(own, sales, range(1, 5))
    week = day + timedelta(weeks=4)

    first = score_realized(own, sales, week, week)
    again = score_realized(own, sales, week, week)

    def figures(records: list) -> list:
        return [{**r.__dict__, "computed_at": None} for r in records]

    assert first and figures(again) == figures(first)
    assert figures(own.store.realized(sales.name)) == figures(first), "one record per run, replaced"
    assert first[0].periods == 4


def test_a_run_is_scored_only_when_one_of_its_target_periods_lands(
    own: Resources, sales: DatasetSpec
) -> None:
    run_batch(own, sales, "manual__realized-none")
    day, _ = newest(own, sales)

    assert score_realized(own, sales, day, day) == [], "the origin week is no target period"
    assert score_realized(own, sales, None, None) == []
    assert own.store.realized(sales.name) == []
