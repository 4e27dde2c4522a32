"""The client-credentials token cache as a pure state machine: no I/O, no threads, no clock of its own.

``TokenState`` decides, for a caller that needs a token now, whether to use the cached one, to
start the one token request (a flight) or to wait for the request under way, and records what a
request brought back. ``token_source`` carries the decisions out for tasks and threads; in the
manner of the JWKS cache's ``JWKSState``, everything that affects the decisions lives here.

The rules, each written once:

* A token is used until ``expiry_margin`` seconds before its ``expires_in`` ends (at most half its
  lifetime is given up to the margin), so it never reaches the downstream service expired. A
  token without ``expires_in`` is kept ``default_lifetime`` seconds, and none longer than
  ``max_lifetime``.
* When only ``refresh_ahead`` of its usable life is left (a fraction, as in ``CacheSettings``),
  the next caller starts a refresh in the background and goes on with the current token: callers
  never wait for a token that is merely getting old.
* One request at a time. A request that fails starts a backoff (``retry_initial`` doubling up to
  ``retry_max``) during which callers without a usable token fail at once with the last failure,
  instead of every caller asking again; a still-usable token keeps serving through it.
* A 401 from the downstream service drops the token it was sent with, so the next caller gets a
  new one; but at most one such drop per ``reissue_interval``, so a downstream that refuses every
  token (a misconfigured audience) cannot turn each call into a token request.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Final

from jwt_middleware.errors import ConfigurationError

__all__ = ["AccessToken", "Action", "Decision", "TokenPolicy", "TokenState"]

_NEVER: Final = -math.inf


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """How long tokens are kept and how failures are spaced; seconds throughout."""

    expiry_margin: float = 30.0
    default_lifetime: float = 300.0
    max_lifetime: float = 24 * 3600.0
    #: The fraction of a token's usable life left when it is refreshed in the background.
    refresh_ahead: float = 0.2
    retry_initial: float = 1.0
    retry_max: float = 30.0
    reissue_interval: float = 10.0
    #: The longest a token request may take, discovery included (the caller's wait is bounded by it).
    timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in ("default_lifetime", "max_lifetime", "retry_initial", "retry_max", "timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        for name in ("expiry_margin", "reissue_interval"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ConfigurationError(f"{name} must be a number of seconds >= 0")
        if not 0 <= self.refresh_ahead < 1:
            raise ConfigurationError("refresh_ahead must be a fraction in [0, 1)")

    @property
    def flight_time_limit(self) -> float:
        """The longest a token request can take, plus margin: waiters give up after it."""
        return self.timeout + 2.0

    def lifetime(self, expires_in: float | None) -> float:
        """How long a token from now on is valid for, within our bounds."""
        if expires_in is None:
            return self.default_lifetime
        return min(max(expires_in, 0.0), self.max_lifetime)

    def retry_delay(self, failures: int) -> float:
        return float(min(self.retry_initial * 2 ** min(failures - 1, 32), self.retry_max))


@dataclass(frozen=True, slots=True)
class AccessToken:
    """One access token and when to stop using it (``value`` never appears in a ``repr``)."""

    value: str = field(repr=False)
    token_type: str
    obtained_at: float
    expires_at: float
    #: Callers stop using it here: ``expiry_margin`` before ``expires_at``.
    usable_until: float
    #: A background refresh starts here.
    refresh_at: float
    scope: str | None = None

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value that presents it."""
        return f"Bearer {self.value}"

    def usable_at(self, now: float) -> bool:
        return now < self.usable_until


class Action(enum.Enum):
    USE = "use"  # a usable token is cached
    FETCH = "fetch"  # this caller owns the new flight: start it, wait, decide again
    WAIT = "wait"  # another caller's request is under way: wait for it, then decide again
    UNAVAILABLE = "unavailable"  # no usable token, and none coming now (backoff, or after a flight)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    token: AccessToken | None = None
    #: With ``USE``: the caller owns a new background refresh flight and should start it.
    refresh_in_background: bool = False
    #: With ``FETCH`` (or a background refresh): the flight's number, to report its outcome with.
    flight: int = 0


