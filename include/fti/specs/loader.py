"""Read data-set specs: one YAML file per data set in the specs folder (``FTI_SPECS_DIR``).

:func:`load_spec` turns every problem of a file into one :class:`SpecError` that names the file and
each field by its dotted location, e.g. ``'features.rolling[0].window': ...``. A repeated YAML key,
which PyYAML would silently resolve to its last value, is refused too. A file is named after its
data set: ``specs/<name>.yaml``.
"""

from __future__ import annotations

import difflib
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from fti.specs.model import DatasetSpec


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


def spec_files(specs_dir: Path) -> list[Path]:
    """The spec files of a folder (``*.yaml``, sorted); hidden and backup files are not specs."""
    folder = Path(specs_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith((".", "_")))


def spec_path(specs_dir: Path, name: str) -> Path:
    """Where the spec of data set ``name`` lives."""
    return Path(specs_dir) / f"{name}.yaml"


def load_dataset(specs_dir: Path, name: str) -> DatasetSpec:
    """The spec of data set ``name`` from the specs folder.

    Raises:
        SpecError: no such file (naming the data sets there) or an invalid spec.
    """
    path = spec_path(specs_dir, name)
    if not path.exists():
        there = [p.stem for p in spec_files(specs_dir)]
        raise SpecError(path, [f"no spec of data set {name!r} in {specs_dir} (data sets there: {there})"])
    return load_spec(path)


def load_spec(path: Path | str, *, shallow: bool = False) -> DatasetSpec:
    """Read and check the data-set spec at ``path``.

    ``shallow`` skips the checks that need big libraries (the holidays package): for DAG files,
    which are parsed every few seconds; every task loads its spec in full.

    Raises:
        SpecError: naming the file and every problem: a missing or unreadable file, YAML that does
            not parse, an empty or non-mapping document, unknown, missing or mistyped fields, broken
            cross-field rules, and a ``name`` other than the file's name.
    """
    data = _read_bytes(path)
    document = _parse_yaml(path, data)
    try:
        spec = DatasetSpec.model_validate(document, context={"shallow": shallow})
    except ValidationError as exc:
        raise SpecError(path, [p for error in exc.errors() for p in _describe(error)]) from None
    if Path(path).suffix == ".yaml" and spec.name != Path(path).stem:
        raise SpecError(path, [f"'name': {spec.name!r} must be the file's name ({Path(path).stem!r})"])
    spec._source_path, spec._source_sha256 = Path(path), hashlib.sha256(data).hexdigest()
    return spec


@lru_cache(maxsize=32)
def cached_spec(path: Path, mtime_ns: int) -> DatasetSpec:
    """:func:`load_spec`, cached on the path and its modification time (an edit is read again)."""
    return load_spec(path)


def _read_bytes(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError(
            path, ["no such spec file (FTI_SPECS_DIR names the specs folder; see specs/)"]
        ) from None
    except OSError as exc:
        raise SpecError(path, [f"cannot read the spec file: {exc.strerror or exc}"]) from None


def _parse_yaml(path: Path | str, data: bytes) -> dict[str, Any]:
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
    """A SafeLoader that refuses a repeated key."""
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


def _describe(error: Any) -> list[str]:
    """One pydantic error as sentences that name the dotted field (cross-field rules give several)."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    where = _dotted(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        fields = _field_names(model) if model else []
        allowed = f" (allowed: {', '.join(fields)})" if fields else ""
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return [f"unknown field '{where}'{hint}{allowed}"]
    if kind == "missing":
        return [f"missing field '{where}'"]
    if kind == "value_error":
        messages = str(error["ctx"]["error"]).split("\n")
        # A cross-field rule names its own field; a field validator's message gets the field's.
        return [m if m.startswith("'") or not where else f"'{where}': {m}" for m in messages]
    shown = repr(error["input"])
    message = f"{error['msg']} (got {shown[:60] + '...' if len(shown) > 60 else shown})"
    return [f"'{where}': {message}" if where else message]


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``('source', 'columns', 2, 'type')`` as ``source.columns[2].type``; pydantic's union tags dropped."""
    text = ""
    for part in loc:
        if isinstance(part, str) and (part.startswith(("function-", "tagged-union")) or "[" in part):
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The spec model found at ``loc`` (list indices and dict keys skipped), to list its fields."""
    model: type[BaseModel] = DatasetSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = _field(model, str(part))
        if field is None:
            continue  # a dict key (validation.columns.<name>)
        nested = [a for a in _flat_args(field.annotation) if _is_model(a)]
        if not nested:
            return None
        model = nested[0]
    return model


def _field(model: type[BaseModel], name: str) -> Any:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _flat_args(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in get_args(annotation):
        found += _flat_args(arg)
    return found


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _allowed(model: type[BaseModel]) -> str:
    return ", ".join(_field_names(model))
