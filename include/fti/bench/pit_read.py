"""Benchmark of point-in-time reads: ``FeatureStore.read`` against loading every file and filtering.

In a child process (so its peak memory is its own): builds a feature table of ``n_entities`` x
``n_days`` rows (10,000,000 by default) with every column of :mod:`fti.features.demand`, commits it
as daily partitions to a scratch store, then commits corrected versions of some days, so that a
read as of a moment between the two commits must skip the corrections. A 30-day window in the
middle is read as of that moment twice: through the catalog (``FeatureStore.read``), and the naive
way (load every Parquet file under the store, concatenate, filter the days, keep the partition
that the catalog says was the newest at ``as_of``). Both must return the same rows.

Both reads run on a warm page cache: the files were just written.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fti.bench.features import peak_rss_mb, run_child

if TYPE_CHECKING:
    import pandas as pd

    from fti.store import FeatureStore

FEATURE_SET = "bench_demand"
WINDOW_DAYS = 30
FIRST_DAY = date(2022, 1, 3)
ITEMS_PER_COUNTRY = 500
PIT_REPEATS = 3
WEEKLY = np.array([1.0, 1.04, 0.98, 1.07, 0.81, 0.3, 0.74])


def run(
    scratch_dir: Path | None = None, n_entities: int = 20_000, n_days: int = 500
) -> dict[str, float | int]:
    """Build the table in a scratch folder (inside ``scratch_dir``, else the system temp) and time both reads.

    Returns:
        ``pit_rows_per_s``, ``pit_speedup_vs_naive``, ``pit_table_rows``, ``pit_read_s``,
        ``naive_read_s``, ``pit_window_rows``, ``pit_build_s``, ``pit_peak_mb``.
    """
    if n_days < WINDOW_DAYS or n_entities < 1:
        raise ValueError(f"need n_days >= {WINDOW_DAYS} and n_entities >= 1, got {n_days} and {n_entities}")
    with tempfile.TemporaryDirectory(prefix="fti-bench-pit-", dir=scratch_dir) as tmp:
        return run_child("fti.bench.pit_read", tmp, str(n_entities), str(n_days))


def _child(scratch: Path, n_entities: int, n_days: int) -> dict[str, float | int]:
    """Inside the child: build, correct, then time the point-in-time read against the naive one."""
    from fti.store import FeatureStore

    store = FeatureStore(str(scratch / "store"), f"sqlite:///{scratch / 'catalog.db'}")
    rng = np.random.default_rng(0)
    qty, price = _demand(rng, n_entities, n_days)
    keys = _keys(n_entities)
    start_build = time.perf_counter()
    for i in range(n_days):
        store.write(FEATURE_SET, _day(i), _day_frame(keys, qty, price, i), run_id="first")
    as_of = _utcnow()  # after every first commit, before every correction
    start = _day(n_days // 2 - WINDOW_DAYS // 2)
    end = start + timedelta(days=WINDOW_DAYS - 1)
    for i in _corrected_days(n_days, start):
        store.write(FEATURE_SET, _day(i), _day_frame(keys, qty, price, i, corrected=True), run_id="fix")
    build_s = time.perf_counter() - start_build

    pit_s, pit = _timed_read(store, start, end, as_of)
    naive_start = time.perf_counter()
    naive = naive_read(store, FEATURE_SET, start, end, as_of)
    naive_s = time.perf_counter() - naive_start
    _check_same_rows(pit, naive, store.read(FEATURE_SET, start, end))
    return {
        "pit_rows_per_s": len(pit) / pit_s,
        "pit_speedup_vs_naive": naive_s / pit_s,
        "pit_table_rows": n_entities * n_days,
        "pit_read_s": pit_s,
        "naive_read_s": naive_s,
        "pit_window_rows": len(pit),
        "pit_build_s": build_s,
        "pit_peak_mb": peak_rss_mb(),
    }


def naive_read(
    store: FeatureStore, feature_set: str, start: date, end: date, as_of: datetime
) -> pd.DataFrame:
    """The baseline: every Parquet file under the store in pandas, then date filter and catalog join.

    Files whose names start with ``.`` (temp files of writes in progress) are skipped, as pyarrow's
    datasets do; files without a catalog row drop out in the join.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    from fti.store.catalog import partitions

    files = sorted(p for p in Path(store.store_uri).rglob("*.parquet") if not p.name.startswith("."))
    tables = []
    for number, path in enumerate(files):
        table = pq.ParquetFile(path).read()
        tables.append(table.append_column("_file", pa.array(np.full(table.num_rows, number, np.int32))))
    frame = pa.concat_tables(tables).to_pandas()
    frame = frame[(frame["date"] >= start) & (frame["date"] <= end)]

    p = partitions
    query = sa.select(p.c.id, p.c.version, p.c.day, p.c.uri, p.c.committed_at).where(
        p.c.feature_set == feature_set
    )
    with store.engine.connect() as conn:
        catalog = pd.DataFrame(
            conn.execute(query).all(), columns=["id", "version", "day", "uri", "committed_at"]
        )
    catalog = catalog[catalog["committed_at"] <= as_of]
    catalog = catalog[catalog["version"] == catalog["version"].max()]
    newest = catalog.sort_values("id").groupby("day").tail(1)
    number_of = {str(path): number for number, path in enumerate(files)}
    live = pd.DataFrame({"_file": newest["uri"].map(number_of).astype("int32")})
    return frame.merge(live, on="_file").drop(columns="_file")


