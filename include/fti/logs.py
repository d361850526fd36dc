"""Task logs a person reads: third-party chatter turned down, MLflow's own lines at their real level.

Every Airflow task calls :func:`quiet_third_party` first (``fti_airflow.wiring.fail_fast``). Great
Expectations logs every expectation it registers; MLflow writes its INFO lines and progress bars to
stderr, which the task log shows as errors. What is left is the project's own lines: a verdict per
task and progress during long steps.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

NOISY = {
    "great_expectations": logging.WARNING,
    "alembic": logging.WARNING,
    "urllib3": logging.WARNING,
    "git": logging.WARNING,
    "matplotlib": logging.WARNING,
    "PIL": logging.WARNING,
}
"""Loggers turned down to this level, by name."""


def quiet_third_party() -> None:
    """Turn the chatty libraries down; MLflow's lines go through the task's own handlers at INFO."""
    for name, level in NOISY.items():
        logging.getLogger(name).setLevel(level)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow adds a stderr handler of its own when it is imported (later, inside the task) unless told
    # not to: its INFO lines would show as errors. Without it they go through the task's handlers.
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    mlflow = logging.getLogger("mlflow")
    for handler in list(mlflow.handlers):  # if it was imported already
        if isinstance(handler, logging.StreamHandler):
            mlflow.removeHandler(handler)
    mlflow.propagate = True
    mlflow.setLevel(logging.INFO)


@contextmanager
def step(log: logging.Logger, name: str, detail: str = "") -> Iterator[None]:
    """Log ``<name>: <detail>`` when a long step starts and ``<name>: done in 12.3 s`` when it ends,
    so a task log shows where the time goes instead of minutes of silence."""
    log.info("%s: %s", name, detail or "started")
    started = time.monotonic()
    yield
    log.info("%s: done in %.1f s", name, time.monotonic() - started)
