"""The control room's model-versus-baselines tables per horizon and slice, from analysis.json."""

from __future__ import annotations

from typing import Any

from fti.ui.baseline_scores import ScoreRow, render_scores, score_tables
from fti.ui.training_view import render_training, training_view
from fti.ui.views import Unavailable
from tests.unit.ui.test_control_room_additions import champion

ANALYSIS: dict[str, Any] = {
    "metric": "wape",
    "baselines": {"zero": {"wape": 1.0}, "seasonal_naive": {"wape": 1.3}},
    "slices": {
        "country": [
            {
                "slice": "UK",
                "rows": 400,
                "wape": 0.5,
                "wape_model": 0.5,
                "wape_zero": 1.0,
                "wape_seasonal_naive": 1.2,
            },
            {
                "slice": "EIRE",
                "rows": 100,
                "wape": 1.1,
                "wape_model": 1.1,
                "wape_zero": 1.0,
                "wape_seasonal_naive": None,
            },
        ],
        "horizon": [
            {
                "slice": "1",
                "rows": 250,
                "wape": 0.6,
                "wape_model": 0.6,
                "wape_zero": 1.0,
                "wape_seasonal_naive": 0.9,
            },
        ],
    },
}


def test_each_slice_dimension_becomes_a_table_of_the_model_then_every_baseline_horizon_first() -> None:
    tables = score_tables(ANALYSIS)

    assert [t.dimension for t in tables] == ["horizon", "country"]
    assert tables[0].who == ("model", "zero", "seasonal_naive")
    assert tables[1].rows == (
        ScoreRow("UK", 400, (0.5, 1.0, 1.2)),
        ScoreRow("EIRE", 100, (1.1, 1.0, None)),
    )


def test_the_models_cell_says_whether_it_beats_every_baseline_of_its_row() -> None:
    html = render_scores(score_tables(ANALYSIS))

    assert "Model vs baselines per horizon and slice (WAPE)" in html
    assert '<span class="ok"><span class="num">0.500</span></span>' in html  # UK: beats 1.0 and 1.2
    assert '<span class="fail"><span class="num">1.100</span></span>' in html  # EIRE: zero does better
    assert 'class="scores-horizon"' in html and "seasonal naive" in html


def test_an_analysis_without_per_slice_baseline_scores_shows_no_table() -> None:
    older = {"slices": {"country": [{"slice": "UK", "rows": 400, "wape": 0.5}]}}

    assert score_tables(older) == []
    assert score_tables({**older, "metric": "wape"}) == []
    assert render_scores([]) == ""


def test_the_training_section_shows_the_champions_scores_next_to_the_baselines() -> None:
    view = training_view(champion(analysis=ANALYSIS), threshold=0.2)

    assert not isinstance(view, Unavailable) and [t.dimension for t in view.scores] == ["horizon", "country"]
    assert 'class="scores-country"' in render_training(view)
