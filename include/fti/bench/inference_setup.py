"""The scratch system the inference benchmark predicts in: a champion and tonight's 1 M entities (untimed).

1. A copy of the ``store_sales`` spec with ``forecast.horizon: 7`` in a scratch specs folder.
2. A small generated set (:data:`TRAIN_SIZE`: 100 stores x 5 products, 156 weeks, and the planned
   price and promotion of 8 weeks after them) goes through the feature pipeline's steps; the
   training pipeline's ``train_and_register`` and ``promote`` make its model the champion.
3. Tonight's partition (the last week ``L``) is committed again with 1,000,000 entities (the same
   100 stores x 10,000 new products): each new entity's row is a row of the training snapshot
   drawn at random from the same store (any week), with new ids, ``period`` = ``L`` and the
   calendar features of ``L``; its known-future rows for weeks ``L+1 .. L+7`` are the planned rows
   of a drawn product of the same store. The rows therefore follow the training distribution (the
   drift check has real work and passes). Generating 53 weeks of raw history for a million
   entities would only time the generator and the feature engine, which ``fti bench features``
   measures.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fti.bench.child import Figures, Stopwatch, child_main, quiet_logs

if TYPE_CHECKING:
    import pandas as pd

    from fti.data.generate import StoreSales
    from fti.resources import Resources
    from fti.specs import DatasetSpec

DATASET = "store_sales"
HORIZON = 7
N_STORES = 100
PRODUCTS_PER_STORE = 10_000
TRAIN_PRODUCTS = 5
TRAIN_PARAMS = {"n_estimators": 60}
"""A champion fast to train: the benchmark times predictions, not the model's accuracy."""
RUN_ID = "bench-setup"


def specs_dir(var_dir: Path) -> Path:
    """Where the setup writes the spec copy the benchmark's processes load."""
    return var_dir / "specs"


def _train_size() -> StoreSales:
    from fti.data.generate import StoreSales

    return StoreSales(n_stores=N_STORES, n_products=TRAIN_PRODUCTS, weeks=156, future_weeks=HORIZON + 1)


def prepare(var_dir: Path) -> Figures:
    """Build the scratch system under ``var_dir`` (steps 1-3 of the module docstring)."""
    from fti.bench.scratch import land, load, scratch_resources, specs_with_horizon
    from fti.pipelines import feature, gate, training, training_request
    from fti.settings import get_settings

    real_specs = get_settings().specs_dir
    assert real_specs is not None
    resources = scratch_resources(
        var_dir, specs_with_horizon(real_specs, specs_dir(var_dir), DATASET, HORIZON)
    )
    spec = load(resources.settings, DATASET)
    watch = Stopwatch()
    land(resources.settings, spec, _train_size())
    partitions = feature.pending_partitions(resources, spec)
    feature.build_and_commit(
        resources, spec, feature.validate_raw(resources, spec, partitions, RUN_ID), RUN_ID
    )
    request = training_request.parse_request({}, spec, now=datetime.now(UTC))
    trained = training.train_and_register(resources, spec, request, code="bench", params=TRAIN_PARAMS)
    verdict = gate.promote(resources, spec, trained.version)
    if not verdict.promoted:
        raise RuntimeError(f"the benchmark's model was not promoted: {verdict.summary}")
    snapshot = training.take_snapshot(resources.store, spec, request)
    last = max(partitions)
    _commit_tonight(resources, spec, snapshot.features, last)
    return {
        "setup_s": watch.seconds(),
        "champion_wape": float(trained.metrics.get("test_wape") or 0.0),
        "champion_train_rows": trained.lineage.train_rows,
        "entities": N_STORES * PRODUCTS_PER_STORE,
    }


def _commit_tonight(resources: Resources, spec: DatasetSpec, snapshot: pd.DataFrame, last: date) -> None:
    """Commit partition ``last`` again with the 1 M drawn entities, and their known-future rows."""
    from fti.features.schema import ENTITY, PERIOD, bins, calendar_names

    rng = np.random.default_rng(0)
    store = resources.store
    future = store.read(
        spec.future_feature_set,
        spec.calendar.next_partition(last),
        spec.calendar.next_partition(last, HORIZON),
    )
    stores = np.sort(snapshot["store"].unique())
    new_store = np.repeat(stores, PRODUCTS_PER_STORE)
    products = np.char.mod("N%06d", np.tile(np.arange(PRODUCTS_PER_STORE), len(stores)))
    rows = _draw_rows(snapshot, new_store, rng)
    origin = snapshot[snapshot[PERIOD] == snapshot[PERIOD].max()].iloc[0]
    rows[PERIOD] = origin[PERIOD]
    for name in calendar_names(spec):
        rows[name] = origin[name]
    source = rows["product"].to_numpy()  # the drawn product: its planned rows become the new entity's
    rows = _renamed(rows, spec, new_store, products)
    edges = bins(spec)
    store.write_partitions(spec.feature_set, {last: rows}, run_id="bench-tonight", bins=edges)
    planned = _future_of(future, spec, new_store, source, products)
    weeks = planned[PERIOD].to_numpy(dtype="datetime64[us]").astype("datetime64[D]")
    by_week = {w.item(): planned[weeks == w].reset_index(drop=True) for w in np.unique(weeks)}
    store.write_partitions(spec.future_feature_set, by_week, run_id="bench-tonight", bins=edges)
    assert rows[ENTITY].is_unique


def _draw_rows(snapshot: pd.DataFrame, stores: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One snapshot row per wanted store value, drawn uniformly among that store's rows."""
    order = np.argsort(snapshot["store"].to_numpy(), kind="stable")
    sorted_stores = snapshot["store"].to_numpy()[order]
    lo = np.searchsorted(sorted_stores, stores, "left")
    hi = np.searchsorted(sorted_stores, stores, "right")
    picks = order[lo + (rng.random(len(stores)) * (hi - lo)).astype(np.int64)]
    return snapshot.iloc[picks].reset_index(drop=True)


def _renamed(rows: pd.DataFrame, spec: DatasetSpec, stores: np.ndarray, products: np.ndarray) -> pd.DataFrame:
    """``rows`` with the new key values and the entity ids built from them, sorted by entity."""
    out = rows.copy()
    out["store"], out["product"] = stores, products
    out["entity"] = np.char.add(np.char.add(stores.astype(str), spec.entity.separator), products)
    return out.sort_values("entity", kind="stable").reset_index(drop=True)


def _future_of(
    future: pd.DataFrame, spec: DatasetSpec, stores: np.ndarray, source: np.ndarray, products: np.ndarray
) -> pd.DataFrame:
    """Every planned row of each source (store, product), under the new product's ids."""
    import pandas as pd

    wanted = pd.DataFrame({"store": stores, "source": source, "new": products})
    joined = wanted.merge(future, left_on=["store", "source"], right_on=["store", "product"], how="inner")
    joined = joined.drop(columns=["product", "source"]).rename(columns={"new": "product"})
    joined["entity"] = joined["store"].astype(str) + spec.entity.separator + joined["product"]
    columns = list(future.columns)
    return joined[columns].sort_values(["period", "entity"], kind="stable").reset_index(drop=True)


if __name__ == "__main__":
    quiet_logs()
    child_main(prepare(Path(sys.argv[1])))
