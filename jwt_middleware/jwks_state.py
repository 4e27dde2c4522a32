"""The JWKS cache's decisions, without I/O: when to use, fetch, wait, or refuse.

This is the whole policy of the cache (freshness, stale-while-revalidate, stale-if-error,
backoff, the unknown-``kid`` schedule, single-flight bookkeeping) as a state machine driven by
explicit timestamps. The async and sync shells in ``jwks_cache`` only perform what it decides, so
both paths behave identically and every timing rule can be tested with a fake clock.

Timeline of one key set, from a successful fetch at ``t``::

    t ........ refresh_at ........ fresh_until ............ fresh_until + max_stale
      fresh      fresh, refreshed     expired, still served     dead: dropped
                 in the background    while a background
                                      refresh (or its retries
                                      after backoff) runs

Once any keys are held, a request whose ``kid`` is known never waits for the provider: refreshes
run off the request path and a failed one only moves the backoff. Only a cold cache, or a ``kid``
the held set does not know, may wait for a fetch, and that wait is bounded by the fetch timeout.

A ``kid`` that is still unknown after a refresh may be a key the provider publishes a little
after its first tokens (publication lag) or junk. It is retried on a short, growing schedule
(``unknown_kid_retry_delay``) up to ``unknown_kid_cooldown``, and unknown-``kid`` fetches of one
cache are at least ``unknown_kid_interval`` apart whatever the number of distinct ``kid``s, so a
flood of random ``kid``s costs at most one fetch a second and never delays a known ``kid``.
"""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from jwt_middleware.algorithms import Algorithm
from jwt_middleware.errors import ConfigurationError, JWKError
from jwt_middleware.jwk import DEFAULT_MAX_KEYS, MIN_RSA_BITS, KeySet, VerificationKey
from jwt_middleware.network import NetworkSettings

__all__ = [
    "UNKNOWN_KID_FIRST_RETRY",
    "UNKNOWN_KID_INTERVAL",
    "Action",
    "CacheSettings",
    "Decision",
    "JWKSState",
    "KeyDecoder",
    "decode_jwks",
]

#: Unknown-``kid`` fetches of one cache are at least this many seconds apart.
UNKNOWN_KID_INTERVAL: Final = 1.0
#: A ``kid`` still unknown after a refresh is first retried this many seconds later, then after
#: twice as long each time, up to ``CacheSettings.unknown_kid_cooldown``.
UNKNOWN_KID_FIRST_RETRY: Final = 0.5
#: Unknown ``kid``s whose retry schedule is remembered; the least recently refused go first (a
#: forgotten one only loses its place in the schedule: the per-cache interval still holds).
MAX_TRACKED_UNKNOWN_KIDS: Final = 256


