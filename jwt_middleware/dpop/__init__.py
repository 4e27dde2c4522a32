"""Sender-constrained tokens (DPoP, RFC 9449): proofs, nonces, replay stores and the policy.

``JWTVerifier(..., dpop="allowed")`` (the default) accepts ``Authorization: DPoP <token>`` with a
``DPoP`` proof in every adapter, refuses a DPoP-bound token sent as ``Bearer``, and still accepts
plain bearer tokens; ``"required"`` refuses those, ``"disabled"`` turns DPoP off. The names here
configure it: ``DPoPNonce`` for server nonces, ``RedisReplayStore`` to share the replay check
across replicas. Loaded on first use, like the package root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jwt_middleware._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from jwt_middleware.dpop.nonce import DPoPNonce
    from jwt_middleware.dpop.policy import DPoPMode, DPoPPolicy, confirmation_thumbprint
    from jwt_middleware.dpop.proof import VerifiedProof, access_token_hash
    from jwt_middleware.dpop.replay import MemoryReplayStore, RedisReplayStore, ReplayStore
    from jwt_middleware.dpop.uri import normalize_uri

__all__ = [
    "DPoPMode",
    "DPoPNonce",
    "DPoPPolicy",
    "MemoryReplayStore",
    "RedisReplayStore",
    "ReplayStore",
    "VerifiedProof",
    "access_token_hash",
    "confirmation_thumbprint",
    "normalize_uri",
]

_HOMES = {
    "jwt_middleware.dpop.nonce": ("DPoPNonce",),
    "jwt_middleware.dpop.policy": ("DPoPMode", "DPoPPolicy", "confirmation_thumbprint"),
    "jwt_middleware.dpop.proof": ("VerifiedProof", "access_token_hash"),
    "jwt_middleware.dpop.replay": ("MemoryReplayStore", "RedisReplayStore", "ReplayStore"),
    "jwt_middleware.dpop.uri": ("normalize_uri",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _HOMES)
