"""Declarative row filters of a data-set spec: which raw rows count towards the target.

A filter is one mapping, either a test of one column or a combination of filters::

    {column: Quantity, gt: 0}                 # comparisons: eq, ne, gt, ge, lt, le
    {column: Country, in: [France, Germany]}  # membership
    {column: Invoice, prefix: C}              # text starts with
    {column: StockCode, regex: '^\\d{5}'}     # re.search (anchor it yourself)
    {all: [filter, ...]}  {any: [filter, ...]}  {not: filter}

A row whose tested value is missing does not pass the test (and passes its ``not``).
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_TESTS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "prefix", "regex")
_COMBINATIONS = ("all", "any", "not")
Scalar = str | int | float | bool


class RowFilter(BaseModel):
    """One test of a column (``column`` and exactly one test) or one combination (``all``/``any``/``not``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str | None = Field(None, description="Raw column the test reads.")
    eq: Scalar | None = Field(None, description="Equal to this value.")
    ne: Scalar | None = Field(None, description="Not equal to this value.")
    gt: float | None = Field(None, description="Greater than.")
    ge: float | None = Field(None, description="Greater than or equal.")
    lt: float | None = Field(None, description="Less than.")
    le: float | None = Field(None, description="Less than or equal.")
    in_: tuple[Scalar, ...] | None = Field(None, alias="in", description="One of these values.")
    prefix: str | None = Field(None, description="Text that starts with this.")
    regex: str | None = Field(None, description="Text in which this regular expression is found.")
    all: tuple[RowFilter, ...] | None = Field(None, description="Every one of these filters passes.")
    any: tuple[RowFilter, ...] | None = Field(None, description="At least one of these filters passes.")
    not_: RowFilter | None = Field(None, alias="not", description="This filter does not pass.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        tests = [t for t in _TESTS if getattr(self, _attr(t)) is not None]
        combos = [c for c in _COMBINATIONS if getattr(self, _attr(c)) is not None]
        if self.column is not None:
            if combos or len(tests) != 1:
                raise ValueError(
                    f"a filter of column {self.column!r} needs exactly one test of {', '.join(_TESTS)}; "
                    f"got {tests + combos or 'none'}"
                )
        elif tests or len(combos) != 1:
            raise ValueError(
                "a filter is either {column: ..., <test>: ...} or exactly one of all / any / not; "
                f"got {tests + combos or 'an empty mapping'}"
            )
        return self

    def columns(self) -> set[str]:
        """Every raw column this filter (and its parts) reads."""
        if self.column is not None:
            return {self.column}
        found: set[str] = set()
        for part in self.parts():
            found |= part.columns()
        return found

    def parts(self) -> tuple[RowFilter, ...]:
        """The filters this one combines (none for a test)."""
        if self.not_ is not None:
            return (self.not_,)
        return self.all or self.any or ()

    def test(self) -> tuple[str, Any]:
        """The test's name and operand (for a column filter)."""
        for name in _TESTS:
            value = getattr(self, _attr(name))
            if value is not None:
                return name, value
        raise ValueError("a combination has no single test")

    def kind(self) -> str:
        """``all``, ``any``, ``not`` or the test's name."""
        for name in _COMBINATIONS:
            if getattr(self, _attr(name)) is not None:
                return name
        return self.test()[0]


def _attr(name: str) -> str:
    return {"in": "in_", "not": "not_"}.get(name, name)


def evaluate(flt: RowFilter, frame: Any) -> Any:
    """Boolean mask (numpy) of the rows of a pandas ``frame`` that pass ``flt``."""
    import numpy as np

    kind = flt.kind()
    if kind == "all":
        return np.logical_and.reduce([evaluate(p, frame) for p in flt.parts()])
    if kind == "any":
        return np.logical_or.reduce([evaluate(p, frame) for p in flt.parts()])
    if kind == "not":
        return ~evaluate(flt.parts()[0], frame)
    assert flt.column is not None
    values = frame[flt.column]
    name, operand = flt.test()
    present = values.notna().to_numpy()
    if name in ("prefix", "regex"):
        text = values.astype("str")
        found = text.str.startswith(operand) if name == "prefix" else text.str.contains(operand, regex=True)
        return present & found.fillna(False).to_numpy(dtype=bool)
    if name == "in":
        return present & values.isin(list(operand)).to_numpy(dtype=bool)
    compare = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__", "le": "__le__"}
    result = getattr(values, compare[name])(operand)
    return present & result.fillna(False).to_numpy(dtype=bool)
