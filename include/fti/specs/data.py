"""The spec's sections about the data: ``source``, ``entity``, ``time``, ``target`` and ``covariates``."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from fti.periods import WEEKDAYS, Calendar, Grain
from fti.specs.base import NAME_PATTERN, Aggregation, ColumnType, Strict, snake
from fti.specs.filters import RowFilter


# ----- source ---------------------------------------------------------------------------------------
class SourceColumn(Strict):
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


class Source(Strict):
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
class EntityColumn(Strict):
    """A key column, optionally normalised."""

    column: str = Field(min_length=1, description="Raw column.")
    case: Literal["keep", "upper", "lower"] = Field("keep", description="Normalise the text's case.")


class Entity(Strict):
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


class Time(Strict):
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


class Target(Strict):
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
class Covariate(Strict):
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


class StaticAttribute(Strict):
    """An attribute of the entity that does not change over time (a store's size, a car park's capacity)."""

    column: str = Field(min_length=1, description="Raw column (in the rows, or in the attributes file).")
    kind: Literal["numeric", "categorical"] = Field(description="A number, or a category.")

    @property
    def field(self) -> str:
        return snake(self.column)


class StaticCovariates(Strict):
    """Static attributes, taken from the rows (the latest value per entity) or from one attributes file."""

    columns: tuple[StaticAttribute, ...] = Field((), description="The attributes.")
    file: str | None = Field(
        None, description="CSV in the landing folder with the entity key columns and the attributes."
    )


class Covariates(Strict):
    """Columns that help forecast besides the target's own history."""

    known_future: tuple[Covariate, ...] = Field(
        (),
        description="Known before the period starts (planned price, promotion): used at the target period.",
    )
    past_only: tuple[Covariate, ...] = Field(
        (), description="Observed with the target: only values up to the feature period are used."
    )
    static: StaticCovariates = Field(default_factory=StaticCovariates, description="Entity attributes.")
