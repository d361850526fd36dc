"""Where the control room's records come from: the feature store, the MLflow registry and Redis.

The only module of :mod:`fti.ui` that does I/O. Each source answers its records or
:class:`~fti.ui.views.Unavailable` with a sentence a person can act on ("no champion yet",
"Redis unreachable: ..."), so one missing service never hides the others. Nothing is created
on the way: a catalog or registry that does not exist yet is reported, not initialised.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from fti.credentials import redact_text
from fti.ui.quantiles_view import EntityForecast, forecast_rows
from fti.ui.realized_view import realized_view
from fti.ui.training_view import training_view
from fti.ui.views import (
    ChampionRecord,
    ControlRoom,
    Unavailable,
    champion_view,
    drift_series,
    live_view,
    validation_rows,
)

if TYPE_CHECKING:
    import redis

    from fti.cache.client import LiveRun, PredictionClient
    from fti.settings import Settings
    from fti.store import FeatureStore
    from fti.store.history import ValidationRecord
    from fti.store.realized import RealizedRecord

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: Environment variable naming the Redis of the live predictions when no Airflow connection does.
REDIS_URL_ENV = "FTI_REDIS_URL"
LOOKUP_TIMEOUT_S = 0.5
"""Bound of each Redis command of the control room's Redis section (a hung cache: one second at most)."""
ANALYSIS_FILE = "analysis/analysis.json"


def datasets(settings: Settings) -> list[str]:
    """The data sets of the specs folder (file names), in order; the page offers each."""
    from fti.specs import spec_files

    assert settings.specs_dir is not None
    return [p.stem for p in spec_files(settings.specs_dir)]


def gather(
    settings: Settings,
    dataset: str,
    redis_url: Callable[[], str | None],
    last_validations: int = 10,
    last_drift_runs: int = 30,
    entity: str = "",
) -> ControlRoom:
    """Everything the page shows of one data set, each section from its own source (Redis asked last);
    with ``entity``, also that entity's live forecast."""
    record = champion(settings, dataset)
    prefix = settings.cache_prefix(dataset)
    return ControlRoom(
        dataset=dataset,
        datasets=datasets(settings),
        model_name=settings.model_name(dataset),
        generated_at=datetime.now(UTC),
        validations=validation_rows(validations(settings, dataset, last_validations), dataset),
        drift=drift_series(drift_rows(settings, dataset, last_drift_runs), dataset),
        champion=champion_view(record),
        live=live_view(live(redis_url, prefix)),
        realized=realized_view(
            *realized(settings, dataset), settings.decay_warn, settings.decay_fail, dataset
        ),
        training=training_view(record, settings.split_drift_threshold),
        entity=entity,
        forecast=entity_forecast(redis_url, prefix, entity) if entity else None,
    )


