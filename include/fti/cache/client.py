"""Reading the prediction cache: ``live_run`` and ``PredictionClient`` (connecting: :mod:`fti.cache.connect`).

Reads call the ``no-writes`` functions of the library the publisher loads (``FCALL_RO``,
:mod:`fti.cache.functions`), so each one sees one run, atomically, and the reader's ACL user
(``fti_reader``) needs no write command and sends no Lua of its own. Connection details come from an
Airflow Connection or ``FTI_REDIS_URL``, never from code.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from fti.cache import functions, layout
from fti.cache.connect import CacheUnavailable, lookup_connection
from fti.periods import Calendar, Grain

if TYPE_CHECKING:
    import numpy as np
    import redis


class LookupFunctionsMissing(CacheUnavailable):
    """The cache holds a live run but not this code's lookup functions: no publish loaded them yet."""


class PredictionNotFound(LookupError):
    """No live prediction exists for that entity and period (or nothing is live)."""


@dataclass(frozen=True)
class Script:
    """A Lua script of the publisher run by SHA (``EVALSHA``), sent whole only when the server does
    not know it yet. Falling back to ``EVAL`` (which also caches the script) instead of ``SCRIPT
    LOAD`` keeps ``script`` out of the writer's commands. Readers run no scripts: they call
    :func:`fcall_ro`.
    """

    body: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha1(self.body.encode()).hexdigest()

    def __call__(self, client: redis.Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.body, len(keys), *keys, *args)


def fcall_ro(
    client: redis.Redis, function: str, prefix: str, keys: Sequence[str], args: Sequence[Any]
) -> Any:
    """``FCALL_RO`` of a function of :mod:`fti.cache.functions` on the keys of ``prefix``.

    A server without the function (nothing published yet with this code, or its functions flushed)
    answers as if nothing were live when no run is live under ``prefix``.

    Raises:
        LookupFunctionsMissing: a run is live under ``prefix`` but the function is not loaded.
    """
    from redis.exceptions import ResponseError

    try:
        return client.fcall_ro(function, len(keys), *keys, *args)
    except ResponseError as exc:
        if "function not found" not in str(exc).lower():
            raise
        return without_function(function, prefix, client.get(layout.live_key(prefix)), exc)


def without_function(function: str, prefix: str, live: bytes | str | None, exc: Exception) -> Any:
    """What a call of a missing ``function`` answers: nothing live, or :class:`LookupFunctionsMissing`
    when run ``live`` is (shared by the sync and the async readers)."""
    if live is None:
        return False if function == functions.LIVE_RUN else [_NOTHING_LIVE]
    raise LookupFunctionsMissing(
        f"run {_s(live)} is live under {prefix!r} but Redis has no function {function} (library "
        f"{functions.LIBRARY}, loaded by the publisher at every go_live): no batch was published "
        "with this version of fti yet; run a publish (batch_inference) to load it"
    ) from exc


_NOTHING_LIVE, _STALE, _FOUND = 0, 1, 2


def live_run(client: redis.Redis, prefix: str) -> dict[str, str] | None:
    """Metadata of the live run (with its id under ``run``), or None when nothing is live.

    Raises:
        LookupFunctionsMissing: a run is live but no publish loaded this code's functions.
    """
    keys, args = [layout.live_key(prefix)], [layout.run_prefix(prefix)]
    return live_meta(fcall_ro(client, functions.LIVE_RUN, prefix, keys, args))


def live_meta(found: Any) -> dict[str, str] | None:
    """The reply of the ``live_run`` function as metadata with the run's id under ``run``."""
    if not found:
        return None
    run, flat = found
    return {"run": _s(run), **_pairs(flat)}


@dataclass(frozen=True)
class LiveRun:
    """What a reader needs of the live run to find a prediction: its buckets and periods."""

    run: str
    calendar: Calendar
    first_period: str
    horizon: int
    n_buckets: int
    meta: Mapping[str, str]
    quantiles: tuple[str, ...] = ()
    """Names of the quantiles stored after each point value (``p10``, ``p90``...)."""

    @classmethod
    def from_meta(cls, run: str, meta: Mapping[str, str]) -> LiveRun:
        try:
            calendar = Calendar(Grain(meta["grain"]), int(meta.get("week_start", "0")))
            calendar.parse(meta["first_period"])
            names = tuple(n for n in meta.get("quantiles", "").split(",") if n)
            if int(meta.get("values_per_period", "1")) != 1 + len(names):
                raise ValueError(f"{meta.get('values_per_period')} values per period but quantiles {names}")
            return cls(
                run,
                calendar,
                meta["first_period"],
                int(meta["horizon"]),
                int(meta["n_buckets"]),
                dict(meta),
                names,
            )
        except (KeyError, ValueError) as exc:
            raise PredictionNotFound(
                f"live run {run} has no usable metadata ({exc!r}): its keys expired or were never written"
            ) from exc

    @property
    def last_period(self) -> str:
        cal = self.calendar
        return cal.format(cal.start(cal.index(cal.parse(self.first_period)) + self.horizon - 1))

    def offset(self, period: np.datetime64) -> int:
        """Position of ``period`` among the run's values (may be outside 0 .. horizon - 1)."""
        cal = self.calendar
        return int(cal.index(period)) - int(cal.index(cal.parse(self.first_period)))


