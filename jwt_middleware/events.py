"""What the JWKS cache reports about its work: typed events for metrics, and standard logging.

Events carry URLs, counts, durations and reasons, never tokens or claims, so a user can send them
to any log or metrics system. Every event is also logged under the ``jwt_middleware.jwks`` logger
at a level that matches how much an operator should care.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from jwt_middleware.reasons import FETCH_FAILED

__all__ = [
    "CacheEvent",
    "EventHook",
    "FetchFailed",
    "FetchStarted",
    "FetchSucceeded",
    "KeysExpired",
    "StaleKeysServed",
    "UnknownKeyRejected",
    "emit",
]

logger: Final = logging.getLogger("jwt_middleware.jwks")


@dataclass(frozen=True, slots=True)
class CacheEvent:
    """Base of every cache event; ``url`` is the JWKS (or discovery) URL concerned."""

    url: str


@dataclass(frozen=True, slots=True)
class FetchStarted(CacheEvent):
    #: "cold" (nothing cached), "expired", "unknown_kid", "refresh" (ahead of expiry) or "hydrate".
    reason: str


@dataclass(frozen=True, slots=True)
class FetchSucceeded(CacheEvent):
    key_count: int
    skipped_keys: tuple[str, ...]
    duration: float
    ttl: float


@dataclass(frozen=True, slots=True)
class FetchFailed(CacheEvent):
    #: A short phrase for people ("HTTP 404", "timed out").
    reason: str
    duration: float
    #: Whether previously fetched keys keep serving (stale-if-error) after this failure.
    serving_stale: bool
    retry_in: float
    #: The stable reason code (``jwt_middleware.reasons``: ``fetch.timeout``, ``jwks.unusable``...).
    code: str = FETCH_FAILED


@dataclass(frozen=True, slots=True)
class StaleKeysServed(CacheEvent):
    """Keys past their lifetime are in use while they are refreshed, or because refreshing failed
    (stale-while-revalidate, stale-if-error); reported when they expire and after each failure."""

    age: float


@dataclass(frozen=True, slots=True)
class UnknownKeyRejected(CacheEvent):
    """A token named a key the cache does not know and no refresh was allowed (cooldown/backoff)."""

    cooldown_remaining: float


@dataclass(frozen=True, slots=True)
class KeysExpired(CacheEvent):
    """Keys outlived ``max_stale`` without a successful refresh and were dropped."""

    age: float


EventHook = Callable[[CacheEvent], None]


def _log(event: CacheEvent) -> None:
    if isinstance(event, FetchStarted):
        logger.debug("fetching %s (%s)", event.url, event.reason)
    elif isinstance(event, FetchSucceeded):
        logger.info("fetched %d keys from %s in %.3fs", event.key_count, event.url, event.duration)
        for reason in event.skipped_keys:
            logger.warning("skipped a key from %s: %s", event.url, reason)
    elif isinstance(event, FetchFailed):
        logger.warning(
            "fetching %s failed (%s, %s); %s; retry in %.0fs",
            event.url,
            event.reason,
            event.code,
            "serving the last good keys" if event.serving_stale else "no keys available",
            event.retry_in,
        )
    elif isinstance(event, StaleKeysServed):
        logger.warning("serving keys from %s that expired; they are %.0fs old", event.url, event.age)
    elif isinstance(event, UnknownKeyRejected):
        logger.debug("rejected a token with an unknown key id for %s without refetching", event.url)
    elif isinstance(event, KeysExpired):
        logger.error("keys from %s are %.0fs old, beyond max_stale; dropped them", event.url, event.age)


def emit(hook: EventHook | None, event: CacheEvent) -> None:
    """Log ``event`` and pass it to the user's hook; a failing hook never breaks verification."""
    _log(event)
    if hook is not None:
        try:
            hook(event)
        except Exception:
            logger.exception("the jwt_middleware event hook raised")
