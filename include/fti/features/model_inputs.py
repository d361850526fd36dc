"""Turn stored feature rows into model inputs, identically for training and inference.

A stored row describes an entity at its feature period ``period``; the model predicts the target
``horizon`` periods later (``spec.forecast.steps``: gap + 1 .. gap + horizon), so each row is repeated
once per step, with the target period's calendar and, when the spec has them, the known-future
covariates at the target period (from the future feature set).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fti.features.schema import ENTITY, PERIOD, calendar_names, future_columns, key_columns

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec

LABEL = "label"
HORIZON = "horizon"
TARGET_PERIOD = "target_period"


class KnownFutureMissing(ValueError):
    """Known-future covariates have not landed for periods the model must forecast."""


def expand_horizons(features: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Repeat each feature row once per forecast step; add ``horizon``, ``target_period`` and the target
    period's calendar (``target_<name>``)."""
    from fti.features.calendar import calendar_columns

    steps = np.asarray(spec.forecast.steps, dtype="int64")
    # By position: a label-based repeat multiplies rows whose index label is not unique.
    out = features.iloc[np.repeat(np.arange(len(features)), len(steps))].reset_index(drop=True)
    out[HORIZON] = np.tile(steps, len(features))
    cal = spec.calendar
    feature_index = cal.index(out[PERIOD].to_numpy(dtype="datetime64[us]"))
    target = cal.start(feature_index + out[HORIZON].to_numpy())
    out[TARGET_PERIOD] = target
    names = calendar_names(spec)
    if names:
        calendar = calendar_columns(target, spec)
        for name in names:
            out[f"target_{name}"] = calendar[name]
    return out


def attach_future(expanded: pd.DataFrame, future: pd.DataFrame | None, spec: DatasetSpec) -> pd.DataFrame:
    """Add the known-future covariates (and their features) at each row's target period.

    Rows whose target period has no future row get missing values (training); inference checks
    completeness first (:func:`check_future_complete`).
    """
    names = [c for c in future_columns(spec) if c not in key_columns(spec)]
    if not names:
        return expanded
    if future is None or future.empty:
        out = expanded.copy()
        for name in names:
            out[name] = np.nan
        return out
    right = future[[ENTITY, PERIOD, *names]].rename(columns={PERIOD: TARGET_PERIOD})
    right = right.astype({TARGET_PERIOD: expanded[TARGET_PERIOD].dtype})
    return expanded.merge(right, on=[ENTITY, TARGET_PERIOD], how="left", validate="many_to_one")


def add_planned_ratios(expanded: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Each ``features.planned_ratios``: the covariate at the row's target period over its base at the
    feature period, on rows with both (:func:`attach_future`'s, of stored feature rows); 0 where the
    base is 0 or missing, missing where the covariate is (as for ratios of stored operands)."""
    ratios = {}
    for ratio in spec.features.planned_ratios:
        base = expanded[ratio.base].to_numpy(dtype="float64", na_value=np.nan)
        value = expanded[ratio.column].to_numpy(dtype="float64", na_value=np.nan)
        usable = ~np.isnan(base) & (base != 0)
        ratios[ratio.name] = np.where(usable, value / np.where(usable, base, 1.0), 0.0)
    return expanded.assign(**ratios) if ratios else expanded


def check_future_complete(expanded: pd.DataFrame, spec: DatasetSpec) -> None:
    """Every row to predict has its known-future covariates.

    Raises:
        KnownFutureMissing: naming each covariate, how many entity-periods lack it, and the first periods.
    """
    names = [c.field for c in spec.covariates.known_future]
    problems = []
    for name in names:
        missing = expanded[name].isna().to_numpy() if name in expanded else np.ones(len(expanded), bool)
        if missing.any():
            periods = sorted({spec.calendar.format(p) for p in expanded.loc[missing, TARGET_PERIOD]})
            shown = ", ".join(periods[:5]) + (f" (+{len(periods) - 5} more)" if len(periods) > 5 else "")
            problems.append(f"{name!r}: {int(missing.sum())} entity-periods, periods {shown}")
    if problems:
        raise KnownFutureMissing(
            f"known-future covariates of {spec.name!r} have not landed for the forecast periods: "
            + "; ".join(problems)
            + ". Land the planned values (e.g. `fti data land --dataset "
            + f"{spec.name} FILE`), run feature_pipeline for the latest partition, then inference again"
        )


def attach_labels(expanded: pd.DataFrame, actuals: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Add the label (the target at ``target_period``), keeping only rows whose label is known.

    Args:
        expanded: output of :func:`expand_horizons` (and :func:`attach_future`).
        actuals: ``entity``, ``period`` and the target column of every stored row of the snapshot.

    With ``absent: zero`` a target period inside the snapshot's span without a row for the entity
    is a 0 (the entity had no rows); with ``absent: missing`` such rows are dropped: not observed.
    """
    target = spec.target.name
    if actuals.empty:
        return expanded.iloc[:0].assign(**{LABEL: np.empty(0)})
    right = actuals[[ENTITY, PERIOD, target]].rename(columns={PERIOD: TARGET_PERIOD, target: LABEL})
    right = right.astype({TARGET_PERIOD: expanded[TARGET_PERIOD].dtype})
    labelled = expanded.merge(right, on=[ENTITY, TARGET_PERIOD], how="left", validate="many_to_one")
    if spec.target.absent == "zero":
        last = actuals[PERIOD].max()
        inside = (labelled[TARGET_PERIOD] <= last).to_numpy()
        labelled = labelled[inside].reset_index(drop=True)
        labelled[LABEL] = labelled[LABEL].fillna(0.0)
        return labelled
    return labelled[labelled[LABEL].notna()].reset_index(drop=True)