@dataclass(frozen=True)
class Prediction:
    """One live prediction and where it comes from."""

    entity: str
    period: str
    value: float
    run: str
    model_version: str | None
    quantiles: Mapping[str, float] = field(default_factory=dict)
    """The run's quantile forecasts of this entity and period, by name (``p10``, ``p50``, ``p90``)."""


class PredictionClient:
    """Lookups of live predictions, one round trip each while the live run does not move.

    The client remembers the live run's id, bucket count and periods; the lookup script checks that
    run is still live (same id, same ``published_at``) before reading, and otherwise returns the
    live run's metadata, so the client retries once. A value is therefore always from the run that
    was live when it was read, decoded with that run's periods.
    The redis client must return bytes (``decode_responses=False``): values are packed float32.
    """

    _ATTEMPTS = 3  # the live run would have to move twice during one lookup to need a third

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        if client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("PredictionClient needs a redis client with decode_responses=False")
        self.client = client
        self.prefix = prefix
        self._live: LiveRun | None = None

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout_s: float = 0.5) -> PredictionClient:
        """A client of the cache at ``url``; connects lazily (nothing is sent until the first lookup).
        Every command is bounded by ``timeout_s`` (:func:`lookup_connection`)."""
        return cls(lookup_connection(url, timeout_s, check=False), prefix)

    def live(self) -> dict[str, str] | None:
        """Metadata of the live run (with its id under ``run``), or None when nothing is live."""
        return live_run(self.client, self.prefix)

    def lookup(self, entity: str, period: str | date | datetime) -> tuple[float, str]:
        """The live prediction for ``entity`` in ``period`` and the run that made it.

        Args:
            period: the period's start as the data set writes it (``2011-12-10``,
                ``2016-12-19T08:00``), or a date / datetime.

        Raises:
            PredictionNotFound: nothing is live, the entity is not in the live run, the period is
                outside its horizon, or the run holds no prediction (NaN) for it.
            ValueError: ``period`` is not the start of a period of the live run's grain.
            LookupFunctionsMissing: a run is live but no publish loaded this code's functions.
        """
        found = self.prediction(entity, period)
        return found.value, found.run

    def prediction(self, entity: str, period: str | date | datetime) -> Prediction:
        """Like :meth:`lookup`, with the model version of the run."""
        return prediction_of(self.prefix, entity, period, self._read([entity]))

    def many(self, pairs: Iterable[tuple[str, str | date | datetime]]) -> tuple[list[float | None], str]:
        """Predictions of many (entity, period) pairs from one run, in one round trip.

        Returns:
            One value per pair (None where :meth:`lookup` would raise PredictionNotFound) and the
            run they all come from.

        Raises:
            PredictionNotFound: nothing is live.
            ValueError: a period is not the start of a period of the live run's grain.
            LookupFunctionsMissing: a run is live but no publish loaded this code's functions.
        """
        wanted = list(pairs)
        found = self._read([entity for entity, _ in wanted])
        if found is None:
            raise PredictionNotFound(f"no live predictions: nothing is live under {self.prefix!r}")
        live, raws = found
        values: list[float | None] = []
        for (entity, period), raw in zip(wanted, raws, strict=True):
            try:
                values.append(_decode(live, entity, _as_period(live.calendar, period), raw))
            except PredictionNotFound:
                values.append(None)
        return values, live.run

    def _read(self, entities: Sequence[str]) -> tuple[LiveRun, list[bytes | None]] | None:
        """The raw values of ``entities`` in the live run, with that run; None when nothing is live."""
        for _ in range(self._ATTEMPTS):
            live = self._live  # one snapshot: another thread may replace it meanwhile
            keys, args = lookup_request(self.prefix, live, entities)
            step = lookup_step(fcall_ro(self.client, functions.LOOKUP, self.prefix, keys, args), live)
            if step.live is not live:  # never write back a snapshot another thread has replaced
                self._live = step.live
            if step.done:
                return None if step.live is None else (step.live, step.values)
        raise PredictionNotFound(f"the live run under {self.prefix!r} kept changing during the lookup")


