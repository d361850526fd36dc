"""The feature store: feature values as Parquet files, and a SQL catalog that commits them.

The names below load on first use: ``fti.store.statistics`` (pure, used by the analysis and drift
code) must not pull in SQLAlchemy and the catalog through this package's import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fti.store.feature_store import FeatureStore, PartitionRef
    from fti.store.statistics import FeatureStatistics, Histogram, compute_statistics

__all__ = ["FeatureStatistics", "FeatureStore", "Histogram", "PartitionRef", "compute_statistics"]

_HOMES = {
    "FeatureStore": "fti.store.feature_store",
    "PartitionRef": "fti.store.feature_store",
    "FeatureStatistics": "fti.store.statistics",
    "Histogram": "fti.store.statistics",
    "compute_statistics": "fti.store.statistics",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
