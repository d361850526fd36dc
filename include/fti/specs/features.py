"""The spec's sections about what is computed and forecast: ``features`` and ``forecast``."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from fti.specs.base import NAME_PATTERN, CalendarFeature, PositiveInt, RollingStat, Strict


# ----- features -------------------------------------------------------------------------------------
class Rolling(Strict):
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


class Operand(Strict):
    """A column's value at the feature period, or a rolling statistic of it."""

    column: str = Field(
        min_length=1, description="Store name: the target's name, a covariate or an attribute."
    )
    window: PositiveInt | None = Field(None, description="Periods of a rolling statistic; none: the value.")
    stat: RollingStat = Field("sum", description="The statistic over the window.")


class Ratio(Strict):
    """numerator / denominator; 0 where the denominator is 0 or missing."""

    name: str = Field(pattern=NAME_PATTERN, description="Feature name.")
    numerator: Operand
    denominator: Operand


class PlannedRatio(Strict):
    """A known-future covariate at the target period over a stored value at the feature period: the
    planned price of the forecast week against the entity's recent price, say. Computed with the model
    inputs (training and inference alike), not stored; 0 where the base is 0 or missing."""

    name: str = Field(pattern=NAME_PATTERN, description="Feature name.")
    column: str = Field(min_length=1, description="Store name of a known-future covariate.")
    base: str = Field(
        min_length=1,
        description="Stored number at the feature period: the target, a past-only covariate, a feature.",
    )


class Cross(Strict):
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


class Holidays(Strict):
    """Public holidays of one country (the ``holidays`` package)."""

    country: str = Field(min_length=2, description="ISO 3166 code, e.g. GB, DE, US.")
    subdivision: str | None = Field(None, description="Region, e.g. ENG for England.")


class Features(Strict):
    """The features computed per entity and period, from history up to and including the period."""

    lags: tuple[PositiveInt, ...] = Field((), description="Target value this many periods earlier.")
    rolling: tuple[Rolling, ...] = Field((), description="Rolling-window statistics.")
    calendar: tuple[CalendarFeature, ...] = Field((), description="Calendar features of the period.")
    holidays: Holidays | None = Field(None, description="Public-holiday flag (count per week or month).")
    ratios: tuple[Ratio, ...] = Field((), description="Ratios of two operands.")
    cross: tuple[Cross, ...] = Field((), description="Aggregates over entities at the same period.")
    planned_ratios: tuple[PlannedRatio, ...] = Field(
        (), description="Known-future covariates at the target period over stored values at the feature one."
    )
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


class Forecast(Strict):
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
