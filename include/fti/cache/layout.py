"""The Redis key layout, defined once (documented in the README for redis-cli users).

* ``{prefix}:live``                   the id of the run whose predictions are live (a string)
* ``{prefix}:run:{run}:meta``         hash: model version, feature day, counts, timestamps
* ``{prefix}:run:{run}:p:{entity}``   hash: one field per target date (``YYYY-MM-DD``) -> prediction
"""

from __future__ import annotations


def live_key(prefix: str) -> str:
    return f"{prefix}:live"


def meta_key(prefix: str, run: str) -> str:
    return f"{run_prefix(prefix)}{run}:meta"


def run_prefix(prefix: str) -> str:
    """What every key of a run starts with, before the run id."""
    return f"{prefix}:run:"


def prediction_suffix(entity: str) -> str:
    """What a prediction key ends with, after the run id."""
    return f":p:{entity}"


def prediction_key(prefix: str, run: str, entity: str) -> str:
    return f"{run_prefix(prefix)}{run}{prediction_suffix(entity)}"


def run_pattern(prefix: str, run: str) -> str:
    """Glob of every key of one run (for cleanup with SCAN)."""
    return f"{run_prefix(prefix)}{run}:*"
