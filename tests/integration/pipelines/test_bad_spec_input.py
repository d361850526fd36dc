"""A broken data-set spec stops the feature pipeline at its first step with a SpecError that names the file
and the field, before any raw file is read, and leaves the feature store exactly as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fti.data.spec import SpecError, default_spec_path
from fti.pipelines.feature import feature_store, ingest, pending_days, validate_raw
from fti.settings import Settings

pytestmark = pytest.mark.integration


def run_first_steps(settings: Settings, days: list[date], run_id: str) -> None:
    """``validate_raw`` then, if it passes, ``ingest``: the two steps of the DAG that touch the store."""
    summary = validate_raw(settings, days, run_id=run_id)
    ingest(settings, days, run_id=run_id, validation_id=summary["validation_id"])


def store_state(settings: Settings) -> dict[str, Any]:
    """The catalog's versions, partitions and validations, and every file under the store with its digest."""
    store = feature_store(settings)
    assert settings.store_uri
    root = Path(settings.store_uri)
    return {
        "versions": store.versions(settings.feature_set),
        "partitions": store.partitions(settings.feature_set),
        "validations": store.validations(settings.feature_set),
        "files": {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        },
    }


def unknown_field(path: Path) -> None:
    text = default_spec_path().read_text()
    assert "  max_abs_quantity: 100000\n" in text
    path.write_text(
        text.replace("  max_abs_quantity: 100000\n", "  max_abs_quantity: 100000\n  max_quantityy: 5\n")
    )


def min_above_max(path: Path) -> None:
    path.write_text(default_spec_path().read_text().replace("min_price: -60000.0", "min_price: 200000.0"))


def not_there(path: Path) -> None:
    """The setting names a file that does not exist."""


@pytest.mark.parametrize(
    ("spoil", "named"),
    [
        (unknown_field, "unknown field 'validation.max_quantityy'"),
        (min_above_max, "'validation': min_price 200000.0 is above max_price 100000.0"),
        (not_there, "no such spec file"),
    ],
    ids=["unknown-field", "min-above-max", "missing-file"],
)
def test_bad_spec_fails_the_run_naming_file_and_field_and_leaves_the_store_unchanged(
    settings: Settings, tmp_path: Path, spoil: Callable[[Path], None], named: str
) -> None:
    days = pending_days(settings)
    run_first_steps(settings, days[:2], run_id="manual__good_spec")  # a store with history to keep
    before = store_state(settings)
    assert before["partitions"] and before["validations"] and before["files"]
    bad_path = tmp_path / "specs" / "bad.yaml"
    bad_path.parent.mkdir()
    spoil(bad_path)
    bad = settings.model_copy(update={"dataset_spec": bad_path})

    with pytest.raises(SpecError) as failed:
        run_first_steps(bad, days[2:], run_id="manual__bad_spec")

    assert str(failed.value).startswith(f"{bad_path}: ") and named in str(failed.value)
    assert store_state(settings) == before
    assert pending_days(settings) == days[2:]


def test_stored_validation_document_names_the_spec_that_judged_the_data(settings: Settings) -> None:
    days = pending_days(settings)

    summary = validate_raw(settings, days[:1], run_id="manual__which_spec")

    suite_meta = feature_store(settings).validation_document(summary["validation_id"])["meta"]["suite"]
    assert suite_meta["spec_name"] == "online_retail_ii"
    assert suite_meta["spec_sha256"] == hashlib.sha256(default_spec_path().read_bytes()).hexdigest()
    assert suite_meta["interval_start"] == f"{days[0].isoformat()}T00:00:00"
