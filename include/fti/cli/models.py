"""``fti models``: a data set's registered versions, rollback, and copies between environments."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fti.cli.common import DatasetOption, dataset_spec, echo_table, fail, settings

if TYPE_CHECKING:
    from fti.settings import Settings

app = typer.Typer(help="The model registry: versions, rollback, promotion.", no_args_is_help=True)
EnvOption = Annotated[
    str | None, typer.Option("--env", help="Environment (sandbox, staging, production); default FTI_ENV.")
]


@app.command("versions")
def versions(dataset: DatasetOption = None, env: EnvOption = None) -> None:
    """Every registered version with its aliases, gate verdict, test WAPE and lineage."""
    spec = dataset_spec(dataset)
    client, env_settings = _registry(env)
    name = env_settings.model_name(spec.name)
    found = client.search_model_versions(f"name = '{name}'")
    if not found:
        raise fail(f"model {name!r} has no registered version")
    aliases: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for mv in sorted(found, key=lambda v: int(v.version)):
        wape = client.get_run(mv.run_id).data.metrics.get("test_wape") if mv.run_id else None
        tags = mv.tags
        rows.append(
            [
                int(mv.version),
                ",".join(sorted(aliases.get(str(mv.version), []))) or "-",
                tags.get("gate", "-"),
                tags.get("gate_rule", "-"),
                wape,
                f"v{tags.get('feature_set_version', '?')}",
                tags.get("as_of", "-"),
                tags.get("copied_from", "-"),
            ]
        )
    echo_table(["version", "aliases", "gate", "rule", "test_wape", "features", "as_of", "copied_from"], rows)


@app.command("rollback")
def rollback(
    version: Annotated[str, typer.Argument(help="Version to make champion again.")],
    dataset: DatasetOption = None,
    env: EnvOption = None,
    force: Annotated[bool, typer.Option(help="Also to a version whose gate failed.")] = False,
) -> None:
    """Point `champion` back at an earlier version, in one step."""
    from fti.registry.mlflow_registry import ModelNotFound
    from fti.registry.promotion import NotApproved, promotion_lock
    from fti.registry.promotion import rollback as roll_back

    spec = dataset_spec(dataset)
    client, env_settings = _registry(env)
    name = env_settings.model_name(spec.name)
    lock = partial(promotion_lock, env_settings.catalog_url or "", name)
    try:
        previous, now = roll_back(client, name, version, lock, force)
    except (ModelNotFound, NotApproved) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{name}: champion v{previous.version if previous else '-'} -> v{now.version}")


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version of the source environment's model.")],
    dataset: DatasetOption = None,
    source: Annotated[str, typer.Option("--from", help="Source environment.")] = "staging",
    target: Annotated[str, typer.Option("--to", help="Target environment.")] = "production",
    champion: Annotated[bool, typer.Option(help="Make the copy the target's champion.")] = True,
) -> None:
    """Copy a version that passed the gate from one environment's registry to another's."""
    from fti.registry.mlflow_registry import ModelNotFound
    from fti.registry.promotion import NotApproved, copy_to_environment, promotion_lock

    if source == target:
        raise fail(f"--from and --to are both {source!r}: a version is copied to another environment")
    spec = dataset_spec(dataset)
    client, source_settings = _registry(source)
    _, target_settings = _registry(target)
    source_name, target_name = source_settings.model_name(spec.name), target_settings.model_name(spec.name)
    lock = partial(promotion_lock, target_settings.catalog_url or "", target_name)
    try:
        copied = copy_to_environment(client, source_name, version, target_name, champion, lock)
    except (ModelNotFound, NotApproved) as exc:
        raise fail(str(exc)) from exc
    alias = " (champion)" if champion else ""
    typer.echo(f"{source_name} v{version} -> {copied.name} v{copied.version}{alias}")


def _registry(env: str | None) -> tuple[Any, Settings]:
    """Registry client and settings of environment ``env`` (default: the configured one)."""
    from fti.registry.mlflow_registry import configure
    from fti.settings import Environment

    env_settings = settings()
    if env is not None:
        try:
            env_settings = env_settings.model_copy(update={"env": Environment(env)})
        except ValueError as exc:
            raise typer.BadParameter(f"{env!r} is not one of {[e.value for e in Environment]}") from exc
    return configure(env_settings.mlflow_tracking_uri or ""), env_settings
