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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fti.periods import WEEKDAYS, Calendar, Grain, default_crons
from fti.specs.filters import RowFilter

SPEC_VERSION = 2
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
ColumnType = Literal["string", "int", "float", "bool", "datetime", "date"]
Aggregation = Literal["sum", "mean", "last", "max", "min", "count"]
RollingStat = Literal["mean", "median", "std", "min", "max", "sum", "nonzero_share", "nonzero_count"]
CalendarFeature = Literal["hour", "day_of_week", "day_of_month", "day_of_year", "week_of_year", "month"]
NUMERIC_TYPES = ("int", "float", "bool")
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
_Number = Annotated[float, Field(strict=True)]

CALENDAR_BY_GRAIN: Mapping[Grain, tuple[str, ...]] = {
    Grain.HOUR: ("hour", "day_of_week", "day_of_month", "day_of_year", "week_of_year", "month"),
    Grain.DAY: ("day_of_week", "day_of_month", "day_of_year", "week_of_year", "month"),
    Grain.WEEK: ("week_of_year", "month"),
    Grain.MONTH: ("month",),
}
"""Calendar features that vary between the periods of a grain (``hour`` of weekly data would not)."""


def snake(name: str) -> str:
    """A column's name in the store: ``StockCode`` -> ``stock_code``, ``Customer ID`` -> ``customer_id``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ----- source ---------------------------------------------------------------------------------------
class SourceColumn(_Strict):
    """One column of the landed files: its name as in the header, its type and how to parse it."""

    name: str = Field(min_length=1, description="Column name as in the file's header.")
    type: ColumnType = Field(description="string, int, float, bool, datetime or date.")
    format: str | None = Field(
        None,
        description="strptime format of a datetime or date column, e.g. '%m/%d/%Y %H:%M'; ISO if absent.",
    )
    description: str = Field("", description="What the column holds, for readers of the spec.")

    @model_validator(mode="after")
    def _format_fits(self) -> Self:
        if self.format is not None and self.type not in ("datetime", "date"):
            raise ValueError(f"column {self.name!r}: 'format' applies to datetime and date columns only")
        return self


class Source(_Strict):
    """Where and how the raw files land."""

    folder: str | None = Field(
        None,
        description="Landing folder, relative to FTI_RAW_DIR (absolute also allowed); default: the name.",
    )
    layout: Literal["per_period", "pattern"] = Field(
        "per_period",
        description="per_period: one file per partition named <YYYY-MM-DD>.<format> (the date a "
        "partition starts); pattern: any files matching 'pattern', rows partitioned by the time column.",
    )
    pattern: str = Field("*", description="Glob of the files read with layout 'pattern'.")
    format: Literal["csv", "parquet"] = Field("csv", description="File format.")
    aggregated: bool = Field(
        False, description="Each row already is one entity and period: duplicates are refused."
    )
    columns: tuple[SourceColumn, ...] = Field(min_length=1, description="The files' columns, in file order.")

    @field_validator("columns")
    @classmethod
    def _unique(cls, columns: tuple[SourceColumn, ...]) -> tuple[SourceColumn, ...]:
        names = [c.name for c in columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"column names listed more than once: {repeated}")
        stored = [snake(n) for n in names]
        clash = sorted({n for n in names if stored.count(snake(n)) > 1})
        if clash:
            raise ValueError(f"columns {clash} have the same store name {snake(clash[0])!r}")
        return columns


# ----- entity, time, target -------------------------------------------------------------------------
class EntityColumn(_Strict):
    """A key column, optionally normalised."""

    column: str = Field(min_length=1, description="Raw column.")
    case: Literal["keep", "upper", "lower"] = Field("keep", description="Normalise the text's case.")


class Entity(_Strict):
    """The entity key: its columns' values, joined by ``separator``, are the entity id."""

    columns: tuple[EntityColumn, ...] = Field(min_length=1, description="Key columns, in id order.")
    separator: str = Field("|", min_length=1, description="Joins the key values into the entity id.")

    @field_validator("columns", mode="before")
    @classmethod
    def _plain_names(cls, value: Any) -> Any:
        """Allow ``[Country, StockCode]`` as well as ``[{column: Country}, ...]``."""
        if isinstance(value, list | tuple):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value

    @property
    def names(self) -> list[str]:
        """The raw key columns."""
        return [c.column for c in self.columns]

    @property
    def key_fields(self) -> list[str]:
        """The key columns' names in the feature store (snake case)."""
        return [snake(c.column) for c in self.columns]


