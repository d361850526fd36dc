"""Progress lines while XGBoost fits: a long fit says where it is, instead of minutes of silence."""

from __future__ import annotations

import logging
import time
from typing import Any

from xgboost.callback import TrainingCallback

log = logging.getLogger(__name__)


class Progress(TrainingCallback):
    """Logs ``fit: tree 120 of 200, 95 s`` at most every ``every_s`` seconds, and the end of the fit.

    Args:
        total: trees to be grown (``n_estimators``).
        every_s: seconds between two progress lines.
        name: what is fitted, the lines' first word (``fit``: the point model; ``quantile fit``).
    """

    def __init__(self, total: int, every_s: float = 30.0, name: str = "fit") -> None:
        super().__init__()
        self.total, self.every_s, self.name = total, every_s, name
        self.started = self.last = 0.0

    def before_training(self, model: Any) -> Any:
        self.started = self.last = time.monotonic()
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            log.info("%s: tree %d of %d, %.0f s", self.name, epoch + 1, self.total, now - self.started)
            self.last = now
        return False  # never stop the fit

    def after_training(self, model: Any) -> Any:
        log.info("%s: %d trees in %.1f s", self.name, self.total, time.monotonic() - self.started)
        return model
