"""The decay verdict: only the champion's own newest runs count, against its held-out error."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from fti.monitoring.decay import DecayPolicy, DecayStatus, decay_verdict
from fti.store.realized import RealizedRecord

POLICY = DecayPolicy(warn=1.25, fail=1.5, window=2)


def record(run: int, version: str, value: float | None, expected: float | None = 0.4) -> RealizedRecord:
    day = date(2024, 1, 1) + timedelta(weeks=run)
    return RealizedRecord(
        dataset="demo", run=f"r{run}", model_name="m", model_version=version, feature_partition=day,
        first_period=datetime.combine(day, datetime.min.time()), horizon=4, periods=4, row_count=10,
        last_actual=day.isoformat(), metric="wape", value=value, expected=expected, best_baseline="zero",
        best_baseline_value=1.0, coverage=None, document_json="{}", computed_at=datetime(2024, 6, 1),
    )  # fmt: skip


def test_the_newest_window_of_the_champions_own_runs_decides() -> None:
    records = [record(1, "3", 2.0), record(2, "3", 0.4), record(3, "3", 0.44), record(4, "2", 9.0)]

    verdict = decay_verdict("demo", "3", records, POLICY)

    assert verdict.status is DecayStatus.OK and verdict.runs == ("r2", "r3")
    assert verdict.ratio == pytest.approx(0.42 / 0.4)
    assert "realized wape 0.4200 over its last 2 scored runs is 1.05x its held-out 0.4000" in verdict.reason


@pytest.mark.parametrize(
    ("values", "status"), [((0.5, 0.5), "ok"), ((0.5, 0.6), "warn"), ((0.6, 0.7), "fail")]
)
def test_thresholds_are_ratios_of_realized_to_held_out_error(
    values: tuple[float, float], status: str
) -> None:
    records = [record(i, "3", v) for i, v in enumerate(values)]

    assert decay_verdict("demo", "3", records, POLICY).status.value == status


def test_without_scored_runs_or_held_out_error_the_verdict_is_unknown() -> None:
    assert decay_verdict("demo", "3", [record(1, "2", 0.5)], POLICY).status is DecayStatus.UNKNOWN
    unknown = decay_verdict("demo", "3", [record(1, "3", 0.5, expected=None)], POLICY)
    assert unknown.status is DecayStatus.UNKNOWN and "no recorded held-out wape" in unknown.reason


def test_a_policy_with_warn_above_fail_is_refused() -> None:
    with pytest.raises(ValueError, match="0 < warn <= fail, not warn=2 fail=1.5"):
        DecayPolicy(warn=2, fail=1.5, window=4)
