"""The first-hour benchmark's pure parts: the clone's environment and the recorded figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from fti.bench import first_hour


def test_the_clone_gets_its_own_ports_and_connections_and_none_of_this_checkouts_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", "/elsewhere/airflow")
    monkeypatch.setenv("FTI_VAR_DIR", "/elsewhere/var")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere/include")
    monkeypatch.setenv("PATH", "/work/main/.venv/bin:/usr/bin")

    env = first_hour.clone_env(tmp_path / "clone", tmp_path / "cache", {"api": 18080, "redis": 16379})

    assert "AIRFLOW_HOME" not in env and "FTI_VAR_DIR" not in env and "PYTHONPATH" not in env
    assert env["PATH"] == "/usr/bin"
    assert env["AIRFLOW__API__PORT"] == "18080" and env["FTI_REDIS_PORT"] == "16379"
    assert env["AIRFLOW_CONN_FTI_REDIS"] == env["FTI_REDIS_URL"] == "redis://127.0.0.1:16379/0"
    assert env["AIRFLOW_CONN_FTI_REDIS_READER"] == env["FTI_REDIS_URL"]
    assert env["FTI_CACHE_DIR"] == str(tmp_path / "cache")


def test_figures_sum_the_steps_and_count_failed_and_scheduled_runs() -> None:
    clock = first_hour.Clock({"clone": 1.0, "setup": 100.0, "run": 20.0, "features": 30.0})

    figures = first_hour.figures_of(clock, {"success": 4, "failed": 1, "scheduled": 2, "manual": 3})

    assert figures["total_s"] == pytest.approx(151.0)
    assert figures["setup_s"] == 100.0 and figures["features_s"] == 30.0
    assert figures["failed_runs"] == 1 and figures["scheduled_runs"] == 2
    assert [line.key for line in first_hour.lines(figures)][:7] == [f"{s}_s" for s in first_hour.STEPS]
