"""Revoked tokens refused everywhere: in one process (``RevocationList``) or across replicas (Redis).

``JWTVerifier(..., revocations=RevocationList())`` refuses a revoked token on every path that
returns claims (full verification, the token cache, the middlewares' recall), with no I/O on the
request path: ``RedisRevocationList`` keeps a local mirror fed by pub/sub and full resyncs.
"""

from jwt_middleware.revocation.entries import EntryKind, RevocationEntry
from jwt_middleware.revocation.events import (
    RevocationCapacityExceeded,
    RevocationEntrySkipped,
    RevocationEvent,
    RevocationEventHook,
    RevocationStale,
    RevocationSynced,
    RevocationSyncFailed,
)
from jwt_middleware.revocation.local import RevocationList
from jwt_middleware.revocation.redis_list import DEFAULT_MAX_STALE, RedisRevocationList
from jwt_middleware.revocation.state import RevocationState

__all__ = [
    "DEFAULT_MAX_STALE",
    "EntryKind",
    "RedisRevocationList",
    "RevocationCapacityExceeded",
    "RevocationEntry",
    "RevocationEntrySkipped",
    "RevocationEvent",
    "RevocationEventHook",
    "RevocationList",
    "RevocationStale",
    "RevocationState",
    "RevocationSyncFailed",
    "RevocationSynced",
]
