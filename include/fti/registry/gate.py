"""The registry gate: may a newly trained model replace the champion?

A pure decision on numbers measured on ONE test window (the candidate's), in the data set's primary
metric (``model.metric`` of its spec; lower is better): the candidate's, each baseline's and, when
there is a champion, the champion's on the same rows. Two rules:

0. Where the spec bounds it (``model.max_abs_bias_pct``), the candidate's bias as a share of actual
   demand must be within the bound: a planner summing its forecasts must not be off by more.
1. The candidate must beat every baseline (lower than the best of them, by ``baseline_margin``).
2. It must not be worse than the champion. The ``tolerance`` lets a model trained on FRESHER data
   replace an older champion that scores a little better on this window; it applies only when the
   candidate's snapshot is newer (a later ``as_of`` AND another checksum: the same rows read later
   are not fresher). Otherwise the candidate must be strictly better: the alias never moves to the
   worse of two models trained on the same data.

The decision names the rule that decided (``rule``) and says why in words (``reasons``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ChampionScore:
    """The current champion, scored on the candidate's test window."""

    version: str
    score: float
    """The champion's error on the candidate's window, in the primary metric."""
    as_of: datetime | None
    """Snapshot time the champion was trained on (its ``as_of`` tag); None when unknown (= not older)."""
    checksum: str | None = None
    """Checksum of the champion's training snapshot (its ``snapshot_checksum`` tag)."""
    comparable: bool = True
    """False when the champion cannot score the window at all (it needs inputs the data no longer has)."""
    held_out: bool = False
    """``score`` is the champion's recorded held-out error (it was refit on this window), not a new score."""


@dataclass(frozen=True)
class GateDecision:
    """Outcome of :func:`decide`: whether to promote, the rule that decided, and every reason in words."""

    promote: bool
    reasons: list[str] = field(default_factory=list)
    rule: str = ""

    @property
    def summary(self) -> str:
        """One line for logs and tags."""
        verdict = "promote" if self.promote else "keep the champion"
        return f"{verdict} ({self.rule}): " + "; ".join(self.reasons)


def decide(
    candidate_score: float,
    candidate_as_of: datetime,
    candidate_checksum: str | None,
    baseline_wapes: Mapping[str, float],
    champion: ChampionScore | None,
    tolerance: float,
    baseline_margin: float = 0.0,
    metric: str = "wape",
    bias_pct: float | None = None,
    max_abs_bias_pct: float | None = None,
) -> GateDecision:
    """Apply the two rules of this module to one test window's numbers.

    Returns:
        The decision; ``rule`` is one of ``undefined-score``, ``bias``, ``baseline``, ``first-champion``,
        ``champion-not-comparable``, ``beats-champion``, ``fresher-within-tolerance``,
        ``not-better-than-champion``, ``worse-than-tolerance``.
    """
    if not 0 <= tolerance < 1 or not 0 <= baseline_margin < 1:
        raise ValueError(f"tolerance {tolerance} and baseline_margin {baseline_margin} must be in [0, 1)")
    m = metric.upper()
    if math.isnan(candidate_score):
        return GateDecision(
            False, [f"the candidate's {m} is undefined (no actuals in the test window)"], "undefined-score"
        )
    reasons: list[str] = []
    if max_abs_bias_pct is not None and bias_pct is not None:
        if math.isnan(bias_pct) or abs(bias_pct) > max_abs_bias_pct:
            why = f"bias {bias_pct:+.1%} of actual demand is beyond the spec's ±{max_abs_bias_pct:.1%}"
            return GateDecision(False, [why], "bias")
        reasons.append(f"bias {bias_pct:+.1%} within ±{max_abs_bias_pct:.1%}")
    if baseline_wapes:
        name, best = min(baseline_wapes.items(), key=lambda item: item[1])
        bar = best * (1 - baseline_margin)
        margin = f", margin {baseline_margin:.0%}" if baseline_margin else ""
        if not candidate_score < bar:
            reasons.append(
                f"{m} {candidate_score:.4f} does not beat the best baseline {name} ({best:.4f}{margin})"
            )
            return GateDecision(False, reasons, "baseline")
        reasons.append(f"{m} {candidate_score:.4f} beats the best baseline {name} ({best:.4f}{margin})")
    if champion is None:
        return GateDecision(True, [*reasons, "there is no champion yet"], "first-champion")
    if not champion.comparable or math.isnan(champion.score):
        why = f"champion v{champion.version} cannot be scored on this window"
        return GateDecision(True, [*reasons, why], "champion-not-comparable")
    where = "its held-out error (it was refit on this window)" if champion.held_out else "on the same window"
    versus = f"{m} {candidate_score:.4f} vs champion v{champion.version} {champion.score:.4f} {where}"
    fresher = (
        champion.as_of is not None
        and champion.as_of < candidate_as_of
        and (champion.checksum is None or champion.checksum != candidate_checksum)
    )
    if candidate_score < champion.score:
        return GateDecision(True, [*reasons, f"{versus}: better"], "beats-champion")
    if fresher and candidate_score <= champion.score * (1 + tolerance):
        why = f"{versus}: within tolerance {tolerance:.0%}, trained on fresher data (a newer snapshot)"
        return GateDecision(True, [*reasons, why], "fresher-within-tolerance")
    if fresher:
        return GateDecision(
            False, [*reasons, f"{versus}: more than {tolerance:.0%} worse"], "worse-than-tolerance"
        )
    same = "the same snapshot" if champion.checksum == candidate_checksum else "data that is not fresher"
    return GateDecision(False, [*reasons, f"{versus}: not better, on {same}"], "not-better-than-champion")