class Time(_Strict):
    """The timestamp column and the grain of the forecasts."""

    column: str = Field(min_length=1, description="Raw datetime (or date) column.")
    grain: Grain = Field(description="hour, day, week or month.")
    week_start: Literal[WEEKDAYS] = Field(  # type: ignore[valid-type]
        "monday", description="First weekday of a week (weekly grain)."
    )
    timezone: str = Field(
        "UTC",
        description="Zone of the wall-clock times: tz-aware stamps are converted to it; schedules and "
        "holidays use it.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r} (an IANA name like Europe/London)") from None
        return zone

    @property
    def calendar(self) -> Calendar:
        """Period arithmetic of this grain."""
        return Calendar(self.grain, WEEKDAYS.index(self.week_start))


class Target(_Strict):
    """What is forecast: one value per entity and period."""

    name: str = Field("target", pattern=NAME_PATTERN, description="Its name in the store and the model.")
    column: str | None = Field(None, description="Raw column aggregated (or 'product').")
    product: tuple[str, ...] | None = Field(
        None, min_length=2, description="Raw columns multiplied row by row (e.g. quantity x price)."
    )
    aggregation: Aggregation = Field("sum", description="How a period's rows make one value.")
    filters: RowFilter | None = Field(None, description="Which rows count (see fti.specs.filters).")
    absent: Literal["zero", "missing"] = Field(
        description="An entity without rows in a period: 0 (transactions) or not observed (measurements)."
    )
    non_negative: bool = Field(True, description="Never below 0: forecasts are clipped at 0.")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.column is None) == (self.product is None):
            raise ValueError("give exactly one of 'column' and 'product'")
        return self

    @property
    def columns(self) -> list[str]:
        """The raw columns the value is made of."""
        return [self.column] if self.column else list(self.product or ())


# ----- covariates -----------------------------------------------------------------------------------
class Covariate(_Strict):
    """A column observed per row, aggregated per entity and period like the target."""

    column: str | None = Field(None, description="Raw column (or 'product').")
    product: tuple[str, ...] | None = Field(None, min_length=2, description="Raw columns multiplied.")
    name: str | None = Field(None, pattern=NAME_PATTERN, description="Store name; default: the column's.")
    aggregation: Aggregation = Field("mean", description="How a period's rows make one value.")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.column is None) == (self.product is None):
            raise ValueError("give exactly one of 'column' and 'product'")
        if self.product is not None and self.name is None:
            raise ValueError("a product of columns needs a 'name'")
        return self

    @property
    def field(self) -> str:
        """Its name in the feature store."""
        return self.name or snake(self.column or "")

    @property
    def columns(self) -> list[str]:
        return [self.column] if self.column else list(self.product or ())


class StaticAttribute(_Strict):
    """An attribute of the entity that does not change over time (a store's size, a car park's capacity)."""

    column: str = Field(min_length=1, description="Raw column (in the rows, or in the attributes file).")
    kind: Literal["numeric", "categorical"] = Field(description="A number, or a category.")

    @property
    def field(self) -> str:
        return snake(self.column)


class StaticCovariates(_Strict):
    """Static attributes, taken from the rows (the latest value per entity) or from one attributes file."""

    columns: tuple[StaticAttribute, ...] = Field((), description="The attributes.")
    file: str | None = Field(
        None, description="CSV in the landing folder with the entity key columns and the attributes."
    )


class Covariates(_Strict):
    """Columns that help forecast besides the target's own history."""

    known_future: tuple[Covariate, ...] = Field(
        (),
        description="Known before the period starts (planned price, promotion): used at the target period.",
    )
    past_only: tuple[Covariate, ...] = Field(
        (), description="Observed with the target: only values up to the feature period are used."
    )
    static: StaticCovariates = Field(default_factory=StaticCovariates, description="Entity attributes.")


# ----- features -------------------------------------------------------------------------------------
class Rolling(_Strict):
    """Statistics over the last ``window`` periods, the feature period included."""

    window: PositiveInt = Field(description="Periods in the window.")
    stats: tuple[RollingStat, ...] = Field(min_length=1, description="Statistics computed over it.")
    column: str | None = Field(None, description="Store name of a past-only covariate; default: the target.")
    names: dict[str, str] = Field(
        default_factory=dict, description="Feature name per stat; default rolling_<stat>_<window>."
    )

    @model_validator(mode="after")
    def _names_of_stats(self) -> Self:
        unknown = sorted(set(self.names) - set(self.stats))
        if unknown:
            raise ValueError(
                f"'names' gives names to {unknown}, which are not among the stats {list(self.stats)}"
            )
        bad = [n for n in self.names.values() if not re.fullmatch(NAME_PATTERN, n)]
        if bad:
            raise ValueError(f"feature names {bad} must match {NAME_PATTERN}")
        return self

    def feature_names(self) -> dict[str, str]:
        """stat -> feature name."""
        prefix = f"{self.column}_" if self.column else ""
        return {s: self.names.get(s, f"{prefix}rolling_{s}_{self.window}") for s in self.stats}


