"""Scratch systems for benchmarks: every path in a temporary folder, the data landed as a user would.

The settings of a scratch system name every path explicitly, so an ``FTI_STORE_URI`` (or any other
path) set in the environment can never send a benchmark's writes into a real store or registry.
Only the download cache (``FTI_CACHE_DIR``, where setup put the shipped data) is shared.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fti.data.generate import StoreSales
    from fti.resources import Resources
    from fti.settings import Settings
    from fti.specs import DatasetSpec


def scratch_settings(var_dir: Path, specs_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings whose raw folder, store, catalog and MLflow all live under ``var_dir``."""
    from fti.settings import Settings, get_settings

    real = get_settings()
    return Settings(
        var_dir=var_dir,
        specs_dir=specs_dir or real.specs_dir,
        cache_dir=real.cache_dir,
        raw_dir=var_dir / "raw",
        store_uri=str(var_dir / "store"),
        catalog_url=f"sqlite:///{var_dir / 'catalog.db'}",
        mlflow_tracking_uri=f"sqlite:///{var_dir / 'mlflow' / 'mlflow.db'}",
        mlflow_artifact_uri=str(var_dir / "mlflow" / "artifacts"),
        **overrides,  # type: ignore[arg-type]
    )


def scratch_resources(
    var_dir: Path, specs_dir: Path | None = None, redis_url: str | None = None
) -> Resources:
    """Resources of a scratch system (see :func:`scratch_settings`)."""
    from fti.resources import Resources

    return Resources(scratch_settings(var_dir, specs_dir), redis_url)


def load(settings: Settings, dataset: str) -> DatasetSpec:
    """The data set's spec from the settings' specs folder."""
    from fti.specs import load_dataset

    assert settings.specs_dir is not None
    return load_dataset(settings.specs_dir, dataset)


def land(settings: Settings, spec: DatasetSpec, generated: StoreSales | None = None) -> int:
    """Land the data set's raw files in the scratch raw folder; returns the number of files.

    The shipped data sets come from the download cache (fetched and checked once by setup); the
    generated one is written with ``generated``.

    Raises:
        ValueError: a generated data set without ``generated``.
    """
    from fti.data.generate import generate
    from fti.data.shipped import SHIPPED, land_shipped

    assert settings.raw_dir is not None
    if spec.name in SHIPPED:
        return len(land_shipped(spec, settings.raw_dir, settings.cache_dir))
    if generated is None:
        raise ValueError(f"{spec.name!r} is not shipped: give the size of the generated data set")
    return len(generate(spec, settings.raw_dir, generated))


def with_horizon(text: str, horizon: int) -> str:
    """Spec YAML ``text`` with its ``forecast.horizon`` set to ``horizon`` (comments and layout kept).

    Raises:
        ValueError: the text has no ``horizon:`` line in a ``forecast:`` block.
    """
    import re

    pattern = r"(?m)^(forecast:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+horizon:)[ \t]*\d+"
    changed, count = re.subn(pattern, rf"\g<1> {horizon}", text)
    if count != 1:
        raise ValueError(f"no forecast.horizon line to set to {horizon}")
    return changed


def specs_with_horizon(source: Path, target: Path, dataset: str, horizon: int) -> Path:
    """``target`` holding a copy of ``source``'s spec of ``dataset`` with ``forecast.horizon`` set."""
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{dataset}.yaml").write_text(with_horizon((source / f"{dataset}.yaml").read_text(), horizon))
    return target


def remove(path: Path) -> None:
    """Delete a scratch folder (ignoring what is already gone)."""
    shutil.rmtree(path, ignore_errors=True)
