"""The feature store: feature values as Parquet files, and a SQL catalog that commits them."""

from fti.store.feature_store import FeatureStore, PartitionRef
from fti.store.statistics import FeatureStatistics, Histogram, compute_statistics

__all__ = ["FeatureStatistics", "FeatureStore", "Histogram", "PartitionRef", "compute_statistics"]