class Operand(_Strict):
    """A column's value at the feature period, or a rolling statistic of it."""

    column: str = Field(
        min_length=1, description="Store name: the target's name, a covariate or an attribute."
    )
    window: PositiveInt | None = Field(None, description="Periods of a rolling statistic; none: the value.")
    stat: RollingStat = Field("sum", description="The statistic over the window.")


class Ratio(_Strict):
    """numerator / denominator; 0 where the denominator is 0 or missing."""

    name: str = Field(pattern=NAME_PATTERN, description="Feature name.")
    numerator: Operand
    denominator: Operand


class Cross(_Strict):
    """An aggregate over the entities sharing key values at the same period (e.g. a store's total)."""

    column: str = Field(min_length=1, description="Store name of the target or a covariate.")
    by: tuple[str, ...] = Field(description="Key columns (store names) grouped by; () = every entity.")
    stat: Literal["sum", "mean"] = Field("mean", description="The aggregate.")
    relative: bool = Field(False, description="The entity's value divided by the aggregate instead.")
    name: str | None = Field(None, pattern=NAME_PATTERN, description="Feature name.")

    @property
    def feature_name(self) -> str:
        by = "_".join(self.by) or "all"
        return self.name or (
            f"{self.column}_vs_{self.stat}_by_{by}" if self.relative else f"{self.column}_{self.stat}_by_{by}"
        )


class Holidays(_Strict):
    """Public holidays of one country (the ``holidays`` package)."""

    country: str = Field(min_length=2, description="ISO 3166 code, e.g. GB, DE, US.")
    subdivision: str | None = Field(None, description="Region, e.g. ENG for England.")


class Features(_Strict):
    """The features computed per entity and period, from history up to and including the period."""

    lags: tuple[PositiveInt, ...] = Field((), description="Target value this many periods earlier.")
    rolling: tuple[Rolling, ...] = Field((), description="Rolling-window statistics.")
    calendar: tuple[CalendarFeature, ...] = Field((), description="Calendar features of the period.")
    holidays: Holidays | None = Field(None, description="Public-holiday flag (count per week or month).")
    ratios: tuple[Ratio, ...] = Field((), description="Ratios of two operands.")
    cross: tuple[Cross, ...] = Field((), description="Aggregates over entities at the same period.")
    target_transform: Literal["none", "log1p"] = Field("none", description="Transform the model learns on.")

    @property
    def lookback(self) -> int:
        """Periods of history before a feature period that its features read (longest lag or window - 1)."""
        spans = [*self.lags, *(r.window - 1 for r in self.rolling)]
        spans += [o.window - 1 for r in self.ratios for o in (r.numerator, r.denominator) if o.window]
        return max(spans, default=0)

    @property
    def activity_window(self) -> int:
        """An entity gets a row when it was observed within this many periods (the longest window)."""
        windows = [*self.lags, *(r.window for r in self.rolling)]
        windows += [o.window for r in self.ratios for o in (r.numerator, r.denominator) if o.window]
        return max(windows, default=1)


class Forecast(_Strict):
    """What inference predicts: ``horizon`` periods, starting ``gap`` + 1 periods after the last known one."""

    horizon: Annotated[int, Field(strict=True)] = Field(description="Periods forecast per entity (>= 1).")
    gap: Annotated[int, Field(strict=True, ge=0)] = Field(0, description="Periods skipped before the first.")

    @field_validator("horizon")
    @classmethod
    def _positive(cls, horizon: int) -> int:
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1 period, got {horizon}")
        return horizon

    @property
    def steps(self) -> list[int]:
        """Periods ahead of the feature period that are forecast: gap+1 .. gap+horizon."""
        return list(range(self.gap + 1, self.gap + self.horizon + 1))


# ----- validation, model, schedule ------------------------------------------------------------------
class ColumnRules(_Strict):
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


class Validation(_Strict):
    """Per-column rules of the raw data, turned into a Great Expectations suite."""

    columns: dict[str, ColumnRules] = Field(default_factory=dict, description="Raw column -> its rules.")


class Model(_Strict):
    """How the model trains."""

    training_window: PositiveInt = Field(description="Feature periods in a training snapshot.")
    validation_periods: PositiveInt | None = Field(None, description="Periods of the validation window.")
    test_periods: PositiveInt | None = Field(None, description="Periods of the test window.")
    objective: Literal["absolute_error", "squared_error", "tweedie", "poisson"] = Field(
        "absolute_error", description="XGBoost's loss."
    )
    metric: Literal["wape", "mae", "rmse"] = Field("wape", description="The gate's primary metric.")
    categorical: tuple[str, ...] = Field(
        (), description="Key columns or categorical attributes (store names) one-hot encoded as inputs."
    )


_WINDOW_DEFAULTS = {Grain.HOUR: 48, Grain.DAY: 7, Grain.WEEK: 4, Grain.MONTH: 3}


class Schedule(_Strict):
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
class DatasetSpec(_Strict):
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
