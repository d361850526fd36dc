"""Cross-field rules of a data-set spec: each problem as ``'<dotted.field>': <why>``.

Field-level rules (types, ranges, unknown fields) are pydantic's; the rules here need two sections at
once: a column that must exist among ``source.columns``, an aggregation that must fit the column's
type, a feature that must refer to something the store holds, windows that must fit the training
window. :meth:`fti.specs.model.DatasetSpec._consistent` runs them all and reports every problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fti.specs.model import CALENDAR_BY_GRAIN, NUMERIC_TYPES

if TYPE_CHECKING:
    from fti.specs.filters import RowFilter
    from fti.specs.model import DatasetSpec

RESERVED = ("entity", "period", "horizon", "target_period", "label")
"""Store and model-input names the pipelines use themselves."""
_NEEDS_NUMBERS = ("sum", "mean", "max", "min")


def problems(spec: DatasetSpec, deep: bool = True) -> Iterator[str]:
    """Every cross-field problem of ``spec``, one sentence each; ``deep`` also asks the holidays package."""
    yield from _columns_exist(spec)
    yield from _types_fit(spec)
    yield from _filters(spec)
    yield from _names(spec)
    yield from _features(spec)
    yield from _windows(spec)
    if deep and spec.features.holidays is not None:
        yield from _holiday_country(spec.features.holidays.country, spec.features.holidays.subdivision)


def _columns_exist(spec: DatasetSpec) -> Iterator[str]:
    known = spec.columns_by_name
    listed = f"(columns: {', '.join(known)})"
    uses: list[tuple[str, str]] = [(f"entity.columns[{i}]", c) for i, c in enumerate(spec.entity.names)]
    uses.append(("time.column", spec.time.column))
    uses += [("target", c) for c in spec.target.columns]
    for kind in ("known_future", "past_only"):
        for i, cov in enumerate(getattr(spec.covariates, kind)):
            uses += [(f"covariates.{kind}[{i}]", c) for c in cov.columns]
    if spec.covariates.static.file is None:
        uses += [
            (f"covariates.static.columns[{i}]", a.column)
            for i, a in enumerate(spec.covariates.static.columns)
        ]
    uses += [(f"validation.columns.{c}", c) for c in spec.validation.columns]
    for where, column in uses:
        if column not in known:
            yield f"'{where}': column {column!r} is not among the source columns {listed}"


def _types_fit(spec: DatasetSpec) -> Iterator[str]:
    known = spec.columns_by_name
    for i, name in enumerate(spec.entity.names):
        if name in known and known[name].type not in ("string", "int"):
            yield f"'entity.columns[{i}]': key column {name!r} is {known[name].type}; a key is string or int"
    column = known.get(spec.time.column)
    if column is not None and column.type not in ("datetime", "date"):
        yield f"'time.column': {spec.time.column!r} is {column.type}, not a datetime or date column"
    yield from _aggregation_fits(known, "target", spec.target.columns, spec.target.aggregation)
    for kind in ("known_future", "past_only"):
        for i, cov in enumerate(getattr(spec.covariates, kind)):
            yield from _aggregation_fits(known, f"covariates.{kind}[{i}]", cov.columns, cov.aggregation)
    if spec.covariates.static.file is None:
        for i, attr in enumerate(spec.covariates.static.columns):
            typed = known.get(attr.column)
            if typed is not None and attr.kind == "numeric" and typed.type not in NUMERIC_TYPES:
                yield f"'covariates.static.columns[{i}]': {attr.column!r} is {typed.type}, not numeric"
    for name, rules in spec.validation.columns.items():
        typed = known.get(name)
        if typed is None:
            continue
        numeric = typed.type in NUMERIC_TYPES
        if (rules.min is not None or rules.max is not None) and not numeric:
            yield f"'validation.columns.{name}': min/max need a numeric column; {name!r} is {typed.type}"
        if (rules.regex is not None or rules.max_length is not None) and typed.type != "string":
            yield f"'validation.columns.{name}': regex/max_length need text; {name!r} is {typed.type}"


def _aggregation_fits(known: dict, where: str, columns: list[str], aggregation: str) -> Iterator[str]:
    for column in columns:
        typed = known.get(column)
        if typed is None:
            continue
        if (aggregation in _NEEDS_NUMBERS or len(columns) > 1) and typed.type not in NUMERIC_TYPES:
            what = "a product" if len(columns) > 1 else f"aggregation {aggregation!r}"
            yield f"'{where}': {what} needs numbers; column {column!r} is {typed.type}"


def _filters(spec: DatasetSpec) -> Iterator[str]:
    if spec.target.filters is None:
        return
    yield from _filter_problems(spec, spec.target.filters, "target.filters")


def _filter_problems(spec: DatasetSpec, flt: RowFilter, where: str) -> Iterator[str]:
    kind = flt.kind()
    if kind in ("all", "any", "not"):
        for i, part in enumerate(flt.parts()):
            yield from _filter_problems(spec, part, f"{where}.{kind}" + (f"[{i}]" if kind != "not" else ""))
        return
    known = spec.columns_by_name
    if flt.column not in known:
        yield f"'{where}': filter on unknown column {flt.column!r} (columns: {', '.join(known)})"
        return
    typed = known[flt.column].type
    if kind in ("gt", "ge", "lt", "le") and typed not in NUMERIC_TYPES:
        yield f"'{where}': comparison {kind!r} needs a numeric column; {flt.column!r} is {typed}"
    if kind in ("prefix", "regex") and typed != "string":
        yield f"'{where}': {kind!r} needs a string column; {flt.column!r} is {typed}"


def _names(spec: DatasetSpec) -> Iterator[str]:
    """Store names must be unique and not one of the pipelines' own."""
    names = list(spec.store_fields()) + _feature_names(spec)
    for name in sorted({n for n in names if names.count(n) > 1}):
        yield f"'features': the name {name!r} is used more than once (target, covariates, keys, features)"
    for name in sorted(set(names) & set(RESERVED)):
        yield f"'features': {name!r} is a name the pipelines use themselves ({', '.join(RESERVED)})"


