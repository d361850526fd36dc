"""Feature pipeline steps: read raw daily files, compute features, commit them to the store."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

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


def landed_days(raw_dir: Path) -> list[date]:
    """Days that have a raw file in the landing folder, in order."""
    from fti.data.online_retail import landed_days as _landed

    return _landed(raw_dir)


def pending_days(settings: Settings) -> list[date]:
    """Landed days with a full look-back of history that the store has not committed yet."""
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


def ingest(settings: Settings, days: list[date], run_id: str | None = None) -> list[dict[str, object]]:
    """Compute and commit the features of ``days``; returns one small partition record per day."""
    assert settings.raw_dir
    features = compute_features(settings.raw_dir, days)
    store = feature_store(settings)
    by_day = dict(iter(features.groupby("date", sort=True)))
    refs = []
    for day in sorted(days):
        rows = by_day[day].reset_index(drop=True) if day in by_day else features.iloc[:0]
        refs.append(store.write(settings.feature_set, day, rows, run_id=run_id).as_dict())
    return refs
