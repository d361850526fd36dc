"""Is tonight's inference data still the data the champion was trained on? Per-feature drift verdicts.

Each feature's histogram on the store's fixed bins (tonight's feature day) is compared with the
same feature's histogram over the champion's training snapshot (summed from the statistics the
store recorded when those partitions were committed: no training row is re-read). The
Jensen-Shannon distance (:func:`fti.analysis.drift.js_distance`) then meets two thresholds per
feature: above ``warn`` the run goes on and records a warning; above ``fail`` it stops before
anything is published.

The scored features are the data set's stored numeric columns except the calendar and holiday
features and the group aggregates (:func:`fti.features.schema.drift_columns`): one inference
partition has a single weekday and month, and one total per store, so their distance to a training
window is large by construction and says nothing about the data. They are still checked for schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from fti.analysis.drift import js_distance

Status = Literal["ok", "warn", "fail"]


class DriftFailed(ValueError):
    """At least one feature drifted beyond its failure threshold; the message names each one."""

    def __init__(self, report: DriftReport) -> None:
        lines = "\n".join(f"  - {s.describe()}" for s in report.scores if s.status == "fail")
        super().__init__(
            f"inference data drifted from the champion's training data on "
            f"{sum(s.status == 'fail' for s in report.scores)} feature(s); nothing was published, "
            f"the previous batch stays live:\n{lines}"
        )
        self.report = report


@dataclass(frozen=True)
class Thresholds:
    """Warning and failure thresholds of one feature (Jensen-Shannon distance, base 2, in [0, 1])."""

    warn: float
    fail: float

    def __post_init__(self) -> None:
        if not 0 <= self.warn <= self.fail <= 1:
            raise ValueError(f"thresholds need 0 <= warn <= fail <= 1, got warn={self.warn} fail={self.fail}")


@dataclass(frozen=True)
class DriftPolicy:
    """Thresholds for every scored feature: a default, and overrides by feature name."""

    default: Thresholds = field(default_factory=lambda: Thresholds(0.2, 0.4))
    overrides: Mapping[str, Thresholds] = field(default_factory=dict)
    features: Sequence[str] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.overrides) - set(self.features))
        if unknown:
            raise ValueError(
                f"drift thresholds name {unknown}, which are not scored features of this data set "
                f"(scored: {', '.join(self.features)}); check FTI_DRIFT_THRESHOLDS for a misspelt name"
            )

    def thresholds(self, feature: str) -> Thresholds:
        return self.overrides.get(feature, self.default)


@dataclass(frozen=True)
class DriftScore:
    """One feature's distance and verdict."""

    feature: str
    distance: float
    warn: float
    fail: float
    status: Status
    reference_count: int
    current_count: int

    def describe(self) -> str:
        return (
            f"{self.feature}: JS distance {self.distance:.3f} (warn {self.warn}, fail {self.fail}) "
            f"over {self.current_count} values vs {self.reference_count} in training"
        )


@dataclass(frozen=True)
class DriftReport:
    """Every feature's score and the run's verdict (the worst of them)."""

    scores: list[DriftScore]

    @property
    def status(self) -> Status:
        statuses = {s.status for s in self.scores}
        return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"

    def summary(self) -> dict[str, object]:
        """Small enough for XCom and the published run's metadata."""
        worst = max(self.scores, key=lambda s: s.distance, default=None)
        return {
            "status": self.status,
            "features": len(self.scores),
            "warn": [s.feature for s in self.scores if s.status == "warn"],
            "fail": [s.feature for s in self.scores if s.status == "fail"],
            "max_feature": worst.feature if worst else None,
            "max_distance": round(worst.distance, 4) if worst else None,
        }

    def verdict_line(self) -> str:
        """The task log's one line: ``drift ok: 11 features, max lag_28 0.138 < warn 0.2``."""
        worst = max(self.scores, key=lambda s: s.distance, default=None)
        if worst is None:
            return f"drift {self.status}: no features scored"
        return verdict_line(
            self.status, len(self.scores), worst.feature, worst.distance, worst.warn, worst.fail
        )

    def records(self) -> list[dict[str, object]]:
        return [asdict(s) for s in self.scores]

    def raise_for_failure(self) -> None:
        if self.status == "fail":
            raise DriftFailed(self)


def verdict_line(status: str, features: int, worst: str, distance: float, warn: float, fail: float) -> str:
    """``drift <status>: <n> features, max <feature> <distance> <bound>``: the worst feature against the
    threshold it is nearest to (``< warn 0.2``, ``> warn 0.2``, ``> fail 0.4``); the task log and the
    control room's drift page say it alike."""
    bound = (
        f"> fail {fail:g}"
        if distance > fail
        else f"> warn {warn:g}"
        if distance > warn
        else f"< warn {warn:g}"
    )
    return f"drift {status}: {features} features, max {worst} {distance:.3f} {bound}"


def score_drift(
    reference: Mapping[str, Sequence[int]], current: Mapping[str, Sequence[int]], policy: DriftPolicy
) -> DriftReport:
    """Score each of the policy's features: histogram counts of training (``reference``) vs tonight.

    Raises:
        KeyError: a scored feature has no histogram on one side (the schema check runs first and
            names missing columns; this only guards against a policy naming an unknown feature).
    """
    scores = []
    for feature in policy.features:
        limits = policy.thresholds(feature)
        distance = js_distance(reference[feature], current[feature])
        status: Status = "fail" if distance > limits.fail else "warn" if distance > limits.warn else "ok"
        scores.append(
            DriftScore(
                feature,
                distance,
                limits.warn,
                limits.fail,
                status,
                int(sum(reference[feature])),
                int(sum(current[feature])),
            )
        )
    return DriftReport(scores)