@dataclass(frozen=True, slots=True)
class CacheSettings(NetworkSettings):
    """Every knob of the JWKS cache, with the defaults documented in the README.

    The network options (``trust_env``, ``ca_bundle``, ``client_cert``, ``client_key``,
    ``proxy``: keyword-only) come from ``network.NetworkSettings``.
    """

    #: Total time allowed for one HTTP fetch, connection to last byte.
    timeout: float = 3.0
    #: Largest response accepted, counted while streaming.
    max_response_bytes: int = 512 * 1024
    #: Most keys one JWKS may hold; a larger set is refused as a whole.
    max_keys: int = DEFAULT_MAX_KEYS
    #: Bounds applied to the provider's ``Cache-Control: max-age``.
    min_ttl: float = 300.0
    max_ttl: float = 86_400.0
    #: Lifetime when the provider sends no ``max-age``.
    default_ttl: float = 3_600.0
    #: Fraction of the lifetime, before expiry, when a background refresh starts.
    refresh_ahead: float = 0.2
    #: How long expired keys keep serving while every refresh fails.
    max_stale: float = 86_400.0
    #: The longest wait between refreshes for a ``kid`` still unknown after one: it is retried
    #: after 0.5 s, 1 s, 2 s ... up to this. ``0`` lets every unknown ``kid`` fetch (tests only).
    unknown_kid_cooldown: float = 10.0
    #: Retry delays after failed fetches: doubling from ``retry_initial`` up to ``retry_max``.
    retry_initial: float = 1.0
    retry_max: float = 60.0
    #: Allow plain http to non-loopback hosts (emulators in containers); never for production.
    allow_http: bool = False
    #: Smallest RSA modulus accepted from the JWKS.
    min_rsa_bits: int = MIN_RSA_BITS

    def __post_init__(self) -> None:
        NetworkSettings.__post_init__(self)  # explicit: slots dataclasses cannot use bare super()
        positive = ("timeout", "min_ttl", "max_ttl", "default_ttl", "retry_initial", "retry_max")
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigurationError(f"CacheSettings.{name} must be a positive number of seconds")
        if self.min_ttl > self.max_ttl:
            raise ConfigurationError("CacheSettings.min_ttl must not exceed max_ttl")
        if not 0 <= self.refresh_ahead < 1:
            raise ConfigurationError("CacheSettings.refresh_ahead must be a fraction in [0, 1)")
        if self.max_stale < 0 or self.unknown_kid_cooldown < 0:
            raise ConfigurationError("CacheSettings.max_stale and unknown_kid_cooldown must be >= 0")
        if self.max_response_bytes < 1024 or self.max_keys < 1:
            raise ConfigurationError("CacheSettings.max_response_bytes and max_keys are too small")

    def ttl_for(self, max_age: float | None) -> float:
        """The lifetime of a fetched key set, from the provider's ``max-age`` within our bounds."""
        wanted = self.default_ttl if max_age is None else max_age
        return min(max(wanted, self.min_ttl), self.max_ttl)

    def retry_delay(self, failures: int) -> float:
        return float(min(self.retry_initial * 2 ** min(failures - 1, 32), self.retry_max))

    @property
    def unknown_kid_interval(self) -> float:
        """The least time between two unknown-``kid`` fetches of one cache, whatever the ``kid``s."""
        return min(UNKNOWN_KID_INTERVAL, self.unknown_kid_cooldown)

    def unknown_kid_retry_delay(self, misses: int) -> float:
        """How long a ``kid`` that ``misses`` refreshes did not bring waits before the next one."""
        first = min(UNKNOWN_KID_FIRST_RETRY, self.unknown_kid_cooldown)
        return float(min(first * 2 ** min(misses - 1, 32), self.unknown_kid_cooldown))


#: Turns a fetched response body (or, for tests, a parsed document) into a key set, given the
#: current set so unchanged keys keep their objects. The JWKS decoder is the default; ALB key
#: sources decode one PEM key per URL.
KeyDecoder = Callable[[Any, "KeySet | None", CacheSettings], KeySet]


def decode_jwks(document: Any, previous: KeySet | None, settings: CacheSettings) -> KeySet:
    """A JWKS (bytes, text or parsed mapping) as a key set; ``JWKError`` when unusable."""
    return KeySet.from_jwks(
        document, max_keys=settings.max_keys, min_rsa_bits=settings.min_rsa_bits, previous=previous
    )


class Action(enum.Enum):
    USE = "use"  # a key is ready
    FETCH = "fetch"  # this caller must start a fetch (it now owns the flight), wait, decide again
    WAIT = "wait"  # another caller's fetch is under way: wait for it, then decide again
    REJECT = "reject"  # unknown kid and no fetch allowed now
    UNAVAILABLE = "unavailable"  # no usable keys and none coming now


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    key: VerificationKey | None = None
    #: With ``USE``: the caller owns a new background refresh flight and should start it.
    refresh_in_background: bool = False
    #: Why a fetch was started: "cold", "expired", "unknown_kid" or "refresh".
    reason: str = ""
    #: With ``FETCH`` (or a background refresh): the flight's number, to report its outcome with.
    flight: int = 0
    #: With ``USE``: the key set is past its freshness and this is the first use since it expired
    #: or since the last failed refresh, worth reporting once.
    report_stale: bool = False
    #: With ``REJECT``: seconds until this unknown kid may trigger a fetch again.
    cooldown_remaining: float = 0.0


_NEVER: Final = -math.inf


