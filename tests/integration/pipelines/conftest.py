"""Fixtures of the feature-pipeline tests: a fresh system reading a copy of the real Online Retail slice."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fti.contracts import CommitSummary
from fti.resources import Resources
from fti.specs import DatasetSpec
from tests.integration.conftest import spec_of, system


@pytest.fixture(scope="module")
def retail() -> DatasetSpec:
    return spec_of("online_retail")


@pytest.fixture
def resources(tmp_path: Path, retail_landing: Path) -> Resources:
    """A fresh system (empty store and catalog) whose landing folder is a copy of the real slice."""
    shutil.copytree(retail_landing, tmp_path / "var" / "raw")
    return system(tmp_path / "var")


def run_steps(resources: Resources, spec: DatasetSpec, partitions: list[date], run_id: str) -> CommitSummary:
    """``validate_raw`` then, if it passes, ``build_and_commit``: the two steps that touch the store."""
    from fti.pipelines import feature

    check = feature.validate_raw(resources, spec, partitions, run_id)
    return feature.build_and_commit(resources, spec, check, run_id)


def pending(resources: Resources, spec: DatasetSpec) -> list[date]:
    from fti.pipelines.feature import pending_partitions

    return pending_partitions(resources, spec)


def store_state(resources: Resources, spec: DatasetSpec) -> dict[str, Any]:
    """The catalog's partitions and validations, and every file under the store with its digest."""
    store = resources.store
    root = Path(str(resources.settings.store_uri))
    files = (
        {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and "_staging" not in p.parts
        }
        if root.exists()
        else {}
    )
    return {
        "partitions": store.partitions(spec.feature_set),
        "validations": store.validations(spec.feature_set),
        "files": files,
    }
