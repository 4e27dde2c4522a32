"""Memo of tokens this verifier has fully verified, so a repeated token skips the signature.

Why this is safe: an entry is keyed by the exact token string, so any change to any byte is a miss
(and base64url is canonical, so no two strings decode to the same token). An entry stores the
result of the full policy for *this* verifier only. A hit still re-checks the clock against the
window in which the policy accepts the token (``nbf``/``iat`` with leeway up to ``exp`` or
``max_age``), so an entry never outlives the token, and it is refused once its signing key has been
retired by a JWKS refresh. Capacity is bounded (LRU), so distinct tokens cannot grow memory.
"""

from __future__ import annotations

from typing import Final

from jwt_middleware.claims import Claims
from jwt_middleware.events import VerificationEvent
from jwt_middleware.jwk import VerificationKey
from jwt_middleware.lru import BoundedLRU

__all__ = ["DEFAULT_TOKEN_CACHE_SIZE", "CachedToken", "TokenCache"]

DEFAULT_TOKEN_CACHE_SIZE: Final = 4096


class CachedToken:
    """One verified token: its claims, its key, the window in which the policy accepts it, and the
    event a verification answered from it reports (shared by every entry of its issuer, so that a
    cache hit allocates nothing even when observed).

    ``revocation_generation`` is the revocation list's generation at which the token was last
    found unrevoked (``-1``: never checked, or no list); see ``jwt_middleware.revocation.state``.
    """

    __slots__ = ("claims", "event", "key", "revocation_generation", "valid_from", "valid_until")

    def __init__(
        self,
        claims: Claims,
        key: VerificationKey,
        valid_from: float,
        valid_until: float,
        revocation_generation: int = -1,
        event: VerificationEvent | None = None,
    ) -> None:
        self.claims = claims
        self.key = key
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.revocation_generation = revocation_generation
        self.event = event

    def usable_at(self, now: float) -> bool:
        """The one rule for serving a remembered token: inside its window, key not retired."""
        return not self.key.retired and self.valid_from <= now < self.valid_until


class TokenCache(BoundedLRU[str, CachedToken]):
    """Bounded LRU of verified tokens; thread-safe, shared by the async and sync verify paths.

    ``get(token, now)`` answers an entry only while ``CachedToken.usable_at(now)``.
    """

    __slots__ = ()

    def __init__(self, maxsize: int = DEFAULT_TOKEN_CACHE_SIZE) -> None:
        super().__init__(maxsize, setting="token_cache_size")
