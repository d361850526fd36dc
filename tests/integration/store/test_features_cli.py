"""The `fti features` commands print the catalog of a real store, on both catalog backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from fti.cli import app
from fti.settings import get_settings
from fti.store import FeatureStore

pytestmark = pytest.mark.integration

FEATURES = "online_retail"  # a data set's feature set is named after it
DAY = date(2024, 3, 1)
NEXT = DAY + timedelta(days=1)
NEXT_DEMAND = [0.0, 1.0, 4.0, 9.0, 250.0]


def features(day: date, demand: list[float]) -> pd.DataFrame:
    n = len(demand)
    return pd.DataFrame(
        {
            "entity": [f"EIRE|8508{i % 3}" for i in range(n)],
            "period": np.array([day] * n, dtype="datetime64[us]"),
            "demand": demand,
            "active_days_28": pd.Series(range(1, n + 1), dtype="int64"),
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FeatureStore]:
    """A store with two versions, three commits and two validations, which the settings point at."""
    if request.param == "sqlite":
        catalog_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        catalog_url = str(request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("FTI_CATALOG_URL", catalog_url)
    monkeypatch.setenv("FTI_STORE_URI", str(tmp_path / "store"))
    get_settings.cache_clear()
    store = FeatureStore(str(tmp_path / "store"), catalog_url)
    ok = store.record_validation(FEATURES, "run-ok", DAY, DAY, True, {"evaluated": 40, "failed": 0}, {"r": 1})
    failed_summary = {"evaluated": 40, "failed": 3, "failing": ["expect_a(demand)", "expect_b(entity)"]}
    bad = store.record_validation(FEATURES, "run-bad", NEXT, NEXT, False, failed_summary, {"r": 2})
    store.write(FEATURES, DAY, features(DAY, [2.0, 3.0]), run_id="run-ok", validation_id=ok)
    store.write(FEATURES, NEXT, features(NEXT, NEXT_DEMAND), run_id="run-bad", validation_id=bad)
    store.write(FEATURES, NEXT, features(NEXT, [1.0]).assign(avg_price_28=[2.5]), run_id="run-v2")
    yield store
    store.engine.dispose()
    get_settings.cache_clear()


def fti(*args: str) -> Result:
    return CliRunner().invoke(app, ["features", *args])


def line_of(output: str, first_word: str) -> list[str]:
    """The words of the one output line that starts with ``first_word``."""
    [line] = [line for line in output.splitlines() if line.split()[:1] == [first_word]]
    return line.split()


def test_versions_lists_each_version_with_its_column_count(store: FeatureStore) -> None:
    result = fti("versions", FEATURES)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == [
        "version",
        "columns",
        "days",
        "commits",
        "schema",
        "created_at",
    ]
    assert line_of(result.stdout, "1")[:4] == ["1", "4", "2", "2"]
    assert line_of(result.stdout, "2")[:4] == ["2", "5", "1", "1"]


def test_partitions_shows_the_last_commits_with_their_validation_outcome(store: FeatureStore) -> None:
    refs = store.partitions(FEATURES)

    result = fti("partitions", FEATURES, "--last", "2")

    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 2
    assert rows[0].split()[:4] == [str(NEXT), "1", "5", refs[1].checksum[:12]]
    assert rows[0].split()[-2:] == ["run-bad", "FAILED"]
    assert rows[1].split()[-2:] == ["run-v2", "-"]
    everything = fti("partitions", FEATURES).stdout
    assert line_of(everything, str(DAY))[-2:] == ["run-ok", "ok"]


def test_stats_prints_the_latest_day_or_the_day_asked_for(store: FeatureStore) -> None:
    latest = fti("stats", FEATURES)
    older = fti("stats", FEATURES, "--day", str(NEXT), "--version", "1")

    assert latest.exit_code == 0 and older.exit_code == 0, latest.output + older.output
    assert latest.stdout.startswith(f"{FEATURES} v2 {NEXT}")
    assert line_of(latest.stdout, "avg_price_28")[1:7] == ["numeric", "1", "0", "2.500", "2.500", "2.500"]
    q50, q99 = np.quantile(NEXT_DEMAND, [0.5, 0.99])
    assert line_of(older.stdout, "demand")[1:] == [
        "numeric", "5", "0", f"{np.mean(NEXT_DEMAND):.3f}", f"{q50:.3f}", f"{q99:.3f}", "-",
    ]  # fmt: skip
    assert line_of(older.stdout, "entity")[1:] == ["string", "5", "0", "-", "-", "-", "3"]


def test_validations_prints_outcome_counts_failing_names_and_document(store: FeatureStore) -> None:
    records = store.validations(FEATURES)

    result = fti("validations", FEATURES)

    assert result.exit_code == 0, result.output
    ok, bad = result.stdout.splitlines()[1:]
    assert ok.split()[2:] == ["run-ok", str(DAY), "ok", "40", "0", "-", records[0].uri]
    assert bad.split()[2:6] == ["run-bad", str(NEXT), "FAILED", "40"]
    assert re.search(r"\b3\s+expect_a\(demand\), expect_b\(entity\) \(\+1 more\)\s+", bad)
    assert bad.endswith(records[1].uri)
    assert len(fti("validations", FEATURES, "--last", "1").stdout.splitlines()) == 2


def test_unknown_feature_set_or_bad_day_exits_with_an_error(store: FeatureStore) -> None:
    for command in (["versions", "nope"], ["partitions", "nope"], ["stats", "nope"], ["validations", "nope"]):
        result = fti(*command)
        assert result.exit_code == 1 and "'nope'" in result.stderr, (command, result.output)
    no_stats = fti("stats", FEATURES, "--day", "2030-01-01")
    assert no_stats.exit_code == 1 and "no statistics" in no_stats.stderr
    assert fti("stats", FEATURES, "--day", "March").exit_code == 2


def test_list_counts_partitions_and_rows_per_version_of_every_feature_set(store: FeatureStore) -> None:
    store.write(f"{FEATURES}__future", NEXT, features(NEXT, [1.0, 2.0, 3.0]), run_id="run-future")

    result = fti("list")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == [
        "feature",
        "set",
        "version",
        "partitions",
        "first",
        "last",
        "rows",
    ]
    assert [line.split() for line in result.stdout.splitlines()[1:]] == [
        [FEATURES, "1", "2", str(DAY), str(NEXT), "7"],
        [FEATURES, "2", "1", str(NEXT), str(NEXT), "1"],
        [f"{FEATURES}__future", "1", "1", str(NEXT), str(NEXT), "3"],
    ]
