"""Fixtures of the prediction-cache tests: a one-call publisher of whole runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pytest
import redis

from fti.cache.predictions import RunPlan, go_live, plan_run
from tests.integration.cache.cache_data import FIRST_DATE, PREFIX, TTL_S, Publish, write_all


@pytest.fixture
def publish(redis_client: redis.Redis) -> Publish:
    """``publish(run, names, rows, first_date=FIRST_DATE, keep_runs=5, chunk=50) -> RunPlan``: all steps."""

    def run(
        run: str,
        names: Sequence[str],
        rows: np.ndarray,
        first_date: date = FIRST_DATE,
        keep_runs: int = 5,
        chunk: int = 50,
    ) -> RunPlan:
        plan = plan_run(run, first_date, rows.shape[1], len(names))
        chunks, predictions = write_all(redis_client, plan, names, rows, chunk)
        meta = {"model_version": "3", "feature_version": "v1"}
        go_live(redis_client, PREFIX, plan, chunks, predictions, meta, keep_runs, TTL_S)
        return plan

    return run
