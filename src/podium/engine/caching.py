"""The engine's side of result caching: look a cached task's call up before it is queued,
and remember its key so its result is stored under it when it succeeds.

What a key is made of lives in model/caching.py; the entries live in the store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podium.engine.protocols import Store
from podium.errors import CacheKeyError
from podium.model.caching import CacheKey, cache_key, code_part, explain_miss
from podium.model.records import CacheEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the cache said about one call: a ``hit`` (the entry and its ``value``), or a
    miss with its ``reason``. ``key`` is None when the inputs could not be fingerprinted."""

    key: CacheKey | None
    hit: CacheEntry | None = None
    value: Any = None
    reason: str = ""


class ResultCache:
    """Cache lookups and entries of one run. ``use`` False (``--no-cache``): every call
    misses, and fresh results are still stored for later runs."""

    def __init__(self, store: Store, run_id: str, *, use: bool = True) -> None:
        self._store = store
        self._run_id = run_id
        self._use = use
        self._code: dict[int, str] = {}  # id(task) -> its code part, computed once
        self._keys: dict[str, CacheKey] = {}  # task instance -> the key of its call

    def look_up(
        self, name: str, task: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], now: float
    ) -> Lookup:
        """Look up the call ``name`` of cached ``task`` with these resolved arguments."""
        try:
            code = self._code.get(id(task))
            if code is None:
                code = self._code[id(task)] = code_part(task)
            key = cache_key(task, args, kwargs, code)
        except Exception as error:  # CacheKeyError, or a user's __getstate__ that raised
            if not isinstance(error, CacheKeyError):
                error = CacheKeyError(name, "?", f"{type(error).__name__}: {error}")
            log.warning("%s; it runs without the cache", error)
            return Lookup(None, reason=f"not cached: {error}")
        self._keys[name] = key
        if not self._use:
            return Lookup(key, reason="--no-cache: cached results are not used in this run")
        found = self._store.cache_lookup(key.key, now)
        if found is not None:
            return Lookup(key, found[0], found[1])
        latest = self._store.cache_latest(key.identity)
        previous = None
        if latest is not None:
            previous = CacheKey(latest.key, latest.identity, latest.code, json.loads(latest.inputs))
        return Lookup(key, reason=explain_miss(key, previous))

    def entry(self, name: str, ttl: float | None, now: float) -> CacheEntry | None:
        """The entry to store for call ``name`` that just succeeded (None if not cached)."""
        key = self._keys.pop(name, None)
        if key is None:
            return None
        expires = None if ttl is None else now + ttl
        inputs = json.dumps(key.inputs, sort_keys=True)
        return CacheEntry(key.key, key.identity, key.code, inputs, self._run_id, name, now, expires)
