"""The Redis Function library of the cache's reads: the one source of the lookup Lua.

Readers never send Lua. The publisher (``fti_writer``) registers this library (``FUNCTION LOAD
REPLACE``) at every :func:`fti.cache.predictions.go_live`, before the live pointer moves; readers
(``fti_reader``, whose ACL grants ``FCALL_RO`` and no ``EVAL*``/``SCRIPT``) call its ``no-writes``
functions by name (:func:`fti.cache.client.fcall_ro`). A reader therefore cannot run Lua of its
own, e.g. a loop that would freeze the server for every client.

The library's name carries a hash of its code (``fti_<12 hex>``), and so do its functions: a reader
only ever calls the code it was written against. A new version of the code loads a new library next
to the old one, so readers not yet upgraded keep working; old libraries are left in place (a few
kilobytes; ``FUNCTION DELETE <name>`` removes one).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis


#: ``live_run``: the live run id and its metadata, read atomically. KEYS: the live pointer;
#: ARGV: the run key prefix.
#: ``lookup``: predictions of the run the client believes live, or (if the live run moved, or was
#: published again) the live run's metadata so the client can retry. KEYS: the live pointer, then
#: one bucket per entity; ARGV: believed run, run key prefix, its published_at, then the entities.
_TEMPLATE = """
local function live_run(keys, args)
  local run = redis.call('GET', keys[1])
  if not run then return false end
  return {run, redis.call('HGETALL', args[1] .. run .. ':meta')}
end

local function lookup(keys, args)
  local live = redis.call('GET', keys[1])
  if not live then return {0} end
  local meta = args[2] .. live .. ':meta'
  if live ~= args[1] or redis.call('HGET', meta, 'published_at') ~= args[3] then
    return {1, live, redis.call('HGETALL', meta)}
  end
  local values = {}
  for i = 2, #keys do
    values[i - 1] = redis.call('HGET', keys[i], args[i + 2])
  end
  return {2, values}
end

redis.register_function{function_name='@NAME@_live_run', callback=live_run, flags={'no-writes'}}
redis.register_function{function_name='@NAME@_lookup', callback=lookup, flags={'no-writes'}}
"""

LIBRARY = "fti_" + hashlib.sha1(_TEMPLATE.encode()).hexdigest()[:12]
"""Name of the library in Redis (``FUNCTION LIST``): changes whenever its code does."""
LIVE_RUN = f"{LIBRARY}_live_run"
LOOKUP = f"{LIBRARY}_lookup"
CODE = f"#!lua name={LIBRARY}\n" + _TEMPLATE.replace("@NAME@", LIBRARY)


def load(client: redis.Redis) -> None:
    """Register the library (``FUNCTION LOAD REPLACE``): idempotent, done by the publisher."""
    client.function_load(CODE, replace=True)
