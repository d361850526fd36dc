"""Which errors no retry can fix: a task that raises one fails at once, with its message as the reason.

A bad spec, missing or malformed raw files, a schema mismatch, data that fails validation or drifts,
a snapshot that cannot train a model: retrying in a minute reads the same files and fails the same
way, so the DAGs fail such tasks without retries (``AirflowFailException``). A service that is down
or times out is transient: those errors keep Airflow's retries. Matched by class name through the
exception's class hierarchy, so this module imports none of the modules that define them.
"""

from __future__ import annotations

PERMANENT: frozenset[str] = frozenset(
    {
        "fti.specs.loader.SpecError",
        "fti.data.source.RawDataMissing",
        "fti.data.source.RawSchemaMismatch",
        "fti.validation.runner.ValidationFailed",
        "fti.monitoring.drift_check.DriftFailed",
        "fti.inference.inputs.InferenceSchemaMismatch",
        "fti.features.model_inputs.KnownFutureMissing",
        "fti.training.snapshot.UnusableSnapshot",
        "fti.training.snapshot.FeatureSetVersionNotFound",
        "fti.training.split.NotEnoughData",
        "fti.registry.mlflow_registry.ModelNotFound",
        "fti.registry.integrity.ModelIntegrityError",
        "fti.cache.predictions.RunConflict",
        "fti.cache.memory.CacheMemoryRefused",
        "fti.cache.memory.CacheOutOfMemory",
        "pydantic_core._pydantic_core.ValidationError",
    }
)
"""Qualified class names of the errors that fail a task without retries."""


def is_permanent(exc: BaseException) -> bool:
    """Whether ``exc`` (or a class it derives from) is one of :data:`PERMANENT`."""
    return any(f"{cls.__module__}.{cls.__qualname__}" in PERMANENT for cls in type(exc).__mro__)
