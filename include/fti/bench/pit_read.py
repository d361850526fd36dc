"""Benchmark of point-in-time reads (``fti bench pit-read``): the catalog's read against a fair naive one.

In a child process (its own peak memory), a scratch store gets a feature table shaped like Online
Retail's (the spec's stored columns and types): ``n_entities`` x ``n_days`` rows (10 M by default),
one partition per day. Then some days are committed again, corrected, so a read as of a moment
between the two commits must skip the corrections. A 30-day window in the middle is read as of that
moment in two ways:

* **pit**: ``FeatureStore.read(feature_set, start, end, as_of=...)`` (catalog query, then exactly
  the files committed last at ``as_of``);
* **naive**: what a competent engineer writes without the store's reader: list only the ``date=``
  folders of the window (partition pruning), read every Parquet file in them, tag each row with its
  file, load the catalog table into pandas, keep the latest commit per day at ``as_of``, join.

Both reads must return the same rows (checked). They are timed the same way: one untimed warm-up
each, then :data:`REPEATS` timed runs each, interleaved (pit, naive, pit, naive, ...), median.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fti.bench.child import Figures, Stopwatch, child_main, memory_mb, quiet_logs, run_child
from fti.bench.results import Line

if TYPE_CHECKING:
    import pandas as pd

    from fti.specs import DatasetSpec
    from fti.store.feature_store import FeatureStore

AREA = "features"
LEGACY: dict[str, str] = {}
DROP: tuple[str, ...] = ()
LINES = [
    Line("pit_read_s", ".3f", "FeatureStore.read of the window as of a past time, median of 3, s"),
    Line("naive_read_s", ".3f", "pruned date= folders + latest commit per day in pandas, median of 3, s"),
    Line("pit_speedup_vs_naive", "x", "same rows, timed alike, interleaved (before: unpruned, timed once)"),
    Line("pit_rows_per_s", ",.0f", "window rows / pit_read_s"),
    Line("pit_window_rows", ",d", "rows of the 30-day window as of that time"),
    Line("pit_window_files", ",d", "Parquet files in the window's folders (corrections included)"),
    Line("pit_table_rows", ",d", "rows in the store (daily partitions)"),
    Line("pit_build_s", ".1f", "building and correcting the table (untimed setup), s"),
    Line("pit_peak_mb", ",.0f", "VmHWM of the benchmark process, MiB"),
]


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench pit-read``."""
    return LINES


WINDOW_DAYS = 30
FIRST_DAY = date(2022, 1, 3)
LOOKBACK = 28
BATCH_DAYS = 50
REPEATS = 3
COUNTRIES = 40


def run(n_entities: int = 20_000, n_days: int = 500) -> Figures:
    """Build the table in a scratch folder and time both reads in a child process."""
    if n_days < 2 * WINDOW_DAYS or n_entities < COUNTRIES:
        raise ValueError(
            f"need n_days >= {2 * WINDOW_DAYS} and n_entities >= {COUNTRIES}, got {n_days}, {n_entities}"
        )
    with tempfile.TemporaryDirectory(prefix="fti-bench-pit-") as tmp:
        return run_child("fti.bench.pit_read", tmp, str(n_entities), str(n_days))


def _child(var_dir: Path, n_entities: int, n_days: int) -> Figures:
    """Inside the child: build and correct the table, then time both reads, interleaved."""
    from fti.bench.scratch import load, scratch_resources

    resources = scratch_resources(var_dir)
    spec, store = load(resources.settings, "online_retail"), resources.store
    watch = Stopwatch()
    as_of, start, end = _build(store, spec, n_entities, n_days)
    build_s = watch.seconds()
    times: dict[str, list[float]] = {"pit": [], "naive": []}
    reads = {
        "pit": lambda: store.read(spec.feature_set, start, end, as_of=as_of),
        "naive": lambda: naive_read(store, spec.feature_set, start, end, as_of),
    }
    found = {name: read() for name, read in reads.items()}  # warm-up, untimed
    for _ in range(REPEATS):
        for name, read in reads.items():
            began = time.perf_counter()
            found[name] = read()
            times[name].append(time.perf_counter() - began)
    _check_same_rows(found["pit"], found["naive"], store.read(spec.feature_set, start, end))
    pit_s, naive_s = statistics.median(times["pit"]), statistics.median(times["naive"])
    return {
        "pit_read_s": pit_s,
        "naive_read_s": naive_s,
        "pit_speedup_vs_naive": naive_s / pit_s,
        "pit_rows_per_s": len(found["pit"]) / pit_s,
        "pit_window_rows": len(found["pit"]),
        "pit_window_files": _files_in_window(store, spec.feature_set, start, end),
        "pit_table_rows": n_entities * n_days,
        "pit_build_s": build_s,
        "pit_peak_mb": memory_mb()["VmHWM"],
    }


