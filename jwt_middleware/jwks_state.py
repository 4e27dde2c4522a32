"""The JWKS cache's decisions, without I/O: when to use, fetch, wait, or refuse.

This is the whole policy of the cache (freshness, refresh-ahead, stale-if-error, backoff, the
unknown-``kid`` cooldown, single-flight bookkeeping) as a state machine driven by explicit
timestamps. The async and sync shells in ``jwks_cache`` only perform what it decides, so both
paths behave identically and every timing rule can be tested with a fake clock.

Timeline of one key set, from a successful fetch at ``t``::

    t ........ refresh_at ........ fresh_until ............ fresh_until + max_stale
      fresh      fresh, refreshed     expired: refetch         dead: dropped
                 in the background    before use; if that
                                      fails, served stale
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from jwt_middleware.algorithms import Algorithm
from jwt_middleware.errors import ConfigurationError, JWKError
from jwt_middleware.jwk import DEFAULT_MAX_KEYS, MIN_RSA_BITS, KeySet, VerificationKey

__all__ = ["Action", "CacheSettings", "Decision", "JWKSState", "KeyDecoder", "decode_jwks"]


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """Every knob of the JWKS cache, with the defaults documented in the README."""

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
    #: After a refresh caused by an unknown ``kid``, how long other unknown ``kid``s are refused
    #: without fetching.
    unknown_kid_cooldown: float = 10.0
    #: Retry delays after failed fetches: doubling from ``retry_initial`` up to ``retry_max``.
    retry_initial: float = 1.0
    retry_max: float = 60.0
    #: Allow plain http to non-loopback hosts (emulators in containers); never for production.
    allow_http: bool = False
    #: Smallest RSA modulus accepted from the JWKS.
    min_rsa_bits: int = MIN_RSA_BITS

    def __post_init__(self) -> None:
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
    FETCH = "fetch"  # this caller must fetch (it now owns the flight), then decide again
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
    #: With ``USE``: the key set is past its freshness (stale-if-error) and this is the first use
    #: since the last failure, worth reporting once.
    report_stale: bool = False
    #: With ``REJECT``: seconds until an unknown kid may trigger a fetch again.
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
        self.fetch_started_at = _NEVER
        self.fetched_at = _NEVER
        self.fresh_until = _NEVER
        self.refresh_at = _NEVER
        self.failures = 0
        self.last_failure_at = _NEVER
        self.next_attempt_at = _NEVER
        self.last_unknown_kid_fetch_at = _NEVER
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

    def decide(self, kid: str | None, algorithm: Algorithm, now: float, *, after_fetch: bool) -> Decision:
        """What the caller should do for a token naming ``kid`` and ``algorithm``.

        ``after_fetch`` is true on the second pass, once the caller's own fetch or the one it waited
        for is over: then no further fetch is started. A ``FETCH`` decision (including a background
        one) marks the flight as owned by this caller; it must call ``fetch_succeeded`` or
        ``fetch_failed`` exactly once.

        May raise ``UnknownKeyError``/``UnsupportedAlgorithmError`` when the cached set knows the
        ``kid`` but cannot serve this token; a refresh would not change that.
        """
        keys = self._live_keys(now)
        if keys is None:
            if self.fetching:
                return Decision(Action.WAIT)
            if after_fetch or now < self.next_attempt_at:
                return Decision(Action.UNAVAILABLE)
            return self._claim("cold", now)

        expired = now >= self.fresh_until
        if expired and not after_fetch and self.last_failure_at < self.fresh_until:
            # Nobody has tried to refresh since expiry: do so before trusting the old set.
            if self.fetching:
                return Decision(Action.WAIT)
            if now >= self.next_attempt_at:
                return self._claim("expired", now)

        key = keys.lookup(kid, algorithm)
        if key is not None:
            background = not self.fetching and now >= self.refresh_at and now >= self.next_attempt_at
            if background:
                self._claim("refresh", now)
            report_stale = expired and not self.stale_reported
            if report_stale:
                self.stale_reported = True
            return Decision(
                Action.USE,
                key=key,
                refresh_in_background=background,
                reason="refresh" if background else "",
                report_stale=report_stale,
            )

        # The set does not know this kid: maybe the provider rotated, maybe it is junk.
        if after_fetch:
            return Decision(Action.REJECT)
        if self.fetching:
            return Decision(Action.WAIT)
        cooldown_ends = self.last_unknown_kid_fetch_at + self.settings.unknown_kid_cooldown
        if now < cooldown_ends:
            return Decision(Action.REJECT, cooldown_remaining=cooldown_ends - now)
        if now < self.next_attempt_at:
            return Decision(Action.REJECT, cooldown_remaining=self.next_attempt_at - now)
        self.last_unknown_kid_fetch_at = now
        return self._claim("unknown_kid", now)

    def _claim(self, reason: str, now: float) -> Decision:
        self.fetching = True
        self.fetch_started_at = now
        return Decision(Action.FETCH, reason=reason)

    def claim_hydrate(self, now: float) -> bool:
        """Own a flight to load keys at start-up, unless one is already under way."""
        if self.fetching:
            return False
        self._claim("hydrate", now)
        return True

    @property
    def flight_time_limit(self) -> float:
        """The longest a flight can take: discovery plus JWKS within one timeout, plus margin."""
        return self.settings.timeout + 2.0

    def abandon_stuck_flight(self, now: float) -> bool:
        """Forget a flight that outlived its time limit (its owner died); true if one was dropped.

        Fetches are bounded by ``timeout``, so this only happens when the task or thread running
        one was destroyed before it could report; without it the cache would wait forever.
        """
        if self.fetching and now - self.fetch_started_at > self.flight_time_limit:
            self.fetch_failed(now)
            return True
        return False

    # -- results of a fetch -------------------------------------------------------------------------

    def fetch_succeeded(self, jwks: Any, max_age: float | None, now: float) -> KeySet:
        """Install a fetched JWKS document; raises ``JWKError`` (and records a failure) if unusable."""
        try:
            keys = decode_jwks(jwks, self.keys, self.settings)
        except JWKError:
            self.fetch_failed(now)
            raise
        return self.adopt(keys, max_age, now)

    def adopt(self, keys: KeySet, max_age: float | None, now: float) -> KeySet:
        """Install a freshly fetched key set (built against ``self.keys``, see ``KeySet.from_jwks``)."""
        if not keys.keys:
            self.fetch_failed(now)
            raise JWKError("the key set has no usable keys")
        if self.keys is not None:
            self.keys.retire_replaced(keys)
        ttl = self.settings.ttl_for(max_age)
        self.keys = keys
        self.fetching = False
        self.fetched_at = now
        self.fresh_until = now + ttl
        self.refresh_at = now + ttl * (1 - self.settings.refresh_ahead)
        self.failures = 0
        self.next_attempt_at = _NEVER
        self.last_failure_at = _NEVER
        self.stale_reported = False
        return keys

    def fetch_failed(self, now: float) -> float:
        """Record a failed fetch; return the delay before the next attempt."""
        self.fetching = False
        self.failures += 1
        delay = self.settings.retry_delay(self.failures)
        self.last_failure_at = now
        self.next_attempt_at = now + delay
        self.stale_reported = False
        return delay

    def serving_stale(self, now: float) -> bool:
        return self._live_keys(now) is not None
