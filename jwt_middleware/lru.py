"""One bounded least-recently-used map, for the caches that must not grow with distinct inputs.

The verified-token cache and the introspection answers both keep at most ``maxsize`` entries and
drop the least recently used one beyond that, so a flood of distinct junk tokens costs a bounded
amount of memory and only pushes out other junk and the coldest entries. Each entry knows when it
may be served (``usable_at``): a token's window and key, an answer's end. That rule, the eviction
and the lock live here, once. ``get`` is the token cache's hot path as it always was: a lock-free
dict lookup for a miss, and the lock only to update the order of a hit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar

from jwt_middleware.errors import ConfigurationError

__all__ = ["BoundedLRU", "Servable"]


class Servable(Protocol):
    """An entry that says whether it may still be served at ``now`` (its cache's clock)."""

    def usable_at(self, now: float) -> bool: ...


_Key = TypeVar("_Key")
_Entry = TypeVar("_Entry", bound=Servable)


class BoundedLRU(Generic[_Key, _Entry]):
    """At most ``maxsize`` entries, the least recently used dropped first; thread-safe."""

    __slots__ = ("_entries", "_lock", "maxsize")

    def __init__(self, maxsize: int, *, setting: str = "maxsize") -> None:
        """``setting`` names the option ``maxsize`` came from, for the configuration error."""
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ConfigurationError(f"{setting} must be a positive integer")
        self.maxsize = maxsize
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _Key, now: float) -> _Entry | None:
        """The entry for ``key`` if it may still be served at ``now`` (then the most recently used)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not entry.usable_at(now):
            with self._lock:
                self._entries.pop(key, None)
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry

    def put(self, key: _Key, entry: _Entry) -> None:
        """Keep ``entry`` as the most recently used, dropping the least recent beyond ``maxsize``."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
