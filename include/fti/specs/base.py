"""What every section of the spec shares: the strict base model, names, types and store names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from fti.periods import Grain

SPEC_VERSION = 2
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
ColumnType = Literal["string", "int", "float", "bool", "datetime", "date"]
Aggregation = Literal["sum", "mean", "last", "max", "min", "count"]
RollingStat = Literal["mean", "median", "std", "min", "max", "sum", "nonzero_share", "nonzero_count"]
CalendarFeature = Literal["hour", "day_of_week", "day_of_month", "day_of_year", "week_of_year", "month"]
NUMERIC_TYPES = ("int", "float", "bool")
PositiveInt = Annotated[int, Field(strict=True, ge=1)]

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


class Strict(BaseModel):
    """Unknown fields refused, values frozen, aliases accepted (``in``, ``not``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
