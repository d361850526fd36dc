"""Fixtures of the integration tests: real data landed by the specs, and stores built by the real pipeline.

* :func:`retail_landing`: a real slice of Online Retail II (France, Germany and EIRE, Sep-Nov 2011)
  landed once per session by the shipped spec (from the download ``make setup`` cached).
* :func:`sales_home`: the generated weekly ``store_sales`` set (3 stores x 20 products, 120 weeks,
  4 planned weeks) with its features validated and committed by the feature pipeline's own steps:
  the store the training and inference tests read (they never change it).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fti.resources import Resources
from fti.settings import PROJECT_ROOT, Settings
from fti.specs import DatasetSpec, load_dataset
from fti.specs.filters import RowFilter

SPECS = PROJECT_ROOT / "specs"
RETAIL_FIRST, RETAIL_LAST = date(2011, 9, 1), date(2011, 11, 30)
RETAIL_COUNTRIES = ("France", "Germany", "EIRE")


def spec_of(name: str) -> DatasetSpec:
    """A shipped spec, loaded in full."""
    return load_dataset(SPECS, name)


def system(var_dir: Path, redis_url: str | None = None, **overrides: object) -> Resources:
    """The clients of one isolated system under ``var_dir`` (explicit paths: no ``FTI_*`` leaks in)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        var_dir=var_dir,
        specs_dir=SPECS,
        raw_dir=var_dir / "raw",
        store_uri=str(var_dir / "store"),
        catalog_url=f"sqlite:///{var_dir / 'catalog.db'}",
        mlflow_tracking_uri=f"sqlite:///{var_dir / 'mlflow.db'}",
        mlflow_artifact_uri=str(var_dir / "artifacts"),
        **overrides,
    )
    return Resources(settings, redis_url)


def commit_pending(resources: Resources, spec: DatasetSpec, run_id: str = "fixture") -> None:
    """Validate and commit every pending partition, as a manual feature_pipeline run does."""
    from fti.pipelines import feature

    partitions = feature.plan_partitions(resources, spec, None, "manual", None)
    check = feature.validate_raw(resources, spec, partitions, run_id)
    feature.build_and_commit(resources, spec, check, run_id)


@pytest.fixture(scope="session")
def retail_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw root holding the real Online Retail slice; tests copy it before changing anything."""
    from fti.data.shipped import land_shipped

    raw_dir = tmp_path_factory.mktemp("retail-landing")
    where = RowFilter.model_validate({"column": "Country", "in": list(RETAIL_COUNTRIES)})
    land_shipped(
        spec_of("online_retail"),
        raw_dir,
        Settings().cache_dir,
        first=RETAIL_FIRST,
        last=RETAIL_LAST,
        where=where,
    )
    return raw_dir


@pytest.fixture(scope="session")
def sales_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var folder whose store holds the small generated store_sales set, validated and committed."""
    from fti.data.generate import StoreSales, generate

    home = tmp_path_factory.mktemp("sales-store")
    resources = system(home)
    spec = spec_of("store_sales")
    generate(
        spec,
        resources.settings.raw_dir,
        StoreSales(n_stores=3, n_products=20, weeks=120, future_weeks=4, seed=7),
    )  # type: ignore[arg-type]
    commit_pending(resources, spec)
    return home
