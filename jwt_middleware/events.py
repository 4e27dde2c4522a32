"""What the library reports about its work: typed events for metrics, and standard logging.

Two families. The JWKS cache's events (``CacheEvent`` and its kinds) carry URLs, counts,
durations and reasons; every one is also logged under the ``jwt_middleware.jwks`` logger at a
level that matches how much an operator should care. The verifier's ``VerificationEvent`` says
how one verification ended: its outcome, reason code, the configured issuer and its duration; it
is not logged (one per request would drown a log), only passed to hooks. Neither ever carries a
token or a claim value, so events can go to any log or metrics system.

Hooks are plain callables, given as ``on_event=`` or added later with ``add_event_hook`` (which
is how ``jwt_middleware.integrations.opentelemetry`` and ``.prometheus`` attach). A hook that
raises is logged and never breaks a verification or a fetch. With no hook, nothing is built or
timed: the verifier checks one attribute for ``None``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from jwt_middleware.reasons import FETCH_FAILED

__all__ = [
    "ACCEPTED",
    "REFUSED",
    "UNAVAILABLE",
    "CacheEvent",
    "EventHook",
    "EventHooks",
    "FetchFailed",
    "FetchStarted",
    "FetchSucceeded",
    "KeysExpired",
    "StaleKeysServed",
    "UnknownKeyRejected",
    "VerificationEvent",
    "VerificationHook",
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
    #: Bytes of the key set's response body (the body itself is never kept).
    size: int = 0


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
    #: The HTTP status the provider answered, when it answered at all.
    status: int | None = None


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

#: ``VerificationEvent.outcome``: the token was accepted; it was refused (a 4xx: the token's or the
#: request's fault); or it could not be verified right now (a 503: keys or a dependency unavailable).
ACCEPTED: Final = "accepted"
REFUSED: Final = "refused"
UNAVAILABLE: Final = "unavailable"


@dataclass(frozen=True, slots=True)
class VerificationEvent:
    """How one ``verify()`` or ``verify_sync()`` ended; at most one per call.

    ``issuer`` is the configured issuer the token was checked against: the one its ``iss``
    matched, or a single-issuer verifier's issuer; ``None`` when a token for a multi-issuer
    verifier was refused before its issuer was known. ``code`` is the refusal's stable reason
    code (``jwt_middleware.reasons``) and ``error`` its RFC 6750 code (``invalid_token``...);
    both ``None`` when accepted. ``duration`` is in seconds; ``cached`` verifications were
    answered from the token cache (or a middleware's memo of it) and are not timed (``None``):
    they take well under a microsecond, and timing them would cost more than they do.
    """

    outcome: str
    issuer: str | None
    code: str | None = None
    error: str | None = None
    duration: float | None = None
    cached: bool = False


VerificationHook = Callable[[VerificationEvent], None]

Event = TypeVar("Event")


class EventHooks(Generic[Event]):
    """The hooks one component calls with its events: the one given at construction, and more.

    ``dispatch`` is ``None`` while there is no hook, so the component's hot path tests a single
    attribute; otherwise it calls every hook, each isolated from the others' exceptions.
    """

    __slots__ = ("_hooks", "_what", "dispatch")

    def __init__(self, hook: Callable[[Event], None] | None = None, *, what: str = "event hook") -> None:
        self._what = what
        self._hooks: tuple[Callable[[Event], None], ...] = (hook,) if hook is not None else ()
        self.dispatch: Callable[[Event], None] | None = None
        self._refresh()

    def add(self, hook: Callable[[Event], None]) -> None:
        if not callable(hook):
            raise TypeError("an event hook must be callable")
        self._hooks = (*self._hooks, hook)
        self._refresh()

    def remove(self, hook: Callable[[Event], None]) -> None:
        """Forget ``hook`` (compared by equality, so ``events.append`` matches the same bound
        method given earlier); a hook that was never added is ignored."""
        self._hooks = tuple(item for item in self._hooks if item != hook)
        self._refresh()

    def __len__(self) -> int:
        return len(self._hooks)

    def _refresh(self) -> None:
        hooks, what = self._hooks, self._what
        if not hooks:
            self.dispatch = None
            return
        if len(hooks) == 1:
            only = hooks[0]

            def dispatch_one(event: Event) -> None:
                try:
                    only(event)
                except Exception:
                    logger.exception("a jwt_middleware %s raised", what)

            self.dispatch = dispatch_one
            return

        def dispatch(event: Event) -> None:
            for hook in hooks:
                try:
                    hook(event)
                except Exception:
                    logger.exception("a jwt_middleware %s raised", what)

        self.dispatch = dispatch


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
    """Log ``event`` and pass it to the hook (``EventHooks.dispatch``, or any callable); a failing
    hook never breaks verification."""
    _log(event)
    if hook is not None:
        try:
            hook(event)
        except Exception:
            logger.exception("the jwt_middleware event hook raised")
