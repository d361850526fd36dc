"""The data-set spec: a YAML file that describes the raw data set and the bounds its validation enforces.

The spec (``specs/online_retail.yaml`` for the demo data) is the single source of the raw suite's
bounds and allowed values, so that tightening a bound or adding a country is a reviewed edit of a
data file, not of code. Every level refuses unknown fields: a field the code does not read (a misspelt
or an invented bound) would otherwise be ignored without a word. :func:`load_spec` turns every problem
into one :class:`SpecError` that names the file and each field.

The raw column schema is fixed by the loader (:data:`fti.data.online_retail.RAW_COLUMNS`); the spec
states it so that the file describes the data set in full, and is refused if it says otherwise.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from fti.data.online_retail import RAW_COLUMNS
from fti.settings import PROJECT_ROOT

ColumnType = Literal["str", "int64", "float64", "datetime64", "Int64"]
"""pandas dtype the reader gives a column: ``Int64`` is the nullable integer, ``datetime64`` any unit."""

_Number = Annotated[float, Field(strict=True)]  # strict: YAML ``true`` is not a bound; 1 and 1.0 both are


class SpecError(ValueError):
    """A data-set spec file is missing, unreadable or not a valid spec; the message names each problem."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path, self.problems = Path(path), tuple(problems)
        if len(problems) == 1:
            text = f"{self.path}: {problems[0]}"
        else:
            text = f"{self.path}: {len(problems)} problems in the data-set spec:\n" + "\n".join(
                f"  - {p}" for p in problems
            )
        super().__init__(text)

    def __reduce__(self) -> tuple[type[SpecError], tuple[Path, list[str]]]:
        """Pickle by the constructor's arguments (the default would pass only the message)."""
        return type(self), (self.path, list(self.problems))


