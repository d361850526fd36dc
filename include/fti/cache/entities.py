"""Which entities the live run holds, page by page: ``GET /{dataset}/entities``, ``fti predictions sample``.

No sorted list of a run's entities exists: they live in the run's buckets (:mod:`fti.cache.layout`),
~64 per hash. A page reads buckets in order, from a cursor, with ``HGETALL`` (granted to the
reader), and lists each bucket's entities sorted by id. Like ``SCAN``, one page reads at most
:data:`MAX_BUCKETS_PER_PAGE` buckets, so with a rare ``prefix`` a page may hold fewer than ``limit``
entities (even none) and still have a next cursor: read on until the cursor is None. Over the pages,
every entity of the run is listed exactly once; the cursor names its run, so a page of another run
(after a publish) is refused with :class:`StaleCursor` rather than mixed in.

The paging itself (:class:`Pager`) does no I/O: the sync reader below and the async HTTP service
drive the same object with the buckets they read.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fti.cache import layout
from fti.cache.client import LiveRun, PredictionNotFound, live_run

if TYPE_CHECKING:
    import redis

#: Bound on the Redis work of one page: ~16,000 entities (about 1 MB of HGETALL replies).
MAX_BUCKETS_PER_PAGE = 256
#: Largest ``limit`` of one page.
MAX_LIMIT = 1000
_BATCH = 32  # buckets per pipelined round trip


class StaleCursor(ValueError):
    """The cursor was handed out for a run that is no longer the live one."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the run, a bucket, and how many (sorted) entities of it were listed."""

    run: str
    bucket: int = 0
    skip: int = 0

    def encode(self) -> str:
        """An opaque, URL-safe token."""
        return base64.urlsafe_b64encode(f"{self.run}/{self.bucket}/{self.skip}".encode()).decode()

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor a token names.

        Raises:
            ValueError: the token is not one this service handed out.
        """
        try:
            run, bucket, skip = base64.urlsafe_b64decode(token.encode()).decode().rsplit("/", 2)
            cursor = cls(run, int(bucket), int(skip))
        except ValueError as exc:
            raise ValueError(f"{token!r} is not a cursor of this service: pass next_cursor as given") from exc
        if cursor.bucket < 0 or cursor.skip < 0 or not cursor.run:
            raise ValueError(f"{token!r} is not a cursor of this service: pass next_cursor as given")
        return cursor


@dataclass(frozen=True)
class EntityPage:
    """One page of the live run's entities."""

    live: LiveRun
    entities: list[str]
    next_cursor: str | None
    """The token of the next page; None when every bucket was read."""


@dataclass
class Pager:
    """Collects one page from the buckets it asks for: ``while b := pager.wanted(): pager.feed(read(b))``."""

    live: LiveRun
    start: Cursor
    prefix: str = ""
    limit: int = 50
    found: list[str] = field(default_factory=list)
    _next: Cursor | None = None
    _read: int = 0

    def __post_init__(self) -> None:
        if self.start.run != self.live.run:
            raise StaleCursor(
                f"the cursor is of run {self.start.run}, but run {self.live.run} is live now: "
                "start again without a cursor"
            )
        self._next = self.start if self.start.bucket < self.live.n_buckets else None

    def wanted(self) -> list[int]:
        """The buckets to read next; empty when the page is complete."""
        if self._next is None or len(self.found) >= self.limit or self._read >= MAX_BUCKETS_PER_PAGE:
            return []
        per_bucket = layout.ENTITIES_PER_BUCKET
        batch = _BATCH if self.prefix else min(_BATCH, math.ceil((self.limit - len(self.found)) / per_bucket))
        first = self._next.bucket
        return list(
            range(first, min(first + batch, self.live.n_buckets, first + MAX_BUCKETS_PER_PAGE - self._read))
        )

    def feed(self, buckets: list[list[str]]) -> None:
        """The entity ids of the buckets :meth:`wanted` named, in that order (any order within one)."""
        for names in buckets:
            assert self._next is not None
            bucket, skip = self._next.bucket, self._next.skip
            ordered = sorted(names)
            for i in range(skip, len(ordered)):
                if len(self.found) >= self.limit:
                    self._next = Cursor(self.live.run, bucket, i)
                    return
                if ordered[i].startswith(self.prefix):
                    self.found.append(ordered[i])
            self._read += 1
            more = bucket + 1 < self.live.n_buckets
            self._next = Cursor(self.live.run, bucket + 1) if more else None
            if self._next is None:
                return

    def page(self) -> EntityPage:
        return EntityPage(self.live, self.found, self._next.encode() if self._next else None)


def live_of(meta: dict[str, str] | None, prefix: str) -> LiveRun:
    """The live run of ``live_run``'s answer.

    Raises:
        PredictionNotFound: nothing is live under ``prefix``.
    """
    if meta is None:
        raise PredictionNotFound(f"nothing is live under {prefix!r}")
    fields = dict(meta)
    return LiveRun.from_meta(fields.pop("run"), fields)


def start_of(live: LiveRun, cursor: str | None) -> Cursor:
    """Where a page starts: the cursor's place, or the first bucket of the live run."""
    return Cursor.decode(cursor) if cursor else Cursor(live.run)


def entity_page(
    client: redis.Redis, prefix: str, match: str = "", limit: int = 50, cursor: str | None = None
) -> EntityPage:
    """One page of the live run's entities starting with ``match`` (see the module's docstring).

    Raises:
        PredictionNotFound: nothing is live.
        StaleCursor: ``cursor`` is of a run that is no longer live.
        ValueError: ``cursor`` is not a cursor of this service.
    """
    live = live_of(live_run(client, prefix), prefix)
    pager = Pager(live, start_of(live, cursor), match, limit)
    while buckets := pager.wanted():
        pipe = client.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hgetall(layout.bucket_key(prefix, live.run, bucket))
        pager.feed([[_s(name) for name in fields] for fields in pipe.execute()])
    return pager.page()


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
