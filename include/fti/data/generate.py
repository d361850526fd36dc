"""The generated weekly data set ``store_sales``: units sold per store and product, at any size.

Mean units of product ``p`` in store ``s`` in week ``t``::

    base[p] * store[s] * affinity[s, p] * season[p](t) * trend[p](t) * relative_price ** elasticity[p]
            * (1 + lift[p] * promo)

* ``base``: lognormal popularity; slow sellers sell nothing in most weeks (intermittent zeros).
* ``store``: grows with ``store_size`` (m², numeric) and depends on ``store_type`` (``express``,
  ``super``, ``hyper``, from the size), times an unexplained store effect; both attributes are
  constant per store.
* ``season``: a yearly wave of product-specific amplitude and phase, plus a December peak.
* ``trend``: product-specific growth per year.
* price: the product's list price times a store price index, changing in steps every 13 weeks
  (product-specific timing), lowered by 10-30 % during a promotion; ``relative_price`` is the price
  over the product's list price in the store, ``elasticity`` between -2.5 and -0.8.
* ``promo``: chain-wide promotions of a product (most stores take part), lifting demand on top of the
  price cut.

Units are Poisson draws around the mean times gamma noise (negative binomial). Every random draw of a
week depends only on the seed and that week, so more weeks, or the known-future rows of the next
weeks (price and promotion planned, ``units`` empty, as a planner's file lands before the week
starts), never change the weeks already generated. The files land per partition (one Parquet file per
week) at :func:`fti.data.source.partition_path`, atomically and only when their bytes change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

    from fti.specs.model import DatasetSpec

COLUMNS = {
    "store": "string",
    "product": "string",
    "week": "date",
    "units": "float",
    "price": "float",
    "promo": "int",
    "store_size": "float",
    "store_type": "string",
}
"""The columns written (the ``store_sales`` spec's ``source.columns``), with their declared types."""
STORE_TYPES = ("express", "super", "hyper")
TYPE_EFFECT = np.array([0.8, 1.0, 1.25])
PRICE_EPOCH_WEEKS = 13
YEAR_WEEKS = 365.25 / 7


@dataclass(frozen=True)
class StoreSales:
    """Size, period, seed and shape of a generated ``store_sales`` data set."""

    n_stores: int = 20
    n_products: int = 50
    weeks: int = 156
    """Weeks with units sold."""
    start: date = date(2022, 1, 3)
    """First week (its Monday)."""
    future_weeks: int = 0
    """Weeks after the last one written with price and promo only (units empty); e.g. the horizon."""
    seed: int = 0
    promo_rate: float = 0.08
    """Share of product-weeks with a chain-wide promotion."""
    noise_shape: float = 8.0
    """Shape of the gamma noise on the mean: smaller is noisier."""

    def __post_init__(self) -> None:
        """Reject sizes and rates out of range, naming the value seen."""
        for name in ("n_stores", "n_products", "noise_shape"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("weeks", "future_weeks"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.promo_rate <= 1:
            raise ValueError(f"promo_rate must be within [0, 1], got {self.promo_rate}")
        if self.start.weekday() != 0:
            raise ValueError(f"start must be a Monday, got {self.start} ({self.start:%A})")

    @property
    def n_entities(self) -> int:
        return self.n_stores * self.n_products


@dataclass(frozen=True)
class _World:
    """What does not change from week to week: products, stores and their per-entity expansions."""

    base: np.ndarray
    list_price: np.ndarray
    elasticity: np.ndarray
    lift: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray
    peak: np.ndarray
    growth: np.ndarray
    price_offset: np.ndarray
    store_size: np.ndarray
    store_type: np.ndarray
    store_effect: np.ndarray
    price_index: np.ndarray
    affinity: np.ndarray


def _world(config: StoreSales) -> _World:
    """Draw the products and stores (one generator, independent of the number of weeks)."""
    rng = np.random.default_rng([config.seed, 0])
    p, s = config.n_products, config.n_stores
    size = np.round(np.exp(rng.normal(np.log(1500), 0.6, s)), -1)
    kind = np.digitize(size, np.quantile(size, [0.3, 0.8])) if s > 1 else np.ones(s, dtype=int)
    return _World(
        base=np.exp(rng.normal(1.2, 1.3, p)),
        list_price=np.round(np.exp(rng.normal(1.3, 0.7, p)), 2) + 0.49,
        elasticity=rng.uniform(-2.5, -0.8, p),
        lift=rng.uniform(0.3, 1.2, p),
        amplitude=rng.uniform(0.0, 0.5, p),
        phase=rng.uniform(0.0, 2 * np.pi, p),
        peak=rng.uniform(0.0, 0.8, p),
        growth=rng.normal(0.03, 0.12, p),
        price_offset=rng.integers(0, PRICE_EPOCH_WEEKS, p),
        store_size=size,
        store_type=kind,
        store_effect=(size / np.median(size)) ** 0.6 * TYPE_EFFECT[kind] * np.exp(rng.normal(0, 0.2, s)),
        price_index=np.exp(rng.normal(0.0, 0.03, s)),
        affinity=np.exp(rng.normal(0.0, 0.35, s * p)),
    )


def _price_level(config: StoreSales, world: _World, week: int) -> np.ndarray:
    """Each product's list-price multiplier in ``week``: a new level every 13 weeks, at its own time."""
    epoch = (week + world.price_offset) // PRICE_EPOCH_WEEKS
    level = np.empty(config.n_products)
    for e in np.unique(epoch):  # at most two epochs in one week
        draws = np.random.default_rng([config.seed, 2, int(e)]).normal(0.0, 0.08, config.n_products)
        level[epoch == e] = draws[epoch == e]
    return np.exp(level)


def _week(config: StoreSales, world: _World, week: int, with_units: bool) -> dict[str, np.ndarray]:
    """Price, promo and (when ``with_units``) units of every entity in ``week`` (store-major order)."""
    rng = np.random.default_rng([config.seed, 1, week])
    p = config.n_products
    product = np.tile(np.arange(p), config.n_stores)
    store = np.repeat(np.arange(config.n_stores), p)
    promoted = rng.random(p) < config.promo_rate
    discount = rng.uniform(0.1, 0.3, p)
    promo = (promoted[product] & (rng.random(config.n_entities) < 0.85)).astype(np.int64)
    relative = _price_level(config, world, week)[product] * (1 - discount[product] * promo)
    price = np.round(world.list_price[product] * world.price_index[store] * relative, 2)
    columns = {"price": price, "promo": promo}
    if with_units:
        day = config.start + timedelta(weeks=week)
        phase = 2 * np.pi * day.timetuple().tm_yday / 365.25
        december = np.exp(-(((day.timetuple().tm_yday - 352) / 10) ** 2))
        season = 1 + world.amplitude * np.sin(phase + world.phase) + world.peak * december
        trend = np.exp(world.growth * week / YEAR_WEEKS)
        mean = (world.base * season * trend)[product] * world.store_effect[store] * world.affinity
        mean *= relative ** world.elasticity[product] * (1 + world.lift[product] * promo)
        noise = rng.gamma(config.noise_shape, 1 / config.noise_shape, config.n_entities)
        columns["units"] = rng.poisson(mean * noise).astype(np.float64)
    return columns


def _static(config: StoreSales, world: _World) -> dict[str, pa.Array]:
    """The columns that are the same every week: keys and store attributes, per entity."""
    import pyarrow as pa

    store = pa.array(np.repeat(np.arange(config.n_stores), config.n_products))
    product = pa.array(np.tile(np.arange(config.n_products), config.n_stores))
    return {
        "store": pa.array([f"S{i:04d}" for i in range(config.n_stores)]).take(store),
        "product": pa.array([f"P{i:05d}" for i in range(config.n_products)]).take(product),
        "store_size": pa.array(world.store_size).take(store),
        "store_type": pa.array([STORE_TYPES[k] for k in world.store_type]).take(store),
    }


def week_table(
    config: StoreSales,
    week: int,
    *,
    future: bool = False,
    world: _World | None = None,
    static: dict[str, pa.Array] | None = None,
) -> pa.Table:
    """The rows of week ``week`` (0 = ``config.start``): every store and product, columns :data:`COLUMNS`.

    ``future``: units empty (a planner's rows: price and promotion only). ``world`` and ``static``
    are what :func:`generate` computes once for all weeks.
    """
    import pyarrow as pa

    world = world or _world(config)
    static = static or _static(config, world)
    values = _week(config, world, week, with_units=not future)
    n = config.n_entities
    monday = np.datetime64(config.start + timedelta(weeks=week), "D")
    return pa.table(
        {
            "store": static["store"],
            "product": static["product"],
            "week": pa.array(np.full(n, monday)),
            "units": pa.nulls(n, pa.float64()) if future else pa.array(values["units"]),
            "price": pa.array(values["price"]),
            "promo": pa.array(values["promo"]),
            "store_size": static["store_size"],
            "store_type": static["store_type"],
        }
    )


def generate(spec: DatasetSpec, raw_dir: Path, config: StoreSales | None = None) -> list[Path]:
    """Write ``config.weeks`` weeks (and ``config.future_weeks`` planned ones) as the spec's partition files.

    Returns:
        The files, in week order.

    Raises:
        ValueError: the spec is not weekly Parquet per period with the columns :data:`COLUMNS`.
    """
    from fti.data.landing import parquet_bytes, write_if_changed
    from fti.data.source import partition_path

    config = config or StoreSales()
    _check(spec, config)
    world = _world(config)
    static = _static(config, world)
    paths = []
    for week in range(config.weeks + config.future_weeks):
        table = week_table(config, week, future=week >= config.weeks, world=world, static=static)
        path = partition_path(
            spec, raw_dir, config.start + timedelta(weeks=week), planned=week >= config.weeks
        )
        paths.append(write_if_changed(path, parquet_bytes(table)))
    return paths


def _check(spec: DatasetSpec, config: StoreSales) -> None:
    declared = {c.name: c.type for c in spec.source.columns}
    problems = []
    if declared != COLUMNS:
        problems.append(f"columns {declared} are not the generated ones {COLUMNS}")
    if spec.source.format != "parquet" or spec.source.layout != "per_period":
        problems.append(f"files are {spec.source.layout} {spec.source.format}, not per_period parquet")
    if spec.time.grain != "week" or spec.calendar.partition_start(config.start) != config.start:
        problems.append(f"weeks are {spec.calendar.describe()}, not weeks starting {config.start:%A}s")
    if problems:
        raise ValueError(f"spec {spec.name!r} does not describe the generated data: {'; '.join(problems)}")
