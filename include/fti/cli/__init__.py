"""The ``fti`` command-line tool. ``fti --help`` lists the commands; each group lives in its own module."""

from __future__ import annotations

import typer

from fti.cli import bench, data, features, models, predictions, spec

# No local variables in tracebacks: they would print URLs and settings with their passwords.
app = typer.Typer(
    help="fti-airflow: feature, training and inference pipelines.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(spec.app, name="spec")
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.add_typer(predictions.app, name="predictions")
app.add_typer(models.app, name="models")
app.add_typer(bench.app, name="bench")
app.command("serve")(predictions.serve)

__all__ = ["app"]
