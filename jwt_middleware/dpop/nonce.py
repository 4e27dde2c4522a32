"""``DPoPNonce``: server-provided nonces (RFC 9449 section 9) that rotate and keep no state.

A nonce is the number of the current period (``lifetime`` seconds long) with an HMAC of it, so
any process holding the same ``secret`` can check one without a store, and memory never grows
with clients. A nonce stays valid for the period that issued it and the next one, so a client
that got one just before a rotation is not turned away at once: every client needs at most one
``use_dpop_nonce`` round trip per ``lifetime``. Replicas must share ``secret``; without one a
random secret is made per process, which suits a single process only.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from typing import Final

from jwt_middleware import b64
from jwt_middleware.errors import ConfigurationError

__all__ = ["DEFAULT_NONCE_LIFETIME", "MAX_NONCE_LENGTH", "DPoPNonce"]

DEFAULT_NONCE_LIFETIME: Final = 300.0
#: The longest ``nonce`` claim read: ours are 43 characters, anything far longer is not ours.
MAX_NONCE_LENGTH: Final = 256
_PERIOD_BYTES: Final = 8
_MAC_BYTES: Final = 24
_CONTEXT: Final = b"jwt_middleware dpop nonce v1\x00"


class DPoPNonce:
    """Issues and checks stateless, rotating ``DPoP-Nonce`` values.

    ``secret`` (bytes or text, at least 16 bytes) is shared by every replica; ``lifetime`` is the
    rotation period in seconds. Pass it as ``JWTVerifier(dpop_nonce=DPoPNonce(secret=...))``.
    """

    __slots__ = ("_clock", "_secret", "lifetime")

    def __init__(
        self,
        secret: bytes | str | None = None,
        *,
        lifetime: float = DEFAULT_NONCE_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if secret is None:
            secret = secrets.token_bytes(32)
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ConfigurationError("the DPoP nonce secret must be at least 16 bytes")
        if not (isinstance(lifetime, int | float) and math.isfinite(lifetime) and lifetime >= 1):
            raise ConfigurationError("the DPoP nonce lifetime must be at least one second")
        self._secret = secret
        self.lifetime = float(lifetime)
        self._clock = clock

    def _period(self, now: float) -> int:
        return int(now // self.lifetime)

    def _nonce(self, period: int) -> str:
        number = period.to_bytes(_PERIOD_BYTES, "big", signed=True)
        mac = hmac.new(self._secret, _CONTEXT + number, hashlib.sha256).digest()[:_MAC_BYTES]
        return b64.encode(number + mac)

    def current(self, now: float | None = None) -> str:
        """The nonce to hand out now (in ``DPoP-Nonce``)."""
        return self._nonce(self._period(self._clock() if now is None else now))

    def is_valid(self, nonce: object, now: float | None = None) -> bool:
        """Whether ``nonce`` was issued by this secret in the current period or the one before."""
        if not isinstance(nonce, str) or len(nonce) > MAX_NONCE_LENGTH:
            return False
        try:
            raw = b64.decode(nonce)
        except ValueError:
            return False
        if len(raw) != _PERIOD_BYTES + _MAC_BYTES:
            return False
        period = int.from_bytes(raw[:_PERIOD_BYTES], "big", signed=True)
        current = self._period(self._clock() if now is None else now)
        if period not in (current, current - 1):
            return False
        return hmac.compare_digest(self._nonce(period), nonce)

    def __repr__(self) -> str:
        return f"DPoPNonce(lifetime={self.lifetime:g})"
