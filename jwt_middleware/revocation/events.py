"""What a revocation store reports about its syncing: typed events for metrics, and logging.

The same style as the JWKS cache's events (``jwt_middleware.events``): frozen dataclasses passed
to the ``on_event`` hook, each also logged, here under the ``jwt_middleware.revocation`` logger.
Events carry the store's address without credentials, counts, durations and reasons; never a
token, a claim or an entry's identifiers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "RevocationCapacityExceeded",
    "RevocationEntrySkipped",
    "RevocationEvent",
    "RevocationEventHook",
    "RevocationStale",
    "RevocationSyncFailed",
    "RevocationSynced",
    "emit",
]

logger: Final = logging.getLogger("jwt_middleware.revocation")


@dataclass(frozen=True, slots=True)
class RevocationEvent:
    """Base of every revocation event; ``store`` is the store's address, without credentials."""

    store: str


@dataclass(frozen=True, slots=True)
class RevocationSynced(RevocationEvent):
    """A full resynchronisation finished: the mirror holds everything the store held."""

    #: "start", "reconnect", "gap" (a message was missed) or "periodic" (the counter differed).
    reason: str
    entries: int
    #: Entries the store lacked and this process wrote back (after Redis restarted empty, say).
    repaired: int
    duration: float


@dataclass(frozen=True, slots=True)
class RevocationSyncFailed(RevocationEvent):
    """Reaching the store failed; the mirror keeps serving what it knows and retries."""

    #: A stable code: "connection", "timeout", "store_error" or "lost" (no heartbeat reply).
    reason: str
    retry_in: float
    #: Seconds since the mirror was last confirmed current (``inf`` if it never was).
    stale_for: float


@dataclass(frozen=True, slots=True)
class RevocationStale(RevocationEvent):
    """The mirror went longer than ``max_stale`` without a confirmed sync: it cannot tell now."""

    stale_for: float
    #: Whether unrevoked tokens still pass (``fail_open=True``) rather than getting a 503.
    failing_open: bool


@dataclass(frozen=True, slots=True)
class RevocationCapacityExceeded(RevocationEvent):
    """The store holds more live entries than ``max_entries``: the mirror is incomplete."""

    max_entries: int


@dataclass(frozen=True, slots=True)
class RevocationEntrySkipped(RevocationEvent):
    """Something in the store is not an entry this library wrote; it was ignored."""

    reason: str


RevocationEventHook = Callable[[RevocationEvent], None]


def _log(event: RevocationEvent) -> None:
    if isinstance(event, RevocationSynced):
        logger.info(
            "revocations from %s synced (%s): %d entries, %d written back, %.3fs",
            event.store,
            event.reason,
            event.entries,
            event.repaired,
            event.duration,
        )
    elif isinstance(event, RevocationSyncFailed):
        logger.warning(
            "revocation sync with %s failed (%s); retry in %.1fs; last confirmed %.0fs ago",
            event.store,
            event.reason,
            event.retry_in,
            event.stale_for,
        )
    elif isinstance(event, RevocationStale):
        logger.error(
            "revocations from %s are %.0fs old, beyond max_stale; %s",
            event.store,
            event.stale_for,
            "failing open: unrevoked tokens pass" if event.failing_open else "answering 503",
        )
    elif isinstance(event, RevocationCapacityExceeded):
        logger.error(
            "%s holds more revocations than max_entries=%d; answering as if it could not be reached",
            event.store,
            event.max_entries,
        )
    elif isinstance(event, RevocationEntrySkipped):
        logger.warning("skipped something in %s that is not an entry: %s", event.store, event.reason)


def emit(hook: RevocationEventHook | None, event: RevocationEvent) -> None:
    """Log ``event`` and pass it to the user's hook; a failing hook never breaks syncing."""
    _log(event)
    if hook is not None:
        try:
            hook(event)
        except Exception:
            logger.exception("the jwt_middleware revocation event hook raised")
