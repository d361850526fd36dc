"""What the ``fti`` commands share: the data-set option, settings, failing with a message, tables."""

from __future__ import annotations

import math
import os
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fti.settings import Settings
    from fti.specs import DatasetSpec

DatasetOption = Annotated[
    str | None,
    typer.Option("--dataset", "-d", help="Data set (a spec in FTI_SPECS_DIR); default FTI_DATASET."),
]
RedisUrl = Annotated[str, typer.Option(envvar="FTI_REDIS_URL", help="Redis to read from.")]
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
LastOption = Annotated[int, typer.Option("--last", min=1, help="Show only the N newest.")]


def settings() -> Settings:
    from fti.settings import get_settings

    return get_settings()


def dataset_spec(name: str | None) -> DatasetSpec:
    """The spec of ``--dataset`` (or ``FTI_DATASET``), loaded in full; a clear usage error otherwise."""
    from fti.specs import SpecError, load_dataset, spec_files

    folder = settings().specs_dir
    assert folder is not None
    name = name or os.environ.get("FTI_DATASET")
    if not name:
        there = ", ".join(p.stem for p in spec_files(folder)) or "none"
        raise typer.BadParameter(
            f"which data set? give --dataset NAME (specs in {folder}: {there})", param_hint="--dataset"
        )
    try:
        return load_dataset(folder, name)
    except SpecError as exc:
        raise fail(str(exc)) from exc


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` on stderr; the exit (status ``code``) to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def parse_day(text: str, hint: str) -> date:
    """``text`` as a day, or a usage error naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a day YYYY-MM-DD", param_hint=hint) from exc


def int_or_none(value: float | None) -> int | None:
    """``value`` as an int, None for a missing one (None or NaN)."""
    return None if value is None or math.isnan(value) else int(value)


def echo_table(headers: list[str], rows: list[list[object]]) -> None:
    """Columns aligned, numbers right-aligned; missing values as ``-``, floats with 3 decimals."""

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, datetime):
            return value.isoformat(sep=" ", timespec="seconds")
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(r[i], int | float) and not isinstance(r[i], bool) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    for line in [headers, *cells]:
        padded = [c.rjust(w) if n else c.ljust(w) for c, w, n in zip(line, widths, numeric, strict=True)]
        typer.echo("  ".join(padded).rstrip())
