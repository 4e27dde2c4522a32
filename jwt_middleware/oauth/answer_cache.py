"""Introspection answers by token, bounded in memory: accepted claims until their end, refusals briefly.

Keys are SHA-256 digests of the tokens, never the tokens: a memory dump or a debugger shows no
credential. Every entry has its own end (the authenticator decides it: ``exp`` or ``cache_ttl``
for an accepted token, ``negative_cache_ttl`` for a refused one); an entry past its end is gone.
Beyond ``max_entries`` the least recently used entry goes, so a flood of distinct junk tokens
costs a bounded amount of memory and only pushes out other junk and the coldest tokens.

A refusal is kept as the error it was (its token content already concealed) and handed out as a
copy each time, so concurrent requests never share one exception object and its traceback.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from typing import Final

from jwt_middleware.claims import Claims
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError

__all__ = ["DEFAULT_MAX_ENTRIES", "AnswerCache", "token_key"]

DEFAULT_MAX_ENTRIES: Final = 10_000

Answer = Claims | JWTMiddlewareError


def token_key(token: str) -> bytes:
    """What the cache (and the single flight) knows a token by: its SHA-256 digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class AnswerCache:
    """A bounded LRU map of token digests to their answer and when it ends."""

    __slots__ = ("_entries", "_lock", "max_entries")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if not (isinstance(max_entries, int) and max_entries >= 1):
            raise ConfigurationError("max_cache_entries must be a positive integer")
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[float, Answer]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, now: float) -> Answer | None:
        """The answer for ``key`` while it lasts (a refusal as a fresh copy), else ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            until, answer = entry
            if now >= until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        return answer if isinstance(answer, Claims) else copy.copy(answer)

    def put(self, key: bytes, answer: Answer, until: float, now: float) -> None:
        """Keep ``answer`` until ``until``; nothing is kept when that is not in the future."""
        if until <= now:
            return
        with self._lock:
            self._entries[key] = (until, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"AnswerCache({len(self)}/{self.max_entries} entries)"