def degrades(what: str) -> Callable[[Callable[P, R | Unavailable]], Callable[P, R | Unavailable]]:
    """Turn an unexpected error of a source into Unavailable naming ``what`` failed (and log it),
    with every URL's password masked in both.

    The expected cases (nothing recorded yet, service down) are answered by the sources
    themselves; this is the net under them, so one section's bug cannot take the page down.
    """

    def wrap(source: Callable[P, R | Unavailable]) -> Callable[P, R | Unavailable]:
        @functools.wraps(source)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Unavailable:
            try:
                return source(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - reported on the page and in the log
                trace = redact_text("".join(traceback.format_exception(exc)))  # URLs may carry passwords
                log.error("control room: reading %s failed\n%s", what, trace)
                return Unavailable(redact_text(f"{what} could not be read: {type(exc).__name__}: {exc}"))

        return guarded

    return wrap


@degrades("the feature store's validations")
def validations(settings: Settings, dataset: str, last: int) -> list[ValidationRecord] | Unavailable:
    """The ``last`` newest validations of the data set's feature set."""
    store = _store(settings)
    if isinstance(store, Unavailable):
        return store
    return store.validations(dataset, last)


@degrades("the feature store's drift history")
def drift_rows(settings: Settings, dataset: str, last_runs: int) -> list[dict[str, Any]] | Unavailable:
    """Drift scores of the data set's ``last_runs`` newest inference runs, as plain rows."""
    store = _store(settings)
    if isinstance(store, Unavailable):
        return store
    rows: list[dict[str, Any]] = store.drift_history(dataset, last_runs).to_dict("records")
    return rows  # created_at are pandas Timestamps: datetimes to the views


def realized(
    settings: Settings, dataset: str, last: int = 60
) -> tuple[list[RealizedRecord] | Unavailable, list[dict[str, Any]] | Unavailable]:
    """The data set's ``last`` newest realized records and its newest decay verdict."""
    return _realized_records(settings, dataset, last), _verdicts(settings, dataset)


@degrades("the feature store's realized accuracy")
def _realized_records(settings: Settings, dataset: str, last: int) -> list[RealizedRecord] | Unavailable:
    store = _store(settings)
    return store if isinstance(store, Unavailable) else store.realized(dataset)[-last:]


@degrades("the feature store's decay verdicts")
def _verdicts(settings: Settings, dataset: str) -> list[dict[str, Any]] | Unavailable:
    store = _store(settings)
    return store if isinstance(store, Unavailable) else store.verdicts(dataset, last=1)


def validation_document(settings: Settings, validation_id: str) -> dict[str, Any]:
    """The full document of a recorded validation.

    Raises:
        ValidationNotFound: no validation with that id (also when there is no catalog yet).
    """
    from fti.store.feature_store import ValidationNotFound

    store = _store(settings)
    if isinstance(store, Unavailable):
        raise ValidationNotFound(f"no validation {validation_id!r}: {store.reason}")
    return store.validation_document(validation_id)


@degrades("the MLflow registry")
def champion(settings: Settings, dataset: str) -> ChampionRecord | Unavailable:
    """The data set's version under the alias ``champion``, its MLflow links and its ``analysis.json``."""
    from fti.registry import mlflow_registry as registry

    uri = settings.mlflow_tracking_uri or ""
    if missing := _missing_sqlite_file(uri):
        return Unavailable(f"no champion yet: there is no MLflow registry at {missing} (nothing was trained)")
    try:
        registry.check_available(uri, timeout_s=3)
    except registry.RegistryRefused as exc:
        return Unavailable(f"MLflow refuses: {exc}")
    except registry.RegistryUnavailable as exc:
        return Unavailable(f"MLflow unreachable: {exc}")
    client = registry.configure(uri)
    try:
        ref = registry.resolve_alias(client, settings.model_name(dataset), registry.CHAMPION)
    except registry.ModelNotFound:
        return Unavailable(
            f"no champion yet: model {settings.model_name(dataset)!r} has no version with the alias "
            f"{registry.CHAMPION!r} (training_pipeline's promote task sets it)"
        )
    run = client.get_run(ref.run_id)
    links = registry.mlflow_links(settings.mlflow_ui_url, run.info.experiment_id, ref)
    try:
        analysis: dict[str, Any] | Unavailable = _analysis(uri, ref.run_id)
    except Exception as exc:  # noqa: BLE001 - a missing artifact is shown, the champion still is
        analysis = Unavailable(f"run {ref.run_id} has no readable {ANALYSIS_FILE}: {exc}")
    return ChampionRecord(
        ref.name,
        ref.version,
        ref.run_id,
        links["run"],
        links["model_version"],
        analysis,
        run_started=_from_ms(run.info.start_time),
        run_ended=_from_ms(run.info.end_time),
        run_metrics={str(k): float(v) for k, v in run.data.metrics.items()},
    )


def _reader(redis_url: Callable[[], str | None]) -> redis.Redis | Unavailable:
    """A lookup connection to the Redis ``redis_url()`` names (bounded by the lookup timeout), or why not."""
    from fti.cache.connect import CacheRefused, CacheUnavailable, lookup_connection

    url = redis_url()
    if not url:
        return Unavailable(
            f"Redis not configured: add the Airflow connection fti_redis_reader or set {REDIS_URL_ENV}"
        )
    try:
        return lookup_connection(url, LOOKUP_TIMEOUT_S)
    except CacheRefused as exc:
        return Unavailable(f"Redis refuses: {exc}")
    except CacheUnavailable as exc:
        return Unavailable(f"Redis unreachable: {exc}")


@degrades("Redis")
def live(redis_url: Callable[[], str | None], prefix: str) -> dict[str, str] | None | Unavailable:
    """Metadata of the run live under ``prefix`` in the Redis ``redis_url()`` names; None when nothing is."""
    from fti.cache.client import live_run

    client = _reader(redis_url)
    if isinstance(client, Unavailable):
        return client
    try:
        return live_run(client, prefix)
    finally:
        client.close()


@degrades("Redis")
def entity_forecast(
    redis_url: Callable[[], str | None], prefix: str, entity: str
) -> EntityForecast | Unavailable:
    """The live run's point forecast and quantiles of ``entity`` for each period of its horizon, read
    through :class:`~fti.cache.client.PredictionClient` (the HTTP service's reader)."""
    from fti.cache.client import LiveRun, PredictionClient

    client = _reader(redis_url)
    if isinstance(client, Unavailable):
        return client
    try:
        reader = PredictionClient(client, prefix)
        meta = reader.live()
        if not meta:
            return Unavailable("nothing is live in Redis yet (batch_inference publishes a run)")
        run = LiveRun.from_meta(meta["run"], meta)
        return _forecast_of(reader, run, entity)
    finally:
        client.close()


def _forecast_of(reader: PredictionClient, run: LiveRun, entity: str) -> EntityForecast | Unavailable:
    """Each period of ``run``'s horizon looked up for ``entity``; Unavailable with the reader's reason
    when it has none at all (not in the run)."""
    from fti.cache.client import PredictionNotFound

    cal = run.calendar
    start = cal.index(cal.parse(run.first_period))
    periods = [cal.format(cal.start(start + i)) for i in range(run.horizon)]
    found, reason = {}, ""
    for period in periods:
        try:
            hit = reader.prediction(entity, period)
        except PredictionNotFound as exc:  # NaN for that period: its row shows dashes
            reason = str(exc)
            continue
        found[period] = (hit.value, hit.quantiles)
    if not found:
        return Unavailable(reason)
    rows = forecast_rows(periods, found, run.quantiles)
    return EntityForecast(entity, run.run, run.meta.get("model_version"), run.quantiles, rows)


@degrades("the feature store's drift history")
def run_drift_rows(settings: Settings, dataset: str, run_id: str) -> list[dict[str, Any]] | Unavailable:
    """The drift scores recorded for one inference run of the data set, as plain rows."""
    store = _store(settings)
    if isinstance(store, Unavailable):
        return store
    history = store.drift_history(dataset)
    rows: list[dict[str, Any]] = history[history["run_id"] == run_id].to_dict("records")
    return rows


def redis_url_from_env() -> str | None:
    """``FTI_REDIS_URL``, or None when unset or empty."""
    return os.environ.get(REDIS_URL_ENV) or None


@functools.lru_cache(maxsize=32)
def _analysis(tracking_uri: str, run_id: str) -> dict[str, Any]:
    """A run's ``analysis.json`` (cached: a run's artifacts never change)."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="fti-ui-") as tmp:
        path = mlflow.MlflowClient(tracking_uri).download_artifacts(run_id, ANALYSIS_FILE, tmp)
        document: dict[str, Any] = json.loads(Path(path).read_text())
    return document


def _from_ms(stamp: int | None) -> datetime | None:
    """An MLflow time (milliseconds since the epoch, None while a run is open) as a UTC datetime."""
    return datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None


def _store(settings: Settings) -> FeatureStore | Unavailable:
    """The settings' feature store, or Unavailable when its SQLite catalog does not exist yet."""
    assert settings.store_uri and settings.catalog_url
    if missing := _missing_sqlite_file(settings.catalog_url):
        return Unavailable(f"no feature store yet: there is no catalog at {missing} (run feature_pipeline)")
    return _open_store(settings.store_uri, settings.catalog_url)


@functools.lru_cache(maxsize=4)
def _open_store(store_uri: str, catalog_url: str) -> FeatureStore:
    """One store (and engine) per location for the life of the process."""
    from fti.store import FeatureStore

    return FeatureStore(store_uri, catalog_url)


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a ``sqlite:///`` URL's file when it does not exist (opening would create it)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :].split("?", 1)[0]
    return None if not path or path == ":memory:" or Path(path).exists() else path
