"""Feature pipeline steps: read raw daily files, compute features, commit them to the store."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.features.demand import LOOKBACK_DAYS, build_features, clean_transactions, daily_demand
from fti.store import FeatureStore

if TYPE_CHECKING:
    import pandas as pd

    from fti.settings import Settings


class RawDataMissing(FileNotFoundError):
    """A raw daily file the run needs has not landed."""


def feature_store(settings: Settings) -> FeatureStore:
    """The feature store the settings point at."""
    assert settings.store_uri and settings.catalog_url
    return FeatureStore(settings.store_uri, settings.catalog_url)


def pending_days(settings: Settings) -> list[date]:
    """Landed days with a full look-back of history that the store has not committed yet."""
    from fti.data.online_retail import landed_days

    assert settings.raw_dir
    landed = landed_days(settings.raw_dir)
    if not landed:
        raise RawDataMissing(f"no raw files in {settings.raw_dir}; run `fti data load` first")
    first_feature_day = landed[0] + timedelta(days=LOOKBACK_DAYS)
    store = feature_store(settings)
    try:
        committed = set(store.committed_days(settings.feature_set))
    except LookupError:
        committed = set()
    return [d for d in landed if d >= first_feature_day and d not in committed]


def read_raw(raw_dir: Path, start: date, end: date) -> pd.DataFrame:
    """Transactions of the raw files from ``start`` to ``end``, every one of which must have landed.

    Raises:
        RawDataMissing: naming the days whose file is missing (a shop drops one every day).
    """
    import pandas as pd

    from fti.data.online_retail import raw_path, read_raw_file

    paths = {start + timedelta(days=i): None for i in range((end - start).days + 1)}
    missing = [d for d in paths if not raw_path(raw_dir, d).exists()]
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:5])
        raise RawDataMissing(f"{len(missing)} raw file(s) have not landed in {raw_dir}: {shown}")
    return pd.concat([read_raw_file(raw_path(raw_dir, d)) for d in paths], ignore_index=True)


def compute_features(raw_dir: Path, days: list[date]) -> pd.DataFrame:
    """Feature rows of ``days``, computed from their raw files and the look-back before them."""
    first, last = min(days), max(days)
    raw = read_raw(raw_dir, first - timedelta(days=LOOKBACK_DAYS), last)
    features = build_features(daily_demand(clean_transactions(raw)), first, last)
    return features[features["date"].isin(set(days))]


def validate_raw(settings: Settings, days: list[date], run_id: str) -> dict[str, Any]:
    """Validate the raw files of ``days`` with the raw suite and keep the result in the catalog.

    The full result is stored as a JSON document linked from the catalog, pass or fail. The suite's
    bounds come from the data-set spec at ``settings.dataset_spec``, loaded first so that a broken
    spec fails the task before any file is read or anything is written.

    Returns:
        The small summary (for XCom) with the ``validation_id`` to commit the features under.

    Raises:
        SpecError: the data-set spec is missing or invalid (naming the file and each field).
        ValidationFailed: naming each failing expectation and its observed value; nothing is written
            to the feature store.
    """
    from fti.data.spec import load_spec
    from fti.validation.raw_suite import build_raw_suite
    from fti.validation.runner import validate

    assert settings.raw_dir and settings.dataset_spec
    spec = load_spec(settings.dataset_spec)
    first, last = min(days), max(days)
    raw = read_raw(settings.raw_dir, first, last)
    suite = build_raw_suite(first, last, spec=spec)
    report = validate(raw, suite, name=f"raw {first}..{last}")
    # Great Expectations leaves the suite's meta out of its result: keep it, so the stored document
    # says which interval and which spec (name, SHA-256 of the file) judged the data.
    document = {**report.result_json, "meta": {**report.result_json["meta"], "suite": dict(suite.meta)}}
    validation_id = feature_store(settings).record_validation(
        settings.feature_set, run_id, first, last, report.success, report.summary(), document
    )
    report.raise_for_failures()
    return {**report.summary(), "validation_id": validation_id}


def ingest(
    settings: Settings, days: list[date], run_id: str | None = None, validation_id: str | None = None
) -> list[dict[str, object]]:
    """Compute the features of ``days``, check them with the feature suite, then commit one partition a day.

    Raises:
        ValidationFailed: the features break the feature suite; nothing is committed.
    """
    from fti.validation.feature_suite import build_feature_suite
    from fti.validation.runner import validate

    assert settings.raw_dir
    if not days:
        return []
    features = compute_features(settings.raw_dir, days)
    validate(features, build_feature_suite, name=f"features {min(days)}..{max(days)}").raise_for_failures()
    store = feature_store(settings)
    by_day = dict(iter(features.groupby("date", sort=True)))
    refs = []
    for day in sorted(days):
        rows = by_day[day].reset_index(drop=True) if day in by_day else features.iloc[:0]
        ref = store.write(settings.feature_set, day, rows, run_id=run_id, validation_id=validation_id)
        refs.append(ref.as_dict())
    return refs


def summarize(refs: list[dict[str, object]]) -> dict[str, object]:
    """What a run committed, in a few hundred bytes (XCom carries this, not one record per day)."""
    committed = [r for r in refs if r["committed"]]
    return {
        "days": len(refs),
        "committed": len(committed),
        "unchanged": len(refs) - len(committed),
        "rows": sum(int(str(r["row_count"])) for r in refs),
        "first_day": refs[0]["day"] if refs else None,
        "last_day": refs[-1]["day"] if refs else None,
        "versions": sorted({int(str(r["version"])) for r in refs}),
    }
