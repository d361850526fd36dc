"""``fti spec``: check spec files without running anything, and list the data sets of the specs folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fti.cli.common import echo_table, fail, settings

app = typer.Typer(help="Data-set specs: check them, list them.", no_args_is_help=True)


@app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="Spec files (YAML).")]) -> None:
    """Validate each spec in full (every field and cross-field rule); exit 1 naming every problem."""
    from fti.features.schema import model_inputs, stored_columns
    from fti.specs import SpecError, load_spec

    broken = 0
    for path in files:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            typer.echo(str(exc), err=True)
            broken += 1
            continue
        columns = stored_columns(spec)
        typer.echo(
            f"{path}: ok: data set {spec.name!r}, {spec.calendar.describe()} grain, entity "
            f"{' x '.join(spec.entity.names)}, target {spec.target.name!r}, {len(columns)} stored columns, "
            f"{len(model_inputs(spec))} model inputs, horizon {spec.forecast.horizon} "
            f"(gap {spec.forecast.gap})"
        )
    if broken:
        raise fail(f"{broken} of {len(files)} spec(s) are broken")


@app.command("list")
def list_specs() -> None:
    """The data sets of the specs folder (FTI_SPECS_DIR) with their grain, entity and schedules."""
    from fti.specs import SpecError, load_spec, spec_files

    folder = settings().specs_dir
    assert folder is not None
    rows: list[list[object]] = []
    for path in spec_files(folder):
        try:
            spec = load_spec(path)
        except SpecError as exc:
            rows.append([path.stem, "BROKEN", str(exc.problems[0])[:60], "-", "-"])
            continue
        crons = spec.crons
        rows.append(
            [
                spec.name,
                spec.calendar.describe(),
                " x ".join(spec.entity.names),
                f"{spec.forecast.horizon} (gap {spec.forecast.gap})",
                f"{crons['features']} | {crons['training']} | {crons['inference']}",
            ]
        )
    if not rows:
        raise fail(f"no spec files in {folder}")
    echo_table(["data set", "grain", "entity", "horizon", "features | training | inference"], rows)