def naive_read(
    store: FeatureStore, feature_set: str, start: date, end: date, as_of: datetime
) -> pd.DataFrame:
    """The window's rows as of ``as_of`` without the store's reader (see the module docstring).

    The newest version folder is read (as the store's reader does by default); files starting with
    ``.`` (writes in progress) are skipped, as pyarrow's datasets do.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    root = Path(store.store_uri) / feature_set
    version = max(int(p.name[1:]) for p in root.glob("v*"))
    folders = [root / f"v{version}" / f"date={day.isoformat()}" for day in _days(start, end)]
    files = sorted(str(f) for folder in folders if folder.is_dir() for f in folder.glob("[!.]*.parquet"))
    tables = []
    for number, path in enumerate(files):
        table = pq.read_table(path)
        tables.append(table.append_column("_file", pa.array(np.full(table.num_rows, number, np.int32))))
    rows = pa.concat_tables(tables).to_pandas()
    query = sa.text(
        "SELECT id, day, uri, committed_at FROM partitions WHERE feature_set = :fs AND version = :v"
    )
    with store.engine.connect() as conn:
        catalog = pd.read_sql(
            query, conn, params={"fs": feature_set, "v": version}, parse_dates=["committed_at"]
        )
    catalog = catalog[catalog["committed_at"] <= as_of]
    latest = catalog.sort_values(["committed_at", "id"]).groupby("day").tail(1)
    number_of = {path: number for number, path in enumerate(files)}
    keep = latest["uri"].map(number_of).dropna().astype("int32")
    return rows[rows["_file"].isin(keep)].drop(columns="_file").reset_index(drop=True)


def _check_same_rows(pit: pd.DataFrame, naive: pd.DataFrame, newest: pd.DataFrame) -> None:
    """Both reads return the same rows; the newest read differs, so ``as_of`` mattered."""
    import pandas as pd

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(["period", "entity"], ignore_index=True)

    pit = ordered(pit)
    pd.testing.assert_frame_equal(pit, ordered(naive))
    if pit["demand"].equals(ordered(newest)["demand"]):
        raise AssertionError("the read as of before the corrections equals the newest read")


def _build(
    store: FeatureStore, spec: DatasetSpec, n_entities: int, n_days: int
) -> tuple[datetime, date, date]:
    """Commit every day, then (after the returned ``as_of``) corrections; returns as_of and the window."""
    from fti.features.schema import bins
    from fti.store.base import utcnow

    rng = np.random.default_rng(0)
    qty = rng.poisson(np.outer(rng.lognormal(0.0, 1.0, n_entities), np.ones(n_days + LOOKBACK))).astype(float)
    price = np.round(np.exp(rng.normal(1.0, 0.6, n_entities)) * 20).clip(1) / 20
    keys = _keys(n_entities)
    edges = bins(spec)
    for first in range(0, n_days, BATCH_DAYS):
        batch = {
            _day(i): _day_frame(keys, qty, price, i) for i in range(first, min(first + BATCH_DAYS, n_days))
        }
        store.write_partitions(spec.feature_set, batch, run_id="first", bins=edges)
    as_of = utcnow()
    time.sleep(0.01)  # a commit in the same microsecond would be visible at as_of
    start = _day(n_days // 2 - WINDOW_DAYS // 2)
    in_window = set(range(n_days // 2 - WINDOW_DAYS // 2, n_days // 2 + WINDOW_DAYS // 2, 2))
    corrected = sorted(in_window | set(range(0, n_days, 25)))
    batch = {_day(i): _day_frame(keys, qty, price, i, corrected=True) for i in corrected}
    store.write_partitions(spec.feature_set, batch, run_id="fix", bins=edges)
    return as_of, start, start + timedelta(days=WINDOW_DAYS - 1)


def _keys(n_entities: int) -> pd.DataFrame:
    """``entity``, ``country`` and ``stock_code`` of every entity, sorted by entity."""
    import pandas as pd

    index = np.arange(n_entities)
    country = np.char.mod("Country %02d", index % COUNTRIES)
    code = np.char.mod("%05d", 10000 + index // COUNTRIES)
    entity = np.char.add(np.char.add(country, "|"), code)
    order = np.argsort(entity, kind="stable")
    return pd.DataFrame({"entity": entity[order], "country": country[order], "stock_code": code[order]})


def _day_frame(
    keys: pd.DataFrame, qty: np.ndarray, price: np.ndarray, i: int, corrected: bool = False
) -> pd.DataFrame:
    """Day ``i``'s rows in the Online Retail feature columns; ``corrected`` adds 1 to a tenth of demand."""
    j = i + LOOKBACK
    last28 = qty[:, j - 27 : j + 1]
    demand = qty[:, j] + float(corrected) * (np.arange(len(qty)) % 10 == 0)
    sold28 = last28.sum(axis=1)
    day = _day(i)
    return keys.assign(
        period=np.full(len(keys), np.datetime64(day, "us")),
        demand=demand,
        revenue=demand * price,
        lag_1=qty[:, j - 1],
        lag_7=qty[:, j - 7],
        lag_14=qty[:, j - 14],
        lag_28=qty[:, j - 28],
        rolling_mean_7=last28[:, -7:].mean(axis=1),
        rolling_median_7=np.median(last28[:, -7:], axis=1),
        rolling_mean_14=last28[:, -14:].mean(axis=1),
        rolling_mean_28=last28.mean(axis=1),
        active_days_28=(last28 > 0).sum(axis=1).astype(np.int64),
        day_of_week=np.full(len(keys), day.weekday(), dtype=np.int64),
        month=np.full(len(keys), day.month, dtype=np.int64),
        avg_price_28=np.where(sold28 > 0, price, 0.0),
    )


def _files_in_window(store: FeatureStore, feature_set: str, start: date, end: date) -> int:
    root = Path(store.store_uri) / feature_set
    return sum(len(list(root.glob(f"v*/date={d.isoformat()}/[!.]*.parquet"))) for d in _days(start, end))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _day(i: int) -> date:
    return FIRST_DAY + timedelta(days=i)


if __name__ == "__main__":
    quiet_logs()
    child_main(_child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
