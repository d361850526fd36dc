"""Tests of the benchmarks' pure helpers: peak memory parsing, step probes, the record, spec copies."""

from __future__ import annotations

import json
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fti.bench import child, features, inference_setup, lookups, probes, results, scratch

STATUS = "Name:\tpython\nVmPeak:\t 9999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n"


def test_peak_memory_is_vmhwm_not_vmpeak() -> None:
    assert child.memory_mb(STATUS) == {"VmHWM": 2.0, "VmRSS": 1.0}


def test_status_without_vmhwm_is_refused() -> None:
    with pytest.raises(child.BenchmarkFailed, match="VmHWM"):
        child.memory_mb("Name:\tpython\n")


def test_figures_are_the_json_object_on_the_last_line() -> None:
    assert child.last_json_line('log line\n{"a": 1}\n\n') == {"a": 1}


@pytest.mark.parametrize("stdout", ["", "no json\n", "[1, 2]\n"])
def test_output_without_a_json_object_last_is_refused(stdout: str) -> None:
    with pytest.raises(child.BenchmarkFailed):
        child.last_json_line(stdout)


def _module() -> types.ModuleType:
    module = types.ModuleType("fake_pipeline")

    def inner(seconds: float) -> str:
        time.sleep(seconds)
        return "inner"

    def outer(seconds: float) -> str:
        time.sleep(seconds)
        return str(module.inner(seconds))

    module.inner = inner  # type: ignore[attr-defined]
    module.outer = outer  # type: ignore[attr-defined]
    return module


def test_nested_probes_are_recorded_by_path_and_exclusive_time_leaves_children_out() -> None:
    module = _module()
    clock = probes.StepClock()
    with clock.watching([probes.Probe("outer", module, "outer"), probes.Probe("inner", module, "inner")]):
        assert module.outer(0.02) == "inner"
        module.inner(0.01)
    assert set(clock.seconds) == {"outer", "outer/inner", "inner"}
    assert clock.calls["outer/inner"] == 1
    assert clock.seconds["outer"] >= clock.seconds["outer/inner"] >= 0.02
    assert 0.02 <= clock.exclusive("outer") < clock.seconds["outer"]
    assert clock.total("inner", "never called") == clock.seconds["inner"]
    assert len(clock.peak_mb["inner"]) == 1 and clock.peak_mb["outer"][0] > 0


def test_probes_are_removed_after_the_block_even_on_error() -> None:
    module = _module()
    original = module.inner
    with pytest.raises(RuntimeError), probes.StepClock().watching([probes.Probe("inner", module, "inner")]):
        assert module.inner is not original
        raise RuntimeError("boom")
    assert module.inner is original


class _Base:
    def method(self) -> int:
        return 1


class _Child(_Base):
    pass


def test_a_probed_inherited_method_is_timed_and_then_inherited_again() -> None:
    clock = probes.StepClock()
    with clock.watching([probes.Probe("method", _Child, "method")]):
        assert _Child().method() == 1
    assert clock.calls["method"] == 1
    assert "method" not in vars(_Child)
    assert _Child().method() == 1


def test_a_probe_of_a_missing_function_fails_loudly() -> None:
    with pytest.raises(probes.ProbeMissing, match="fake_pipeline.gone"):
        with probes.StepClock().watching([probes.Probe("gone", _module(), "gone")]):
            pass


def test_record_merges_an_area_rounds_floats_and_drops_superseded_keys(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    results.record(path, "features", {"full_history_s": 71.0, "keep": 1})
    results.record(path, "features", {"online_retail.full_history_s": 22.123456}, drop=["full_history_s"])
    assert json.loads(path.read_text()) == {"features": {"keep": 1, "online_retail.full_history_s": 22.1235}}


def test_unknown_areas_and_non_finite_figures_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="area"):
        results.record(tmp_path / "r.json", "nope", {})
    with pytest.raises(ValueError, match="finite"):
        results.record(tmp_path / "r.json", "training", {"wape": float("nan")})


