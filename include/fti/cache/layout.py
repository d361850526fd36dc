"""The Redis key layout, defined once (documented in the README for redis-cli users).

* ``{prefix}:live``                   the id of the run whose predictions are live (a string)
* ``{prefix}:run:{run}:meta``         hash: model version, feature day, counts, timestamps
* ``{prefix}:run:{run}:p:{entity}``   hash: one field per target date (``YYYY-MM-DD``) -> prediction
"""

from __future__ import annotations


def live_key(prefix: str) -> str:
    return f"{prefix}:live"


def meta_key(prefix: str, run: str) -> str:
    return f"{prefix}:run:{run}:meta"


def prediction_key(prefix: str, run: str, entity: str) -> str:
    return f"{prefix}:run:{run}:p:{entity}"


def run_pattern(prefix: str, run: str) -> str:
    """Glob of every key of one run (for cleanup with SCAN)."""
    return f"{prefix}:run:{run}:*"
