"""The registry gate's rules on plain numbers: baselines first, then the champion on the same window."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from fti.registry.gate import ChampionScore, decide

NOW = datetime(2011, 12, 10)
OLDER = datetime(2011, 12, 3)
BASELINES = {"seasonal_naive": 0.90, "moving_average": 0.80}


def test_first_model_is_promoted_when_it_beats_both_baselines() -> None:
    decision = decide(0.70, NOW, BASELINES, champion=None, tolerance=0.02)

    assert decision.promote
    assert "beats the best baseline moving_average (0.8000)" in decision.summary
    assert "no champion" in decision.summary


def test_a_model_that_does_not_beat_the_better_baseline_is_refused_even_without_champion() -> None:
    decision = decide(0.85, NOW, BASELINES, champion=None, tolerance=0.02)

    assert not decision.promote
    assert "does not beat the best baseline moving_average" in decision.summary


def test_baseline_margin_raises_the_bar() -> None:
    assert decide(0.75, NOW, BASELINES, None, tolerance=0.0, baseline_margin=0.0).promote
    refused = decide(0.75, NOW, BASELINES, None, tolerance=0.0, baseline_margin=0.10)
    assert not refused.promote and "margin 10%" in refused.summary


def test_fresher_model_within_tolerance_of_an_older_champion_is_promoted() -> None:
    champion = ChampionScore("3", 0.70, OLDER)

    assert decide(0.71, NOW, BASELINES, champion, tolerance=0.02).promote  # 0.71 <= 0.714
    worse = decide(0.72, NOW, BASELINES, champion, tolerance=0.02)  # 0.72 > 0.714
    assert not worse.promote
    assert "more than 2% worse than champion v3" in worse.summary


def test_against_a_champion_of_the_same_data_the_candidate_must_be_strictly_better() -> None:
    same_data = ChampionScore("5", 0.70, NOW)

    assert not decide(0.70, NOW, BASELINES, same_data, tolerance=0.5).promote
    assert not decide(0.705, NOW, BASELINES, same_data, tolerance=0.5).promote
    assert decide(0.69, NOW, BASELINES, same_data, tolerance=0.5).promote


def test_a_champion_without_as_of_gets_no_tolerance() -> None:
    unknown = ChampionScore("1", 0.70, None)

    assert not decide(0.705, NOW, BASELINES, unknown, tolerance=0.5).promote


def test_both_rules_must_hold() -> None:
    champion = ChampionScore("2", 0.95, OLDER)  # a bad champion: the candidate beats it...

    decision = decide(0.85, NOW, BASELINES, champion, tolerance=0.02)  # ...but not the baselines

    assert not decision.promote
    assert len(decision.reasons) == 2


def test_undefined_wape_never_promotes() -> None:
    decision = decide(math.nan, NOW, BASELINES, None, tolerance=0.02)

    assert not decision.promote and "undefined" in decision.summary


@pytest.mark.parametrize("tolerance", [-0.1, 1.0])
def test_tolerance_out_of_range_is_refused(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        decide(0.7, NOW, BASELINES, None, tolerance=tolerance)
