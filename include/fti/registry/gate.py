"""The registry gate: may a newly trained model replace the champion?

A pure decision on numbers measured on ONE test window (the candidate's): the candidate's WAPE,
each baseline's WAPE and, when there is a champion, the champion's WAPE on the same rows. Two rules:

1. The candidate must beat every baseline (lower WAPE than the best of them, by ``baseline_margin``).
   A model that cannot beat "same weekday last week" or "the 28-day mean" should not serve.
2. It must not be worse than the champion by more than ``tolerance`` (relative WAPE). The tolerance
   exists to let a model trained on FRESHER data replace an older champion that happens to score a
   little better on this window; so it applies only when the champion's snapshot is older than the
   candidate's. Against a champion of the same or a newer snapshot (two runs finishing at once, or
   a late rerun of an old date) the candidate must be strictly better: the alias never moves to the
   worse of two models trained on the same data.
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
    wape: float
    as_of: datetime | None
    """Snapshot time the champion was trained on (its ``as_of`` tag); None when unknown (= not older)."""


@dataclass(frozen=True)
class GateDecision:
    """Outcome of :func:`decide`: whether to promote, and every reason in words."""

    promote: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line for logs and tags."""
        verdict = "promote" if self.promote else "keep the champion"
        return f"{verdict}: " + "; ".join(self.reasons)


def decide(
    candidate_wape: float,
    candidate_as_of: datetime,
    baseline_wapes: Mapping[str, float],
    champion: ChampionScore | None,
    tolerance: float,
    baseline_margin: float = 0.0,
) -> GateDecision:
    """Apply the two rules of this module to one test window's numbers.

    Args:
        candidate_wape: The new model's WAPE on its test window.
        candidate_as_of: The new model's snapshot time.
        baseline_wapes: WAPE of each baseline on the same rows.
        champion: The champion scored on the same rows; None when there is no champion yet.
        tolerance: How much worse (relative WAPE, 0.02 = 2%) than an OLDER champion is still accepted.
        baseline_margin: How much better (relative WAPE) than the best baseline the model must be.

    Returns:
        The decision with one reason per rule checked. A NaN WAPE (no demand in the window) never promotes.
    """
    if not 0 <= tolerance < 1 or not 0 <= baseline_margin < 1:
        raise ValueError(f"tolerance {tolerance} and baseline_margin {baseline_margin} must be in [0, 1)")
    if math.isnan(candidate_wape):
        return GateDecision(False, ["the candidate's WAPE is undefined (no demand in the test window)"])
    reasons: list[str] = []
    promote = True
    if baseline_wapes:
        name, best = min(baseline_wapes.items(), key=lambda item: item[1])
        bar = best * (1 - baseline_margin)
        if candidate_wape < bar:
            reasons.append(f"WAPE {candidate_wape:.4f} beats the best baseline {name} ({best:.4f})")
        else:
            promote = False
            reasons.append(
                f"WAPE {candidate_wape:.4f} does not beat the best baseline {name} ({best:.4f}"
                + (f", margin {baseline_margin:.0%}" if baseline_margin else "")
                + ")"
            )
    if champion is None:
        reasons.append("there is no champion yet")
        return GateDecision(promote, reasons)
    fresher = champion.as_of is not None and champion.as_of < candidate_as_of
    # Against an older champion: at most `tolerance` worse; otherwise: strictly better.
    good_enough = (
        candidate_wape <= champion.wape * (1 + tolerance) if fresher else candidate_wape < champion.wape
    )
    if math.isnan(champion.wape) or good_enough:
        reasons.append(
            f"WAPE {candidate_wape:.4f} vs champion v{champion.version} {champion.wape:.4f} on the same "
            + (f"window (within tolerance {tolerance:.0%} for fresher data)" if fresher else "window")
        )
    else:
        promote = False
        rule = f"more than {tolerance:.0%} worse" if fresher else "not better (same or newer data)"
        reasons.append(
            f"WAPE {candidate_wape:.4f} is {rule} than champion v{champion.version} "
            f"({champion.wape:.4f}) on the same window"
        )
    return GateDecision(promote, reasons)
