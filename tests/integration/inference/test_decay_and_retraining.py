"""Decay for real: a champion whose served predictions turn out far worse than its held-out error fails
the decay verdict once the actuals land, alerts through ``fti_alerts`` and asks for exactly one
retraining; verdicts arriving while a training runs make one further request, never a storm."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from fti.contracts import CommitSummary
from fti.features.schema import bins
from fti.pipelines.realized import close_the_loop, consume_retraining
from fti.resources import Resources
from fti.specs import DatasetSpec
from tests.integration.inference.test_batch_inference import newest, run_batch
from tests.integration.ui.test_failure_webhook import Webhook, alerts_connection, webhook  # noqa: F401

pytestmark = pytest.mark.integration


def land(own: Resources, spec: DatasetSpec, run: str, truth: str) -> CommitSummary:
    """Commit the run's four target weeks with units equal to its predictions (``"served"``) or to five
    times last week's units plus 20 (``"shifted"``: the world moved); what a feature commit reports."""
    day, rows = newest(own, spec)
    logged = own.store.read_prediction_log(own.store.logged_run(spec.name, run))
    for k in range(1, 5):
        week = rows.assign(period=rows["period"] + pd.Timedelta(weeks=k))
        if truth == "served":
            points = logged[logged["horizon"] == k].set_index("entity")["point"]
            week = week.assign(units=week["entity"].map(points).astype("float64"))
        else:
            week = week.assign(units=week["units"] * 5 + 20)
        own.store.write(spec.feature_set, day + timedelta(weeks=k), week, bins=bins(spec))
    first, last = day + timedelta(weeks=1), day + timedelta(weeks=4)
    return CommitSummary(
        dataset=spec.name, partitions=4, committed=4, unchanged=0, rows=4 * len(rows), first=first, last=last,
        versions=[1],
    )  # fmt: skip


def with_settings(own: Resources, **changes: object) -> Resources:
    return Resources(own.settings.model_copy(update=changes), own.redis_url)


def test_a_degraded_champion_fails_the_verdict_alerts_and_asks_for_one_retraining(
    own: Resources,
    sales: DatasetSpec,
    webhook: Webhook,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FTI_ALERTS", alerts_connection(webhook.url()))
    run = run_batch(own, sales, "manual__degraded")["run"]
    committed = land(own, sales, run, "shifted")
    before = len(webhook.bodies())

    loop = close_the_loop(own, sales, committed)
    again = close_the_loop(own, sales, committed)  # the same period re-run: same figures, no new request

    assert loop.scored == [run] and loop.decay == "fail" and loop.ratio is not None and loop.ratio > 1.5
    assert loop.request_id is not None and again.request_id is None and again.ratio == loop.ratio
    assert [r.id for r in own.store.retrain_requests(sales.name, pending_only=True)] == [loop.request_id]
    alerts = webhook.bodies()[before:]
    assert len(alerts) == 2 and alerts[0]["status"] == "fail" and alerts[0]["request_id"] == loop.request_id
    assert (
        "model decay FAIL" in alerts[0]["text"]
        and f"retraining requested (#{loop.request_id})" in alerts[0]["text"]
    )
    assert [v["status"] for v in own.store.verdicts(sales.name)] == ["fail", "fail"]


def test_a_champion_as_good_as_promised_is_ok_and_asks_for_nothing(
    own: Resources, sales: DatasetSpec
) -> None:
    run = run_batch(own, sales, "manual__accurate")["run"]

    loop = close_the_loop(own, sales, land(own, sales, run, "served"))

    assert loop.decay == "ok" and loop.ratio == pytest.approx(0.0, abs=1e-6) and loop.request_id is None
    assert own.store.retrain_requests(sales.name) == []


def test_two_verdicts_while_a_training_runs_make_exactly_one_further_request_and_none_is_left(
    own: Resources, sales: DatasetSpec
) -> None:
    eager = with_settings(own, retrain_min_interval_hours=0)
    run = run_batch(eager, sales, "manual__storm")["run"]
    committed = land(eager, sales, run, "shifted")
    first = close_the_loop(eager, sales, committed)
    assert consume_retraining(eager, sales, "scheduled__training-1") == [first.request_id]  # training starts

    during = [close_the_loop(eager, sales, committed) for _ in range(2)]  # two verdicts while it runs

    made = [loop.request_id for loop in during if loop.request_id is not None]
    assert len(made) == 1, "the second verdict is answered by the first one's pending request"
    assert consume_retraining(eager, sales, "asset_triggered__training-2") == made
    assert eager.store.retrain_requests(sales.name, pending_only=True) == []
    answered = {r.id: r.consumed_by for r in eager.store.retrain_requests(sales.name)}
    assert answered == {first.request_id: "scheduled__training-1", made[0]: "asset_triggered__training-2"}


def test_no_retraining_storm_within_the_minimum_interval(own: Resources, sales: DatasetSpec) -> None:
    run = run_batch(own, sales, "manual__interval")["run"]
    committed = land(own, sales, run, "shifted")
    first = close_the_loop(own, sales, committed)
    consume_retraining(own, sales, "scheduled__training-1")

    later = close_the_loop(own, sales, committed)  # fails again within FTI_RETRAIN_MIN_INTERVAL_HOURS (24)

    assert first.request_id is not None and later.decay == "fail" and later.request_id is None
    assert len(own.store.retrain_requests(sales.name)) == 1
    assert json.loads(json.dumps(later.to_xcom()))["decay"] == "fail"


def test_users_read_the_realized_accuracy_and_verdict_from_the_cli_and_the_http_service(
    own: Resources, sales: DatasetSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from fti.cli import app
    from fti.settings import get_settings
    from tests.integration.cache.test_cache_http import serving

    run = run_batch(own, sales, "manual__read-realized")["run"]
    loop = close_the_loop(own, sales, land(own, sales, run, "shifted"))
    (record,) = own.store.realized(sales.name)
    settings = own.settings
    monkeypatch.setenv("FTI_STORE_URI", str(settings.store_uri))
    monkeypatch.setenv("FTI_CATALOG_URL", str(settings.catalog_url))
    get_settings.cache_clear()
    try:
        table = CliRunner().invoke(app, ["predictions", "realized", "-d", sales.name])
        horizons = CliRunner().invoke(app, ["predictions", "realized", "-d", sales.name, "--run", run])
    finally:
        get_settings.cache_clear()
    with serving(str(own.redis_url), settings) as http:
        listed = http.get(f"/{sales.name}/realized")
        detail = http.get(f"/{sales.name}/realized", params={"run": run})
        unknown = http.get(f"/{sales.name}/realized", params={"run": "nope"})

    assert table.exit_code == 0, table.output
    assert run in table.output and f"{record.value:.3f}" in table.output and "decay: fail" in table.output
    assert horizons.exit_code == 0 and horizons.output.count("\n") == 1 + sales.forecast.horizon
    assert listed.status_code == 200 and listed.json()["decay"]["status"] == "fail"
    (served,) = listed.json()["runs"]
    assert served["run"] == run and served["value"] == record.value and served["ratio"] == loop.ratio
    assert "detail" not in served and detail.json()["runs"][0]["detail"]["overall"]["wape"] == record.value
    assert unknown.status_code == 404 and "has no realized accuracy" in unknown.json()["detail"]
