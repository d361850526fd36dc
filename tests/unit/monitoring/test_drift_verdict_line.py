"""The drift check's one log line: the run's verdict, the worst feature and the threshold it is nearest to."""

from __future__ import annotations

import re

import pytest

from fti.monitoring.drift_check import DriftPolicy, DriftReport, Thresholds, score_drift

FEATURES = ("lag_1", "lag_28", "price")
REFERENCE = {f: [50, 30, 20] for f in FEATURES}


def _report(shifted: dict[str, list[int]]) -> DriftReport:
    policy = DriftPolicy(default=Thresholds(0.2, 0.4), features=FEATURES)
    return score_drift(REFERENCE, {**REFERENCE, **shifted}, policy)


@pytest.mark.parametrize(
    ("shifted", "expected"),
    [
        ({}, r"drift ok: 3 features, max \w+ 0\.000 < warn 0\.2"),
        ({"lag_28": [35, 35, 30]}, r"drift ok: 3 features, max lag_28 0\.1\d\d < warn 0\.2"),
        ({"lag_28": [20, 30, 50]}, r"drift warn: 3 features, max lag_28 0\.[23]\d\d > warn 0\.2"),
        (
            {"price": [0, 0, 100], "lag_1": [35, 35, 30]},
            r"drift fail: 3 features, max price 0\.\d{3} > fail 0\.4",
        ),
    ],
    ids=["identical", "below-warn", "above-warn", "above-fail"],
)
def test_verdict_line_names_the_status_the_worst_feature_and_its_nearest_threshold(
    shifted: dict[str, list[int]], expected: str
) -> None:
    report = _report(shifted)

    assert re.fullmatch(expected, report.verdict_line()), report.verdict_line()
    assert report.verdict_line().startswith(f"drift {report.status}: ")


def test_a_report_without_scored_features_says_so() -> None:
    assert DriftReport([]).verdict_line() == "drift ok: no features scored"
