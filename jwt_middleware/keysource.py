"""Where a verifier gets a token's key: the seam between verification and key distribution.

A verifier asks a ``KeySource`` for the key matching a token's ``kid`` and ``alg``, in an async and
a sync flavour. The JWKS cache is the source that matters in production; ``StaticKeySource`` serves
a fixed key set (configuration, tests) and is the reference for what a source must do.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from jwt_middleware.algorithms import Algorithm
from jwt_middleware.errors import UnknownKeyError
from jwt_middleware.jwk import KeySet, VerificationKey

__all__ = ["KeySource", "StaticKeySource"]


@runtime_checkable
class KeySource(Protocol):
    """Resolves keys for tokens; raises ``UnknownKeyError`` or ``KeysUnavailableError`` when it cannot."""

    async def get_key(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """The key for ``kid``/``algorithm``, fetching if the source needs to."""

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """The same, for threads without an event loop (WSGI, Django, Flask)."""

    async def hydrate(self) -> None:
        """Load keys ahead of the first request."""

    def hydrate_sync(self) -> None:
        """Load keys ahead of the first request, from a thread."""

    async def aclose(self) -> None:
        """Release network resources."""

    def close(self) -> None:
        """Release network resources, from a thread."""


class StaticKeySource:
    """A fixed key set: no fetching, no expiry."""

    __slots__ = ("key_set",)

    def __init__(self, key_set: KeySet) -> None:
        self.key_set = key_set

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        key = self.key_set.lookup(kid, algorithm)
        if key is None:
            raise UnknownKeyError()
        return key

    async def get_key(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        return self.get_key_sync(kid, algorithm)

    async def hydrate(self) -> None:
        return None

    def hydrate_sync(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def close(self) -> None:
        return None
