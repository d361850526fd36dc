"""Bad raw input stops the feature pipeline before it writes, names the problem and keeps the result."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from fti.data.online_retail import RAW_COLUMNS, raw_path
from fti.pipelines.feature import feature_store, ingest, pending_days, validate_raw
from fti.settings import Settings
from fti.validation.runner import ValidationFailed

pytestmark = pytest.mark.integration


def spoil(settings: Settings, day: object, change: str) -> None:
    """Rewrite one raw file with a defect, as a broken export would."""
    assert settings.raw_dir
    path = raw_path(settings.raw_dir, day)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if change == "nulls":
        frame.loc[frame.sample(frac=0.05, random_state=1).index, "Quantity"] = ""
        frame["Quantity"] = frame["Quantity"].replace("", "0")  # keep it parseable; nulls go in Price
        frame.loc[frame.sample(frac=0.05, random_state=2).index, "Price"] = ""
    elif change == "outside_interval":
        frame.loc[frame.index[:3], "InvoiceDate"] = "1/1/2030 9:00"
    frame.to_csv(path, columns=list(RAW_COLUMNS), index=False)


@pytest.mark.parametrize(
    ("change", "named"),
    [("nulls", "Price"), ("outside_interval", "InvoiceDate")],
    ids=["5%-nulls", "date-outside"],
)
def test_bad_raw_day_fails_validation_naming_it_and_commits_nothing(
    settings: Settings, change: str, named: str
) -> None:
    days = pending_days(settings)
    spoil(settings, days[-1], change)

    with pytest.raises(ValidationFailed) as failed:
        validate_raw(settings, days, run_id="manual__bad")

    assert named in str(failed.value)
    store = feature_store(settings)
    kept = store.validations(settings.feature_set)
    assert len(kept) == 1 and not kept[0].success and kept[0].summary["failed"] >= 1
    assert store.validation_document(kept[0].id)["success"] is False
    with pytest.raises(LookupError):
        store.committed_days(settings.feature_set)


def test_clean_days_pass_validation_and_commit_linked_to_it(settings: Settings) -> None:
    days = pending_days(settings)

    summary = validate_raw(settings, days, run_id="manual__good")
    refs = ingest(settings, days, run_id="manual__good", validation_id=summary["validation_id"])

    assert summary["success"] and summary["failed"] == 0
    assert [r["committed"] for r in refs] == [True] * len(days)
    partitions = feature_store(settings).partitions(settings.feature_set)
    assert {p.validation_id for p in partitions} == {summary["validation_id"]}
    assert days[-1] - days[0] == timedelta(days=len(days) - 1)
