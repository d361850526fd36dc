"""Scoring a model: the report of a fit on its test window, and a registered version on another's window."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fti.contracts import Lineage, TrainingRequest
from fti.features.model_inputs import LABEL
from fti.features.schema import bins, drift_columns
from fti.registry import mlflow_registry as registry
from fti.training.snapshot import Snapshot, labelled_rows, take_snapshot

if TYPE_CHECKING:
    import pandas as pd

    from fti.analysis.report import ModelAnalysis
    from fti.registry.gate import ChampionScore
    from fti.resources import Resources
    from fti.specs import DatasetSpec
    from fti.training.split import TimeSplit

log = logging.getLogger(__name__)


def analyse_split(
    spec: DatasetSpec,
    snapshot: Snapshot,
    split: TimeSplit,
    predicted: Any,
    quantiles: Any,
    importances: dict[str, float],
    settings: Any,
) -> ModelAnalysis:
    """The model report of one fit: test metrics (and the quantiles' coverage and pinball loss),
    baselines on the same rows, slices, split drift."""
    from fti.analysis.baselines import SEASON, baseline_forecasts, history, naive_scale, naive_season
    from fti.analysis.report import analyse
    from fti.analysis.slices import slice_keys

    actuals = snapshot.actuals(spec)
    past = history(actuals, spec)  # built once: the baselines and the MASE scale both read it
    forecasts = baseline_forecasts(split.test, actuals, spec, past)
    train_end = spec.calendar.index(split.train["period"].to_numpy(dtype="datetime64[us]")).max()
    season = naive_season(past, int(train_end), SEASON[spec.time.grain])
    scale = naive_scale(past, int(train_end), season)
    return analyse(
        split.test,
        predicted,
        forecasts,
        slice_keys(split.test, spec, forecasts["moving_average"]),
        importances,
        {"train": split.train, "validation": split.validation, "test": split.test},
        drift_columns(spec),
        bins(spec),
        slice_factor=settings.slice_flag_factor,
        drift_threshold=settings.split_drift_threshold,
        quantiles=quantiles,
        levels=tuple(spec.model.quantiles),
        naive_scale=scale,
        naive_season=season,
        metric=spec.model.metric,
    )


def evaluation_rows(resources: Resources, spec: DatasetSpec, lineage: Lineage) -> pd.DataFrame:
    """The labelled test rows of a registered version, rebuilt from its lineage (same snapshot, same rows)."""
    request = TrainingRequest(
        dataset=spec.name,
        as_of=lineage.as_of,
        window=lineage.window,
        feature_set_version=lineage.feature_set_version,
    )
    snapshot = take_snapshot(resources.store, spec, request)
    rows = labelled_rows(snapshot, spec)
    first = spec.calendar.parse(lineage.test_start)
    return rows[rows["period"].to_numpy(dtype="datetime64[us]") >= first].reset_index(drop=True)


def score_on_window(
    resources: Resources, spec: DatasetSpec, rows: pd.DataFrame, ref: registry.ModelRef
) -> ChampionScore:
    """Error of version ``ref`` on ``rows`` (the spec's metric), with its snapshot time and checksum."""
    from fti.analysis.metrics import regression_metrics
    from fti.registry.gate import ChampionScore

    tags = resources.registry.get_model_version(ref.name, ref.version).tags
    as_of = datetime.fromisoformat(tags["as_of"]) if tags.get("as_of") else None
    if _learned_from(tags, rows, spec):
        # A champion refit on every labelled row has learned (part of) this window: scoring it here
        # would flatter it. Its recorded held-out error stands in: the very same window when the
        # snapshots are the same, its own test window otherwise.
        held_out = resources.registry.get_run(ref.run_id).data.metrics.get(f"test_{spec.model.metric}")
        log.info("champion v%s was refit on this window: its held-out %s %s is compared", ref.version,
                 spec.model.metric, held_out)  # fmt: skip
        score = float("nan") if held_out is None else float(held_out)
        return ChampionScore(ref.version, score, as_of, tags.get("snapshot_checksum"), held_out=True)
    model = registry.load_model(ref)
    try:  # the model's encoder picks its own input columns out of the rows
        score = regression_metrics(rows[LABEL].to_numpy(), model.predict(rows))[spec.model.metric]
    except KeyError as exc:
        log.warning(
            "champion v%s cannot score this window (it needs column %s): not comparable", ref.version, exc
        )
        return ChampionScore(
            ref.version, float("nan"), as_of, tags.get("snapshot_checksum"), comparable=False
        )
    return ChampionScore(ref.version, score, as_of, tags.get("snapshot_checksum"))


def _learned_from(tags: dict[str, str], rows: pd.DataFrame, spec: DatasetSpec) -> bool:
    """Whether a version refit on all its labelled rows (tag ``refit``) was fitted on any of ``rows``:
    its snapshot ends on or after their first feature period."""
    if tags.get("refit", "").lower() != "true" or not tags.get("snapshot_end") or rows.empty:
        return False
    from datetime import date

    first = rows["period"].min()
    return date.fromisoformat(tags["snapshot_end"]) >= first.date()
