"""``JWKSCache``: an issuer's signing keys, fetched once and kept usable through rotation and outages.

The decisions live in ``jwks_state.JWKSState``; this module only carries them out, twice:

* the async driver (``get_key``) runs on the caller's event loop with one pooled
  ``httpx2.AsyncClient`` per loop. A fetch runs in the first waiter's task inside a shielded cancel
  scope, so a cancelled request never cancels the fetch the other waiters depend on.
* the sync driver (``get_key_sync``) serves WSGI, Django and Flask threads. The thread that owns a
  fetch runs the same async fetch on a private event loop; other threads wait on a
  ``threading.Event``. No event loop is needed from the caller, and single-flight holds across
  threads, and across threads and event loops.

Background refreshes always run on a short-lived thread through the sync driver: they must not
hold up the request that noticed they were due, nor die with a short-lived event loop (a test
client may run each request on a new one). Every wait is bounded, and the state machine gives up
on a flight that outlives its time limit, so no crashed fetch can strand the cache.

Both drivers share one lock-protected state, so a process mixing ASGI and WSGI still fetches once.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import anyio.lowlevel
import anyio.to_thread

from jwt_middleware.algorithms import Algorithm
from jwt_middleware.discovery import discovery_url, jwks_url_from_discovery
from jwt_middleware.errors import (
    BlockingCallError,
    ConfigurationError,
    JWKError,
    KeysUnavailableError,
    UnknownKeyError,
)
from jwt_middleware.events import (
    EventHook,
    FetchFailed,
    FetchStarted,
    FetchSucceeded,
    KeysExpired,
    StaleKeysServed,
    UnknownKeyRejected,
    emit,
)
from jwt_middleware.fetching import (
    ClientFactory,
    FetchError,
    check_url,
    default_client_factory,
    fetch_bytes,
    fetch_json,
)
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.jwks_state import Action, CacheSettings, Decision, JWKSState, KeyDecoder, decode_jwks
from jwt_middleware.reasons import FETCH_TIMEOUT, FETCH_UNEXPECTED, JWKS_UNUSABLE

if TYPE_CHECKING:
    import httpx2  # clients come from ``fetching``, which imports httpx2 when it builds one

__all__ = ["CacheSettings", "JWKSCache"]

#: Decide, act, decide again: a request never goes round more often than this.
_MAX_ROUNDS: Final = 3


class _Flight:
    """One fetch in progress and the ways to wait for it."""

    __slots__ = ("done", "event", "loop_token")

    def __init__(self, loop_token: object | None, event: anyio.Event | None) -> None:
        self.done = threading.Event()
        self.loop_token = loop_token
        self.event = event


def _current_loop_token() -> object | None:
    try:
        return anyio.lowlevel.current_token()
    except RuntimeError:
        return None


def _event_loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class JWKSCache:
    """The keys published at one JWKS URL (or found through one issuer's discovery document).

    Share one instance between every verifier that trusts the same keys.
    """

    def __init__(
        self,
        jwks_url: str | None = None,
        *,
        issuer: str | None = None,
        settings: CacheSettings | None = None,
        http_client: httpx2.AsyncClient | None = None,
        client_factory: ClientFactory | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        decoder: KeyDecoder = decode_jwks,
    ) -> None:
        """Give ``jwks_url``, or ``issuer`` alone to discover the JWKS URL (see ``from_issuer``).

        ``http_client`` is used for fetches made on its own event loop and never closed by the cache;
        ``client_factory`` builds the clients the cache owns (proxies, custom CAs, mTLS).
        ``decoder`` turns a response body into keys: a JWKS by default (ALB serves PEM per key).
        """
        self.settings = settings or CacheSettings()
        if (jwks_url is None) == (issuer is None):
            raise ConfigurationError("give JWKSCache either a jwks_url or an issuer to discover")
        self._jwks_url = (
            check_url(jwks_url, what="jwks_url", allow_http=self.settings.allow_http) if jwks_url else None
        )
        self._issuer = issuer
        self._discovery_url = discovery_url(issuer, allow_http=self.settings.allow_http) if issuer else None
        self._state = JWKSState(self.settings)
        self._lock = threading.Lock()
        self._flight: _Flight | None = None
        self._user_client = http_client
        self._client_factory = client_factory or default_client_factory
        self._client: httpx2.AsyncClient | None = None
        self._client_loop: object | None = None
        self._on_event = on_event
        self._clock = clock
        self._decoder = decoder
        #: Completed fetch attempts (successful or not), JWKS and discovery alike.
        self.fetch_count = 0
        #: The reason code and phrase of the last failed fetch, until one succeeds.
        self._last_failure: tuple[str, str] | None = None

    @classmethod
    def from_issuer(cls, issuer: str, **options: Any) -> JWKSCache:
        """Find the JWKS through ``{issuer}/.well-known/openid-configuration`` on first use."""
        return cls(issuer=issuer, **options)

    @property
    def url(self) -> str | None:
        """The JWKS URL: configured, or discovered once discovery has run."""
        return self._jwks_url or self._state.discovered_jwks_url

    @property
    def discovery_url(self) -> str | None:
        """Where the JWKS URL is discovered from; ``None`` for a cache given its ``jwks_url``."""
        return self._discovery_url

    @property
    def keys(self) -> KeySet | None:
        """The current key set, if any was fetched (for inspection and health checks)."""
        return self._state.keys

    def _label(self) -> str:
        return self.url or self._discovery_url or "?"

    # -- deciding (shared by both drivers) ----------------------------------------------------------

    def _decide(
        self, kid: str | None, algorithm: Algorithm, after_fetch: bool, *, async_caller: bool
    ) -> tuple[Decision, _Flight | None]:
        now = self._clock()
        flight: _Flight | None
        with self._lock:
            if self._state.abandon_stuck_flight(now):
                self._flight = None
            dropped_age = self._state.keys_dropped_now(now)
            decision = self._state.decide(kid, algorithm, now, after_fetch=after_fetch)
            if decision.action is Action.FETCH or decision.refresh_in_background:
                loop_token = _current_loop_token() if async_caller else None
                flight = _Flight(loop_token, anyio.Event() if loop_token is not None else None)
                self._flight = flight
            else:
                flight = self._flight if decision.action is Action.WAIT else None
        if dropped_age is not None:
            emit(self._on_event, KeysExpired(self._label(), dropped_age))
        if decision.report_stale:
            emit(self._on_event, StaleKeysServed(self._label(), now - self._state.fetched_at))
        return decision, flight

    def _refuse(self, decision: Decision) -> KeysUnavailableError | UnknownKeyError:
        if decision.action is Action.REJECT:
            if decision.cooldown_remaining:
                emit(self._on_event, UnknownKeyRejected(self._label(), decision.cooldown_remaining))
            return UnknownKeyError()
        retry = max(1, math.ceil(self._state.next_attempt_at - self._clock()))
        return self._unavailable(min(retry, 3600) if math.isfinite(retry) else 5)

    def _unavailable(self, retry_after: int = 5) -> KeysUnavailableError:
        """The refusal for "no keys", naming the fetch failure behind it when there was one."""
        code, reason = self._last_failure or (None, None)
        return KeysUnavailableError(retry_after=retry_after, code=code, fetch_reason=reason)

    # -- fetching (one implementation, both drivers) ------------------------------------------------

    async def _fetch_and_install(self, client: httpx2.AsyncClient, reason: str) -> None:
        """Fetch (discovering first if needed) and record the outcome; never raises."""
        started = self._clock()
        url = self.url or self._discovery_url or ""
        emit(self._on_event, FetchStarted(url, reason))
        try:
            if self.url is None:
                assert self._discovery_url is not None
                assert self._issuer is not None
                discovered = await fetch_json(
                    client,
                    self._discovery_url,
                    timeout=self.settings.timeout,
                    max_bytes=self.settings.max_response_bytes,
                )
                self._count_fetch()
                jwks_url = jwks_url_from_discovery(
                    discovered.body, self._issuer, allow_http=self.settings.allow_http
                )
                with self._lock:
                    self._state.discovered_jwks_url = jwks_url
                url = jwks_url
            remaining = self.settings.timeout - (self._clock() - started)
            if remaining <= 0:
                raise FetchError("timed out", code=FETCH_TIMEOUT)
            fetched = await fetch_bytes(
                client, url, timeout=remaining, max_bytes=self.settings.max_response_bytes
            )
            self._count_fetch()
            now = self._clock()
            with self._lock:
                try:
                    keys = self._decoder(fetched.body, self._state.keys, self.settings)
                except JWKError:
                    self._state.fetch_failed(now)
                    raise
                keys = self._state.adopt(keys, fetched.max_age, now)
                ttl = self._state.fresh_until - now
            self._last_failure = None
            emit(self._on_event, FetchSucceeded(url, len(keys), keys.skipped, now - started, ttl))
        except FetchError as exc:
            self._record_failure(url, exc.reason, exc.code, started, already_recorded=False)
        except JWKError as exc:
            self._record_failure(url, str(exc), JWKS_UNUSABLE, started, already_recorded=True)
        except Exception as exc:
            reason = f"unexpected {type(exc).__name__}"
            self._record_failure(url, reason, FETCH_UNEXPECTED, started, already_recorded=False)

    def _count_fetch(self) -> None:
        with self._lock:
            self.fetch_count += 1

    def _record_failure(
        self, url: str, reason: str, code: str, started: float, *, already_recorded: bool
    ) -> None:
        now = self._clock()
        with self._lock:
            if already_recorded:
                retry_in = self._state.next_attempt_at - now
            else:
                retry_in = self._state.fetch_failed(now)
            serving_stale = self._state.serving_stale(now)
            self._last_failure = (code, reason)
        emit(self._on_event, FetchFailed(url, reason, now - started, serving_stale, retry_in, code))

    def _land(self, flight: _Flight) -> None:
        with self._lock:
            if self._flight is flight:
                self._flight = None
        flight.done.set()
        if flight.event is not None:
            flight.event.set()

    # -- async driver -------------------------------------------------------------------------------

    def _pooled_client(self) -> httpx2.AsyncClient:
        if self._user_client is not None:
            return self._user_client
        token = _current_loop_token()
        if self._client is None or self._client_loop != token:
            # A client's connections belong to the loop that opened them (a test client may run
            # each request on a new loop), so each loop gets its own.
            self._client = self._client_factory()
            self._client_loop = token
        return self._client

    async def _fly_async(self, flight: _Flight, reason: str) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self._fetch_and_install(self._pooled_client(), reason)
            finally:
                self._land(flight)

    async def _wait_async(self, flight: _Flight | None) -> None:
        if flight is None:
            return
        limit = self._state.flight_time_limit
        if flight.event is not None and flight.loop_token == _current_loop_token():
            with anyio.move_on_after(limit):
                await flight.event.wait()
        else:
            await anyio.to_thread.run_sync(flight.done.wait, limit, abandon_on_cancel=True)

    async def get_key(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """The key for a token, fetching only when the state machine says so."""
        after_fetch = False
        for _ in range(_MAX_ROUNDS):
            decision, flight = self._decide(kid, algorithm, after_fetch, async_caller=True)
            action = decision.action
            if action is Action.USE:
                assert decision.key is not None
                if flight is not None:
                    # Off the request path and off this loop: a refresh must not die with a
                    # short-lived loop, nor hold up the request that noticed it was due.
                    self._start_background_thread(flight, decision.reason)
                return decision.key
            if action is Action.FETCH:
                assert flight is not None
                await self._fly_async(flight, decision.reason)
            elif action is Action.WAIT:
                await self._wait_async(flight)
            else:
                raise self._refuse(decision)
            after_fetch = True
        raise self._unavailable()

    async def hydrate(self) -> None:
        """Load the keys now (application start-up); raise ``KeysUnavailableError`` on failure."""
        with self._lock:
            owned = self._state.claim_hydrate(self._clock())
            if owned:
                token = _current_loop_token()
                flight = _Flight(token, anyio.Event())
                self._flight = flight
            else:
                flight = self._flight  # type: ignore[assignment]
        if owned:
            await self._fly_async(flight, "hydrate")
        else:
            await self._wait_async(flight)
        if self._state.keys is None:
            raise self._unavailable()

    async def aclose(self) -> None:
        """Close the pooled client the cache owns (not a client the user passed in)."""
        client, loop = self._client, self._client_loop
        self._client = None
        if client is not None and loop == _current_loop_token():
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sync driver --------------------------------------------------------------------------------

    def _fly_sync(self, flight: _Flight, reason: str) -> None:
        async def fetch_with_own_client() -> None:
            async with self._client_factory() as client:
                await self._fetch_and_install(client, reason)

        try:
            anyio.run(fetch_with_own_client)
        finally:
            self._land(flight)

    def _start_background_thread(self, flight: _Flight, reason: str) -> None:
        threading.Thread(
            target=self._fly_sync,
            args=(flight, reason),
            name="jwt-middleware-jwks-refresh",
            daemon=True,
        ).start()

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """``get_key`` for threads; must not be called on an event loop's thread when it has to wait."""
        after_fetch = False
        for _ in range(_MAX_ROUNDS):
            decision, flight = self._decide(kid, algorithm, after_fetch, async_caller=False)
            action = decision.action
            if action is Action.USE:
                assert decision.key is not None
                if flight is not None:
                    self._start_background_thread(flight, decision.reason)
                return decision.key
            if action in (Action.FETCH, Action.WAIT) and _event_loop_running_here():
                if action is Action.FETCH and flight is not None:
                    self._start_background_thread(flight, decision.reason)
                raise BlockingCallError(
                    "the sync verifier would block a running event loop; use 'await verify()'"
                )
            if action is Action.FETCH:
                assert flight is not None
                self._fly_sync(flight, decision.reason)
            elif action is Action.WAIT:
                if flight is not None:
                    flight.done.wait(self._state.flight_time_limit)
            else:
                raise self._refuse(decision)
            after_fetch = True
        raise self._unavailable()

    def hydrate_sync(self) -> None:
        with self._lock:
            owned = self._state.claim_hydrate(self._clock())
            flight = _Flight(None, None) if owned else self._flight
            if owned:
                self._flight = flight
        if owned:
            assert flight is not None
            self._fly_sync(flight, "hydrate")
        elif flight is not None:
            flight.done.wait(self._state.flight_time_limit)
        if self._state.keys is None:
            raise self._unavailable()

    def close(self) -> None:
        """Forget the pooled async client (sync callers own no long-lived client)."""
        self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JWKSCache({self._label()!r}, keys={len(self._state.keys) if self._state.keys else 0})"
