"""The spec format's reference table, made from the pydantic models themselves (one source of truth).

``python -m fti.specs.reference`` prints the Markdown table the README's "Spec reference" holds; a
unit test checks that the README lists every field, so the documentation cannot fall behind.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from fti.specs.filters import RowFilter
from fti.specs.model import DatasetSpec

_LEAF_MODELS = (RowFilter,)
"""Models documented as one field (the filter grammar has its own section)."""


def fields(model: type[BaseModel] = DatasetSpec, prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """``(dotted name, type, default, description)`` of every field, depth first, in declaration order."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}{key}"
        nested = _nested_model(info.annotation)
        listed = _is_sequence(info.annotation) or _is_mapping(info.annotation)
        yield (
            path,
            _type_name(info.annotation),
            _default(info),
            info.description or (nested.__doc__ or "").split("\n")[0],
        )
        if nested is not None and nested not in _LEAF_MODELS:
            suffix = (
                "[]."
                if _is_sequence(info.annotation)
                else ".<name>."
                if _is_mapping(info.annotation)
                else "."
            )
            yield from fields(nested, path + (suffix if listed else "."))


def markdown() -> str:
    """The reference as a Markdown table."""
    lines = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for path, kind, default, description in fields():
        cells = [f"`{path}`", kind, default, " ".join(description.split())]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *_flat(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _flat(annotation: Any) -> list[Any]:
    out = []
    for arg in get_args(annotation):
        out += [arg, *_flat(arg)]
    return out


def _is_sequence(annotation: Any) -> bool:
    return any(get_origin(a) in (tuple, list) for a in (annotation, *_flat(annotation)))


def _is_mapping(annotation: Any) -> bool:
    return any(get_origin(a) is dict for a in (annotation, *_flat(annotation)))


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " / ".join(f"`{a}`" for a in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(parts) + (" (optional)" if type(None) in get_args(annotation) else "")
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (tuple, list):
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        return f"mapping to {_type_name(get_args(annotation)[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation)).replace("Grain", "grain")


def _default(info: Any) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()
        return "`[]`" if value == () else "`{}`" if value == {} else "see its fields"
    value = info.default
    if value is PydanticUndefined:
        return "required"
    if value == "":
        return '`""`'
    return "none" if value is None else f"`{value}`"


if __name__ == "__main__":
    print(markdown())
