"""Requests that repeat a recent ``Authorization`` value skip extraction and parsing entirely.

Clients resend the same token for its whole lifetime, so a middleware sees one header value many
times. ``RecentTokens`` maps a raw header value that was already turned into a verified token to
that token's entry in the verifier's token cache, and re-checks it with the entry's own
``usable_at`` (the policy window and the key's retirement) and the revocation state's
``is_current``, the rules the verifier applies to a cache hit, so this adds no rule of its own.
A value is only remembered after the full path accepted it, and extraction is deterministic, so
the same bytes would be extracted the same way.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator
from jwt_middleware.request_auth import RequestPolicy
from jwt_middleware.token_cache import CachedToken
from jwt_middleware.verifier import JWTVerifier

__all__ = ["RecentTokens"]

HeaderValue = TypeVar("HeaderValue", bytes, str)
Extra = TypeVar("Extra")

_DEFAULT_SIZE: Final = 4096


class RecentTokens(Generic[HeaderValue, Extra]):
    """A bounded memo from raw ``Authorization`` values to verified tokens, for one verifier.

    Each value keeps the token cache's ``CachedToken`` and an ``extra`` that the adapter derived
    from it once (the ASGI middleware keeps read-only Starlette credentials there).
    """

    __slots__ = ("_clock", "_entries", "_maxsize", "_revocations", "_verifier")

    def __init__(self, verifier: JWTVerifier, maxsize: int = _DEFAULT_SIZE) -> None:
        self._verifier = verifier
        self._clock = verifier.clock
        self._maxsize = maxsize
        self._entries: dict[HeaderValue, tuple[CachedToken, Extra]] = {}
        self._revocations = verifier.revocations.state if verifier.revocations is not None else None

    def recall(self, header_value: HeaderValue) -> tuple[CachedToken, Extra] | None:
        """The entry (and extra) for a header value seen before, if still usable right now.

        With a revocation list, only while the entry's revocation check is current: otherwise the
        full path runs, which refuses a revoked token or re-checks this same entry.

        A recalled token is a verification answered from the token cache, and is reported to the
        verifier's event hooks as one (the entry's event, which a cache hit in ``verify`` reports).
        """
        found = self._entries.get(header_value)
        if found is None:
            return None
        now = self._clock()
        entry = found[0]
        if not entry.usable_at(now):
            self._entries.pop(header_value, None)
            return None
        revocations = self._revocations
        if revocations is not None and not revocations.is_current(entry.revocation_generation, now):
            return None
        hook = self._verifier.event_hook
        if hook is not None and entry.event is not None:
            hook(entry.event)
        return found

    def remember(self, header_value: HeaderValue, entry: CachedToken | None, extra: Extra) -> None:
        """Keep ``entry`` (from ``JWTVerifier.cached_entry``) for this header value."""
        if entry is None:
            return
        if len(self._entries) >= self._maxsize:
            # Clearing is cheaper than LRU bookkeeping; the verifier's token cache keeps the LRU.
            self._entries.clear()
        self._entries[header_value] = (entry, extra)

    @classmethod
    def for_middleware(
        cls, verifier: JWTVerifier | None, policy: RequestPolicy
    ) -> RecentTokens[HeaderValue, Extra] | None:
        """A memo for a middleware, or ``None`` when recalling would be wrong or useless.

        Only with one fixed verifier that caches tokens (a custom check must run every time), and
        only when a token can come from nowhere but the ``Authorization`` header.
        """
        if verifier is None or not verifier.caches_tokens or not policy.bearer_only:
            return None
        return cls(verifier)

    @classmethod
    def for_authenticator(cls, authenticator: Authenticator) -> RecentTokens[HeaderValue, Extra] | None:
        """A memo for a middleware using ``authenticator``, or ``None`` when recalling would be wrong.

        Only a ``BearerAuthenticator`` that says it is ``recallable``: the token is all it checks,
        it comes from the ``Authorization`` header alone, and one verifier caches it.
        """
        if not isinstance(authenticator, BearerAuthenticator) or not authenticator.recallable:
            return None
        assert authenticator.verifier is not None
        return cls(authenticator.verifier)