class TokenState:
    """The cached token and the request bookkeeping; not thread-safe by itself (the shells hold a
    lock around every call, each short and free of I/O)."""

    def __init__(self, policy: TokenPolicy) -> None:
        self.policy = policy
        self.token: AccessToken | None = None
        self.fetching = False
        self.flight = 0
        self.fetch_started_at = _NEVER
        self.failures = 0
        self.next_attempt_at = _NEVER
        self.last_reissue_at = _NEVER
        #: Token requests made (completed or not), for tests and health checks.
        self.requests = 0

    def decide(self, now: float, *, after_fetch: bool) -> Decision:
        """What a caller that needs a token now should do (``after_fetch``: its second pass)."""
        token = self.token
        if token is not None and token.usable_at(now):
            background = not self.fetching and now >= token.refresh_at and now >= self.next_attempt_at
            flight = self._claim(now) if background else 0
            return Decision(Action.USE, token=token, refresh_in_background=background, flight=flight)
        if after_fetch:
            return Decision(Action.UNAVAILABLE)
        if self.fetching:
            return Decision(Action.WAIT)
        if now < self.next_attempt_at:
            return Decision(Action.UNAVAILABLE)
        return Decision(Action.FETCH, flight=self._claim(now))

    def _claim(self, now: float) -> int:
        self.fetching = True
        self.flight += 1
        self.requests += 1
        self.fetch_started_at = now
        return self.flight

    def owns(self, flight: int) -> bool:
        return self.fetching and flight == self.flight

    def adopt(
        self,
        value: str,
        *,
        token_type: str,
        expires_in: float | None,
        scope: str | None,
        now: float,
        flight: int,
    ) -> AccessToken:
        """Install the token a request brought back (even from a flight given up on: it is new)."""
        lifetime = self.policy.lifetime(expires_in)
        margin = min(self.policy.expiry_margin, lifetime / 2)
        usable = lifetime - margin
        token = AccessToken(
            value=value,
            token_type=token_type,
            obtained_at=now,
            expires_at=now + lifetime,
            usable_until=now + usable,
            refresh_at=now + usable * (1 - self.policy.refresh_ahead),
            scope=scope,
        )
        if self.owns(flight):
            self.fetching = False
        self.token = token
        self.failures = 0
        self.next_attempt_at = _NEVER
        return token

    def fetch_failed(self, now: float, flight: int) -> float:
        """Record a failed request; return the seconds until the next one may be made."""
        if not self.owns(flight):
            return max(0.0, self.next_attempt_at - now)
        self.fetching = False
        self.failures += 1
        delay = self.policy.retry_delay(self.failures)
        self.next_attempt_at = now + delay
        return delay

    def retry_in(self, now: float) -> float:
        """Seconds until a request may be made again (0 when one may be made now)."""
        return max(0.0, self.next_attempt_at - now)

    def invalidate(self, token: AccessToken, now: float) -> bool:
        """A downstream 401 came back for ``token``: whether the caller should retry once.

        True when a newer token is cached already, or when ``token`` is dropped now; false when
        the last drop was under ``reissue_interval`` ago (the 401 stands).
        """
        current = self.token
        if current is not token:
            return current is not None and current.usable_at(now)
        if now - self.last_reissue_at < self.policy.reissue_interval:
            return False
        self.last_reissue_at = now
        self.token = None
        return True

    def abandon_stuck_flight(self, now: float) -> bool:
        """Forget a flight that outlived its time limit (its owner died); true if one was dropped."""
        if self.fetching and now - self.fetch_started_at > self.policy.flight_time_limit:
            self.fetch_failed(now, self.flight)
            return True
        return False

    def forget_flight(self) -> None:
        """Drop the flight under way without counting a failure (its thread did not survive a fork)."""
        self.fetching = False
