"""Fixtures of the prediction-cache tests: a one-call publisher of whole runs."""

from __future__ import annotations

import functools

import pytest
import redis

from tests.integration.cache.cache_data import Publish, publish_run


@pytest.fixture
def publish(redis_client: redis.Redis) -> Publish:
    """``publish(run, names, rows, first_period=FIRST_PERIOD, keep_runs=5, chunk=50, calendar=DAILY,
    prefix=PREFIX) -> RunPlan`` into the session's Redis (:func:`cache_data.publish_run`)."""
    return functools.partial(publish_run, redis_client)