class LookupStep(NamedTuple):
    """What one LOOKUP reply means for a reader that asked with the run it knew."""

    live: LiveRun | None
    """The live run now (None: nothing is live)."""
    values: list[bytes | None]
    """The entities' raw values when ``done`` with a live run."""
    done: bool
    """False when the run changed: ask again with ``live``."""


def lookup_step(reply: Sequence[Any], live: LiveRun | None) -> LookupStep:
    """Interpret a LOOKUP ``reply`` to a request made with ``live`` (sync and async readers alike)."""
    status = int(reply[0])
    if status == _FOUND and live is not None:
        return LookupStep(live, list(reply[1]), True)
    if status == _NOTHING_LIVE:
        return LookupStep(None, [], True)
    return LookupStep(LiveRun.from_meta(_s(reply[1]), _pairs(reply[2])), [], False)


def lookup_request(prefix: str, live: LiveRun | None, entities: Sequence[str]) -> tuple[list[str], list[str]]:
    """Keys and arguments of the ``lookup`` function for ``entities`` in the run believed ``live``."""
    run, n_buckets = (live.run, live.n_buckets) if live else ("", 1)
    published_at = live.meta.get("published_at", "") if live else ""
    keys = [layout.live_key(prefix)]
    keys += [layout.bucket_key(prefix, run, layout.bucket_of(e, n_buckets)) for e in entities]
    return keys, [run, layout.run_prefix(prefix), published_at, *entities]


def prediction_of(
    prefix: str, entity: str, period: str | date | datetime, found: tuple[LiveRun, list[bytes | None]] | None
) -> Prediction:
    """The :class:`Prediction` of ``entity`` in ``period`` from a lookup's raw value (None: nothing live).

    Raises:
        PredictionNotFound, ValueError: as :meth:`PredictionClient.lookup`.
    """
    if found is None:
        raise _missing(entity, str(period), f"nothing is live under {prefix!r}")
    live, (raw,) = found
    stamp = _as_period(live.calendar, period)
    value, *quantiles = _decode_all(live, entity, stamp, raw)
    return Prediction(
        entity,
        live.calendar.format(stamp),
        value,
        live.run,
        live.meta.get("model_version"),
        dict(zip(live.quantiles, quantiles, strict=True)),
    )


def _missing(entity: str, period: str, reason: str) -> PredictionNotFound:
    return PredictionNotFound(f"no live prediction for entity {entity!r} in period {period}: {reason}")


def _decode(live: LiveRun, entity: str, period: np.datetime64, raw: bytes | None) -> float:
    """One period's point value out of an entity's packed predictions, or PredictionNotFound saying why."""
    return _decode_all(live, entity, period, raw)[0]


def _decode_all(live: LiveRun, entity: str, period: np.datetime64, raw: bytes | None) -> list[float]:
    """One period's point value and quantiles, or PredictionNotFound saying why not."""
    text = live.calendar.format(period)
    if raw is None:
        raise _missing(entity, text, f"the entity is not in live run {live.run}")
    offset = live.offset(period)
    if not 0 <= offset < live.horizon:
        span = f"{live.first_period} to {live.last_period}"
        raise _missing(entity, text, f"the period is outside live run {live.run}'s horizon ({span})")
    per_period = 1 + len(live.quantiles)
    if len(raw) != live.horizon * per_period * layout.VALUE_BYTES:
        stored = f"{live.horizon} x {per_period} float32"
        raise _missing(entity, text, f"live run {live.run} stores {len(raw)} bytes, not {stored}")
    values = struct.unpack_from(f"<{per_period}f", raw, offset * per_period * layout.VALUE_BYTES)
    if math.isnan(values[0]):
        raise _missing(entity, text, f"live run {live.run} has no prediction for that period (NaN)")
    return [float(v) for v in values]


def _as_period(calendar: Calendar, value: str | date | datetime) -> np.datetime64:
    """The period start ``value`` names; strict: it must be a period start of ``calendar``.

    Raises:
        ValueError: naming the value and the expected form.
    """
    import numpy as np

    if isinstance(value, datetime | date):
        stamp = np.datetime64(value, "us")
        if calendar.floor(stamp) != stamp:
            raise ValueError(f"{value!r} is not the start of a {calendar.describe()} period")
        return stamp
    return calendar.parse(value)


def _pairs(flat: Sequence[bytes | str]) -> dict[str, str]:
    """A flat HGETALL reply [k1, v1, k2, v2, ...] (as scripts return it) as a dict."""
    return {_s(flat[i]): _s(flat[i + 1]) for i in range(0, len(flat), 2)}


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
