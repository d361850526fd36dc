"""Settings of the whole system, read from the environment (prefix ``FTI_``) once, lazily.

Every path defaults to a folder under ``var/`` in the project checkout, so the embedded
default (``make run``) needs no configuration; the compose stack overrides them by environment.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Environment(StrEnum):
    """Deployment environment; each gets its own registry names, storage and cache prefixes."""

    SANDBOX = "sandbox"
    STAGING = "staging"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Configuration of fti; each field can be set as ``FTI_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FTI_", extra="ignore")

    env: Environment = Field(Environment.SANDBOX, description="Deployment environment.")
    var_dir: Path = Field(PROJECT_ROOT / "var", description="Root of all local state.")
    raw_dir: Path | None = Field(None, description="Landing folder of daily raw files.")
    cache_dir: Path | None = Field(None, description="Where downloads (the demo data) are cached.")
    store_uri: str | None = Field(None, description="Root URI of the Parquet feature store.")
    catalog_url: str | None = Field(None, description="SQLAlchemy URL of the feature-store catalog.")
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking (and registry) URI.")
    mlflow_artifact_uri: str | None = Field(None, description="Artifact root for new MLflow experiments.")
    feature_set: str = Field("retail_demand", description="Feature set the pipelines read and write.")
    horizon_days: int = Field(7, ge=1, le=60, description="Days ahead predicted for every entity.")

    def model_post_init(self, __context: object) -> None:
        """Derive the paths left unset from ``var_dir``."""
        var = self.var_dir
        self.raw_dir = self.raw_dir or var / "raw"
        self.cache_dir = self.cache_dir or var / "cache"
        self.store_uri = self.store_uri or str(var / "store")
        self.catalog_url = self.catalog_url or f"sqlite:///{var / 'catalog.db'}"
        self.mlflow_tracking_uri = self.mlflow_tracking_uri or f"sqlite:///{var / 'mlflow' / 'mlflow.db'}"
        self.mlflow_artifact_uri = self.mlflow_artifact_uri or str(var / "mlflow" / "artifacts")

    @property
    def model_name(self) -> str:
        """Registered model name, one per environment."""
        return f"fti-demand-{self.env.value}"

    @property
    def cache_prefix(self) -> str:
        """Prefix of every Redis key this environment writes."""
        return f"fti:{self.env.value}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()
