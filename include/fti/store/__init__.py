"""The feature store: feature values as Parquet files, and a SQL catalog that commits them."""

from fti.store.feature_store import FeatureStore, PartitionRef

__all__ = ["FeatureStore", "PartitionRef"]