def test_rows_show_the_value_recorded_before_under_the_key_or_its_legacy_name() -> None:
    lines = [
        results.Line("online_retail.full_history_s", ".1f", "whole"),
        results.Line("car_parks.full_history_s", ".1f", "whole"),
        results.Line("not measured", ".1f", "skipped"),
        results.Line("ratio", "x", "r"),
    ]
    figures = {"online_retail.full_history_s": 22.04, "car_parks.full_history_s": 1.36, "ratio": 2.5}
    body = results.rows(
        figures, lines, {"full_history_s": 71.03}, {"online_retail.full_history_s": "full_history_s"}
    )
    assert body == [
        ("online_retail.full_history_s", "22.0", "71.0", "whole"),
        ("car_parks.full_history_s", "1.4", "-", "whole"),
        ("ratio", "2.50x", "-", "r"),
    ]
    assert results.table(body).splitlines()[0].split() == [
        "figure",
        "value",
        "recorded",
        "before",
        "what",
        "it",
        "is",
    ]


def test_with_horizon_changes_only_the_forecast_horizon() -> None:
    text = "name: x\nmodel:\n  horizon: 9\nforecast:\n  # days\n  horizon: 4\n  gap: 0\n"
    assert scratch.with_horizon(text, 7) == text.replace("  horizon: 4", "  horizon: 7")


def test_with_horizon_refuses_a_spec_without_one() -> None:
    with pytest.raises(ValueError, match="horizon"):
        scratch.with_horizon("forecast:\n  gap: 0\n", 7)


def test_latency_figures_give_percentiles_and_the_p99_ratio_of_client_to_get() -> None:
    lookup = np.linspace(0.1, 1.0, 100)
    get = lookup / 2
    figures = lookups.latency_figures(lookup, get, "_x")
    assert figures["lookup_p99_ms_x"] == pytest.approx(np.percentile(lookup, 99))
    assert figures["lookup_vs_get_p99_x"] == pytest.approx(2.0)
    assert figures["lookup_pairs_x"] == 100


def test_latency_figures_refuse_series_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="as many"):
        lookups.latency_figures(np.ones(3), np.ones(2))


def test_drawn_rows_come_from_the_store_asked_for() -> None:
    snapshot = pd.DataFrame(
        {"store": ["S2", "S1", "S2", "S1", "S3"], "units": [20.0, 10.0, 21.0, 11.0, 30.0]}
    )
    wanted = np.array(["S1", "S3", "S2", "S1"] * 50)
    drawn = inference_setup._draw_rows(snapshot, wanted, np.random.default_rng(0))
    assert drawn["store"].tolist() == wanted.tolist()
    assert set(drawn.loc[drawn["store"] == "S2", "units"]) == {20.0, 21.0}


def test_feature_figures_add_the_two_tasks_and_take_the_larger_peak() -> None:
    validated = {"task_s": 4.0, "peak_mb": 700.0, "import_s": 3.0, "load_1m": 1.0, "raw_rows": 10,
                 "s:validate_raw": 3.9, "s:validate_raw/read": 1.0, "s:validate_raw/validate": 2.0,
                 "peak:validate_raw#0": 700.0}  # fmt: skip
    write = "s:build_and_commit/write_partitions"
    built = {"task_s": 6.0, "peak_mb": 1500.0, "import_s": 2.5, "load_1m": 2.0, "full_history_rows": 99,
             "s:build_and_commit": 5.9, "s:build_and_commit/compute": 2.0, write: 3.0,
             f"{write}/statistics": 1.0, f"{write}/parquet": 0.5,
             "peak:build_and_commit/compute/panel#0": 900.0,
             "peak:build_and_commit/compute/panel#1": 1200.0}  # fmt: skip
    figures = features.summarise(validated, built)
    assert figures["full_history_s"] == 10.0
    assert figures["full_history_peak_mb"] == 1500.0
    assert figures["full_history_compute_s"] == pytest.approx(2.5)  # compute + parquet, not statistics
    assert figures["share_read"] == pytest.approx(0.1)
    assert figures["share_catalog"] == pytest.approx(0.15)  # write_partitions without its probed parts
    assert figures["share_other"] == pytest.approx(1 - 0.1 - 0.2 - 0.2 - 0.1 - 0.05 - 0.15)
    assert figures["peak_mb_after_panel"] == 900.0 and figures["peak_mb_after_future_panel"] == 1200.0
    assert figures["raw_rows"] == 10 and figures["full_history_rows"] == 99 and figures["load_1m"] == 2.0


@pytest.mark.parametrize(
    "name", ["features", "pit_read", "training", "inference", "accuracy", "http", "first_hour"]
)
def test_every_benchmark_records_under_a_known_area(name: str, tmp_path: Path) -> None:
    import importlib

    module = importlib.import_module(f"fti.bench.{name}")

    assert module.AREA in results.AREAS
    results.record(tmp_path / "results.json", module.AREA, {"figure": 1.0}, drop=module.DROP)
