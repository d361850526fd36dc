"""The decay policy: is the champion still as good on what users read as it was on its test window?

The verdict compares the champion's realized error (the mean of its last ``window`` scored runs, on
the data set's metric) with the held-out error it was promoted on. Above ``warn`` times that, it
warns; above ``fail`` times, it fails, and a failing verdict asks for retraining.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from fti.store.realized import RealizedRecord


class DecayStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DecayPolicy:
    """Thresholds on realized / expected error, and how many of the champion's newest runs count."""

    warn: float
    fail: float
    window: int

    def __post_init__(self) -> None:
        if not 0 < self.warn <= self.fail:
            raise ValueError(
                f"decay thresholds must be 0 < warn <= fail, not warn={self.warn} fail={self.fail}"
            )
        if self.window < 1:
            raise ValueError(f"the decay window must hold at least one run, not {self.window}")


@dataclass(frozen=True)
class DecayVerdict:
    """The champion's decay status, the ratio that decided it, the runs it read and why, in words."""

    dataset: str
    model_version: str
    status: DecayStatus
    ratio: float | None
    realized: float | None
    expected: float | None
    runs: tuple[str, ...]
    reason: str


def decay_verdict(
    dataset: str, champion: str, records: Sequence[RealizedRecord], policy: DecayPolicy
) -> DecayVerdict:
    """The verdict on model version ``champion`` from the realized records of the data set.

    Only the champion's own runs count (an older model's errors say nothing of it), the newest
    ``policy.window`` of them by feature partition, and only those with a realized value.
    """
    mine = [r for r in records if r.model_version == champion and r.value is not None]
    recent = sorted(mine, key=lambda r: (r.feature_partition, r.run))[-policy.window :]
    runs = tuple(r.run for r in recent)
    if not recent:
        return DecayVerdict(dataset, champion, DecayStatus.UNKNOWN, None, None, None, runs,
                            f"no run of champion v{champion} has landed actuals yet")  # fmt: skip
    metric, expected = recent[-1].metric, recent[-1].expected
    realized = sum(float(r.value or 0.0) for r in recent) / len(recent)
    if not expected:
        missing = f"champion v{champion} has no recorded held-out {metric} to compare with"
        return DecayVerdict(dataset, champion, DecayStatus.UNKNOWN, None, realized, expected, runs, missing)
    ratio = realized / expected
    status = (
        DecayStatus.FAIL
        if ratio > policy.fail
        else DecayStatus.WARN
        if ratio > policy.warn
        else DecayStatus.OK
    )
    reason = (
        f"champion v{champion}: realized {metric} {realized:.4f} over its last {len(recent)} scored runs is "
        f"{ratio:.2f}x its held-out {expected:.4f} (warn above {policy.warn:g}x, fail above {policy.fail:g}x)"
    )
    return DecayVerdict(dataset, champion, status, ratio, realized, expected, runs, reason)
