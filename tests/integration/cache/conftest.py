"""Fixtures of the prediction-cache tests: a one-call publisher of whole runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest
import redis

from fti.cache.predictions import RunPlan, go_live, plan_run
from tests.integration.cache.cache_data import DAILY, FIRST_PERIOD, PREFIX, TTL_S, Publish, write_all


@pytest.fixture
def publish(redis_client: redis.Redis) -> Publish:
    """``publish(run, names, rows, first_period=FIRST_PERIOD, keep_runs=5, chunk=50, calendar=DAILY,
    prefix=PREFIX) -> RunPlan``: all steps; ``rows`` of shape (entities, horizon, 1 + k) publish k
    quantiles, named by the ``quantiles`` of ``calendar``."""

    def run(
        run: str,
        names: Sequence[str],
        rows: np.ndarray,
        first_period: str = FIRST_PERIOD,
        keep_runs: int = 5,
        chunk: int = 50,
        calendar: Mapping[str, str] = DAILY,
        prefix: str = PREFIX,
    ) -> RunPlan:
        per_period = rows.shape[2] if rows.ndim == 3 else 1  # the point, then the calendar's "quantiles"
        plan = plan_run(run, first_period, rows.shape[1], len(names), per_period)
        chunks, predictions = write_all(redis_client, plan, names, rows, chunk, prefix, calendar)
        meta = {"model_version": "3", "feature_set_version": "1"}
        go_live(redis_client, prefix, plan, chunks, predictions, meta, keep_runs, TTL_S)
        return plan

    return run
