"""The clients one process uses, built once and only when first asked for: store, registry, Redis.

Every pipeline step gets a :class:`Resources` instead of building clients (or setting MLflow's global
tracking URI) itself. Under Airflow each task is a process of its own, so "once" means once per task.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis
    from mlflow import MlflowClient

    from fti.settings import Settings
    from fti.specs import DatasetSpec
    from fti.store.feature_store import FeatureStore


class Resources:
    """Lazily built clients of one process.

    Args:
        settings: the system's settings.
        redis_url: the prediction cache (inference tasks take it from the Airflow Connection).
    """

    def __init__(self, settings: Settings, redis_url: str | None = None) -> None:
        self.settings = settings
        self.redis_url = redis_url

    @cached_property
    def store(self) -> FeatureStore:
        """The feature store the settings point at."""
        from fti.store.feature_store import FeatureStore

        settings = self.settings
        assert settings.store_uri and settings.catalog_url
        return FeatureStore(
            settings.store_uri, settings.catalog_url, settings.store_verify, settings.store_timeout_s
        )

    @cached_property
    def registry(self) -> MlflowClient:
        """An MLflow client of the tracking and registry URI; MLflow's fluent API is pointed there too.

        Raises:
            RegistryUnavailable: an http(s) tracking server does not answer within seconds.
        """
        from fti.registry.mlflow_registry import check_available, configure

        uri = self.settings.mlflow_tracking_uri or ""
        check_available(uri)
        return configure(uri)

    @cached_property
    def redis(self) -> redis.Redis:
        """A checked client of the prediction cache.

        Raises:
            ValueError: no Redis URL was given to this process.
            CacheUnavailable: Redis does not answer.
        """
        from fti.cache.connect import connect

        if not self.redis_url:
            raise ValueError("no Redis URL: inference tasks read it from the Airflow Connection fti_redis")
        return connect(self.redis_url)

    def model_name(self, spec: DatasetSpec) -> str:
        """The data set's registered model in this environment."""
        return self.settings.model_name(spec.name)

    def cache_prefix(self, spec: DatasetSpec) -> str:
        """The data set's Redis prefix in this environment."""
        return self.settings.cache_prefix(spec.name)
