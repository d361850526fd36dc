"""Tests of the backtest's stages (what each origin may see) and of its figures."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest

from fti.bench.accuracy import averaged, lines, stages, summary
from fti.specs import load_dataset

SPECS = Path(__file__).resolve().parents[3] / "specs"
DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(40)]


def test_each_stage_adds_one_step_and_the_first_ends_three_steps_before_the_last_partition() -> None:
    found = stages(DAYS, step=7, origins=4, first=None)

    assert [len(s) for s in found] == [19, 7, 7, 7]
    assert found[0][-1] == DAYS[18] and found[-1][-1] == DAYS[-1]
    assert sum(found, []) == DAYS  # every partition once, in order: nothing later in an earlier stage


def test_the_first_stage_keeps_only_the_newest_partitions_it_is_asked_for() -> None:
    found = stages(DAYS, step=7, origins=4, first=10)

    assert found[0] == DAYS[9:19]


def test_too_few_partitions_for_the_origins_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot give 4 origins"):
        stages(DAYS[:21], step=7, origins=4, first=None)


def test_averages_leave_out_the_origins_where_a_figure_is_undefined() -> None:
    per_origin = [{"a": 1.0, "b": None}, {"a": 3.0, "b": math.nan}, {"a": 5.0}]

    assert averaged(per_origin, ["a", "b", "c"]) == {"a": 3.0}


def test_summary_names_each_metric_of_the_model_and_every_baseline_and_the_gain() -> None:
    spec = load_dataset(SPECS, "online_retail")
    origin = {"test_wape": 0.8, "zero_wape": 1.0, "seasonal_naive_wape": 1.3, "moving_average_wape": 1.1,
              "croston_optimized_wape": 0.95, "tsb_wape": 0.97, "adida_wape": 0.96,
              "test_bias_pct": -0.1}  # fmt: skip
    other = {**origin, "test_wape": 0.9, "test_bias_pct": -0.2}

    figures = summary(spec, [origin, other])

    assert figures["wape_model"] == pytest.approx(0.85)
    assert figures["wape_zero"] == 1.0 and figures["wape_croston_optimized"] == 0.95
    assert figures["bias_pct"] == pytest.approx(-0.15)
    assert figures["gain_vs_best_baseline"] == pytest.approx(1 - 0.85 / 0.95)
    assert figures["origins"] == 2
    shown = {line.key for line in lines({f"online_retail.{k}": v for k, v in figures.items()})}
    wanted = {"online_retail.wape_model", "online_retail.wape_tsb", "online_retail.gain_vs_best_baseline"}
    assert wanted <= shown


def test_an_unknown_objective_is_refused_before_any_backtest_runs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fti.cli import app

    done = CliRunner(env={"COLUMNS": "200"}).invoke(
        app,
        [
            "bench",
            "accuracy",
            "--dataset",
            "car_parks",
            "--objective",
            "huber",
            "--results",
            str(tmp_path / "r"),
        ],
    )

    assert done.exit_code == 2
    assert (
        "objective 'huber': one of ['absolute_error', 'poisson', 'squared_error', 'tweedie']" in done.output
    )
    assert not (tmp_path / "r").exists()