class ColumnSpec(BaseModel):
    """One raw column: its name as exported and the dtype the reader gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Column name as in the raw file's header.")
    type: ColumnType = Field(description="pandas dtype of the typed column.")
    description: str = Field("", description="What the column holds, for readers of the spec.")


class ValidationRules(BaseModel):
    """Bounds and allowed values of the raw suite; values outside them stop the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_pattern: str = Field(min_length=1, description="Regular expression every Invoice matches.")
    max_abs_quantity: Annotated[int, Field(strict=True, gt=0)] = Field(description="Bound of |Quantity|.")
    min_price: _Number = Field(description="Lowest allowed Price.")
    max_price: _Number = Field(description="Highest allowed Price.")
    max_stock_code_length: Annotated[int, Field(strict=True, ge=1)] = Field(
        description="Longest allowed StockCode; an empty one always fails."
    )
    min_customer_id_share: Annotated[float, Field(strict=True, ge=0.0, le=1.0)] = Field(
        description="Least share of lines of a run with a Customer ID."
    )
    countries: tuple[str, ...] = Field(min_length=1, description="Allowed Country values.")

    @field_validator("invoice_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        """A pattern that does not compile would fail every run inside Great Expectations instead."""
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern

    @field_validator("countries")
    @classmethod
    def _unique(cls, countries: tuple[str, ...]) -> tuple[str, ...]:
        """A repeated country is most likely a typo of another one that is now missing."""
        repeated = sorted({c for c in countries if countries.count(c) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {repeated}")
        return countries

    @model_validator(mode="after")
    def _price_range(self) -> Self:
        """An empty range would reject every line."""
        if self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self


class DatasetSpec(BaseModel):
    """What the raw data set is and what its validation enforces; see ``specs/`` and the README."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Short name, recorded with every validation.")
    description: str = Field(description="What the data set holds.")
    source: str = Field(description="Where the data comes from and how it lands (descriptive only).")
    columns: tuple[ColumnSpec, ...] = Field(description="Raw columns in file order.")
    required_columns: tuple[str, ...] = Field(description="Columns that must never be null.")
    validation: ValidationRules
    _source_path: Path | None = PrivateAttr(None)
    _source_sha256: str | None = PrivateAttr(None)

    @field_validator("columns")
    @classmethod
    def _raw_schema(cls, columns: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
        """The loader parses exactly RAW_COLUMNS; a spec cannot describe another schema."""
        names = tuple(c.name for c in columns)
        if names != RAW_COLUMNS:
            raise ValueError(
                f"must be {list(RAW_COLUMNS)} in this order, got {list(names)}: the loader "
                "(fti.data.online_retail) reads only the Online Retail II schema; another one needs a loader"
            )
        return columns

    @model_validator(mode="after")
    def _required_are_columns(self) -> Self:
        """A required column that does not exist would fail every run with a confusing error."""
        unknown = [c for c in self.required_columns if c not in {col.name for col in self.columns}]
        if unknown:
            raise ValueError(f"required_columns {unknown} are not among the columns")
        return self

    @property
    def source_path(self) -> Path | None:
        """The file the spec was loaded from; None for a spec built or changed in code."""
        return self._source_path

    @property
    def source_sha256(self) -> str | None:
        """SHA-256 of the file's bytes, kept with validations; None for a spec built or changed in code."""
        return self._source_sha256

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` it no longer is the file's content, so it forgets the file and digest."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy._source_path = copy._source_sha256 = None
        return copy


def default_spec_path() -> Path:
    """The demo data set's spec in the checkout (what ``FTI_DATASET_SPEC`` defaults to)."""
    return PROJECT_ROOT / "specs" / "online_retail.yaml"


def default_spec() -> DatasetSpec:
    """The spec at :func:`default_spec_path`, read once per process."""
    return _cached_spec(default_spec_path())


@lru_cache(maxsize=4)
def _cached_spec(path: Path) -> DatasetSpec:
    """:func:`load_spec`, cached on the path (the shipped spec does not change while a process runs)."""
    return load_spec(path)


def load_spec(path: Path | str) -> DatasetSpec:
    """Read and check the data-set spec at ``path``.

    Raises:
        SpecError: naming the file and every problem: a missing or unreadable file, YAML that does
            not parse, an empty or non-mapping document, unknown, missing or mistyped fields (by
            dotted location, e.g. ``validation.min_price``) and broken cross-field rules.
    """
    data = _read_bytes(path)
    document = _parse_yaml(path, data)
    try:
        spec = DatasetSpec.model_validate(document)
    except ValidationError as exc:
        raise SpecError(path, [_describe(error) for error in exc.errors()]) from None
    spec._source_path, spec._source_sha256 = Path(path), hashlib.sha256(data).hexdigest()
    return spec


def _read_bytes(path: Path | str) -> bytes:
    """The file's bytes, or a SpecError that says why there are none."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError(path, ["no such spec file (FTI_DATASET_SPEC names the spec; see specs/)"]) from None
    except OSError as exc:
        raise SpecError(path, [f"cannot read the spec file: {exc.strerror or exc}"]) from None


def _parse_yaml(path: Path | str, data: bytes) -> dict[str, Any]:
    """The top-level mapping of the YAML document in ``data``."""
    import yaml

    try:
        document = yaml.load(data.decode("utf-8"), Loader=_unique_key_loader())  # a SafeLoader
    except UnicodeDecodeError as exc:
        raise SpecError(path, [f"not UTF-8 text (byte {exc.start})"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(path, [f"not valid YAML{where}: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError(path, [f"not valid YAML: {exc}"]) from None
    if document is None:
        raise SpecError(path, [f"the file is empty; a spec is a mapping of {_allowed(DatasetSpec)}"])
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise SpecError(path, [f"expected a mapping of {_allowed(DatasetSpec)} at the top, got a {kind}"])
    return document


@lru_cache(maxsize=1)
def _unique_key_loader() -> type:
    """A SafeLoader that refuses a repeated key, which PyYAML would silently resolve to the last value."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[object] = set()
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is repeated", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


def _describe(error: Any) -> str:
    """One pydantic error as a sentence that names the dotted field."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    where = _dotted(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = f" (allowed: {_allowed(model)})" if model else ""
        close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields) if model else [], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown field '{where}'{hint}{allowed}"
    if kind == "missing":
        return f"missing field '{where}'"
    message = str(error["ctx"]["error"]) if kind == "value_error" else error["msg"]
    if kind != "value_error":
        shown = repr(error["input"])
        message += f" (got {shown[:60] + '...' if len(shown) > 60 else shown})"
    return f"'{where}': {message}" if where else message


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``('columns', 2, 'type')`` as ``columns[2].type``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The spec model found at ``loc`` (list indices skipped), to list its fields."""
    model: type[BaseModel] = DatasetSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        nested = [a for a in (field.annotation, *get_args(field.annotation)) if _is_model(a)] if field else []
        if not nested:
            return None
        model = nested[0]
    return model


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _allowed(model: type[BaseModel]) -> str:
    """The model's field names, in declaration order."""
    return ", ".join(model.model_fields)