def _timed_read(store: FeatureStore, start: date, end: date, as_of: datetime) -> tuple[float, pd.DataFrame]:
    """Median wall time of ``PIT_REPEATS`` point-in-time reads, and the rows read."""
    times = []
    for _ in range(PIT_REPEATS):
        began = time.perf_counter()
        rows = store.read(FEATURE_SET, start, end, as_of=as_of)
        times.append(time.perf_counter() - began)
    return statistics.median(times), rows


def _check_same_rows(pit: pd.DataFrame, naive: pd.DataFrame, latest: pd.DataFrame) -> None:
    """Both reads return the same rows; and the newest read differs, so ``as_of`` did matter."""
    import pandas as pd

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(["date", "entity"], ignore_index=True)

    pit = ordered(pit)
    pd.testing.assert_frame_equal(pit, ordered(naive))
    if pit["demand"].equals(ordered(latest)["demand"]):
        raise AssertionError("the read as of before the corrections equals the newest read")


def _demand(rng: np.random.Generator, n_entities: int, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily units per entity (with the 28 look-back days before the first) and each entity's price."""
    from fti.features.demand import LOOKBACK_DAYS

    base = rng.lognormal(0.0, 1.0, n_entities)
    weekday = (FIRST_DAY.weekday() + np.arange(-LOOKBACK_DAYS, n_days)) % 7
    qty = rng.poisson(np.outer(base, WEEKLY[weekday])).astype(np.float64)
    price = np.round(np.exp(rng.normal(1.0, 0.6, n_entities)) * 20).clip(1) / 20
    return qty, price


def _keys(n_entities: int) -> pd.DataFrame:
    """Entity, country and stock code of every entity, in entity order."""
    import pandas as pd

    index = np.arange(n_entities)
    country = np.char.mod("Country %03d", index // ITEMS_PER_COUNTRY)
    code = np.char.mod("%05d", 10000 + index % ITEMS_PER_COUNTRY)
    entity = np.char.add(np.char.add(country, "|"), code)
    order = np.argsort(entity, kind="stable")
    return pd.DataFrame({"entity": entity[order], "country": country[order], "stock_code": code[order]})


def _day_frame(
    keys: pd.DataFrame, qty: np.ndarray, price: np.ndarray, i: int, corrected: bool = False
) -> pd.DataFrame:
    """Feature rows of day ``i`` (column ``i + 28`` of ``qty``); ``corrected`` adds 1 to a tenth of demand."""
    from fti.features.demand import FEATURE_COLUMNS, KEY_COLUMNS, LOOKBACK_DAYS

    j = i + LOOKBACK_DAYS
    last28 = qty[:, j - 27 : j + 1]
    demand = qty[:, j] + float(corrected) * (np.arange(len(qty)) % 10 == 0)
    qty28 = last28.sum(axis=1)
    revenue28 = qty28 * price
    day = _day(i)
    frame = keys.assign(
        date=np.full(len(keys), day, dtype=object),
        demand=demand,
        lag_1=qty[:, j - 1],
        lag_7=qty[:, j - 7],
        lag_14=qty[:, j - 14],
        lag_28=qty[:, j - 28],
        rolling_mean_7=last28[:, -7:].mean(axis=1),
        rolling_mean_14=last28[:, -14:].mean(axis=1),
        rolling_mean_28=last28.mean(axis=1),
        rolling_median_7=np.median(last28[:, -7:], axis=1),
        active_days_28=(last28 > 0).sum(axis=1).astype(np.int64),
        avg_price_28=np.divide(revenue28, qty28, out=np.zeros_like(qty28), where=qty28 > 0),
        day_of_week=np.full(len(keys), day.weekday(), dtype=np.int64),
        month=np.full(len(keys), day.month, dtype=np.int64),
    )
    return frame[KEY_COLUMNS + FEATURE_COLUMNS]


def _corrected_days(n_days: int, window_start: date) -> list[int]:
    """Days recommitted later: every other day of the read window and every 25th day elsewhere."""
    first = (window_start - FIRST_DAY).days
    in_window = set(range(first, first + WINDOW_DAYS, 2))
    return sorted(in_window | set(range(0, n_days, 25)))


def _day(i: int) -> date:
    return FIRST_DAY + timedelta(days=i)


def _utcnow() -> datetime:
    """The catalog's clock: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
