"""Settings of the whole system, read from the environment (prefix ``FTI_``) once, lazily.

Every path defaults to a folder under ``var/`` in the project checkout, so the embedded
default (``make run``) needs no configuration; the compose stack overrides them by environment.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
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
    specs_dir: Path | None = Field(None, description="Folder of data-set specs, one YAML file each.")
    raw_dir: Path | None = Field(None, description="Root of the landing folders of every data set.")
    cache_dir: Path | None = Field(None, description="Where downloads (demo data, models) are cached.")
    store_uri: str | None = Field(None, description="Root URI of the Parquet feature store.")
    catalog_url: str | None = Field(None, description="SQLAlchemy URL of the feature-store catalog.")
    store_verify: Literal["size", "digest"] = Field(
        "size",
        description="What every feature-store read checks of a partition file against the catalog: its "
        "size, or its SHA-256 too (reads for training and drift always check the SHA-256).",
    )
    store_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Bound of connecting and of one request to an object-store store (s3://), tried 3 "
        "times: a hung object store fails a read or write within about 3x this.",
    )
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking (and registry) URI.")
    mlflow_artifact_uri: str | None = Field(None, description="Artifact root for new MLflow experiments.")
    mlflow_ui_url: str = Field("http://127.0.0.1:5000", description="MLflow UI that task logs link to.")
    lookup_timeout_s: float = Field(
        0.5,
        gt=0,
        description="Bound of one Redis command of a lookup (HTTP service, CLI, control room): a hung "
        "cache is answered as unavailable within about twice this.",
    )
    serve_token: SecretStr | None = Field(
        None,
        description="Bearer token the HTTP lookup service (fti serve) requires of every request but "
        "/health; required when it listens on an address other than loopback.",
    )

    serve_pool_size: int = Field(
        128,
        ge=1,
        description="Redis connections of each fti serve worker: as many requests as one worker serves at "
        "once; a request beyond them waits (at most lookup_timeout_s) for a free one.",
    )

    @field_validator("serve_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if value == "" else value

    tune_trials: int = Field(12, ge=1, description="Tuning budget: most trials of the search.")
    tune_minutes: float = Field(8.0, gt=0, description="Tuning budget: minutes after which no trial starts.")
    promotion_tolerance: float = Field(
        0.02, ge=0, lt=1, description="How much worse (relative WAPE) than an older champion may be promoted."
    )
    baseline_margin: float = Field(
        0.0, ge=0, lt=1, description="How much better (relative WAPE) than the best baseline to be promoted."
    )
    slice_flag_factor: float = Field(2.0, gt=1, description="Flag slices with WAPE > factor x overall.")
    inference_chunk_entities: int = Field(
        50_000, ge=1, description="Entities per mapped inference task (each predicts all horizon days)."
    )
    keep_runs: int = Field(3, ge=1, description="Prediction runs kept in Redis, the live one included.")
    prediction_log_keep_days: int = Field(
        730,
        ge=1,
        description="Days of feature partitions (data time) whose runs the prediction log keeps.",
    )
    decay_warn: float = Field(
        1.25, gt=0, description="Realized / held-out error of the champion above which decay warns."
    )
    decay_fail: float = Field(
        1.5, gt=0, description="Realized / held-out error above which decay fails and asks for retraining."
    )
    decay_window_runs: int = Field(
        4, ge=1, description="The champion's newest scored runs the verdict reads."
    )
    retrain_min_interval_hours: float = Field(
        24, ge=0, description="At most one decay-triggered retraining request per data set in this time."
    )
    run_ttl_hours: float = Field(
        72, gt=0, description="TTL of a run's Redis keys: a safety net behind keep_runs."
    )
    drift_warn: float = Field(0.2, ge=0, le=1, description="Default JS distance above which drift warns.")
    drift_fail: float = Field(0.4, ge=0, le=1, description="Default JS distance above which inference fails.")
    drift_thresholds: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description='Per-feature (warn, fail) overrides, JSON: {"lag_1": [0.3, 0.5]}.',
    )
    split_drift_threshold: float = Field(
        0.2, gt=0, le=1, description="Jensen-Shannon distance between split windows that is flagged."
    )

    def model_post_init(self, __context: object) -> None:
        """Derive the paths left unset from ``var_dir``; the specs folder defaults to the checkout's."""
        var = self.var_dir
        self.raw_dir = self.raw_dir or var / "raw"
        self.cache_dir = self.cache_dir or var / "cache"
        self.store_uri = self.store_uri or str(var / "store")
        self.catalog_url = self.catalog_url or f"sqlite:///{var / 'catalog.db'}"
        self.mlflow_tracking_uri = self.mlflow_tracking_uri or f"sqlite:///{var / 'mlflow' / 'mlflow.db'}"
        self.mlflow_artifact_uri = self.mlflow_artifact_uri or str(var / "mlflow" / "artifacts")
        self.specs_dir = self.specs_dir or PROJECT_ROOT / "specs"

    def model_name(self, dataset: str) -> str:
        """Registered model name of a data set, one per environment: ``fti-<dataset>-<env>``."""
        return f"fti-{dataset}-{self.env.value}"

    def cache_prefix(self, dataset: str) -> str:
        """Prefix of every Redis key of a data set in this environment: ``fti:<env>:<dataset>``."""
        return f"fti:{self.env.value}:{dataset}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()
