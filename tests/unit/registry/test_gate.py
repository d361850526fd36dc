"""The registry gate's rules on plain numbers: baselines first, then the champion on the same window,
and the rule that decided named exactly."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from fti.registry.gate import ChampionScore, decide

NOW = datetime(2011, 12, 10)
OLDER = datetime(2011, 12, 3)
BASELINES = {"seasonal_naive": 0.90, "moving_average": 0.80}
MINE, OTHER = "a" * 64, "b" * 64


def gate(wape: float, champion: ChampionScore | None = None, **kwargs: float) -> tuple[bool, str, str]:
    decision = decide(
        wape,
        NOW,
        MINE,
        BASELINES,
        champion,
        tolerance=kwargs.get("tolerance", 0.02),
        baseline_margin=kwargs.get("margin", 0.0),
    )
    return decision.promote, decision.rule, decision.summary


def test_first_model_is_promoted_when_it_beats_the_best_baseline() -> None:
    promoted, rule, summary = gate(0.70)
    assert (promoted, rule) == (True, "first-champion")
    assert "beats the best baseline moving_average (0.8000)" in summary and "no champion yet" in summary


def test_a_model_that_does_not_beat_the_best_baseline_is_refused_even_without_champion() -> None:
    promoted, rule, summary = gate(0.85)
    assert (promoted, rule) == (False, "baseline")
    assert "does not beat the best baseline moving_average" in summary


def test_baseline_margin_raises_the_bar() -> None:
    assert gate(0.75, margin=0.0)[0]
    promoted, rule, summary = gate(0.75, margin=0.10)
    assert (promoted, rule) == (False, "baseline") and "margin 10%" in summary


def test_a_better_model_beats_any_champion() -> None:
    promoted, rule, summary = gate(0.69, ChampionScore("3", 0.70, NOW, MINE))
    assert (promoted, rule) == (True, "beats-champion") and "vs champion v3 0.7000" in summary


def test_a_model_on_a_newer_different_snapshot_within_tolerance_of_an_older_champion_is_promoted() -> None:
    promoted, rule, summary = gate(0.71, ChampionScore("3", 0.70, OLDER, OTHER))
    assert (promoted, rule) == (True, "fresher-within-tolerance")
    assert "within tolerance 2%, trained on fresher data" in summary


def test_beyond_the_tolerance_a_fresher_model_is_refused() -> None:
    promoted, rule, summary = gate(0.72, ChampionScore("3", 0.70, OLDER, OTHER))
    assert (promoted, rule) == (False, "worse-than-tolerance") and "more than 2% worse" in summary


def test_the_same_snapshot_read_later_is_not_fresher_data() -> None:
    """The tolerance needs another snapshot: the same rows (same checksum) read later earn nothing."""
    promoted, rule, summary = gate(0.705, ChampionScore("3", 0.70, OLDER, MINE))
    assert (promoted, rule) == (False, "not-better-than-champion")
    assert "not better, on the same snapshot" in summary


def test_against_a_champion_of_the_same_or_newer_data_the_model_must_be_strictly_better() -> None:
    assert gate(0.70, ChampionScore("3", 0.70, NOW, OTHER))[:2] == (False, "not-better-than-champion")
    assert gate(0.70, ChampionScore("3", 0.70, datetime(2011, 12, 20), OTHER))[:2] == (
        False,
        "not-better-than-champion",
    )


def test_a_champion_that_cannot_score_the_window_is_replaced_by_a_model_that_beats_the_baselines() -> None:
    champion = ChampionScore("3", math.nan, OLDER, OTHER, comparable=False)
    promoted, rule, summary = gate(0.75, champion)
    assert (promoted, rule) == (True, "champion-not-comparable") and "cannot be scored" in summary


def test_an_undefined_wape_never_promotes() -> None:
    assert gate(math.nan)[:2] == (False, "undefined-score")


def test_tolerance_and_margin_outside_zero_to_one_are_errors() -> None:
    with pytest.raises(ValueError, match="must be in"):
        decide(0.7, NOW, MINE, BASELINES, None, tolerance=1.0)


def test_a_bias_beyond_the_specs_bound_is_refused_before_the_other_rules() -> None:
    decision = decide(0.5, NOW, MINE, BASELINES, None, 0.02, bias_pct=-0.08, max_abs_bias_pct=0.05)

    assert (decision.promote, decision.rule) == (False, "bias")
    assert (
        decision.summary == "keep the champion (bias): bias -8.0% of actual demand is beyond the spec's ±5.0%"
    )


def test_a_bias_within_the_bound_is_named_among_the_reasons_of_a_promotion() -> None:
    decision = decide(0.5, NOW, MINE, BASELINES, None, 0.02, bias_pct=0.03, max_abs_bias_pct=0.05)

    assert (decision.promote, decision.rule) == (True, "first-champion")
    assert "bias +3.0% within ±5.0%" in decision.summary


def test_an_undefined_bias_under_a_bound_never_promotes() -> None:
    decision = decide(0.5, NOW, MINE, BASELINES, None, 0.02, bias_pct=math.nan, max_abs_bias_pct=0.05)

    assert (decision.promote, decision.rule) == (False, "bias")


def test_without_a_bound_the_bias_does_not_decide() -> None:
    decision = decide(0.5, NOW, MINE, BASELINES, None, 0.02, bias_pct=-0.4)

    assert (decision.promote, decision.rule) == (True, "first-champion")
