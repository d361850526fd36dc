"""The live run's metadata as a table a person reads: a label per field, the raw name as a tooltip (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fti.ui.html import table

LIVE_LABELS: dict[str, str] = {
    "dataset": "Data set",
    "model_name": "Model",
    "model_version": "Model version",
    "model_run_id": "Model's MLflow run",
    "feature_set": "Feature set",
    "feature_set_version": "Feature set version",
    "feature_partition": "Feature partition predicted from",
    "origin": "Forecast origin (last known period)",
    "first_period": "First forecast period",
    "horizon": "Periods forecast per entity",
    "grain": "Period length",
    "week_start": "Week starts on (0 = Monday)",
    "entities": "Entities forecast",
    "predictions": "Predictions published",
    "quantiles": "Quantiles published",
    "values_per_period": "Values per period (point + quantiles)",
    "drift_status": "Drift verdict of the inputs",
    "drift_max_feature": "Most drifted feature",
    "drift_max_distance": "Its drift distance (Jensen-Shannon)",
    "started_at": "Publishing started (UTC)",
    "published_at": "Went live (UTC)",
    "airflow_run_id": "Airflow run",
    "state": "State",
    "chunks": "Chunks written",
    "n_buckets": "Redis hash buckets",
    "format": "Value encoding",
}
"""Human label of each field batch_inference and the cache write into a run's metadata."""


def label(name: str) -> str:
    """The field's label; an unknown field gets its name in words (``foo_bar`` -> ``Foo bar``)."""
    return LIVE_LABELS.get(name) or name.replace("_", " ").capitalize()


def render_live_fields(fields: Sequence[tuple[str, str]]) -> str:
    """A two-column table: label (raw field name as its tooltip) and value."""
    rows = [
        [f'<span title="{escape(name)}">{escape(label(name))}</span>', escape(value)]
        for name, value in fields
    ]
    return table(["", "value"], rows, "live-meta")
