"""Broken raw files stop the feature pipeline with a named error that says which file and what, and
leave the feature store without a commit."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from fti.data.online_retail import RAW_COLUMNS, RawSchemaMismatch, raw_path
from fti.pipelines.feature import RawDataMissing, feature_store, ingest, pending_days, validate_raw
from fti.settings import Settings
from fti.validation.runner import ValidationFailed

pytestmark = pytest.mark.integration


def path_of(settings: Settings, day: date) -> Path:
    assert settings.raw_dir
    return raw_path(settings.raw_dir, day)


def run_first_steps(settings: Settings, days: list[date], run_id: str) -> None:
    """``validate_raw`` then, if it passes, ``ingest``: the pipeline up to its first commit."""
    summary = validate_raw(settings, days, run_id=run_id)
    ingest(settings, days, run_id=run_id, validation_id=summary["validation_id"])


def assert_nothing_committed(settings: Settings) -> None:
    with pytest.raises(LookupError):
        feature_store(settings).committed_days(settings.feature_set)


def truncate(path: Path) -> None:
    """Cut the file in the middle of its last line: that line has fewer fields than the header."""
    data = path.read_bytes().rstrip(b"\n")
    last = data.rfind(b"\n")
    assert b"," in data[last + 1 :]  # the last line is a data line
    path.write_bytes(data[: last + 1 + (len(data) - last) // 3])


def corrupt(path: Path) -> None:
    """Overwrite the file with random binary bytes, as a broken transfer might leave it."""
    path.write_bytes(random.Random(0).randbytes(4096))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def drop_country(path: Path) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns="Country").to_csv(path, index=False)


def quantity_as_words(path: Path) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame.index[:2], "Quantity"] = "twelve"
    frame.to_csv(path, columns=list(RAW_COLUMNS), index=False)


@pytest.mark.parametrize(
    ("spoil", "named"),
    [
        (truncate, ["not a readable raw CSV", "Expected 8 columns"]),
        (corrupt, ["not a readable raw CSV"]),
        (empty, ["empty"]),
        (drop_country, ["missing ['Country']"]),
        (quantity_as_words, ["Quantity", "twelve"]),
    ],
    ids=["truncated", "corrupt", "zero-byte", "missing-column", "wrong-type"],
)
def test_bad_raw_file_raises_named_error_naming_file_and_problem(
    settings: Settings, spoil: Callable[[Path], None], named: list[str]
) -> None:
    days = pending_days(settings)
    bad = days[len(days) // 2]
    spoil(path_of(settings, bad))

    with pytest.raises((RawSchemaMismatch, ValidationFailed)) as failed:
        run_first_steps(settings, days, run_id="manual__bad_raw")

    message = str(failed.value)
    assert bad.isoformat() in message
    for word in named:
        assert word in message
    assert_nothing_committed(settings)


def test_raw_file_not_landed_raises_raw_data_missing_naming_the_day(settings: Settings) -> None:
    days = pending_days(settings)
    gone = days[len(days) // 2]
    path_of(settings, gone).unlink()

    with pytest.raises(RawDataMissing) as failed:
        run_first_steps(settings, days, run_id="manual__missing")

    assert gone.isoformat() in str(failed.value)
    assert_nothing_committed(settings)
