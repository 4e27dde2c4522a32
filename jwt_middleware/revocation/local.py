"""``RevocationList``: revoked tokens for one process, and the shell every revocation store shares.

The list keeps its entries in a ``RevocationState`` (the pure core) and answers the verifier's
one question, ``check(claims, now)``. ``RedisRevocationList`` extends it: the same state becomes a
mirror of Redis, and revocations are written to Redis before they count locally. Each
``revoke_*`` coroutine has a ``*_sync`` twin for threads, and both build their entries through
one function, so the async and sync paths cannot drift apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

from jwt_middleware.errors import ConfigurationError, RevokedTokenError
from jwt_middleware.revocation.entries import (
    DEFAULT_EXPIRY_MARGIN,
    DEFAULT_TOKEN_LIFETIME,
    RevocationEntry,
    origin_entry,
    subject_entry,
    token_entry,
)
from jwt_middleware.revocation.events import RevocationEventHook
from jwt_middleware.revocation.state import DEFAULT_MAX_ENTRIES, RevocationState

__all__ = ["RevocationList"]


class RevocationList:
    """Revoked tokens, kept in this process: the default, for a single machine and for tests.

    Pass it as ``JWTVerifier(..., revocations=...)``; every token the verifier accepts (fully
    verified, from its token cache, or recalled by a middleware) is refused with
    ``RevokedTokenError`` once it is revoked here.

    ``token_lifetime`` is how long the tokens of a revoked refresh token or subject can still be
    valid (the provider's longest token lifetime); ``expiry_margin`` is how long a revoked token's
    entry outlives its ``exp`` and must be at least the verifier's ``leeway``.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
        clock: Callable[[], float] = time.time,
        on_event: RevocationEventHook | None = None,
    ) -> None:
        for name, value in (("token_lifetime", token_lifetime), ("expiry_margin", expiry_margin)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ConfigurationError(f"{name} must be a non-negative number of seconds")
        self.token_lifetime = float(token_lifetime)
        self.expiry_margin = float(expiry_margin)
        self.clock = clock
        self.on_event = on_event
        #: The pure core: what is revoked, and until when this list may vouch for the rest.
        self.state = RevocationState(max_entries)

    # -- revoking ---------------------------------------------------------------------------------

    async def revoke_token(
        self, claims: Mapping[str, Any], *, until: Any = None, include_origin: bool = False
    ) -> RevocationEntry:
        """Revoke the token whose verified ``claims`` are given (by ``jti``), until its ``exp``.

        With ``include_origin=True`` every token derived from the same refresh token (its
        ``origin_jti``, when present) is revoked too: what a sign-out means.
        """
        entries = self._token_entries(claims, until, include_origin)
        await self._store(entries)
        return entries[0]

    def revoke_token_sync(
        self, claims: Mapping[str, Any], *, until: Any = None, include_origin: bool = False
    ) -> RevocationEntry:
        """``revoke_token`` for threads without an event loop."""
        entries = self._token_entries(claims, until, include_origin)
        self._store_sync(entries)
        return entries[0]

    async def revoke_origin(self, issuer: str, origin_jti: str, *, until: Any = None) -> RevocationEntry:
        """Revoke every token derived from one refresh token (Cognito's ``origin_jti``).

        ``until`` defaults to ``token_lifetime`` from now: the provider stops issuing tokens from
        a revoked refresh token, so only the ones already issued need refusing.
        """
        entry = origin_entry(issuer, origin_jti, self.clock(), until=until, lifetime=self.token_lifetime)
        await self._store([entry])
        return entry

    def revoke_origin_sync(self, issuer: str, origin_jti: str, *, until: Any = None) -> RevocationEntry:
        """``revoke_origin`` for threads without an event loop."""
        entry = origin_entry(issuer, origin_jti, self.clock(), until=until, lifetime=self.token_lifetime)
        self._store_sync([entry])
        return entry

    async def revoke_subject(
        self, issuer: str, sub: str, *, issued_before: Any = None, until: Any = None
    ) -> RevocationEntry:
        """Revoke every token of ``sub`` issued before ``issued_before`` (default: now).

        The shape of a global sign-out (Cognito's ``GlobalSignOut``, a password change, a disabled
        account): tokens issued afterwards, by a new sign-in, are accepted.
        """
        entry = self._subject_entry(issuer, sub, issued_before, until)
        await self._store([entry])
        return entry

    def revoke_subject_sync(
        self, issuer: str, sub: str, *, issued_before: Any = None, until: Any = None
    ) -> RevocationEntry:
        """``revoke_subject`` for threads without an event loop."""
        entry = self._subject_entry(issuer, sub, issued_before, until)
        self._store_sync([entry])
        return entry

    def _token_entries(
        self, claims: Mapping[str, Any], until: Any, include_origin: bool
    ) -> list[RevocationEntry]:
        now = self.clock()
        entries = [
            token_entry(claims, now, until=until, margin=self.expiry_margin, lifetime=self.token_lifetime)
        ]
        origin = claims.get("origin_jti")
        if include_origin and isinstance(origin, str) and origin:
            entries.append(origin_entry(entries[0].issuer, origin, now, lifetime=self.token_lifetime))
        return entries

    def _subject_entry(self, issuer: str, sub: str, issued_before: Any, until: Any) -> RevocationEntry:
        return subject_entry(
            issuer, sub, self.clock(), issued_before=issued_before, until=until, lifetime=self.token_lifetime
        )

    # Local first, then shared: this process refuses the token even when sharing fails (the
    # error still tells the caller the revocation is not shared yet).

    async def _store(self, entries: Sequence[RevocationEntry]) -> None:
        self._remember(entries)
        await self._share(entries)

    def _store_sync(self, entries: Sequence[RevocationEntry]) -> None:
        self._remember(entries)
        self._share_sync(entries)

    async def _share(self, entries: Sequence[RevocationEntry]) -> None:
        """Hand ``entries`` to the other processes (none for the in-process list)."""

    def _share_sync(self, entries: Sequence[RevocationEntry]) -> None:
        """``_share`` for threads."""

    def _remember(self, entries: Sequence[RevocationEntry]) -> None:
        now = self.clock()
        self.state.prune(now)
        for entry in entries:
            self.state.add(entry, now)

    # -- the request path -------------------------------------------------------------------------

    def check(self, claims: Mapping[str, Any], now: float) -> int:
        """Refuse revoked ``claims``; return the generation at which they were found unrevoked.

        Raises ``RevokedTokenError`` (401) naming the matching claim, or, for a store whose
        knowledge is too old, ``RevocationUnavailableError`` (503) unless it fails open. No I/O.
        """
        state = self.state
        for attempt in range(2):
            generation = state.generation
            claim = state.revoked_claim(claims, now)
            if claim is not None:
                raise RevokedTokenError(claim=claim)
            if now < state.trusted_until:
                return generation
            if attempt or not self._catch_up(now):
                break
            now = self.clock()
        return self._cannot_tell(generation)

    def _catch_up(self, now: float) -> bool:
        """Whether waiting briefly made the state trustworthy at ``now`` (syncing stores only)."""
        return False

    def _cannot_tell(self, generation: int) -> int:
        """What to do when the state cannot vouch for a token: unreachable for this list."""
        return generation

    # -- reading and lifecycle --------------------------------------------------------------------

    def entries(self) -> list[RevocationEntry]:
        """The live entries, ordered by kind, issuer and value (what ``revoke --list`` prints)."""
        return self.state.entries(self.clock())

    def __len__(self) -> int:
        self.state.prune(self.clock())
        return len(self.state)

    async def start(self) -> None:
        """Get ready before the first request (a verifier's ``hydrate`` calls it); nothing to do here."""

    def start_sync(self) -> None:
        """``start`` for threads without an event loop."""

    async def aclose(self) -> None:
        """Release connections (none for the in-process list)."""

    def close(self) -> None:
        """Release connections (none for the in-process list)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(entries={len(self.state)}, max_entries={self.state.max_entries})"
