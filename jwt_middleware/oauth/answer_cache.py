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
from typing import Final

from jwt_middleware.claims import Claims
from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.lru import BoundedLRU

__all__ = ["DEFAULT_MAX_ENTRIES", "AnswerCache", "token_key"]

DEFAULT_MAX_ENTRIES: Final = 10_000

Answer = Claims | JWTMiddlewareError


def token_key(token: str) -> bytes:
    """What the cache (and the single flight) knows a token by: its SHA-256 digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class _Kept:
    """An answer and the end of the time it is served."""

    __slots__ = ("answer", "until")

    def __init__(self, answer: Answer, until: float) -> None:
        self.answer = answer
        self.until = until

    def usable_at(self, now: float) -> bool:
        return now < self.until


class AnswerCache:
    """A bounded LRU map of token digests to their answer and when it ends."""

    __slots__ = ("_kept",)

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._kept: BoundedLRU[bytes, _Kept] = BoundedLRU(max_entries, setting="max_cache_entries")

    def get(self, key: bytes, now: float) -> Answer | None:
        """The answer for ``key`` while it lasts (a refusal as a fresh copy), else ``None``."""
        kept = self._kept.get(key, now)
        if kept is None:
            return None
        answer = kept.answer
        return answer if isinstance(answer, Claims) else copy.copy(answer)

    def put(self, key: bytes, answer: Answer, until: float, now: float) -> None:
        """Keep ``answer`` until ``until``; nothing is kept when that is not in the future."""
        if until > now:
            self._kept.put(key, _Kept(answer, until))

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)

    def __repr__(self) -> str:
        return f"AnswerCache({len(self)}/{self._kept.maxsize} entries)"