def _feature_names(spec: DatasetSpec) -> list[str]:
    f = spec.features
    names = [f"lag_{k}" for k in f.lags]
    names += [n for r in f.rolling for n in r.feature_names().values()]
    names += list(f.calendar)
    names += [holiday_feature(spec)] if f.holidays else []
    names += [r.name for r in f.ratios] + [c.feature_name for c in f.cross]
    return names + [r.name for r in f.planned_ratios]


def holiday_feature(spec: DatasetSpec) -> str:
    """``is_holiday`` (0/1) for hourly and daily data; ``holiday_days`` (a count) for weeks and months."""
    return "is_holiday" if spec.time.grain in ("hour", "day") else "holiday_days"


def _features(spec: DatasetSpec) -> Iterator[str]:
    f = spec.features
    past = {spec.target.name, *(c.field for c in spec.covariates.past_only)}
    future = {c.field for c in spec.covariates.known_future}
    static = set(spec.static_fields)
    for i, rolling in enumerate(f.rolling):
        if rolling.column is not None and rolling.column not in past:
            yield (
                f"'features.rolling[{i}].column': {rolling.column!r} is not the target or past-only "
                f"(rolling windows need a history: {sorted(past)})"
            )
    for i, ratio in enumerate(f.ratios):
        sides = [(side, getattr(ratio, side)) for side in ("numerator", "denominator")]
        for side, operand in sides:
            where = f"features.ratios[{i}].{side}"
            if operand.column not in past | future | static:
                yield f"'{where}': {operand.column!r} is not the target, a covariate or an attribute"
            elif operand.window and operand.column not in past:
                yield f"'{where}': a window needs history; {operand.column!r} is not the target or past-only"
        in_future = {operand.column in future for _, operand in sides}
        if len(in_future) > 1:
            yield f"'features.ratios[{i}]': mixes a known-future covariate with other columns"
    keys = set(spec.entity.key_fields)
    for i, cross in enumerate(f.cross):
        if cross.column not in past | future:
            yield f"'features.cross[{i}].column': {cross.column!r} is not the target or a covariate"
        unknown = sorted(set(cross.by) - keys)
        if unknown:
            yield f"'features.cross[{i}].by': {unknown} are not key columns ({sorted(keys)})"
    yield from _planned_ratios(spec)
    allowed = CALENDAR_BY_GRAIN[spec.time.grain]
    for feature in f.calendar:
        if feature not in allowed:
            yield (
                f"'features.calendar': {feature!r} does not vary between {spec.time.grain.value} periods "
                f"(choose from {', '.join(allowed)})"
            )
    categorical = keys | {k for k, kind in spec.static_fields.items() if kind == "categorical"}
    for name in spec.model.categorical:
        if name not in categorical:
            choices = sorted(categorical)
            yield f"'model.categorical': {name!r} is not a key or categorical attribute ({choices})"


def _planned_ratios(spec: DatasetSpec) -> Iterator[str]:
    """A planned ratio divides a known-future covariate by a stored number of the main feature set."""
    from fti.features.schema import feature_names

    future = {c.field for c in spec.covariates.known_future}
    numeric_static = {k for k, kind in spec.static_fields.items() if kind == "numeric"}
    stored = {spec.target.name, *(c.field for c in spec.covariates.past_only), *numeric_static}
    stored |= set(feature_names(spec))  # the main feature set's: known-future ones live in the other
    for i, ratio in enumerate(spec.features.planned_ratios):
        where = f"features.planned_ratios[{i}]"
        if ratio.column not in future:
            yield f"'{where}.column': {ratio.column!r} is not a known-future covariate ({sorted(future)})"
        if ratio.base not in stored:
            choices = sorted(stored)
            yield f"'{where}.base': {ratio.base!r} is not a stored number of the feature period ({choices})"


def _holiday_country(country: str, subdivision: str | None) -> Iterator[str]:
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        yield f"'features.holidays.country': {country!r} is not a country the holidays package knows"
    elif subdivision is not None and subdivision not in supported[country]:
        yield (
            f"'features.holidays.subdivision': {subdivision!r} is not a subdivision of {country} "
            f"({', '.join(supported[country][:12])}, ...)"
        )


def _windows(spec: DatasetSpec) -> Iterator[str]:
    """The training window must hold the look-back and the three split windows."""
    window = spec.model.training_window
    lookback = spec.features.lookback
    if lookback >= window:
        yield (
            f"'features': a lag or window reaches {lookback} periods back, as long as or longer than "
            f"model.training_window ({window}): a training row's history would reach before the data "
            "the snapshot holds and validated; use shorter lags or windows, or a longer training window"
        )
    reach = spec.forecast.gap + spec.forecast.horizon
    needed = spec.validation_periods + spec.test_periods + 2 * reach + 1
    if needed > window:
        yield (
            f"'model.training_window': {window} periods cannot hold validation ({spec.validation_periods}) "
            f"and test ({spec.test_periods}) windows, each {reach} periods (gap + horizon) apart, and a "
            f"training window: need at least {needed}"
        )