class JWKSState:
    """Mutable cache state; not thread-safe by itself (the shells serialise calls with a lock).

    Every call is short and does no I/O, so holding a lock around it is harmless even on an event
    loop thread.
    """

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.keys: KeySet | None = None
        self.fetching = False
        #: Number of the flight in progress (or of the last one); outcomes name the flight they
        #: belong to, so a flight given up on (``abandon_stuck_flight``) cannot end a newer one.
        self.flight = 0
        self.fetch_started_at = _NEVER
        self.fetched_at = _NEVER
        self.fresh_until = _NEVER
        self.refresh_at = _NEVER
        self.failures = 0
        self.next_attempt_at = _NEVER
        self.last_unknown_kid_fetch_at = _NEVER
        #: kid -> (refreshes it missed, when it may trigger the next one, the last flight it missed)
        self.unknown_kids: OrderedDict[str | None, tuple[int, float, int]] = OrderedDict()
        self.stale_reported = False
        #: The JWKS URL found through discovery, kept for the life of the cache.
        self.discovered_jwks_url: str | None = None

    # -- reading ----------------------------------------------------------------------------------

    def _live_keys(self, now: float) -> KeySet | None:
        if self.keys is not None and now >= self.fresh_until + self.settings.max_stale:
            self.keys.retire_all()
            self.keys = None
        return self.keys

    def keys_dropped_now(self, now: float) -> float | None:
        """If the key set just outlived ``max_stale``, drop it and return its age (for an event)."""
        if self.keys is not None and now >= self.fresh_until + self.settings.max_stale:
            age = now - self.fetched_at
            self._live_keys(now)
            return age
        return None

    def fresh_key(self, kid: str | None, algorithm: Algorithm, now: float) -> VerificationKey | None:
        """The key for ``kid`` while the set is fresh and no refresh is due, else ``None``.

        The steady state of every request, decided without the shell's lock because it changes
        nothing. Racing a refresh, it may answer from the set being replaced, as if the request had
        come a moment earlier: keys the new set drops are marked retired before the swap, and the
        verifier refuses retired keys. When it answers ``None``, ``decide`` (under the lock) does.
        """
        keys = self.keys
        if keys is None or now >= self.refresh_at:
            return None
        return keys.lookup(kid, algorithm)

    def decide(self, kid: str | None, algorithm: Algorithm, now: float, *, after_fetch: bool) -> Decision:
        """What the caller should do for a token naming ``kid`` and ``algorithm``.

        ``after_fetch`` is true on the second pass, once the caller's own fetch or the one it waited
        for is over (or the wait for it timed out): then it neither waits nor fetches again. A
        ``FETCH`` decision (including a background one) marks the flight as owned by this caller;
        it must report ``adopt``/``fetch_failed`` (or the shell ``abandon_stuck_flight``).

        May raise ``UnknownKeyError``/``UnsupportedAlgorithmError`` when the cached set knows the
        ``kid`` but cannot serve this token; a refresh would not change that.
        """
        keys = self._live_keys(now)
        if keys is None:
            if after_fetch:
                return Decision(Action.UNAVAILABLE)
            if self.fetching:
                return Decision(Action.WAIT)
            if now < self.next_attempt_at:
                return Decision(Action.UNAVAILABLE)
            return self._claim("cold", now)

        key = keys.lookup(kid, algorithm)
        if key is not None:
            # Stale-while-revalidate: a known kid is served at once, however old the set (within
            # max_stale); a refresh that is due runs in the background.
            expired = now >= self.fresh_until
            background = not self.fetching and now >= self.refresh_at and now >= self.next_attempt_at
            claimed = self._claim("expired" if expired else "refresh", now) if background else None
            report_stale = expired and not self.stale_reported
            if report_stale:
                self.stale_reported = True
            return Decision(
                Action.USE,
                key=key,
                refresh_in_background=background,
                reason=claimed.reason if claimed else "",
                flight=claimed.flight if claimed else 0,
                report_stale=report_stale,
            )
        return self._decide_unknown_kid(kid, now, after_fetch=after_fetch)

    def _decide_unknown_kid(self, kid: str | None, now: float, *, after_fetch: bool) -> Decision:
        """The held set does not know this kid: maybe the provider rotated, maybe it is junk."""
        if after_fetch:
            self._missed(kid, now)
            return Decision(Action.REJECT)
        if self.fetching:
            return Decision(Action.WAIT)  # that fetch may bring it
        if now < self.next_attempt_at:
            # The provider is failing: an unknown kid must not add fetches to the backoff.
            return Decision(Action.REJECT, cooldown_remaining=self.next_attempt_at - now)
        missed = self.unknown_kids.get(kid)
        ready_at = max(
            missed[1] if missed else _NEVER,
            self.last_unknown_kid_fetch_at + self.settings.unknown_kid_interval,
        )
        if now < ready_at:
            return Decision(Action.REJECT, cooldown_remaining=ready_at - now)
        self.last_unknown_kid_fetch_at = now
        return self._claim("unknown_kid", now)

    def _missed(self, kid: str | None, now: float) -> None:
        """Record that a refresh ended without ``kid``, moving it along its retry schedule.

        Every request that waited for that refresh reports the miss; it counts once.
        """
        misses, retry_at, flight = self.unknown_kids.pop(kid, (0, _NEVER, 0))
        if flight != self.flight:
            misses += 1
            retry_at = now + self.settings.unknown_kid_retry_delay(misses)
        self.unknown_kids[kid] = (misses, retry_at, self.flight)
        while len(self.unknown_kids) > MAX_TRACKED_UNKNOWN_KIDS:
            self.unknown_kids.popitem(last=False)

    def _claim(self, reason: str, now: float) -> Decision:
        self.fetching = True
        self.flight += 1
        self.fetch_started_at = now
        return Decision(Action.FETCH, reason=reason, flight=self.flight)

    def claim_hydrate(self, now: float) -> int | None:
        """Own a flight to load keys at start-up (its number), unless one is already under way."""
        if self.fetching:
            return None
        return self._claim("hydrate", now).flight

    @property
    def flight_time_limit(self) -> float:
        """The longest a flight can take: discovery plus JWKS within one timeout, plus margin."""
        return self.settings.timeout + 2.0

    def abandon_stuck_flight(self, now: float) -> bool:
        """Forget a flight that outlived its time limit (its owner died); true if one was dropped.

        Fetches are bounded by ``timeout``, so this only happens when the task or thread running
        one was destroyed, or stuck outside the fetch, before it could report; without it the
        cache would wait forever.
        """
        if self.fetching and now - self.fetch_started_at > self.flight_time_limit:
            self.fetch_failed(now, self.flight)
            return True
        return False

    def forget_flight(self) -> None:
        """Drop the flight under way without counting a failure: its owner is gone, not failed
        (the thread running it did not survive a fork)."""
        self.fetching = False

    # -- results of a fetch -------------------------------------------------------------------------

    def fetch_succeeded(
        self, jwks: Any, max_age: float | None, now: float, flight: int | None = None
    ) -> KeySet:
        """Install a fetched JWKS document; raises ``JWKError`` (and records a failure) if unusable."""
        try:
            keys = decode_jwks(jwks, self.keys, self.settings)
        except JWKError:
            self.fetch_failed(now, flight)
            raise
        return self.adopt(keys, max_age, now, flight)

    def owns(self, flight: int | None) -> bool:
        """Whether an outcome reported for ``flight`` (``None``: the current one) ends the flight."""
        return self.fetching and (flight is None or flight == self.flight)

    def adopt(self, keys: KeySet, max_age: float | None, now: float, flight: int | None = None) -> KeySet:
        """Install a freshly fetched key set (built against ``self.keys``, see ``KeySet.from_jwks``).

        Keys from a flight given up on are still genuine and newer than the held ones, so they are
        installed too; only the current flight's outcome ends the flight.
        """
        if not keys.keys:
            self.fetch_failed(now, flight)
            raise JWKError("the key set has no usable keys")
        if self.keys is not None:
            self.keys.retire_replaced(keys)
        ttl = self.settings.ttl_for(max_age)
        if self.owns(flight):
            self.fetching = False
        self.keys = keys
        self.fetched_at = now
        self.fresh_until = now + ttl
        self.refresh_at = now + ttl * (1 - self.settings.refresh_ahead)
        self.failures = 0
        self.next_attempt_at = _NEVER
        self.stale_reported = False
        published = {key.kid for key in keys.keys}
        for kid in [kid for kid in self.unknown_kids if kid in published]:
            del self.unknown_kids[kid]
        return keys

    def fetch_failed(self, now: float, flight: int | None = None) -> float:
        """Record a failed fetch; return the delay before the next attempt.

        A late report from a flight already given up on changes nothing: its failure was counted
        when it was abandoned.
        """
        if not self.owns(flight):
            return max(0.0, self.next_attempt_at - now)
        self.fetching = False
        self.failures += 1
        delay = self.settings.retry_delay(self.failures)
        self.next_attempt_at = now + delay
        self.stale_reported = False
        return delay

    def serving_stale(self, now: float) -> bool:
        return self._live_keys(now) is not None
