"""Where a DPoP proof's ``jti`` is remembered, so that each proof is accepted once (RFC 9449 11.1).

A proof is acceptable for as long as its ``iat`` is inside the window; its ``jti`` must be kept at
least that long, and asking "first time?" must be atomic, or two copies of one proof sent at once
would both pass. ``MemoryReplayStore`` does that for one process, in bounded memory: it never
forgets a proof early (that would reopen the replay), so when full of live proofs it refuses new
ones with a 503 instead. ``RedisReplayStore`` does it for every replica sharing a Redis through
``RedisStore.set_if_absent`` (``SET NX PX``), the revocation store's own helper.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, runtime_checkable

from jwt_middleware.errors import ConfigurationError, ReplayStoreFullError
from jwt_middleware.redis_store import DEFAULT_KEY_PREFIX, RedisStore

__all__ = ["DEFAULT_MAX_PROOFS", "MemoryReplayStore", "RedisReplayStore", "ReplayStore"]

#: Live proofs one process remembers by default (about 100 bytes each).
DEFAULT_MAX_PROOFS: Final = 100_000


@runtime_checkable
class ReplayStore(Protocol):
    """Answers "is this the first use of ``key``?" atomically, remembering it ``ttl`` seconds.

    ``key`` is already a fixed-size digest of the proof's key and ``jti``. Raise a
    ``TemporarilyUnavailableError`` when the answer cannot be known (503, never a guess).
    """

    def first_use(self, key: str, ttl: float) -> bool:
        """``True`` for the first caller within ``ttl`` seconds, ``False`` for every later one."""

    async def afirst_use(self, key: str, ttl: float) -> bool:
        """``first_use`` on an event loop, without blocking it."""


def _check_ttl(ttl: float) -> float:
    if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl > 0):
        raise ConfigurationError("ttl must be a positive number of seconds")
    return float(ttl)


class MemoryReplayStore:
    """The in-process replay store: a dict of live keys and a heap of their expiries, under a lock.

    The lock is held for a dictionary operation or two, so it never blocks an event loop for
    longer than that; async and sync callers share one store and one answer.
    """

    __slots__ = ("_clock", "_expiries", "_heap", "_lock", "max_entries")

    def __init__(
        self, max_entries: int = DEFAULT_MAX_PROOFS, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self.max_entries = max_entries
        self._clock = clock
        self._expiries: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        heap, expiries = self._heap, self._expiries
        while heap and heap[0][0] <= now:
            expiry, key = heapq.heappop(heap)
            if expiries.get(key) == expiry:
                del expiries[key]

    def first_use(self, key: str, ttl: float) -> bool:
        ttl = _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            self._purge(now)
            if key in self._expiries:
                return False
            if len(self._expiries) >= self.max_entries:
                raise ReplayStoreFullError()
            expiry = now + ttl
            self._expiries[key] = expiry
            heapq.heappush(self._heap, (expiry, key))
            return True

    async def afirst_use(self, key: str, ttl: float) -> bool:
        return self.first_use(key, ttl)

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._expiries)

    def __repr__(self) -> str:
        return f"MemoryReplayStore(max_entries={self.max_entries})"


class RedisReplayStore:
    """Proof ``jti`` values shared by every replica connected to one Redis (or Valkey).

    Give ``url`` or a ``RedisStore`` shared with other features (a ``RedisRevocationList``'s
    ``store``). Keys are ``{key_prefix}:dpop:{digest}`` and expire by themselves; when Redis does
    not answer within ``timeout`` the request gets a 503 (``StoreUnavailableError``).
    """

    __slots__ = ("_owns_store", "store")

    def __init__(
        self,
        url: str | None = None,
        *,
        store: RedisStore | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        timeout: float = 1.0,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if (url is None) == (store is None):
            raise ConfigurationError("RedisReplayStore needs exactly one of url and store")
        self._owns_store = store is None
        if store is None:
            assert url is not None
            store = RedisStore(url, key_prefix=key_prefix, timeout=timeout, client_options=client_options)
        self.store = store

    def first_use(self, key: str, ttl: float) -> bool:
        return self.store.set_if_absent(self.store.key("dpop", key), _check_ttl(ttl))

    async def afirst_use(self, key: str, ttl: float) -> bool:
        return await self.store.aset_if_absent(self.store.key("dpop", key), _check_ttl(ttl))

    def close(self) -> None:
        """Close the store's connections, when this object created the store."""
        if self._owns_store:
            self.store.close()

    async def aclose(self) -> None:
        if self._owns_store:
            await self.store.aclose()

    def __repr__(self) -> str:
        return f"RedisReplayStore({self.store!r})"
