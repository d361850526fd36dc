"""Bad input stops the feature pipeline with a named error (which file, which field, what is wrong)
before anything is committed, and leaves the store, its catalog and its files as they were."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fti.data.source import RawSchemaMismatch, partition_path
from fti.resources import Resources
from fti.settings import PROJECT_ROOT
from fti.specs import DatasetSpec, SpecError, load_dataset
from fti.validation.runner import ValidationFailed
from tests.integration.conftest import spec_of, system
from tests.integration.pipelines.conftest import pending, run_steps, store_state

pytestmark = pytest.mark.integration


def busiest(resources: Resources, spec: DatasetSpec, days: list) -> Path:
    """The largest raw file among ``days`` (a day with trade: some days have a header only)."""
    paths = [partition_path(spec, resources.settings.raw_dir, d) for d in days]
    return max(paths, key=lambda p: p.stat().st_size)


def truncate(path: Path) -> None:
    """Cut the file in the middle of its last line: that line has fewer fields than the header."""
    data = path.read_bytes().rstrip(b"\n")
    last = data.rfind(b"\n")
    path.write_bytes(data[: last + 1 + (len(data) - last) // 3])


def corrupt(path: Path) -> None:
    path.write_bytes(random.Random(0).randbytes(4096))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def drop_country(path: Path) -> None:
    pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="Country").to_csv(path, index=False)


def extra_column(path: Path) -> None:
    pd.read_csv(path, dtype=str, keep_default_na=False).assign(Channel="web").to_csv(path, index=False)


def quantity_as_words(path: Path) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame.index[:2], "Quantity"] = "twelve"
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("spoil", "named"),
    [
        (truncate, ["cut off"]),
        (corrupt, []),
        (empty, ["empty"]),
        (drop_country, ["missing", "'Country'"]),
        (extra_column, ["unexpected", "'Channel'"]),
        (quantity_as_words, ["Quantity", "twelve"]),
    ],
    ids=["truncated", "corrupt", "zero-byte", "missing-column", "unexpected-column", "wrong-type"],
)
def test_a_bad_raw_file_is_named_with_its_problem_and_nothing_is_committed(
    resources: Resources, retail: DatasetSpec, spoil: Callable[[Path], None], named: list[str]
) -> None:
    days = pending(resources, retail)
    run_steps(resources, retail, days[:2], "before")
    before = store_state(resources, retail)
    bad = busiest(resources, retail, days[2:])
    spoil(bad)

    with pytest.raises((RawSchemaMismatch, ValidationFailed)) as failed:
        run_steps(resources, retail, days[2:], "bad-raw")

    message = str(failed.value)
    assert bad.name in message, message
    for word in named:
        assert word in message, message
    assert store_state(resources, retail) == before


def spoil_rows(path: Path, change: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if change == "nulls":
        frame.loc[frame.sample(frac=0.05, random_state=2).index, "Price"] = ""
    elif change == "outside_interval":
        frame.loc[frame.index[:3], "InvoiceDate"] = "1/1/2030 9:00"
    elif change == "unknown_country":
        frame.loc[frame.index[:2], "Country"] = "Atlantis"
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("change", "named"),
    [("nulls", "Price"), ("outside_interval", "InvoiceDate"), ("unknown_country", "Atlantis")],
    ids=["5%-nulls", "date-outside", "unknown-country"],
)
def test_data_that_breaks_the_specs_rules_fails_validation_records_it_and_commits_nothing(
    resources: Resources, retail: DatasetSpec, change: str, named: str
) -> None:
    days = pending(resources, retail)
    spoil_rows(busiest(resources, retail, days), change)

    with pytest.raises(ValidationFailed) as failed:
        run_steps(resources, retail, days, "bad-rows")

    assert named in str(failed.value)
    kept = resources.store.validations(retail.feature_set)
    assert len(kept) == 1 and not kept[0].success and kept[0].summary["failed"] >= 1
    assert resources.store.validation_document(kept[0].id)["results"][0]["success"] is False
    assert resources.store.partitions(retail.feature_set) == []
    assert not (Path(str(resources.settings.store_uri)) / "_staging").exists()  # nothing staged either


def test_clean_partitions_commit_linked_to_the_validation_that_names_the_spec(
    resources: Resources, retail: DatasetSpec
) -> None:
    from fti.pipelines import feature

    days = pending(resources, retail)
    check = feature.validate_raw(resources, retail, days, "good")
    summary = feature.build_and_commit(resources, retail, check, "good")

    assert (summary.committed, summary.partitions) == (len(days), len(days))
    committed = resources.store.partitions(retail.feature_set)
    assert {p.validation_id for p in committed} == {check.validation_id}
    document = resources.store.validation_document(str(check.validation_id))
    assert document["spec"] == {"name": "online_retail", "sha256": retail.source_sha256}
    [suite] = document["suites"]
    assert suite["spec_sha256"] == retail.source_sha256 and suite["spec_name"] == "online_retail"
    assert suite["interval_start"] == f"{(days[0] - timedelta(days=28)).isoformat()}T00:00:00"


def broken_spec(folder: Path, edit: Callable[[dict], None]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = yaml.safe_load((PROJECT_ROOT / "specs" / "online_retail.yaml").read_text())
    edit(document)
    (folder / "online_retail.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda d: d["validation"]["columns"]["Quantity"].update(max_quantityy=5),
            "unknown field 'validation.columns.Quantity.max_quantityy'",
        ),
        (
            lambda d: d["validation"]["columns"]["Price"].update(min=200000),
            "min 200000.0 is above max 100000.0",
        ),
        (lambda d: d["features"].update(lags=[1, 400]), "reaches 400 periods back"),
    ],
    ids=["unknown-field", "min-above-max", "lag-too-long"],
)
def test_a_spec_edited_into_a_broken_one_fails_the_next_run_before_it_reads_or_writes(
    resources: Resources, retail: DatasetSpec, tmp_path: Path, edit: Callable[[dict], None], named: str
) -> None:
    """Each task loads its spec anew (fti_airflow.wiring.task_spec): an edit made since the DAG parse is
    judged before the task reads a file; the store stays as it was."""
    days = pending(resources, retail)
    run_steps(resources, retail, days[:2], "before")
    before = store_state(resources, retail)
    folder = broken_spec(tmp_path / "specs", edit)

    with pytest.raises(SpecError) as failed:
        spec = load_dataset(folder, "online_retail")  # what the task does first
        run_steps(resources, spec, days[2:], "after-edit")

    assert str(failed.value).startswith(str(folder / "online_retail.yaml")) and named in str(failed.value)
    assert store_state(resources, retail) == before


def test_duplicate_entity_periods_are_refused_where_the_spec_says_rows_are_already_aggregated(
    tmp_path: Path,
) -> None:
    from fti.data.generate import StoreSales, generate

    spec = spec_of("store_sales")
    resources = system(tmp_path / "var")
    raw_dir = resources.settings.raw_dir
    generate(spec, raw_dir, StoreSales(n_stores=2, n_products=5, weeks=60))
    from fti.pipelines.feature import pending_partitions

    days = pending_partitions(resources, spec)
    path = partition_path(spec, raw_dir, days[-1])
    rows = pd.read_parquet(path)
    pd.concat([rows, rows.head(2)]).to_parquet(path, index=False)

    with pytest.raises(ValidationFailed) as failed:
        run_steps(resources, spec, days, "duplicates")

    assert "expect_compound_columns_to_be_unique" in str(failed.value) and "store, product, week" in str(
        failed.value
    )
    assert resources.store.partitions(spec.feature_set) == []
