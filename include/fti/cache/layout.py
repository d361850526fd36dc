"""The Redis key layout and value format of the prediction cache, defined once.

``prefix`` is ``fti:<env>`` (``Settings.cache_prefix``); ``run`` is a publication's id.

==================================  ======  ====================================================
key                                 type    content
==================================  ======  ====================================================
``{prefix}:live``                   string  id of the run readers see (switched atomically)
``{prefix}:runs``                   list    ids of runs that went live, newest first (retention)
``{prefix}:run:{run}:meta``         hash    ``state`` (writing/live/retired), ``first_date``,
                                            ``horizon_days``, ``n_buckets``, ``chunks``,
                                            ``predictions``, model and feature versions, drift
                                            summary, ``started_at``, ``published_at``
``{prefix}:run:{run}:chunks``       hash    chunk id -> predictions that chunk wrote
``{prefix}:run:{run}:b:{bucket}``   hash    entity -> its ``horizon_days`` predictions
==================================  ======  ====================================================

Why buckets: one hash per entity costs ~100 bytes of key overhead each; ~64 entities per hash keep
every bucket in Redis's compact *listpack* encoding (``hash-max-listpack-entries`` 128 and
``hash-max-listpack-value`` 64 bytes, the defaults), about 8 bytes per prediction in all.

* bucket of an entity: ``zlib.crc32(entity.encode()) % n_buckets`` (``n_buckets`` from the meta);
* value: ``horizon_days`` float32, little-endian, day ``first_date + i`` at offset ``4 * i``
  (28 bytes for 7 days); NaN = no prediction. Values and entity ids of at most 64 bytes
  (``horizon_days`` <= 16) keep the listpack encoding; longer ones still work, in more memory.

Reading one by hand (``redis-cli --user fti_reader --askpass``)::

    GET fti:production:live                                      -> 20240302-v3-1a2b3c4d
    HGET fti:production:run:20240302-v3-1a2b3c4d:meta n_buckets  -> 15625
    HGET fti:production:run:20240302-v3-1a2b3c4d:b:<crc32 of the entity % 15625> "United Kingdom|85123A"

The value is 28 raw bytes (redis-cli shows them escaped); decode it in one line with
``struct.unpack("<7f", raw)``. From the top, in Python::

    import redis, struct, zlib
    r, p, e = redis.Redis.from_url(URL), "fti:production", "United Kingdom|85123A"
    run = r.get(f"{p}:live").decode()
    n = int(r.hget(f"{p}:run:{run}:meta", "n_buckets"))
    print(struct.unpack("<7f", r.hget(f"{p}:run:{run}:b:{zlib.crc32(e.encode()) % n}", e)))

prints the 7 predictions from ``first_date`` on (``HGET ... meta first_date``). The reader's ACL
allows GET/HGET/HGETALL; ``fti predictions lookup`` and ``fti serve`` do the same in one round trip.
"""

from __future__ import annotations

import math
import struct
import zlib

#: Average entities per bucket: half of Redis's default ``hash-max-listpack-entries`` (128), so
#: even the fullest of a million buckets stays far below it.
ENTITIES_PER_BUCKET = 64
#: Format of one stored value: float32 little-endian per horizon day.
VALUE_FORMAT = "<f"
VALUE_BYTES = struct.calcsize(VALUE_FORMAT)


def live_key(prefix: str) -> str:
    """The pointer to the live run."""
    return f"{prefix}:live"


def runs_key(prefix: str) -> str:
    """The history of runs that went live, newest first."""
    return f"{prefix}:runs"


def run_prefix(prefix: str) -> str:
    """What every key of a run starts with, before the run id."""
    return f"{prefix}:run:"


def meta_key(prefix: str, run: str) -> str:
    return f"{run_prefix(prefix)}{run}:meta"


def chunks_key(prefix: str, run: str) -> str:
    return f"{run_prefix(prefix)}{run}:chunks"


def bucket_key(prefix: str, run: str, bucket: int) -> str:
    return f"{run_prefix(prefix)}{run}:b:{bucket}"


def bucket_keys(prefix: str, run: str, n_buckets: int) -> list[str]:
    """Every bucket key of a run, in bucket order."""
    base = f"{run_prefix(prefix)}{run}:b:"
    return [f"{base}{b}" for b in range(n_buckets)]


def run_pattern(prefix: str, run: str) -> str:
    """Glob of every key of one run (for SCAN in tests and by hand)."""
    return f"{run_prefix(prefix)}{run}:*"


def n_buckets_for(n_entities: int) -> int:
    """Buckets for ``n_entities``: ~64 entities each, at least one."""
    return max(1, math.ceil(n_entities / ENTITIES_PER_BUCKET))


def bucket_of(entity: str, n_buckets: int) -> int:
    """The bucket of ``entity``: stable across processes and Python versions (not ``hash()``)."""
    return zlib.crc32(entity.encode()) % n_buckets
