"""The data-set spec, version 2: one YAML file declares a forecasting data set end to end.

Sections (each documented field by field in the README, "Data-set spec"):

* ``source``: where files land, their layout and format, and their typed columns;
* ``entity``: the key columns whose values, joined, are the entity id;
* ``time``: the timestamp column, the grain and the time zone;
* ``target``: the value forecast, which rows count (filters) and how they aggregate per period;
* ``covariates``: known-future, past-only and static columns;
* ``features``: lags, rolling windows, calendar and holiday features, ratios, cross-entity aggregates;
* ``forecast``: horizon and gap, in periods;
* ``validation``: per-column rules of the raw data (Great Expectations);
* ``model`` and ``schedule``: training window and objective, and the three pipelines' crons.

Every level refuses unknown fields. Cross-field rules (a column that does not exist, an aggregation
that does not fit a column's type, a window longer than the training window allows) live in
:class:`DatasetSpec` so that :func:`fti.specs.loader.load_spec` reports them all at once, by field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from fti.periods import Calendar, Grain, default_crons
from fti.specs.base import (  # noqa: F401 - the spec's names, importable from here
    CALENDAR_BY_GRAIN,
    NAME_PATTERN,
    NUMERIC_TYPES,
    SPEC_VERSION,
    Aggregation,
    CalendarFeature,
    ColumnType,
    PositiveInt,
    RollingStat,
    Strict,
    snake,
)
from fti.specs.data import (  # noqa: F401
    Covariate,
    Covariates,
    Entity,
    EntityColumn,
    Source,
    SourceColumn,
    StaticAttribute,
    StaticCovariates,
    Target,
    Time,
)
from fti.specs.features import (  # noqa: F401
    Cross,
    Features,
    Forecast,
    Holidays,
    Operand,
    PlannedRatio,
    Ratio,
    Rolling,
)

_Number = Annotated[float, Field(strict=True)]


# ----- validation, model, schedule ------------------------------------------------------------------
class ColumnRules(Strict):
    """Rules one raw column must keep; a run whose data breaks one stops before anything is written."""

    not_null: bool = Field(False, description="Never missing.")
    min: _Number | None = Field(None, description="Lowest allowed value.")
    max: _Number | None = Field(None, description="Highest allowed value.")
    allowed: tuple[Any, ...] | None = Field(None, min_length=1, description="The only allowed values.")
    regex: str | None = Field(None, description="Every value matches this regular expression (re.search).")
    max_length: PositiveInt | None = Field(None, description="Longest allowed text.")
    min_present_share: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        None, description="Least share of a run's rows where the value is present."
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern

    @field_validator("allowed")
    @classmethod
    def _unique(cls, values: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if values is not None:
            repeated = sorted({str(v) for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"listed more than once: {repeated}")
        return values

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Validation(Strict):
    """Per-column rules of the raw data, turned into a Great Expectations suite."""

    columns: dict[str, ColumnRules] = Field(default_factory=dict, description="Raw column -> its rules.")


class Model(Strict):
    """How the model trains."""

    training_window: PositiveInt = Field(description="Feature periods in a training snapshot.")
    validation_periods: PositiveInt | None = Field(None, description="Periods of the validation window.")
    test_periods: PositiveInt | None = Field(None, description="Periods of the test window.")
    objective: Literal["absolute_error", "squared_error", "tweedie", "poisson"] = Field(
        "absolute_error", description="XGBoost's loss."
    )
    sample_weight: Literal["none", "inverse_actual"] = Field(
        "none",
        description="Row weights of the point model's fit: inverse_actual weighs each row by "
        "1 / max(actual, 1), the loss shaped like MAPE.",
    )
    metric: Literal["wape", "mape", "mae", "rmse"] = Field(
        "wape", description="The primary metric: the gate compares on it, tuning minimises it."
    )
    max_abs_bias_pct: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Largest |bias| (share of actual demand, 0.05 = 5 %) a promoted model may have."
    )
    baselines: tuple[Literal["autoets", "croston_optimized", "tsb", "adida"], ...] | None = Field(
        None,
        description="Classical baselines (statsforecast) besides zero, seasonal naive and moving average; "
        "default: croston_optimized, tsb, adida where an absent period is 0, else autoets; [] for none.",
    )
    categorical: tuple[str, ...] = Field(
        (), description="Key columns or categorical attributes (store names) one-hot encoded as inputs."
    )
    quantiles: tuple[Annotated[float, Field(gt=0, lt=1)], ...] = Field(
        (), description="Quantile levels forecast besides the point, e.g. [0.1, 0.5, 0.9]; none: point only."
    )
    refit: bool = Field(
        True,
        description=(
            "Register a model with its point model refitted on all labelled periods "
            "(evaluated on held-out ones)."
        ),
    )

    @field_validator("quantiles")
    @classmethod
    def _increasing(cls, levels: tuple[float, ...]) -> tuple[float, ...]:
        if list(levels) != sorted(set(levels)):
            raise ValueError(f"quantile levels must increase without repeats, got {list(levels)}")
        if len(levels) == 1:
            raise ValueError("give at least two quantile levels (an interval), or none")
        return levels


_WINDOW_DEFAULTS = {Grain.HOUR: 48, Grain.DAY: 7, Grain.WEEK: 4, Grain.MONTH: 3}


class Schedule(Strict):
    """Crons of the three pipelines (in the data set's time zone); defaults follow the grain."""

    features: str | None = Field(None, description="feature_pipeline: runs for the partition that ended.")
    training: str | None = Field(None, description="training_pipeline.")
    inference: str | None = Field(None, description="batch_inference.")

    @field_validator("features", "training", "inference")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron line of five fields")
        return value


# ----- the whole spec ------------------------------------------------------------------------------
class DatasetSpec(Strict):
    """A forecasting data set, declared; see the module docstring and the README."""

    spec_version: Literal[2] = Field(description="Format version of this file: 2.")
    name: str = Field(pattern=NAME_PATTERN, description="Data-set id: DAG ids, model name, Redis prefix.")
    description: str = Field("", description="What the data set holds.")
    source: Source
    entity: Entity
    time: Time
    target: Target
    covariates: Covariates = Field(default_factory=Covariates)
    features: Features = Field(default_factory=Features)
    forecast: Forecast
    validation: Validation = Field(default_factory=Validation)
    model: Model
    schedule: Schedule = Field(default_factory=Schedule)
    _source_path: Path | None = PrivateAttr(None)
    _source_sha256: str | None = PrivateAttr(None)

    # ----- derived facts every step uses ---------------------------------------------------------
    @property
    def calendar(self) -> Calendar:
        return self.time.calendar

    @property
    def feature_set(self) -> str:
        """The feature set of the data set's features."""
        return self.name

    @property
    def future_feature_set(self) -> str:
        """The feature set of its known-future covariates (one row per entity and period)."""
        return f"{self.name}__future"

    @property
    def validation_periods(self) -> int:
        return self.model.validation_periods or _WINDOW_DEFAULTS[self.time.grain]

    @property
    def test_periods(self) -> int:
        return self.model.test_periods or _WINDOW_DEFAULTS[self.time.grain]

    @property
    def crons(self) -> dict[str, str]:
        """The three pipelines' crons, the spec's or the grain's defaults."""
        defaults = default_crons(self.calendar)
        given = self.schedule.model_dump()
        return {k: given[k] or v for k, v in defaults.items()}

    @property
    def columns_by_name(self) -> dict[str, SourceColumn]:
        return {c.name: c for c in self.source.columns}

    @property
    def static_fields(self) -> dict[str, str]:
        """Store name -> kind of each static attribute."""
        return {a.field: a.kind for a in self.covariates.static.columns}

    @property
    def source_path(self) -> Path | None:
        """The file the spec was loaded from; None for a spec built in code."""
        return self._source_path

    @property
    def source_sha256(self) -> str | None:
        """SHA-256 of the file's bytes, kept with validations; None for a spec built in code."""
        return self._source_sha256

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` it no longer is the file's content, so it forgets the file and digest."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy._source_path = copy._source_sha256 = None
        return copy

    # ----- cross-field rules ---------------------------------------------------------------------
    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        from fti.specs.rules import problems

        # ``shallow`` (DAG files, parsed often): skip the checks that import big libraries (holidays).
        found = list(problems(self, deep=not (info.context or {}).get("shallow", False)))
        if found:
            raise ValueError("\n".join(found))
        return self

    def store_fields(self) -> Iterator[str]:
        """Every name a feature, ratio or cross operand may refer to."""
        yield self.target.name
        yield from (c.field for c in self.covariates.past_only)
        yield from (c.field for c in self.covariates.known_future)
        yield from self.static_fields
        yield from self.entity.key_fields
